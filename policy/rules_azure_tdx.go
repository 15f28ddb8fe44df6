package policy

import (
	"fmt"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/verify"
)

// azureTDX appraises an Azure TDX confidential VM (az-tdx-vtpm): the TD
// quote's rules as for any TD (its MRTD and RTMRs measure Azure's
// paravisor, so pinning them pins the paravisor; the guest's boot is in the
// vTPM's PCRs), the PCRs as for a TPM, the AK bound by the HCL report, the
// TD quote bound to this session, and Secure Boot.
func (e *eval) azureTDX() {
	e.tdx()
	e.pcrs()
	e.akTrust("az.ak", "vTPM attestation key bound to the TD quote",
		"the HCL report's runtime data, covered by the TD quote, carries the AK", "the AK is not bound to the hardware report", "bound")
	_, bound, present := e.claimBool("hcl_report_session_bound")
	// One check: the TD quote (paravisor, TCB) describes this boot only if
	// the user-data tied it to this session (version 2 evidence).
	fresh := verify.Check{ID: "az.report_fresh", Title: "TD quote bound to this session", Claim: "hcl_report_session_bound",
		Expected: "true", Actual: fmt.Sprint(bound), Category: ear.Hardware}
	switch {
	case bound:
		fresh.OK, fresh.Value = true, ear.GenuineHardware
	case present:
		fresh.Value, fresh.Reason = ear.UnsafeHardware, "the TD quote (paravisor, TCB) is not bound to this session: it may be from an earlier boot"
	default:
		fresh.Actual, fresh.Value, fresh.Reason = "absent", ear.UnsafeHardware, "the verifier did not say whether the TD quote is bound to this session"
	}
	e.add(fresh)
	e.secureBoot("az.secure_boot", "Secure Boot enabled in the VM configuration")
}
