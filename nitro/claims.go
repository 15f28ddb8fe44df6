package nitro

import (
	"encoding/hex"
	"fmt"
	"time"

	"github.com/trustfactory/attest/verify"
)

// Claims are the facts a successful verification established: every field
// comes from a document whose signature and chain verified.
type Claims struct {
	ModuleID  string
	Digest    string         // PCR bank: "SHA384" for NSM
	Timestamp time.Time      // when NSM signed the document
	PCRs      map[int][]byte // index → value, as signed
	// PublicKey, UserData and Nonce are the enclave's optional fields (nil
	// when absent, null or empty). PublicKey is a claim only: no binding
	// checks it.
	PublicKey []byte
	UserData  []byte
	Nonce     []byte
	// Debug is true when PCR0–PCR3 are all zero, which NSM reports for an
	// enclave started in debug mode (its console is readable by the parent).
	Debug bool
	// Signer is the common name of the certificate that signed the document
	// (instance, enclave and region: "i-….<region>.aws").
	Signer string
	// ChainNotAfter is the earliest end of validity in the chain (the
	// leaf's, about 3 hours after it was issued).
	ChainNotAfter time.Time
	// ReportDataField is the field compared with Expectations.ReportData.
	ReportDataField Field
	// ReportDataChecked is false only with Expectations.AllowMissingReportDataUnsafe
	// and no report data: the document is then bound to no session.
	ReportDataChecked bool
}

// Format implements verify.Claims.
func (c *Claims) Format() verify.Format { return Format }

// Map implements verify.Claims: "module_id", "digest", "timestamp"
// (RFC 3339, milliseconds), "pcr00".."pcr31" (lower-case hex, the indices
// present), "public_key", "user_data" and "nonce" (hex, when present),
// "debug", "signer", "chain_not_after", "report_data_field",
// "report_data_checked" and, when checked, "report_data" (the bound field's
// value, hex). An unchecked binding adds "unsafe_options".
func (c *Claims) Map() map[string]any {
	m := make(map[string]any, len(c.PCRs)+16)
	m["module_id"] = c.ModuleID
	m["digest"] = c.Digest
	m["timestamp"] = stamp(c.Timestamp)
	for i, v := range c.PCRs {
		m[fmt.Sprintf("pcr%02d", i)] = hex.EncodeToString(v)
	}
	for _, f := range []struct {
		name string
		b    []byte
	}{{"public_key", c.PublicKey}, {"user_data", c.UserData}, {"nonce", c.Nonce}} {
		if f.b != nil {
			m[f.name] = hex.EncodeToString(f.b)
		}
	}
	m["debug"] = c.Debug
	m["signer"] = c.Signer
	m["chain_not_after"] = c.ChainNotAfter.UTC().Format(time.RFC3339)
	m["report_data_field"] = string(c.ReportDataField)
	m["report_data_checked"] = c.ReportDataChecked
	if c.ReportDataChecked {
		if c.ReportDataField == FieldNonce {
			m["report_data"] = hex.EncodeToString(c.Nonce)
		} else {
			m["report_data"] = hex.EncodeToString(c.UserData)
		}
	}
	verify.PutUnsafeClaim(m, c.UnsafeSwitches())
	return m
}
