package policy

// azureTDX appraises an Azure TDX confidential VM (az-tdx-vtpm): the TD
// quote's rules as for any TD (its MRTD and RTMRs measure Azure's
// paravisor, so pinning them pins the paravisor; the guest's boot is in the
// vTPM's PCRs), then what every Azure VM adds (azureVTPM).
func (e *eval) azureTDX() {
	e.tdx()
	e.azureVTPM("TD quote")
}
