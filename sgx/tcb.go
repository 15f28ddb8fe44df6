package sgx

import (
	"fmt"
	"strings"
	"time"

	"github.com/trustfactory/attest/internal/pck"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/verify"
)

// TCB is the result of appraising a quote against verified collateral. It is
// judged by a policy: statuses other than Revoked are facts, not errors.
type TCB struct {
	// Status is the overall status: the platform level's, lowered by the QE
	// level's as Intel's QVL does (an OutOfDate QE makes it out of date).
	Status      TCBStatus
	Date        time.Time // tcbDate of the matched platform level (the QE level's when it lowered the status)
	AdvisoryIDs []string  // union over the platform and QE levels, in order of first appearance

	PlatformStatus TCBStatus
	PlatformDate   time.Time
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

// appraise matches the PCK (platform level) and the QE report (QE level)
// against verified SGX collateral. The platform level is chosen by the PCK
// certificate's SGX component SVNs and PCESVN, never by the quote's CPUSVN
// (spec §1.5: in the dcap-qvl sample only the PCK's values give Intel's answer).
func appraise(q *Quote, p *pck.Platform, vc *pck.Verified) (*TCB, error) {
	if err := vc.CheckPlatformIDs(p.Ext); err != nil {
		return nil, err
	}
	if err := vc.CheckRevocation(p); err != nil {
		return nil, err
	}
	t := vc.TCB
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

	// The QE and the platform errors are collected so that both surface.
	var errs []error
	qeReport := pck.EnclaveReport(q.QEReport)
	qeLevel, err := pck.MatchQE(&qeReport, vc.QE)
	if err != nil {
		errs = append(errs, err)
	}
	var level *pck.Level
	for i := range t.TCBLevels {
		if pck.SGXComponentsGE(p.Ext, &t.TCBLevels[i], nil) {
			level = &t.TCBLevels[i]
			break
		}
	}
	if level == nil {
		var why []string
		for i := range t.TCBLevels {
			var fails []string
			pck.SGXComponentsGE(p.Ext, &t.TCBLevels[i], func(s string) { fails = append(fails, s) })
			why = append(why, fmt.Sprintf("level %d (%s): %s", i, t.TCBLevels[i].TCBStatus, strings.Join(fails, ", ")))
		}
		errs = append(errs, verify.Errorf(verify.ErrTCB, "no TCB level of SGX TCB info (fmspc %s, %d levels) matches: PCK SGX components %x, PCESVN %d (TcbNotSupported): %s",
			pck.UpperHex(t.FMSPC), len(t.TCBLevels), p.Ext.CompSVN, p.Ext.PCESVN, strings.Join(why, "; ")))
	}
	if len(errs) > 0 {
		return nil, pck.JoinKinded(errs)
	}

	out.PlatformStatus, out.PlatformDate = TCBStatus(level.TCBStatus), level.TCBDate
	out.Status, out.Date = out.PlatformStatus, level.TCBDate
	out.QEStatus, out.QEDate = TCBStatus(qeLevel.TCBStatus), qeLevel.TCBDate
	switch out.QEStatus {
	case tdx.StatusOutOfDate:
		out.Status = outOfDate(out.Status)
		out.Date = pck.MinTime(out.Date, qeLevel.TCBDate)
	case tdx.StatusRevoked:
		out.Status = tdx.StatusRevoked
	}
	out.AdvisoryIDs = pck.Dedupe(append(append([]string(nil), level.AdvisoryIDs...), qeLevel.AdvisoryIDs...))
	// Revocation is judged by this quote's own TEE levels (automata-dcap-attestation#155).
	if out.Status == tdx.StatusRevoked {
		return nil, verify.Errorf(verify.ErrRevoked, "SGX TCB status Revoked (platform %s, QE %s, tcbDate %s)",
			out.PlatformStatus, out.QEStatus, pck.RFC3339(out.Date))
	}
	return out, nil
}

// outOfDate converges a platform status with an OutOfDate QE, as Intel's QVL does.
func outOfDate(s TCBStatus) TCBStatus {
	switch s {
	case tdx.StatusUpToDate, tdx.StatusSWHardeningNeeded:
		return tdx.StatusOutOfDate
	case tdx.StatusConfigurationNeeded, tdx.StatusConfigurationAndSWHardeningNeeded:
		return tdx.StatusOutOfDateConfigurationNeeded
	}
	return s
}
