package tdx

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/trustfactory/attest/verify"
)

// TCB is the result of appraising a quote against verified collateral. It is
// judged by a policy: statuses other than Revoked are facts, not errors.
type TCB struct {
	// Status is the overall status: the platform level's, converged with the
	// TDX module's and the QE's as Intel's QVL does.
	Status      TCBStatus
	Date        time.Time // tcbDate of the matched platform level (the module level's when it lowered the status)
	AdvisoryIDs []string  // union over the platform, module and QE levels, sorted as first seen

	PlatformStatus TCBStatus
	PlatformDate   time.Time
	ModuleID       string // "TDX_03"…; empty when TEE_TCB_SVN[1] is 0
	ModuleStatus   TCBStatus
	ModuleDate     time.Time
	QEStatus       TCBStatus
	QEDate         time.Time

	EvaluationDataNumber   int       // tcbEvaluationDataNumber of the TCB info
	QEEvaluationDataNumber int       // of the QE identity
	IssueDate              time.Time // earliest issueDate of TCB info and QE identity
	LatestIssueDate        time.Time
	Expiry                 time.Time // earliest end of validity of all collateral items used
	CRLsChecked            bool
	// Expired is set when collateral past its validity was accepted by WithExpiredCollateralUnsafe.
	Expired       bool
	PCKCRLNumber  string
	RootCRLNumber string
}

// appraise matches the quote and its PCK against verified collateral.
func appraise(q *Quote, pck *verifiedPlatform, vc *verifiedCollateral) (*TCB, error) {
	t := vc.tcb
	if !bytes.Equal(t.FMSPC, pck.ext.FMSPC[:]) {
		return nil, verify.Errorf(verify.ErrCollateral, "TCB info fmspc: expected %s (from PCK), got %s", upperHex(pck.ext.FMSPC[:]), upperHex(t.FMSPC))
	}
	if !bytes.Equal(t.PCEID, pck.ext.PCEID[:]) {
		return nil, verify.Errorf(verify.ErrCollateral, "TCB info pceId: expected %s (from PCK), got %s", upperHex(pck.ext.PCEID[:]), upperHex(t.PCEID))
	}
	if vc.pckCRL != nil {
		if !bytes.Equal(vc.pckCRLCA.RawSubject, pck.intermediate.RawSubject) || !bytes.Equal(vc.pckCRLCA.RawSubjectPublicKeyInfo, pck.intermediate.RawSubjectPublicKeyInfo) {
			return nil, verify.Errorf(verify.ErrCollateral, "PCK CRL issuer: expected %q (the PCK's issuer), got %q", pck.intermediate.Subject.CommonName, vc.pckCRLCA.Subject.CommonName)
		}
		if vc.pckRevoked[serialKey(pck.leaf.SerialNumber.Bytes())] {
			return nil, verify.Errorf(verify.ErrRevoked, "PCK certificate serial %x is revoked by the PCK CRL", pck.leaf.SerialNumber)
		}
		if vc.rootRevoked[serialKey(pck.intermediate.SerialNumber.Bytes())] {
			return nil, verify.Errorf(verify.ErrRevoked, "PCK CA %q serial %x is revoked by the Root CA CRL", pck.intermediate.Subject.CommonName, pck.intermediate.SerialNumber)
		}
	}

	out := &TCB{
		EvaluationDataNumber:   t.TCBEvaluationDataNumber,
		QEEvaluationDataNumber: vc.qe.TCBEvaluationDataNumber,
		IssueDate:              vc.issueDates[0],
		LatestIssueDate:        vc.issueDates[1],
		Expiry:                 vc.notAfter,
		CRLsChecked:            vc.pckCRL != nil,
	}
	if vc.pckCRL != nil {
		out.PCKCRLNumber = fmt.Sprint(vc.pckCRL.Number)
		out.RootCRLNumber = fmt.Sprint(vc.rootCRL.Number)
	}

	// Errors from the QE and the platform are collected so that both surface.
	var errs []error

	qeLevel, qeErr := matchQE(q, vc.qe)
	if qeErr != nil {
		errs = append(errs, qeErr)
	}

	body := &q.Body
	// TDX module: MRSIGNERSEAM and SEAM attributes.
	if !bytes.Equal(body.MRSignerSEAM[:], t.TDXModule.MRSigner) {
		errs = append(errs, verify.Errorf(verify.ErrTCB, "quote mrsigner_seam: expected %x (TCB info tdxModule), got %x", []byte(t.TDXModule.MRSigner), body.MRSignerSEAM))
	}
	if !maskEqual(body.SEAMAttributes[:], t.TDXModule.AttributesMask, t.TDXModule.Attributes) {
		errs = append(errs, verify.Errorf(verify.ErrTCB, "quote seam_attributes: %x masked by %x, expected %x", body.SEAMAttributes, []byte(t.TDXModule.AttributesMask), []byte(t.TDXModule.Attributes)))
	}

	var level *tcbLevel
	for i := range t.TCBLevels {
		l := &t.TCBLevels[i]
		if platformGE(pck.ext, body.TEETCBSVN, l) {
			level = l
			break
		}
	}
	if level == nil {
		var why []string
		for i := range t.TCBLevels {
			why = append(why, fmt.Sprintf("level %d (%s): %s", i, t.TCBLevels[i].TCBStatus, platformMismatch(pck.ext, body.TEETCBSVN, &t.TCBLevels[i])))
		}
		errs = append(errs, verify.Errorf(verify.ErrTCB, "no TCB level of TCB info (fmspc %s, %d levels) matches: PCK SGX components %x, PCESVN %d, TEE_TCB_SVN %x (TcbNotSupported): %s",
			upperHex(t.FMSPC), len(t.TCBLevels), pck.ext.CompSVN, pck.ext.PCESVN, body.TEETCBSVN, strings.Join(why, "; ")))
	}

	var modLevel *tcbLevel
	if body.TEETCBSVN[1] > 0 {
		out.ModuleID = fmt.Sprintf("TDX_%02X", body.TEETCBSVN[1])
		ml, err := matchModule(body, t, out.ModuleID)
		if err != nil {
			errs = append(errs, err)
		}
		modLevel = ml
	}
	if len(errs) > 0 {
		return nil, joinKinded(errs)
	}

	out.PlatformStatus, out.PlatformDate = level.TCBStatus, level.TCBDate
	out.Status, out.Date = level.TCBStatus, level.TCBDate
	out.QEStatus, out.QEDate = qeLevel.TCBStatus, qeLevel.TCBDate
	adv := append([]string(nil), level.AdvisoryIDs...)
	if modLevel != nil {
		out.ModuleStatus, out.ModuleDate = modLevel.TCBStatus, modLevel.TCBDate
		out.converge(modLevel)
		adv = append(adv, modLevel.AdvisoryIDs...)
	}
	out.converge(qeLevel)
	adv = append(adv, qeLevel.AdvisoryIDs...)
	out.AdvisoryIDs = dedupe(adv)

	if out.Status == StatusRevoked {
		return nil, verify.Errorf(verify.ErrRevoked, "TCB status Revoked (platform %s, module %s, QE %s, tcbDate %s)",
			out.PlatformStatus, out.ModuleStatus, out.QEStatus, out.Date.UTC().Format(time.RFC3339))
	}
	return out, nil
}

