package sgx

import (
	"encoding/binary"
	"encoding/hex"
	"slices"
	"time"

	"github.com/trustfactory/attest/internal/pck"
	"github.com/trustfactory/attest/verify"
)

// Claims are the facts a successful SGX verification proved.
type Claims struct {
	Quote *Quote
	PCK   PCKExtensions
	PCKCA string // "platform" or "processor"
	// TCB is the collateral appraisal; nil only with WithoutCollateralUnsafe.
	TCB *TCB
	// InitDataChecked says CONFIGID was compared with Expectations.InitDataDigest.
	InitDataChecked bool
	// Unsafe lists the unsafe switches that took effect in this verification.
	Unsafe []verify.UnsafeSwitch
}

var _ verify.Claims = (*Claims)(nil)

// Format returns verify.FormatSGX.
func (c *Claims) Format() verify.Format { return verify.FormatSGX }

// UnsafeSwitches implements verify.UnsafeReporter.
func (c *Claims) UnsafeSwitches() []verify.UnsafeSwitch { return slices.Clone(c.Unsafe) }

// Debug reports whether the enclave is a debug enclave.
func (c *Claims) Debug() bool { return c.Quote.Body.Debug() }

func (c *Claims) tcbStatus() string {
	if c.TCB == nil {
		return ""
	}
	return string(c.TCB.Status)
}

func hx(b []byte) string { return hex.EncodeToString(b) }

func le16(v uint16) string { return hx(binary.LittleEndian.AppendUint16(nil, v)) }

func le32(v uint32) string { return hx(binary.LittleEndian.AppendUint32(nil, v)) }

// Map returns the flat claims with Trustee's SGX names: "header.*" and
// "body.*" (lower-case hex of the raw little-endian bytes), and typed ones:
// "mr_enclave", "mr_signer", "isv_prod_id" and "isv_svn" (numbers),
// "debug" (ATTRIBUTES.DEBUG), "report_data", "init_data" (CONFIGID), the
// QE's identity ("qe.*"), the PCK ("pck.*", "sgx_type") and the TCB
// appraisal ("tcb_status", "tcb_date", "advisory_ids", "qe_tcb_status", …).
func (c *Claims) Map() map[string]any {
	q := c.Quote
	h, b := &q.Header, &q.Body
	m := map[string]any{
		"header.version":           le16(h.Version),
		"header.att_key_type":      le16(h.AttKeyType),
		"header.att_key_data_0":    le32(h.AttKeyData0),
		"header.qe_svn":            le16(h.QESVN),
		"header.pce_svn":           le16(h.PCESVN),
		"header.vendor_id":         hx(h.VendorID[:]),
		"header.user_data":         hx(h.UserData[:]),
		"body.cpu_svn":             hx(b.CPUSVN[:]),
		"body.misc_select":         le32(b.MiscSelect),
		"body.reserved1":           hx(b.Raw[20:32]),
		"body.isv_ext_prod_id":     hx(b.ISVExtProdID[:]),
		"body.attributes.flags":    hx(b.Attributes[:8]),
		"body.attributes.xfrm":     hx(b.Attributes[8:]),
		"body.mr_enclave":          hx(b.MREnclave[:]),
		"body.reserved2":           hx(b.Raw[96:128]),
		"body.mr_signer":           hx(b.MRSigner[:]),
		"body.reserved3":           hx(b.Raw[160:192]),
		"body.config_id":           hx(b.ConfigID[:]),
		"body.isv_prod_id":         le16(b.ISVProdID),
		"body.isv_svn":             le16(b.ISVSVN),
		"body.config_svn":          le16(b.ConfigSVN),
		"body.reserved4":           hx(b.Raw[262:304]),
		"body.isv_family_id":       hx(b.ISVFamilyID[:]),
		"body.report_data":         hx(b.ReportData[:]),
		"mr_enclave":               hx(b.MREnclave[:]),
		"mr_signer":                hx(b.MRSigner[:]),
		"isv_prod_id":              int(b.ISVProdID),
		"isv_svn":                  int(b.ISVSVN),
		"config_svn":               int(b.ConfigSVN),
		"debug":                    b.Debug(),
		"attributes.init":          b.Flags()&AttrInit != 0,
		"attributes.mode64bit":     b.Flags()&AttrMode64Bit != 0,
		"attributes.provisionkey":  b.Flags()&AttrProvisionKey != 0,
		"attributes.einittokenkey": b.Flags()&AttrEInitTokenKey != 0,
		"attributes.kss":           b.Flags()&AttrKSS != 0,
		"report_data":              hx(b.ReportData[:]),
		"init_data":                hx(b.ConfigID[:]),
		"init_data_checked":        c.InitDataChecked,
	}
	pck.PutPlatformClaims(m, q.QEReport.MRSigner[:], q.QEReport.ISVProdID, q.QEReport.ISVSVN, (*pck.Extensions)(&c.PCK), c.PCKCA)
	if t := c.TCB; t != nil {
		m["tcb_status"] = string(t.Status)
		m["tcb_date"] = pck.RFC3339(t.Date)
		m["advisory_ids"] = slices.Clone(t.AdvisoryIDs)
		m["platform_tcb_status"] = string(t.PlatformStatus)
		m["qe_tcb_status"] = string(t.QEStatus)
		m["qe_tcb_date"] = pck.RFC3339(t.QEDate)
		m["tcb_evaluation_data_number"] = t.EvaluationDataNumber
		m["earliest_issue_date"] = pck.RFC3339(t.IssueDate)
		m["latest_issue_date"] = pck.RFC3339(t.LatestIssueDate)
		m["earliest_expiration_date"] = pck.RFC3339(t.Expiry)
		m["crls_checked"] = t.CRLsChecked
		m["collateral_expiration_status"] = "0"
		if t.Expired {
			m["collateral_expiration_status"] = "1"
		}
	}
	return m
}

// Expiry implements verify.ExpiringClaims: the earliest expiry of the
// collateral the appraisal used; none without collateral.
func (c *Claims) Expiry() (time.Time, bool) {
	if c.TCB == nil || c.TCB.Expiry.IsZero() {
		return time.Time{}, false
	}
	return c.TCB.Expiry, true
}
