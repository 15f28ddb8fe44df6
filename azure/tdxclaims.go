package azure

import (
	"crypto"
	"time"

	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tpm"
	"github.com/trustfactory/attest/verify"
)

// TDXClaims are the facts a successful az-tdx-vtpm verification
// established.
type TDXClaims struct {
	Version int
	// SessionBound says the runtime data's user-data was compared with the
	// session's report data (version 2), so the TD quote is fresh too.
	SessionBound bool
	// TDX are the claims of the verified TD quote: its MRTD and RTMRs
	// measure Azure's paravisor, not the guest; its REPORTDATA is the
	// runtime data's digest.
	TDX *tdx.Claims
	// TPM are the claims of the vTPM quote (the guest's boot); its AK trust
	// is "bound".
	TPM *tpm.Claims
	// VM is the VM configuration Azure states in the runtime data.
	VM VMConfiguration
	// UserData is the runtime data's user-data (hex text).
	UserData string
	// RuntimeDataHash is the algorithm that bound the runtime data.
	RuntimeDataHash crypto.Hash
}

// What the composite appraiser, package binding and package kbs need to
// know about Azure TDX vTPM evidence.
var (
	_ verify.SubmodClasser    = (*TDXVerifier)(nil)
	_ verify.TEENamer         = (*TDXVerifier)(nil)
	_ verify.ReportDataPlacer = (*TDXVerifier)(nil)
	_ verify.ExpiringClaims   = (*TDXClaims)(nil)
	_ verify.UnsafeReporter   = (*TDXClaims)(nil)
)

// SubmodClass implements verify.SubmodClasser: a confidential VM is a CPU
// TEE.
func (v *TDXVerifier) SubmodClass() string { return verify.ClassCPU }

// TEEName implements verify.TEENamer: "az-tdx-vtpm" in the KBS protocol.
func (v *TDXVerifier) TEEName() string { return string(verify.FormatAzureTDX) }

// ReportDataPlacement implements verify.ReportDataPlacer: the vTPM quote's
// extraData is the runtime-data digest itself, as Trustee compares it.
func (v *TDXVerifier) ReportDataPlacement() verify.ReportDataPlacement {
	return verify.ReportDataPlacement{Mode: verify.PlaceExact, Size: 64}
}

// Format implements verify.Claims.
func (c *TDXClaims) Format() verify.Format { return verify.FormatAzureTDX }

// Expiry implements verify.ExpiringClaims: that of the TD quote's
// collateral.
func (c *TDXClaims) Expiry() (time.Time, bool) {
	if c.TDX == nil {
		return time.Time{}, false
	}
	return c.TDX.Expiry()
}

// UnsafeSwitches implements verify.UnsafeReporter: the switches of the TD
// quote's and the vTPM quote's verifications.
func (c *TDXClaims) UnsafeSwitches() []verify.UnsafeSwitch {
	return verify.AddUnsafe(c.TDX.UnsafeSwitches(), c.TPM.UnsafeSwitches()...)
}

// Map implements verify.Claims: the TD quote's claims under package tdx's
// names (quote.header.*, quote.body.*, tcb_status, td_attributes.*, …),
// except that its REPORTDATA (the runtime data's digest) is
// "td_report_data" and its MRCONFIGID only "quote.body.mr_config_id"; the
// quote's PCRs as "pcr00".."pcr23", "ak.*" and "quote.*" as package tpm
// names them, "report_data" the vTPM quote's extraData (the session
// binding), "init_data" PCR 8; "hcl_report_session_bound", the VM
// configuration as "vm_configuration.*" and "secure_boot.enabled",
// "user_data", "az_version" and "runtime_data_hash" as for az-snp-vtpm.
func (c *TDXClaims) Map() map[string]any {
	m := c.TDX.Map()
	m["td_report_data"] = m["report_data"]
	delete(m, "report_data")
	// MRCONFIGID is the paravisor's, not the guest's init data, which the
	// vTPM's PCR 8 carries; tdx's check of it was not asked for.
	delete(m, "init_data")
	m["init_data_checked"] = c.TPM.InitDataChecked
	putVTPMClaims(m, c.TPM, c.Version, c.SessionBound, c.VM, c.UserData, c.RuntimeDataHash, c.UnsafeSwitches())
	return m
}