// converge lowers the overall status and date by a module or QE level, as
// Intel's QVL does: OutOfDate makes the status out of date, Revoked revokes.
func (t *TCB) converge(l *tcbLevel) {
	switch l.TCBStatus {
	case StatusOutOfDate:
		t.Status = outOfDate(t.Status)
		t.Date = minTime(t.Date, l.TCBDate)
	case StatusRevoked:
		t.Status = StatusRevoked
	}
}

// outOfDate converges a platform status with an OutOfDate module or QE.
func outOfDate(s TCBStatus) TCBStatus {
	switch s {
	case StatusUpToDate, StatusSWHardeningNeeded, StatusTDRelaunchAdvised:
		return StatusOutOfDate
	case StatusConfigurationNeeded, StatusConfigurationAndSWHardeningNeeded, StatusTDRelaunchAdvisedConfigurationNeeded:
		return StatusOutOfDateConfigurationNeeded
	}
	return s
}

func platformGE(x *PCKExtensions, teeTCBSVN [16]byte, l *tcbLevel) bool {
	return comparePlatform(x, teeTCBSVN, l, nil)
}

// platformMismatch names every comparison of level l that the platform fails.
func platformMismatch(x *PCKExtensions, teeTCBSVN [16]byte, l *tcbLevel) string {
	var why []string
	comparePlatform(x, teeTCBSVN, l, func(s string) { why = append(why, s) })
	if len(why) == 0 {
		return "matches"
	}
	return strings.Join(why, ", ")
}

