package bundle

import (
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"strings"
	"time"

	"github.com/trustfactory/attest/tdx"
)

// tdxItem is one file of a TDX collateral set in the tdx.FSSource layout.
type tdxItem struct {
	path, kind string
	data       []byte
	// urlKey picks the recorded request the item came from.
	urlKey string
}

// tdxItems lists the files of collateral set c for the platform fmspc and
// PCK CA ca. tee is the TCB info's id: an SGX set ("SGX") keeps its TCB info
// and QE identity under tdx/sgx/, where tdx.FSSource looks for SGX
// collateral, so that it neither hides from the SGX verifier nor takes the
// place of the TDX QE identity; the CRLs are the same for both.
func tdxItems(c *tdx.Collateral, tee string, fmspc [6]byte, ca string) []tdxItem {
	f := strings.ToUpper(hex.EncodeToString(fmspc[:]))
	dir := "tdx/"
	if tee == "SGX" {
		dir = "tdx/sgx/"
	}
	return []tdxItem{
		{dir + "tcb_info/" + f + ".json", "tdx.tcb_info", c.TCBInfo, "tcb"},
		{dir + "tcb_info/" + f + ".issuer_chain.pem", "tdx.tcb_info.issuer_chain", c.TCBInfoIssuerChain, "tcb"},
		{dir + "qe_identity.json", "tdx.qe_identity", c.QEIdentity, "qe"},
		{dir + "qe_identity.issuer_chain.pem", "tdx.qe_identity.issuer_chain", c.QEIdentityIssuerChain, "qe"},
		{"tdx/pck_crl/" + ca + ".der", "tdx.pck_crl", c.PCKCRL, "pckcrl"},
		{"tdx/pck_crl/" + ca + ".issuer_chain.pem", "tdx.pck_crl.issuer_chain", c.PCKCRLIssuerChain, "pckcrl"},
		{"tdx/root_ca_crl.der", "tdx.root_ca_crl", c.RootCACRL, "root"},
	}
}

// addTDX writes a collateral set that tdx.VerifyCollateral accepted. src
// gives each item's provenance by its urlKey.
func addTDX(w *writer, c *tdx.Collateral, info *tdx.CollateralInfo, src func(urlKey string) Source) error {
	for _, it := range tdxItems(c, info.TEE, info.FMSPC, info.CA) {
		if len(it.data) == 0 {
			continue
		}
		if err := w.add(it.path, it.kind, it.data, src(it.urlKey), itemValidity(it.kind, it.data)); err != nil {
			return err
		}
	}
	return nil
}

// itemValidity reads an item's own validity window from its bytes (already
// verified as part of its set); unknown bounds stay zero.
func itemValidity(kind string, b []byte) Validity {
	switch {
	case strings.HasSuffix(kind, ".issuer_chain") || kind == "snp.cert_chain":
		return chainValidity(b)
	case kind == "tdx.tcb_info":
		return jsonValidity(b, "tcbInfo")
	case kind == "tdx.qe_identity":
		return jsonValidity(b, "enclaveIdentity")
	case strings.HasSuffix(kind, "crl"):
		return crlValidity(b)
	case kind == "snp.vcek":
		if c, err := x509.ParseCertificate(b); err == nil {
			return Validity{NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC()}
		}
	}
	return Validity{}
}

func jsonValidity(b []byte, key string) Validity {
	var outer map[string]json.RawMessage
	var inner struct {
		IssueDate  time.Time `json:"issueDate"`
		NextUpdate time.Time `json:"nextUpdate"`
	}
	if json.Unmarshal(b, &outer) != nil || json.Unmarshal(outer[key], &inner) != nil {
		return Validity{}
	}
	return Validity{NotBefore: inner.IssueDate.UTC(), NotAfter: inner.NextUpdate.UTC()}
}

// crlValidity reads a CRL in DER, PEM or hex (a PCCS's root CA CRL).
func crlValidity(b []byte) Validity {
	der := b
	if blk, _ := pem.Decode(b); blk != nil {
		der = blk.Bytes
	} else if d, err := hex.DecodeString(strings.TrimSpace(string(b))); err == nil {
		der = d
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return Validity{}
	}
	return Validity{NotBefore: crl.ThisUpdate.UTC(), NotAfter: crl.NextUpdate.UTC()}
}

// chainValidity is the intersection of the validity of the PEM certificates in b.
func chainValidity(b []byte) Validity {
	var v Validity
	for n := 0; n < 16; n++ {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			continue
		}
		if v.NotBefore.IsZero() || c.NotBefore.After(v.NotBefore) {
			v.NotBefore = c.NotBefore.UTC()
		}
		if v.NotAfter.IsZero() || c.NotAfter.Before(v.NotAfter) {
			v.NotAfter = c.NotAfter.UTC()
		}
	}
	return v
}
