package policy

// azureTDX appraises an Azure TDX confidential VM (az-tdx-vtpm): the TD
// quote's rules as for any TD (its MRTD and RTMRs measure Azure's
// paravisor, so pinning them pins the paravisor; the guest's boot is in the
// vTPM's PCRs), then what every Azure VM adds (azureVTPM), the
// Attestation-Agent runtime events among it: they are in the vTPM's PCRs,
// not in the paravisor's RTMR3.
func (e *eval) azureTDX() {
	e.tdxQuote()
	e.azureVTPM("TD quote")
}
