package tdx

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/trustfactory/attest/internal/pck"

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

// tcbKey identifies an appraisal by the exact bytes it depends on: the
// platform (pck.Platform.Key: the PCK chain and the QE report), the
// collateral (Collateral.Digest) and the quote body's fields that the TCB
// levels and module identities are matched with.
type tcbKey struct {
	platform, collateral [32]byte
	teeTCBSVN            [16]byte
	mrSignerSEAM         [48]byte
	seamAttributes       [8]byte
}

// appraiseCached is appraise, from the cache when the same platform, quote
// fields and collateral were appraised before: a host's quotes repeat all
// three until its TCB or Intel's collateral changes. The appraisal does not
// depend on the time (the collateral's and PCK chain's validity are checked
// against the caller's time on every call, before this); failed appraisals
// are not cached. Callers get a copy.
func (v *Verifier) appraiseCached(q *Quote, p *pck.Platform, vc *pck.Verified, collateral [32]byte) (*TCB, error) {
	k := tcbKey{platform: p.Key, collateral: collateral, teeTCBSVN: q.Body.TEETCBSVN,
		mrSignerSEAM: q.Body.MRSignerSEAM, seamAttributes: q.Body.SEAMAttributes}
	t, ok := v.tcbs.Get(k, time.Time{})
	if !ok {
		var err error
		if t, err = appraise(q, p, vc); err != nil {
			return nil, err
		}
		v.tcbs.Add(k, t, time.Time{})
	}
	out := *t
	out.AdvisoryIDs = slices.Clone(t.AdvisoryIDs)
	return &out, nil
}

// appraise matches the quote and its PCK against verified collateral.
func appraise(q *Quote, p *pck.Platform, vc *pck.Verified) (*TCB, error) {
	t := vc.TCB
	if err := vc.CheckPlatformIDs(p.Ext); err != nil {
		return nil, err
	}
	if err := vc.CheckRevocation(p); err != nil {
		return nil, err
	}

	out := &TCB{
		EvaluationDataNumber:   t.TCBEvaluationDataNumber,
		QEEvaluationDataNumber: vc.QE.TCBEvaluationDataNumber,
		IssueDate:              vc.IssueDates[0],
		LatestIssueDate:        vc.IssueDates[1],
		Expiry:                 vc.NotAfter,
		CRLsChecked:            vc.PCKCRL != nil,
	}
	if vc.PCKCRL != nil {
		out.PCKCRLNumber = fmt.Sprint(vc.PCKCRL.Number)
		out.RootCRLNumber = fmt.Sprint(vc.RootCRL.Number)
	}

	// Errors from the QE and the platform are collected so that both surface.
	var errs []error

	qeLevel, qeErr := matchQE(q, vc.QE)
	if qeErr != nil {
		errs = append(errs, qeErr)
	}

	body := &q.Body
	// TDX module: MRSIGNERSEAM and SEAM attributes.
	if !bytes.Equal(body.MRSignerSEAM[:], t.TDXModule.MRSigner) {
		errs = append(errs, verify.Errorf(verify.ErrTCB, "quote mrsigner_seam: expected %x (TCB info tdxModule), got %x", []byte(t.TDXModule.MRSigner), body.MRSignerSEAM))
	}
	if !pck.MaskEqual(body.SEAMAttributes[:], t.TDXModule.AttributesMask, t.TDXModule.Attributes) {
		errs = append(errs, verify.Errorf(verify.ErrTCB, "quote seam_attributes: %x masked by %x, expected %x", body.SEAMAttributes, []byte(t.TDXModule.AttributesMask), []byte(t.TDXModule.Attributes)))
	}

	var level *pck.Level
	for i := range t.TCBLevels {
		l := &t.TCBLevels[i]
		if platformGE(p.Ext, body.TEETCBSVN, l) {
			level = l
			break
		}
	}
	if level == nil {
		var why []string
		for i := range t.TCBLevels {
			why = append(why, fmt.Sprintf("level %d (%s): %s", i, t.TCBLevels[i].TCBStatus, platformMismatch(p.Ext, body.TEETCBSVN, &t.TCBLevels[i])))
		}
		errs = append(errs, verify.Errorf(verify.ErrTCB, "no TCB level of TCB info (fmspc %s, %d levels) matches: PCK SGX components %x, PCESVN %d, TEE_TCB_SVN %x (TcbNotSupported): %s",
			pck.UpperHex(t.FMSPC), len(t.TCBLevels), p.Ext.CompSVN, p.Ext.PCESVN, body.TEETCBSVN, strings.Join(why, "; ")))
	}

	var modLevel *pck.Level
	if body.TEETCBSVN[1] > 0 {
		out.ModuleID = fmt.Sprintf("TDX_%02X", body.TEETCBSVN[1])
		ml, err := matchModule(body, t, out.ModuleID)
		if err != nil {
			errs = append(errs, err)
		}
		modLevel = ml
	}
	if len(errs) > 0 {
		return nil, pck.JoinKinded(errs)
	}

	out.PlatformStatus, out.PlatformDate = TCBStatus(level.TCBStatus), level.TCBDate
	out.Status, out.Date = TCBStatus(level.TCBStatus), level.TCBDate
	out.QEStatus, out.QEDate = TCBStatus(qeLevel.TCBStatus), qeLevel.TCBDate
	adv := append([]string(nil), level.AdvisoryIDs...)
	if modLevel != nil {
		out.ModuleStatus, out.ModuleDate = TCBStatus(modLevel.TCBStatus), modLevel.TCBDate
		out.converge(modLevel)
		adv = append(adv, modLevel.AdvisoryIDs...)
	}
	out.converge(qeLevel)
	adv = append(adv, qeLevel.AdvisoryIDs...)
	out.AdvisoryIDs = pck.Dedupe(adv)

	if out.Status == StatusRevoked {
		return nil, verify.Errorf(verify.ErrRevoked, "TCB status Revoked (platform %s, module %s, QE %s, tcbDate %s)",
			out.PlatformStatus, out.ModuleStatus, out.QEStatus, out.Date.UTC().Format(time.RFC3339))
	}
	return out, nil
}

