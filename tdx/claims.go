package tdx

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"

	"github.com/trustfactory/attest/internal/pck"
	"github.com/trustfactory/attest/verify"
)

// TD_ATTRIBUTES bits with a meaning (Intel TDX module ABI).
const (
	TDAttrDebug         = 1 << 0
	TDAttrSEPTVEDisable = 1 << 28
	TDAttrMigratable    = 1 << 29
	TDAttrPKS           = 1 << 30
	TDAttrKL            = 1 << 31
	TDAttrPerfmon       = 1 << 63
	tdAttrKnown         = TDAttrDebug | TDAttrSEPTVEDisable | TDAttrMigratable | TDAttrPKS | TDAttrKL | TDAttrPerfmon
)

// Claims are the facts a successful TDX verification proved.
type Claims struct {
	Quote *Quote
	PCK   PCKExtensions
	PCKCA string // "platform" or "processor"
	// TCB is the collateral appraisal; nil only with WithoutCollateralUnsafe.
	TCB *TCB
	// EventLog is the replayed CC event log, when the evidence carried one.
	EventLog *EventLog
	// AAEventLog is the legacy text AA event log ("aa_eventlog"), replayed
	// into RTMR3, when the evidence carried one.
	AAEventLog *AAELog
	// InitDataChecked says MRCONFIGID was compared with Expectations.InitDataDigest.
	InitDataChecked bool
	// Unsafe lists the unsafe switches that took effect in this
	// verification (UnsafeWithoutCollateral, …, verify.UnsafeMissingReportData).
	Unsafe []verify.UnsafeSwitch
}

// UnsafeSwitches implements verify.UnsafeReporter.
func (c *Claims) UnsafeSwitches() []verify.UnsafeSwitch { return slices.Clone(c.Unsafe) }

var _ verify.Claims = (*Claims)(nil)

// Format returns verify.FormatTDX.
func (c *Claims) Format() verify.Format { return verify.FormatTDX }

// TDAttributes returns TD_ATTRIBUTES as an integer.
func (c *Claims) TDAttributes() uint64 {
	return binary.LittleEndian.Uint64(c.Quote.Body.TDAttributes[:])
}

func (c *Claims) tcbStatus() string {
	if c.TCB == nil {
		return ""
	}
	return string(c.TCB.Status)
}

func hx(b []byte) string { return hex.EncodeToString(b) }

func le16(v uint16) string { return hx(binary.LittleEndian.AppendUint16(nil, v)) }

func le32(v uint32) string { return hx(binary.LittleEndian.AppendUint32(nil, v)) }