// comparePlatform reports whether the platform is at or above level l in
// every component. With a fail function it goes on through every
// comparison, passing each failed one to it; without, it stops at the first.
func comparePlatform(x *PCKExtensions, teeTCBSVN [16]byte, l *tcbLevel, fail func(string)) bool {
	ok := true
	failed := func(format string, args ...any) bool {
		ok = false
		if fail == nil {
			return true
		}
		fail(fmt.Sprintf(format, args...))
		return false
	}
	for i, c := range l.TCB.SGXComponents {
		if int(x.CompSVN[i]) < c.SVN && failed("SGX component %d is %d < %d", i+1, x.CompSVN[i], c.SVN) {
			return false
		}
	}
	if int(x.PCESVN) < *l.TCB.PCESVN && failed("PCESVN is %d < %d", x.PCESVN, *l.TCB.PCESVN) {
		return false
	}
	start := 0
	if teeTCBSVN[1] > 0 {
		// Indices 0 and 1 (module SVN and version) are judged by the module identity.
		start = 2
	}
	for i := start; i < 16; i++ {
		if int(teeTCBSVN[i]) < l.TCB.TDXComponents[i].SVN && failed("TEE_TCB_SVN[%d] is %d < %d", i, teeTCBSVN[i], l.TCB.TDXComponents[i].SVN) {
			return false
		}
	}
	return ok
}

func matchModule(body *Body, t *tcbInfo, id string) (*tcbLevel, error) {
	for i := range t.TDXModuleIdentities {
		m := &t.TDXModuleIdentities[i]
		if !strings.EqualFold(m.ID, id) {
			continue
		}
		if !bytes.Equal(body.MRSignerSEAM[:], m.MRSigner) {
			return nil, verify.Errorf(verify.ErrTCB, "quote mrsigner_seam: expected %x (module identity %s), got %x", []byte(m.MRSigner), id, body.MRSignerSEAM)
		}
		if !maskEqual(body.SEAMAttributes[:], m.AttributesMask, m.Attributes) {
			return nil, verify.Errorf(verify.ErrTCB, "quote seam_attributes: %x masked by %x, expected %x (module identity %s)", body.SEAMAttributes, []byte(m.AttributesMask), []byte(m.Attributes), id)
		}
		for j := range m.TCBLevels {
			if int(body.TEETCBSVN[0]) >= *m.TCBLevels[j].TCB.ISVSVN {
				return &m.TCBLevels[j], nil
			}
		}
		return nil, verify.Errorf(verify.ErrTCB, "TDX module identity %s: no TCB level for module SVN %d", id, body.TEETCBSVN[0])
	}
	return nil, verify.Errorf(verify.ErrTCB, "TCB info has no TDX module identity %s for TEE_TCB_SVN %x (%d identities): %w", id, body.TEETCBSVN, len(t.TDXModuleIdentities), verify.ErrCollateral)
}

func matchQE(q *Quote, id *qeIdentity) (*tcbLevel, error) {
	r := &q.QEReport
	if !bytes.Equal(r.MRSigner[:], id.MRSigner) {
		return nil, verify.Errorf(verify.ErrTCB, "QE report mrsigner: expected %x (QE identity), got %x", []byte(id.MRSigner), r.MRSigner)
	}
	if int(r.ISVProdID) != *id.ISVProdID {
		return nil, verify.Errorf(verify.ErrTCB, "QE report isvprodid: expected %d (QE identity), got %d", *id.ISVProdID, r.ISVProdID)
	}
	misc, mask := binary.BigEndian.Uint32(id.MiscSelect), binary.BigEndian.Uint32(id.MiscSelectMask)
	if r.MiscSelect&mask != misc {
		return nil, verify.Errorf(verify.ErrTCB, "QE report miscselect: %08x masked by %08x, expected %08x", r.MiscSelect, mask, misc)
	}
	if !maskEqual(r.Attributes[:], id.AttributesMask, id.Attributes) {
		return nil, verify.Errorf(verify.ErrTCB, "QE report attributes: %x masked by %x, expected %x", r.Attributes, []byte(id.AttributesMask), []byte(id.Attributes))
	}
	for i := range id.TCBLevels {
		if int(r.ISVSVN) >= *id.TCBLevels[i].TCB.ISVSVN {
			return &id.TCBLevels[i], nil
		}
	}
	return nil, verify.Errorf(verify.ErrTCB, "QE identity: no TCB level for QE isvsvn %d", r.ISVSVN)
}

func maskEqual(v, mask, want []byte) bool {
	if len(v) != len(mask) || len(v) != len(want) {
		return false
	}
	for i := range v {
		if v[i]&mask[i] != want[i] {
			return false
		}
	}
	return true
}

func dedupe(s []string) []string {
	seen := make(map[string]bool, len(s))
	out := []string{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// joinKinded returns the only error, or all of them joined so that every
// cause and every kind stays visible to errors.Is.
func joinKinded(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return &multiError{errs: errs, msg: strings.Join(msgs, "; ")}
}

type multiError struct {
	errs []error
	msg  string
}

func (m *multiError) Error() string   { return m.msg }
func (m *multiError) Unwrap() []error { return m.errs }
