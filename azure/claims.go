package azure

import (
	"crypto"
	"strings"

	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/tpm"
	"github.com/trustfactory/attest/verify"
)

// Claims are the facts a successful verification established.
type Claims struct {
	Version int
	// SessionBound says the runtime data's user-data was compared with the
	// session's report data (version 2), so the SEV-SNP report is fresh too.
	SessionBound bool
	// SNP are the claims of the verified SEV-SNP report: its measurement is
	// the paravisor's, its REPORT_DATA the runtime data's digest.
	SNP *snp.Claims
	// TPM are the claims of the vTPM quote; its AK trust is "bound".
	TPM *tpm.Claims
	// VM is the VM configuration Azure states in the runtime data.
	VM VMConfiguration
	// UserData is the runtime data's user-data (hex text).
	UserData string
	// RuntimeDataHash is the algorithm that bound the runtime data.
	RuntimeDataHash crypto.Hash
}

// Format implements verify.Claims.
func (c *Claims) Format() verify.Format { return verify.FormatAzureSNP }

// Map implements verify.Claims: the SEV-SNP claims under their own names
// (measurement, reported_tcb_*, policy_*, vmpl, …), the quote's PCRs as
// "pcr00".."pcr23", "ak.*" and "quote.*" as package tpm names them,
// "report_data" the quote's extraData (the session binding),
// "hcl_report_session_bound" (version 2: the user-data binds the SEV-SNP report
// to the session too), the VM configuration as "vm_configuration.*" and
// "secure_boot.enabled", and "user_data". The SEV-SNP report's own
// REPORT_DATA (the runtime data's digest) is "snp_report_data".
func (c *Claims) Map() map[string]any {
	m := c.SNP.Map()
	// The SEV-SNP report's REPORT_DATA binds the runtime data, not the
	// session: keep it under its own name.
	if rd, ok := m["report_data"]; ok {
		m["snp_report_data"] = rd
	}
	if v, ok := m["report_data_checked"]; ok {
		m["snp_report_data_checked"] = v
		delete(m, "report_data_checked")
	}
	// Version 2 ties the SEV-SNP report to the session through the user-data;
	// a version 1 report may come from an earlier boot of the same vTPM.
	putVTPMClaims(m, c.TPM, c.Version, c.SessionBound, c.VM, c.UserData, c.RuntimeDataHash, c.UnsafeSwitches())
	return m
}

// UnsafeSwitches implements verify.UnsafeReporter: the switches of the
// SEV-SNP report's and the vTPM quote's verifications.
func (c *Claims) UnsafeSwitches() []verify.UnsafeSwitch {
	return verify.AddUnsafe(c.SNP.UnsafeSwitches(), c.TPM.UnsafeSwitches()...)
}

func hashName(h crypto.Hash) string {
	switch h {
	case crypto.SHA256:
		return "sha256"
	case crypto.SHA384:
		return "sha384"
	case crypto.SHA512:
		return "sha512"
	}
	return h.String()
}

// putVTPMClaims adds to m, the hardware report's claims, what az-snp-vtpm
// and az-tdx-vtpm claims share: the vTPM quote's claims (over m's of the
// same name, but for the event log the evidence does not carry), the
// evidence's version and session binding, the runtime data's, and under
// one key the switches of both parts (unsafe; the TPM map's alone would
// hide the hardware report's).
func putVTPMClaims(m map[string]any, tc *tpm.Claims, version int, sessionBound bool, vm VMConfiguration, userData string, h crypto.Hash, unsafe []verify.UnsafeSwitch) {
	for k, v := range tc.Map() {
		if strings.HasPrefix(k, "eventlog.") {
			continue // the evidence carries no event log
		}
		m[k] = v
	}
	m["az_version"] = version
	m["hcl_report_session_bound"] = sessionBound
	m["vm_configuration.console_enabled"] = vm.ConsoleEnabled
	m["vm_configuration.secure_boot"] = vm.SecureBoot
	m["vm_configuration.tpm_enabled"] = vm.TPMEnabled
	m["vm_configuration.vm_unique_id"] = vm.VMUniqueID
	m["secure_boot.enabled"] = vm.SecureBoot
	m["user_data"] = strings.ToLower(userData)
	m["runtime_data_hash"] = hashName(h)
	delete(m, verify.ClaimUnsafe)
	verify.PutUnsafeClaim(m, unsafe)
}
