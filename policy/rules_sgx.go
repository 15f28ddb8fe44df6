package policy

import (
	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/verify"
)

// sgx: executables from the enclave identity — MRENCLAVE pinned
// (sgx_mr_enclave), or the signer's identity MRSIGNER (sgx_mr_signer) with
// ISVPRODID (sgx_isv_prod_id) — and a minimum ISVSVN (sgx_min_isv_svn);
// hardware from the TCB status, date and advisories as for TDX (prefix
// "sgx"); configuration and runtime-opaque from the DEBUG attribute, which
// is refused: a debug enclave's memory is readable by the host.
func (e *eval) sgx() {
	featuresOK := true
	// Compared only when pinned: the enclave's extended features
	// (MISCSELECT) and, for enclaves using Key Separation and Sharing, the
	// extended product and family IDs their keys depend on.
	for _, f := range []struct{ rv, claim, title string }{
		{"sgx_misc_select", "body.misc_select", "extended SSA features (MISCSELECT)"},
		{"sgx_isv_ext_prod_id", "body.isv_ext_prod_id", "KSS extended product ID (ISVEXTPRODID)"},
		{"sgx_isv_family_id", "body.isv_family_id", "KSS product family ID (ISVFAMILYID)"},
	} {
		_, ok := e.optionalPin("sgx."+f.rv[len("sgx_"):], f.title, f.rv, []string{f.claim}, ear.Executables, ear.ContraindicatedRuntime)
		featuresOK = featuresOK && ok
	}
	e.sgxExecutables(featuresOK)
	e.tcbStatus("sgx", []string{"tcb_status"}, true)
	e.minDate("sgx.tcb_date", "platform TCB date", "sgx_min_tcb_date", []string{"tcb_date"})
	e.advisories("sgx", []string{"advisory_ids"})
	debugOff := e.flagOff("sgx.debug", "not a debug enclave (ATTRIBUTES.DEBUG clear)", "debug enclave (ATTRIBUTES.DEBUG)", []string{"debug"},
		ear.Configuration, ear.UnsupportableConfig)
	if debugOff {
		e.add(verify.Check{ID: "sgx.configuration", Title: "configuration without known vulnerabilities", Category: ear.Configuration,
			OK: true, Value: ear.NoConfigVulns, Reason: "not a debug enclave"})
		e.add(verify.Check{ID: "sgx.memory", Title: "enclave memory encrypted and inaccessible to the host", Category: ear.RuntimeOpaque,
			OK: true, Value: ear.EncryptedMemory})
	} else {
		e.add(verify.Check{ID: "sgx.memory", Title: "enclave memory encrypted and inaccessible to the host", Category: ear.RuntimeOpaque,
			Value: ear.VisibleMemory, Reason: "a debug enclave's memory is readable by the host"})
	}
}

// sgxExecutables: an enclave is approved when its code is pinned
// (MRENCLAVE), or when its signer and product are pinned (MRSIGNER and
// ISVPRODID: any enclave that signer ships as that product, which then
// also needs an ISVSVN floor, sgx_min_isv_svn); either way the ISVSVN floor
// and the optional pins (featuresOK) apply. With neither pinned the enclave is
// unrecognized: MRSIGNER alone would approve every enclave its signer ever
// built, ISVPRODID alone any signer's.
func (e *eval) sgxExecutables(featuresOK bool) {
	svnPinned, svnOK := e.minNumber("sgx.isv_svn", "enclave security version (ISVSVN) at least the minimum", "sgx_min_isv_svn",
		[]string{"isv_svn"}, ear.Executables, ear.ContraindicatedRuntime)
	if len(e.rv.Lookup("sgx_mr_enclave", e.now)) > 0 {
		ok := e.pin("sgx.mr_enclave", "enclave measurement (MRENCLAVE)", "sgx_mr_enclave", []string{"mr_enclave"},
			ear.Executables, ear.NoClaim, ear.UnrecognizedRuntime, ear.ContraindicatedRuntime)
		if ok && svnOK && featuresOK {
			e.add(verify.Check{ID: "sgx.executables", Title: "approved enclave", Category: ear.Executables, OK: true,
				Value: ear.ApprovedBoot, Reason: "MRENCLAVE matches"})
		}
		return
	}
	signer := e.pin("sgx.mr_signer", "enclave signer (MRSIGNER)", "sgx_mr_signer", []string{"mr_signer"},
		ear.Executables, ear.NoClaim, ear.UnrecognizedRuntime, ear.ContraindicatedRuntime)
	product := e.pin("sgx.isv_prod_id", "enclave product (ISVPRODID)", "sgx_isv_prod_id", []string{"isv_prod_id"},
		ear.Executables, ear.NoClaim, ear.UnrecognizedRuntime, ear.ContraindicatedRuntime)
	switch {
	case signer && product && !svnPinned:
		// The signer's every version of the product would pass, the
		// vulnerable ones it has since replaced included.
		e.add(verify.Check{ID: "sgx.executables", Title: "approved enclave", Category: ear.Executables,
			Expected: "reference value sgx_min_isv_svn", Value: ear.UnrecognizedRuntime,
			Reason: "MRSIGNER and ISVPRODID match, but no ISVSVN floor is pinned: older, vulnerable versions of the enclave would pass too"})
	case signer && product && svnOK && featuresOK:
		e.add(verify.Check{ID: "sgx.executables", Title: "approved enclave", Category: ear.Executables, OK: true,
			Value: ear.ApprovedBoot, Reason: "MRSIGNER, ISVPRODID and the ISVSVN floor match (no MRENCLAVE pinned)"})
	}
}