// Map returns the flat claims using Trustee's names: "quote.header.*",
// "quote.body.*" (lowercase hex of the raw bytes), "td_attributes.*",
// "report_data", "init_data", "tcb_status", "tcb_date", "advisory_ids", and
// more about the PCK, the collateral and the event log.
func (c *Claims) Map() map[string]any {
	q := c.Quote
	h, b := &q.Header, &q.Body
	m := map[string]any{
		"quote.header.version":       le16(h.Version),
		"quote.header.att_key_type":  le16(h.AttKeyType),
		"quote.header.tee_type":      le32(h.TEEType),
		"quote.header.reserved":      hx(h.Reserved[:]),
		"quote.header.vendor_id":     hx(h.VendorID[:]),
		"quote.header.user_data":     hx(h.UserData[:]),
		"quote.body.tcb_svn":         hx(b.TEETCBSVN[:]),
		"quote.body.mr_seam":         hx(b.MRSEAM[:]),
		"quote.body.mrsigner_seam":   hx(b.MRSignerSEAM[:]),
		"quote.body.seam_attributes": hx(b.SEAMAttributes[:]),
		"quote.body.td_attributes":   hx(b.TDAttributes[:]),
		"quote.body.xfam":            hx(b.XFAM[:]),
		"quote.body.mr_td":           hx(b.MRTD[:]),
		"quote.body.mr_config_id":    hx(b.MRConfigID[:]),
		"quote.body.mr_owner":        hx(b.MROwner[:]),
		"quote.body.mr_owner_config": hx(b.MROwnerConfig[:]),
		"quote.body.rtmr_0":          hx(b.RTMR[0][:]),
		"quote.body.rtmr_1":          hx(b.RTMR[1][:]),
		"quote.body.rtmr_2":          hx(b.RTMR[2][:]),
		"quote.body.rtmr_3":          hx(b.RTMR[3][:]),
		"quote.body.report_data":     hx(b.ReportData[:]),
		"report_data":                hx(b.ReportData[:]),
		"init_data":                  hx(b.MRConfigID[:]),
		"init_data_checked":          c.InitDataChecked,
		"quote.trailing_bytes":       c.Quote.TrailingBytes,
	}
	pck.PutPlatformClaims(m, q.QEReport.MRSigner[:], q.QEReport.ISVProdID, q.QEReport.ISVSVN, (*pck.Extensions)(&c.PCK), c.PCKCA)
	if c.PCK.PlatformInstanceID != nil {
		m["pck.platform_instance_id"] = hx(c.PCK.PlatformInstanceID)
		// Trustee prints this value byte-reversed; keep its name and form.
		rev := make([]byte, len(c.PCK.PlatformInstanceID))
		for i, x := range c.PCK.PlatformInstanceID {
			rev[len(rev)-1-i] = x
		}
		m["platform_instance_id"] = hx(rev)
	}
	if q.Header.Version == 5 {
		m["quote.type"] = le16(q.BodyType)
		size := uint32(body10Size)
		if q.BodyType == bodyTypeTDX15 {
			size = body15Size
		}
		m["quote.size"] = le32(size)
	}
	if q.BodyType == bodyTypeTDX15 {
		m["quote.body.tee_tcb_svn2"] = hx(b.TEETCBSVN2[:])
		m["quote.body.mr_servicetd"] = hx(b.MRServiceTD[:])
	}
	attr := c.TDAttributes()
	m["td_attributes.debug"] = attr&TDAttrDebug != 0
	m["td_attributes.septve_disable"] = attr&TDAttrSEPTVEDisable != 0
	m["td_attributes.migratable"] = attr&TDAttrMigratable != 0
	m["td_attributes.protection_keys"] = attr&TDAttrPKS != 0
	m["td_attributes.key_locker"] = attr&TDAttrKL != 0
	m["td_attributes.perfmon"] = attr&TDAttrPerfmon != 0
	m["td_attributes.undefined_bits"] = hx(binary.LittleEndian.AppendUint64(nil, attr&^tdAttrKnown))

	if t := c.TCB; t != nil {
		m["tcb_status"] = string(t.Status)
		m["tcb_date"] = pck.RFC3339(t.Date)
		m["advisory_ids"] = append([]string{}, t.AdvisoryIDs...)
		m["tcb_status_platform"] = string(t.PlatformStatus)
		m["qe_tcb_status"] = string(t.QEStatus)
		m["qe_tcb_date"] = pck.RFC3339(t.QEDate)
		if t.ModuleID != "" {
			m["tdx_module.id"] = t.ModuleID
			m["tdx_module.tcb_status"] = string(t.ModuleStatus)
			m["tdx_module.tcb_date"] = pck.RFC3339(t.ModuleDate)
		}
		m["tcb_eval_num"] = t.EvaluationDataNumber
		m["earliest_issue_date"] = pck.RFC3339(t.IssueDate)
		m["latest_issue_date"] = pck.RFC3339(t.LatestIssueDate)
		m["earliest_expiration_date"] = pck.RFC3339(t.Expiry)
		m["collateral_expiration_status"] = "0"
		if t.Expired {
			m["collateral_expiration_status"] = "1"
		}
		m["crls_checked"] = t.CRLsChecked
		if t.CRLsChecked {
			m["pck_crl_num"] = t.PCKCRLNumber
			m["root_ca_crl_num"] = t.RootCRLNumber
		}
	}
	if l := c.EventLog; l != nil {
		evs := make([]any, 0, len(l.Events))
		for _, e := range l.Events {
			details := map[string]any{}
			if e.Text != "" {
				details["string"] = e.Text
			}
			if e.AAEL != nil {
				var content any = e.AAEL.Content
				var js any
				if json.Unmarshal([]byte(e.AAEL.Content), &js) == nil {
					content = js
				}
				details["data"] = map[string]any{"domain": e.AAEL.Domain, "operation": e.AAEL.Operation, "content": content}
				details["string"] = strings.TrimSpace(e.AAEL.Domain + " " + e.AAEL.Operation + " " + e.AAEL.Content)
				details["unicode_name"] = "AAEL"
			}
			evs = append(evs, map[string]any{
				"index":                int(e.MRIndex),
				"type_name":            e.TypeName,
				"digests":              []any{map[string]any{"alg": "SHA-384", "digest": hx(e.Digest)}},
				"event":                base64.StdEncoding.EncodeToString(e.Data),
				"digest_matches_event": e.DigestMatches,
				"details":              details,
			})
		}
		m["uefi_event_logs"] = evs
		apps := []any{}
		for _, e := range l.Events {
			if e.Type == evEFIBootServicesApplication {
				apps = append(apps, map[string]any{"rtmr": int(e.MRIndex) - 1, "digest": hx(e.Digest)})
			}
		}
		m["boot_applications"] = apps
		if s, ok := l.KernelCmdline(); ok {
			m["kernel_cmdline"] = s
		}
		m["rtmr3_unlogged"] = l.RTMR3Unlogged
	}
	if evs := c.AAELEvents(); len(evs) > 0 || c.AAEventLog != nil {
		// A legacy AA event log vouches for RTMR3 even with no events.
		m["aael"] = aaelClaims(evs)
	}
	verify.PutUnsafeClaim(m, c.Unsafe)
	return m
}

// AAELEvents returns the Attestation-Agent runtime events the verification
// bound to RTMR3: those of the legacy aa_eventlog, then the AAEL events the
// CC event log holds on CC MR index 4 (RTMR3) whose digest is the digest of
// their data. The claim "aael" gives them in Trustee's legacy shape,
// {"<domain>/<operation>": [content, …]}, whichever log carried them.
func (c *Claims) AAELEvents() []AAELEvent {
	var evs []AAELEvent
	if c.AAEventLog != nil {
		evs = append(evs, c.AAEventLog.Events...)
	}
	if c.EventLog != nil {
		for _, e := range c.EventLog.Events {
			if e.AAEL != nil && e.MRIndex == 4 {
				evs = append(evs, *e.AAEL)
			}
		}
	}
	return evs
}