// converge lowers the overall status and date by a module or QE level, as
// Intel's QVL does: OutOfDate makes the status out of date, Revoked revokes.
func (t *TCB) converge(l *pck.Level) {
	switch TCBStatus(l.TCBStatus) {
	case StatusOutOfDate:
		t.Status = outOfDate(t.Status)
		t.Date = pck.MinTime(t.Date, l.TCBDate)
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

func platformGE(x *pck.Extensions, teeTCBSVN [16]byte, l *pck.Level) bool {
	return comparePlatform(x, teeTCBSVN, l, nil)
}

// platformMismatch names every comparison of level l that the platform fails.
func platformMismatch(x *pck.Extensions, teeTCBSVN [16]byte, l *pck.Level) string {
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
func comparePlatform(x *pck.Extensions, teeTCBSVN [16]byte, l *pck.Level, fail func(string)) bool {
	ok := true
	failed := func(format string, args ...any) bool {
		ok = false
		if fail == nil {
			return true
		}
		fail(fmt.Sprintf(format, args...))
		return false
	}
	if !pck.SGXComponentsGE(x, l, fail) {
		ok = false
		if fail == nil {
			return false
		}
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

func matchModule(body *Body, t *pck.TCBInfo, id string) (*pck.Level, error) {
	for i := range t.TDXModuleIdentities {
		m := &t.TDXModuleIdentities[i]
		if !strings.EqualFold(m.ID, id) {
			continue
		}
		if !bytes.Equal(body.MRSignerSEAM[:], m.MRSigner) {
			return nil, verify.Errorf(verify.ErrTCB, "quote mrsigner_seam: expected %x (module identity %s), got %x", []byte(m.MRSigner), id, body.MRSignerSEAM)
		}
		if !pck.MaskEqual(body.SEAMAttributes[:], m.AttributesMask, m.Attributes) {
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

func matchQE(q *Quote, id *pck.QEIdentity) (*pck.Level, error) {
	r, err := pck.ParseEnclaveReport(q.QEReport.Raw[:])
	if err != nil {
		return nil, err
	}
	return pck.MatchQE(&r, id)
}
