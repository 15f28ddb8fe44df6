package policy

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/verify"
)

// The TCB status lists of a Policy built without WithAcceptedTCBStatus or
// WithToleratedTCBStatus. Unexported so that no importer can loosen TCB
// acceptance for the whole process; read them with DefaultAcceptedTCBStatus
// and DefaultToleratedTCBStatus.
var (
	defaultAcceptedTCBStatus  = []string{"UpToDate"}
	defaultToleratedTCBStatus = []string{
		"SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded",
		"OutOfDate", "OutOfDateConfigurationNeeded", "TDRelaunchAdvised", "TDRelaunchAdvisedConfigurationNeeded",
	}
)

// DefaultAcceptedTCBStatus returns a copy of the TCB status list that yields
// hardware 2 when neither WithAcceptedTCBStatus nor a *_accepted_tcb_status
// reference value says otherwise: UpToDate.
func DefaultAcceptedTCBStatus() []string { return slices.Clone(defaultAcceptedTCBStatus) }

// DefaultToleratedTCBStatus returns a copy of the TCB status list that yields
// hardware 32 (warning) when neither WithToleratedTCBStatus nor a
// *_tolerated_tcb_status reference value says otherwise. Any other status
// (Revoked, unknown) yields hardware 96.
func DefaultToleratedTCBStatus() []string { return slices.Clone(defaultToleratedTCBStatus) }

// tdx: the TD quote's rules, then the Attestation-Agent runtime events
// RTMR3 holds.
func (e *eval) tdx() {
	e.tdxQuote()
	e.aael()
}

// tdxQuote: executables from MRTD and RTMRs, hardware from the TCB status,
// date and advisories (and MRSEAM when pinned), configuration from
// TD_ATTRIBUTES, XFAM and the service TD, runtime-opaque from the debug bit.
func (e *eval) tdxQuote() {
	e.tdxExecutables()
	e.tcbStatus("tdx", []string{"tcb_status"}, true)
	e.minDate("tdx.tcb_date", "platform TCB date", "tdx_min_tcb_date", []string{"tcb_date"})
	e.minSVNs("tdx.tee_tcb_svn", "TDX module TCB SVNs (TEE_TCB_SVN), component by component", "tdx_min_tee_tcb_svn", []string{"quote.body.tcb_svn"})
	e.advisories("tdx", []string{"advisory_ids"})
	e.optionalPin("tdx.mr_seam", "TDX module measurement (MRSEAM)", "mr_seam",
		[]string{"quote.body.mr_seam", "mr_seam"}, ear.Hardware, ear.ContraindicatedHardware)
	debugOff := e.flagOff("tdx.debug", "not a debug TD (TD_ATTRIBUTES.DEBUG clear)", "debug TD (TD_ATTRIBUTES.DEBUG)", []string{"td_attributes.debug", "debug"},
		ear.Configuration, ear.UnsupportableConfig)
	// Every rule runs, so that the appraisal lists every reason at once.
	attrOK := e.tdAttributes()
	xfamOK, xfamPinned := e.tdxXFAM()
	serviceOK := e.serviceTD()
	configIDOK := e.launchConfig("tdx.mr_config_id", "launch configuration (MRCONFIGID) vouched for", "tdx_mr_config_id",
		[]string{"quote.body.mr_config_id", "mr_config_id"})
	if debugOff && attrOK && xfamOK && serviceOK && configIDOK {
		if xfamPinned {
			e.add(verify.Check{ID: "tdx.configuration", Title: "approved configuration", Category: ear.Configuration,
				OK: true, Value: ear.ApprovedConfig, Reason: "not a debug TD, expected TD attributes, XFAM matches"})
		} else {
			e.add(verify.Check{ID: "tdx.configuration", Title: "configuration without known vulnerabilities", Category: ear.Configuration,
				OK: true, Value: ear.NoConfigVulns, Reason: "not a debug TD, expected TD attributes, XFAM within the architectural bits"})
		}
	}
	if debugOff {
		e.add(verify.Check{ID: "tdx.memory", Title: "TD memory encrypted and inaccessible to the host", Category: ear.RuntimeOpaque,
			OK: true, Value: ear.EncryptedMemory})
	} else {
		e.add(verify.Check{ID: "tdx.memory", Title: "TD memory encrypted and inaccessible to the host", Category: ear.RuntimeOpaque,
			Value: ear.VisibleMemory, Reason: "a debug TD's memory is visible to the host"})
	}
}

// launchConfig appraises a launch-configuration register the host fills in
// when it starts the guest (TDX MRCONFIGID, SEV-SNP HOST_DATA). Confidential
// Containers puts the digest of the init data there: the agent policy and
// configuration files, which decide for instance whether the host may exec
// into a container. Pinned, the register must match. Unpinned, it is vouched
// for only when the verifier compared it with the init data the appraisal
// was given (init_data_checked), or when it is all zero (the host supplied
// nothing). Anything else is a configuration nobody approved: a request that
// simply leaves its init data out must not make a permissive agent policy
// pass. Configuration is then 36 (security-relevant elements unavailable).
func (e *eval) launchConfig(id, title, rvName string, keys []string) bool {
	if len(e.rv.Lookup(rvName, e.now)) > 0 {
		_, ok := e.optionalPin(id, title, rvName, keys, ear.Configuration, ear.UnsupportableConfig)
		return ok
	}
	k, got, present := e.claim(keys...)
	c := verify.Check{ID: id, Title: title, Claim: k, Actual: got, Category: ear.Configuration,
		Expected: rvName + " pinned, init data compared, or all zero"}
	_, checked, _ := e.claimBool("init_data_checked")
	switch {
	case !present:
		c.Value, c.Reason = ear.UnavailableConfig, "claim "+k+" absent"
	case checked:
		c.OK, c.Reason = true, "compared with the init data given with the evidence"
	case got != "" && strings.Trim(got, "0") == "":
		c.OK, c.Reason = true, "all zero: the host supplied no launch configuration"
	default:
		c.Value = ear.UnavailableConfig
		c.Reason = "set by the host at launch, neither pinned (" + rvName + ") nor compared with init data (give the init data with the evidence, or pin it)"
	}
	e.add(c)
	return c.OK
}

// tdxBootRTMRs are the registers that, with MRTD, make a TD's boot known:
// RTMR0 the virtual firmware's configuration (TD HOB, ACPI tables), RTMR1
// the boot loader and kernel, RTMR2 the kernel command line and initrd.
const tdxBootRTMRs = 3

// tdxExecutables: approved boot needs MRTD and RTMR0..2 pinned and
// matching; RTMR3 pinned as well makes it approved runtime. Anything less
// leaves the executables unrecognized (POL-13): an MRTD pin alone vouches for
// the firmware, not for the kernel, initrd and command line it booted.
func (e *eval) tdxExecutables() {
	mrtd := e.pin("tdx.mr_td", "TD firmware measurement (MRTD)", "mr_td",
		[]string{"quote.body.mr_td", "mr_td"}, ear.Executables, ear.NoClaim, ear.UnrecognizedRuntime, ear.ContraindicatedRuntime)
	var unpinned []string
	bad := false
	runtime := false
	for i := 0; i < 4; i++ {
		n := fmt.Sprintf("rtmr_%d", i)
		checked, ok := e.optionalPin("tdx."+n, fmt.Sprintf("runtime measurement register %d (RTMR%d)", i, i), n,
			[]string{"quote.body." + n, n}, ear.Executables, ear.ContraindicatedRuntime)
		switch {
		case checked && !ok:
			bad = true
		case !checked && i < tdxBootRTMRs:
			unpinned = append(unpinned, n)
		case checked && i == 3:
			runtime = true
		}
	}
	if !mrtd || bad {
		return // the failing pin set the claim
	}
	c := verify.Check{ID: "tdx.executables", Title: "approved boot chain", Category: ear.Executables,
		Expected: "mr_td and rtmr_0, rtmr_1, rtmr_2 pinned"}
	switch {
	case len(unpinned) > 0:
		c.Value = ear.UnrecognizedRuntime
		c.Reason = "MRTD matches, but " + strings.Join(unpinned, ", ") +
			" not pinned: the TD's firmware configuration, kernel, initrd or command line is not recognized"
	case runtime:
		c.OK, c.Value, c.Reason = true, ear.ApprovedRuntime, "MRTD and RTMR0..3 match (RTMR3 is the runtime register)"
	default:
		c.OK, c.Value, c.Reason = true, ear.ApprovedBoot, "MRTD and RTMR0..2 match"
	}
	e.add(c)
}

// TD_ATTRIBUTES bits (Intel TDX module ABI): TUD bits 7:0 (DEBUG and
// reserved), SEC bits 63:8.
const (
	tdAttrDebug         = 1 << 0
	tdAttrSEPTVEDisable = 1 << 28
	tdAttrMigratable    = 1 << 29
	tdAttrPKS           = 1 << 30
	tdAttrKL            = 1 << 31
	tdAttrPerfmon       = 1 << 63
	tdAttrDefined       = tdAttrDebug | tdAttrSEPTVEDisable | tdAttrMigratable | tdAttrPKS | tdAttrKL | tdAttrPerfmon
)

// tdAttrFeatures names the defined bits other than DEBUG, and whether the
// default policy expects each set.
var tdAttrFeatures = []struct {
	bit  uint64
	name string
	want bool
}{
	{tdAttrSEPTVEDisable, "SEPT_VE_DISABLE", true},
	{tdAttrMigratable, "MIGRATABLE", false},
	{tdAttrPKS, "PKS", false},
	{tdAttrKL, "KL", false},
	{tdAttrPerfmon, "PERFMON", false},
}

// leUint64 decodes the hex of 8 little-endian bytes, as the TDX claims print
// TD_ATTRIBUTES and XFAM.
func leUint64(s string) (uint64, bool) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 8 {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b), true
}

// tdAttributes: reserved and undefined TD_ATTRIBUTES bits are always
// refused (TDX-17); the feature bits must be the default expectation
// (SEPT_VE_DISABLE set; MIGRATABLE, PKS, KL, PERFMON clear) unless the
// tdx_td_attributes reference value pins the exact attributes (TDX-18).
func (e *eval) tdAttributes() bool {
	k, got, present := e.claim("quote.body.td_attributes")
	attr, ok := leUint64(got)
	c := verify.Check{ID: "tdx.td_attributes.reserved", Title: "no reserved or undefined TD_ATTRIBUTES bit set", Claim: k,
		Actual: got, Expected: fmt.Sprintf("no bit outside %#x", uint64(tdAttrDefined)), Category: ear.Configuration}
	switch {
	case !present || !ok:
		c.Value, c.Reason = ear.UnsupportableConfig, "claim "+k+" absent or not 8 hex bytes"
		e.add(c)
		return false
	case attr&^tdAttrDefined != 0:
		c.Value = ear.UnsupportableConfig
		c.Reason = fmt.Sprintf("reserved or undefined bits %#x set: a TD configuration no policy can vouch for", attr&^tdAttrDefined)
	default:
		c.OK = true
	}
	e.add(c)
	reservedOK := c.OK
	if len(e.rv.Lookup("tdx_td_attributes", e.now)) > 0 {
		_, pinOK := e.optionalPin("tdx.td_attributes", "TD attributes (TD_ATTRIBUTES)", "tdx_td_attributes",
			[]string{"quote.body.td_attributes"}, ear.Configuration, ear.UnsupportableConfig)
		return reservedOK && pinOK
	}
	var unexpected []string
	for _, f := range tdAttrFeatures {
		if (attr&f.bit != 0) != f.want {
			state := "set"
			if f.want {
				state = "clear"
			}
			unexpected = append(unexpected, f.name+" "+state)
		}
	}
	fc := verify.Check{ID: "tdx.td_attributes", Title: "TD attributes as expected", Claim: k, Actual: got,
		Expected: "SEPT_VE_DISABLE set; MIGRATABLE, PKS, KL, PERFMON clear (or reference value tdx_td_attributes)",
		Category: ear.Configuration}
	if len(unexpected) > 0 {
		fc.Value = ear.UnsupportableConfig
		fc.Reason = strings.Join(unexpected, ", ") + "; no reference value tdx_td_attributes allows it"
	} else {
		fc.OK = true
	}
	e.add(fc)
	return reservedOK && fc.OK
}

// XFAM bits every TD has set (x87, SSE) and the bits a TD may set at all
// (Intel TDX module ABI: XFAM_FIXED1 and XFAM_FIXED0).
const (
	xfamFixed1 = 0x00000003
	xfamFixed0 = 0x0006DBE7
)

// tdxXFAM: a pinned xfam must match; without one, XFAM must lie within the
// architectural fixed bits (TDX-18).
func (e *eval) tdxXFAM() (ok, pinned bool) {
	if len(e.rv.Lookup("xfam", e.now)) > 0 {
		_, ok := e.optionalPin("tdx.xfam", "extended features (XFAM)", "xfam",
			[]string{"quote.body.xfam", "xfam"}, ear.Configuration, ear.UnsupportableConfig)
		return ok, true
	}
	k, got, present := e.claim("quote.body.xfam", "xfam")
	xfam, valid := leUint64(got)
	c := verify.Check{ID: "tdx.xfam", Title: "extended features (XFAM) within the architectural bits", Claim: k, Actual: got,
		Expected: fmt.Sprintf("bits %#x set, none outside %#x (or reference value xfam)", xfamFixed1, xfamFixed0), Category: ear.Configuration}
	switch {
	case !present || !valid:
		c.Value, c.Reason = ear.UnsupportableConfig, "claim "+k+" absent or not 8 hex bytes"
	case xfam&xfamFixed1 != xfamFixed1:
		c.Value, c.Reason = ear.UnsupportableConfig, fmt.Sprintf("required bits %#x clear", xfamFixed1&^xfam)
	case xfam&^xfamFixed0 != 0:
		c.Value, c.Reason = ear.UnsupportableConfig, fmt.Sprintf("bits %#x outside the allowed set", xfam&^xfamFixed0)
	default:
		c.OK = true
	}
	e.add(c)
	return c.OK, false
}

// serviceTD: a non-zero MRSERVICETD (TDX 1.5 quotes) says a service TD
// (a migration TD, for example) is bound to this TD and can reach its
// state; it is refused unless the tdx_mr_servicetd reference value lists it
// (TDX-22). An all-zero or absent value binds no service TD.
func (e *eval) serviceTD() bool {
	k, got, present := e.claim("quote.body.mr_servicetd")
	if !present || strings.Trim(got, "0") == "" {
		return true
	}
	allowed := e.rv.Lookup("tdx_mr_servicetd", e.now)
	c := verify.Check{ID: "tdx.mr_servicetd", Title: "no unapproved service TD bound (MRSERVICETD)", Claim: k, Actual: got,
		Expected: "zero or reference value tdx_mr_servicetd", Category: ear.Configuration}
	switch {
	case len(allowed) == 0:
		c.Value, c.Reason = ear.UnsupportableConfig, "a service TD is bound and no reference value tdx_mr_servicetd allows one"
	case contains(allowed, got):
		c.OK, c.Expected, c.Reason = true, setText(allowed), "matches reference value tdx_mr_servicetd"
	default:
		c.Value, c.Expected, c.Reason = ear.UnsupportableConfig, setText(allowed), "not among the reference values tdx_mr_servicetd"
	}
	e.add(c)
	return c.OK
}

// minSVNs compares a hex string of SVN bytes with a minimum, byte by byte:
// every component must be at least the minimum's.
func (e *eval) minSVNs(id, title, rvName string, keys []string) {
	want := e.rv.Lookup(rvName, e.now)
	if len(want) == 0 {
		return
	}
	min, err := hex.DecodeString(want[0])
	if err != nil || len(min) == 0 {
		e.badReference(rvName, want[0], "hex SVN bytes")
		return
	}
	k, got, present := e.claim(keys...)
	c := verify.Check{ID: id, Title: title, Claim: k, Actual: got, Expected: ">= " + want[0] + " per byte", Category: ear.Hardware}
	have, herr := hex.DecodeString(got)
	switch {
	case !present:
		c.Value, c.Reason = ear.ContraindicatedHardware, "claim "+k+" absent"
	case herr != nil || len(have) < len(min):
		c.Value, c.Reason = ear.ContraindicatedHardware, fmt.Sprintf("claim %s %q is not %d hex bytes", k, got, len(min))
	default:
		c.OK = true
		for i := range min {
			if have[i] < min[i] {
				c.OK = false
				c.Value, c.Reason = ear.ContraindicatedHardware, fmt.Sprintf("component %d is %d, minimum %d", i, have[i], min[i])
				break
			}
		}
	}
	e.add(c)
}

// advisories contraindicates the hardware when a claim lists an advisory of
// the <prefix>_forbidden_advisory_ids reference values.
func (e *eval) advisories(prefix string, keys []string) {
	forbidden := e.rv.Lookup(prefix+"_forbidden_advisory_ids", e.now)
	if len(forbidden) == 0 {
		return
	}
	k := keys[0]
	var have []string
	readable := false
	for _, key := range keys {
		if v, ok := e.in.Claims[key]; ok {
			k = key
			have, readable = adviseList(v)
			break
		}
	}
	c := verify.Check{ID: prefix + ".advisories", Title: "no forbidden security advisory", Claim: k,
		Expected: "none of " + setText(forbidden), Actual: strings.Join(have, ", "), Category: ear.Hardware}
	if !readable {
		// No list (the TCB was not evaluated) or one the rules cannot
		// read: no advisory was ruled out.
		c.Value = ear.UnrecognizedHardware
		c.Reason = "claim " + k + " absent or not a list of advisory ids: the forbidden advisories cannot be ruled out"
		e.add(c)
		return
	}
	var hit []string
	for _, a := range have {
		if contains(forbidden, a) {
			hit = append(hit, a)
		}
	}
	if len(hit) > 0 {
		c.Value = ear.ContraindicatedHardware
		c.Reason = "platform affected by " + strings.Join(hit, ", ")
	} else {
		c.OK = true
	}
	e.add(c)
}

// adviseList reads a list of advisory ids: a list of text (possibly
// empty), or one id. ok is false for anything else.
func adviseList(v any) (ids []string, ok bool) {
	switch x := v.(type) {
	case []string:
		return x, true
	case []any:
		out := make([]string, 0, len(x))
		for _, y := range x {
			t, isText := y.(string)
			if !isText {
				return nil, false
			}
			out = append(out, t)
		}
		return out, true
	case string:
		if x != "" {
			return []string{x}, true
		}
	}
	return nil, false
}

// snp: executables from the launch measurement (and the ID block when
// pinned), hardware from minimum TCB components, the chip binding, the
// mitigation vectors, the memory alias check and the platform features
// (and a TCB status when the verifier gives one),
// configuration from the guest policy and the VMPL.
func (e *eval) snp() {
	e.pin("snp.measurement", "launch measurement", "snp_launch_measurement",
		[]string{"measurement"}, ear.Executables, ear.ApprovedBoot, ear.UnrecognizedRuntime, ear.ContraindicatedRuntime)
	e.launchConfig("snp.host_data", "launch configuration (HOST_DATA) vouched for", "snp_host_data", []string{"host_data"})
	e.optionalPin("snp.id_key_digest", "ID key digest", "snp_id_key_digest", []string{"id_key_digest"}, ear.Executables, ear.ContraindicatedRuntime)
	if e.rvBool("snp_require_author_key") {
		e.flagOn("snp.author_key", "ID block signed with an author key (AUTHOR_KEY_EN)", []string{"author_key_en"},
			ear.Executables, ear.ContraindicatedRuntime)
	}
	e.snpTCB()
	e.snpChipID()
	e.snpMitigations()
	e.snpAliasCheck()
	e.snpPlatformInfo()
	debugOff := e.flagOff("snp.debug", "guest policy forbids debugging (POLICY.DEBUG clear)", "guest policy allows debugging (POLICY.DEBUG)", []string{"policy_debug_allowed"},
		ear.Configuration, ear.UnsupportableConfig)
	maOK := e.migrationAgent()
	vmplOK := e.snpVMPL()
	if debugOff && maOK && vmplOK {
		e.add(verify.Check{ID: "snp.configuration", Title: "configuration without known vulnerabilities", Category: ear.Configuration,
			OK: true, Value: ear.NoConfigVulns, Reason: "debugging not allowed, no unapproved migration agent, an allowed VMPL"})
	}
	if debugOff {
		e.add(verify.Check{ID: "snp.memory", Title: "guest memory encrypted", Category: ear.RuntimeOpaque, OK: true, Value: ear.EncryptedMemory})
	} else {
		e.add(verify.Check{ID: "snp.memory", Title: "guest memory encrypted", Category: ear.RuntimeOpaque,
			Value: ear.VisibleMemory, Reason: "the guest policy allows the host to debug (read) guest memory"})
	}
}

// snpTCBParts are the TCB components, in report order; fmc only on Turin.
var snpTCBParts = []string{"bootloader", "tee", "snp", "microcode", "fmc"}

// snpTCB: the snp_min_tcb_* floors apply to the reported TCB (the one the
// VCEK certifies), to the TCB the guest was launched on and to the committed
// TCB (the firmware cannot roll back below it) (SNP-22); a current TCB below
// the committed one is refused whatever the reference values.
func (e *eval) snpTCB() {
	pinned, allOK := 0, true
	var unpinned []string
	for _, part := range snpTCBParts {
		if _, ok := e.in.Claims["reported_tcb_"+part]; !ok && part == "fmc" {
			continue
		}
		for _, which := range []string{"reported", "launch", "committed"} {
			checked, ok := e.minNumber("snp."+which+"_tcb_"+part, "minimum "+which+" TCB: "+part, "snp_min_tcb_"+part,
				[]string{which + "_tcb_" + part}, ear.Hardware, ear.ContraindicatedHardware)
			if which == "reported" {
				if checked {
					pinned++
				} else {
					unpinned = append(unpinned, part)
				}
			}
			allOK = allOK && ok
		}
		_, cur, curOK := e.claimUint("current_tcb_" + part)
		_, com, comOK := e.claimUint("committed_tcb_" + part)
		if curOK && comOK && cur < com {
			e.add(verify.Check{ID: "snp.current_tcb_" + part, Title: "current TCB not below the committed TCB: " + part,
				Claim: "current_tcb_" + part, Actual: fmt.Sprint(cur), Expected: fmt.Sprintf(">= %d (committed)", com),
				Category: ear.Hardware, Value: ear.ContraindicatedHardware, Reason: "the running firmware is older than the committed one"})
			allOK = false
		}
	}
	_, _, hasStatus := e.claim("tcb_status")
	if hasStatus {
		e.tcbStatus("snp", []string{"tcb_status"}, true)
	}
	switch {
	case pinned > 0 && len(unpinned) > 0:
		// A floor for some components only leaves the others at any level
		// (an old microcode under a pinned SNP firmware, say): the
		// firmware level is not vouched for until every component the
		// report carries has its floor.
		e.add(verify.Check{ID: "snp.hardware", Title: "platform TCB at or above the pinned minimum", Category: ear.Hardware,
			Expected: "reference values snp_min_tcb_" + strings.Join(unpinned, ", snp_min_tcb_"), Value: ear.UnsafeHardware,
			Reason: fmt.Sprintf("no minimum pinned for TCB component(s) %s: the platform's firmware level is only partly appraised", strings.Join(unpinned, ", "))})
	case pinned > 0 && allOK:
		e.add(verify.Check{ID: "snp.hardware", Title: "platform TCB at or above the pinned minimum", Category: ear.Hardware,
			OK: true, Value: ear.GenuineHardware, Reason: fmt.Sprintf("every one of the %d TCB components met its minimum in the reported, launch and committed TCB", pinned)})
	case pinned == 0 && !hasStatus:
		e.add(verify.Check{ID: "snp.hardware", Title: "platform TCB at or above the pinned minimum", Category: ear.Hardware,
			Expected: "reference values snp_min_tcb_*", Value: ear.UnsafeHardware,
			Reason: "no minimum TCB pinned: the platform's firmware level is not appraised"})
	}
}

// snpChipID: with CHIP_ID masked (all zero) the verifier cannot bind the
// report to the chip its VCEK names, so the hardware is not recognized
// unless snp_allow_masked_chip_id is true (SNP-17). A non-zero CHIP_ID that
// differs from the VCEK's is the verifier's ErrBinding, not a policy matter.
func (e *eval) snpChipID() {
	k, masked, present := e.claimBool("chip_id_masked")
	c := verify.Check{ID: "snp.chip_id", Title: "report bound to the chip of its VCEK (CHIP_ID not masked)", Claim: k,
		Expected: "false", Actual: fmt.Sprint(masked), Category: ear.Hardware}
	switch {
	case !present:
		c.Value, c.Reason = ear.UnrecognizedHardware, "claim "+k+" absent"
	case !masked:
		c.OK = true
	case e.rvBool("snp_allow_masked_chip_id"):
		c.OK, c.Reason = true, "masked CHIP_ID allowed (snp_allow_masked_chip_id)"
	default:
		c.Value, c.Reason = ear.UnrecognizedHardware, "CHIP_ID masked: the report is not bound to a chip, and snp_allow_masked_chip_id is not true"
	}
	e.add(c)
}

// snpMitigations: a version 5 report states the mitigations applied at
// launch and now; snp_required_mitigations (a bit mask) must be set in both
// (SNP-30). Without the reference value the vectors are not appraised and
// yield no claim.
func (e *eval) snpMitigations() {
	want := e.rv.Lookup("snp_required_mitigations", e.now)
	if len(want) == 0 {
		if _, v, ok := e.claim("current_mit_vector"); ok {
			e.add(verify.Check{ID: "snp.mitigations", Title: "required mitigations applied", Claim: "current_mit_vector", Actual: v,
				Category: ear.Hardware, OK: true, Reason: "not appraised (no reference value snp_required_mitigations)"})
		}
		return
	}
	mask, ok := parseUint(want[0])
	if !ok || mask == 0 {
		e.badReference("snp_required_mitigations", want[0], "a non-zero bit mask (0x…)")
		return
	}
	for _, which := range []string{"launch", "current"} {
		k, v, present := e.claimUint(which + "_mit_vector")
		c := verify.Check{ID: "snp." + which + "_mitigations", Title: "required mitigations applied (" + which + ")", Claim: k,
			Actual: fmt.Sprintf("%#x", v), Expected: fmt.Sprintf("bits %#x set", mask), Category: ear.Hardware}
		switch {
		case !present:
			c.Actual, c.Value, c.Reason = "", ear.ContraindicatedHardware, "claim "+k+" absent: the report (before version 5) states no mitigations"
		case v&mask != mask:
			c.Value, c.Reason = ear.ContraindicatedHardware, fmt.Sprintf("mitigations %#x missing", mask&^v)
		default:
			c.OK = true
		}
		e.add(c)
	}
}

// snpAliasCheck: ALIAS_CHECK_COMPLETE says the firmware checked at boot
// that no two physical addresses alias the same memory, the mitigation of
// BadRAM (AMD-SB-3015, CVE-2024-21944), where a host with a modified DIMM SPD
// reads or replays a guest's encrypted memory. Without it (the bit clear, or
// a version 2 report that cannot state it) the hardware has a known
// vulnerability: hardware 32 unless snp_allow_no_alias_check is true.
func (e *eval) snpAliasCheck() {
	allow := e.rvBool("snp_allow_no_alias_check") // read always: a bad value is a misconfigured policy
	k, done, present := e.claimBool("platform_alias_check_complete")
	c := verify.Check{ID: "snp.alias_check", Title: "memory alias check complete (BadRAM mitigated)", Claim: k,
		Expected: "true", Actual: fmt.Sprint(done), Category: ear.Hardware}
	switch {
	case present && done:
		c.OK = true
	case allow:
		c.OK, c.Reason = true, "memory alias check not required (snp_allow_no_alias_check)"
	case !present:
		c.Actual, c.Value, c.Reason = "", ear.UnsafeHardware,
			"claim "+k+" absent (a version 2 report cannot state it): BadRAM memory aliasing (CVE-2024-21944) is not excluded"
	default:
		c.Value, c.Reason = ear.UnsafeHardware,
			"the firmware did not complete the memory alias check: BadRAM memory aliasing (CVE-2024-21944) is not excluded"
	}
	e.add(c)
}

// snpPlatformBits names the PLATFORM_INFO bits and says why a policy may
// require or forbid each.
var snpPlatformBits = [...]struct{ name, why string }{
	0: {"SMT_EN", "simultaneous multithreading shares a core's caches and predictors with other tenants (cross-thread side channels)"},
	1: {"TSME_EN", "transparent SME encrypts host memory; SNP encrypts guest memory with the guest's own key either way"},
	2: {"ECC_EN", "ECC memory detects and corrects bit flips (Rowhammer-style faults)"},
	3: {"RAPL_DIS", "RAPL power reporting is a power side channel on guest computation"},
	4: {"CIPHERTEXT_HIDING_EN", "ciphertext hiding stops the hypervisor reading guest ciphertext (ciphertext side channels)"},
	5: {"ALIAS_CHECK_COMPLETE", "the firmware checked memory for aliases (BadRAM)"},
	6: {"bit 6", "reserved in ABI 1.58; set by current Turin firmware"},
	7: {"TIO_EN", "SEV-TIO trusted device I/O is enabled"},
}

// snpPlatformInfo: snp_required_platform_info and snp_forbidden_platform_info
// (bit masks over PLATFORM_INFO) yield one check per bit they name, each
// saying why the bit matters; a bit in both is a misconfigured policy.
// Without them PLATFORM_INFO is recorded, not appraised (beyond
// snp.alias_check), and no hardware claim comes of it. Bits the report's
// version does not define are compared as the firmware set them: a genuine
// report's bit means the same in every version.
func (e *eval) snpPlatformInfo() {
	masks := [2]uint64{}
	for i, name := range []string{"snp_required_platform_info", "snp_forbidden_platform_info"} {
		v := e.rv.Lookup(name, e.now)
		if len(v) == 0 {
			continue
		}
		m, ok := parseUint(v[0])
		if !ok || m == 0 {
			e.badReference(name, v[0], "a non-zero bit mask (0x…)")
			return
		}
		masks[i] = m
	}
	required, forbidden := masks[0], masks[1]
	if both := required & forbidden; both != 0 {
		e.badReference("snp_forbidden_platform_info", fmt.Sprintf("%#x", forbidden),
			fmt.Sprintf("no bit also in snp_required_platform_info %#x (both name %#x)", required, both))
		return
	}
	k, info, present := e.claimUint("platform_info")
	if required|forbidden == 0 {
		if present {
			_, reserved, _ := e.claim("platform_info_reserved")
			e.add(verify.Check{ID: "snp.platform_info", Title: "platform features", Claim: k, Actual: fmt.Sprintf("%#x", info),
				Category: ear.Hardware, OK: true,
				Reason: "not appraised beyond snp.alias_check (no snp_required_platform_info or snp_forbidden_platform_info); reserved bits set: " + reserved})
		}
		return
	}
	for bit := range 64 {
		b := uint64(1) << bit
		if (required|forbidden)&b == 0 {
			continue
		}
		name, why := fmt.Sprintf("reserved bit %d", bit), "reserved by the ABI"
		if bit < len(snpPlatformBits) {
			name, why = snpPlatformBits[bit].name, snpPlatformBits[bit].why
		}
		want, id := required&b != 0, fmt.Sprintf("snp.platform_info_bit%d", bit)
		title := "platform feature " + name + map[bool]string{true: " set", false: " clear"}[want]
		c := verify.Check{ID: id, Title: title, Claim: k, Actual: fmt.Sprintf("%#x", info),
			Expected: fmt.Sprintf("bit %d %s", bit, map[bool]string{true: "set", false: "clear"}[want]), Category: ear.Hardware}
		switch {
		case !present:
			c.Actual, c.Value, c.Reason = "", ear.UnsafeHardware, "claim "+k+" absent"
		case (info&b != 0) == want:
			c.OK, c.Reason = true, why
		case want:
			c.Value, c.Reason = ear.UnsafeHardware, name+" not set, and snp_required_platform_info requires it: "+why
		default:
			c.Value, c.Reason = ear.UnsafeHardware, name+" set, and snp_forbidden_platform_info forbids it: "+why
		}
		e.add(c)
	}
}

// migrationAgent: a guest policy that allows a migration agent lets that
// agent read the guest's state; it is refused unless
// snp_allow_migration_agent is true (SNP-07).
func (e *eval) migrationAgent() bool {
	k, on, present := e.claimBool("policy_migrate_ma")
	c := verify.Check{ID: "snp.migrate_ma", Title: "guest policy allows a migration agent", Claim: k, Expected: "false",
		Actual: fmt.Sprint(on), Category: ear.Configuration}
	switch {
	case !present:
		c.Value, c.Reason = ear.UnsupportableConfig, "claim "+k+" absent or not a boolean"
	case !on:
		c.OK = true
	case e.rvBool("snp_allow_migration_agent"):
		c.OK, c.Reason = true, "migration agent allowed (snp_allow_migration_agent)"
	default:
		c.Value, c.Reason = ear.UnsupportableConfig, "a migration agent may read the guest, and snp_allow_migration_agent is not true"
	}
	e.add(c)
	return c.OK
}

// snpVMPL: the report must come from VMPL 0, the most privileged level,
// unless snp_allowed_vmpls lists the report's VMPL (SNP-11): a report from a
// less privileged level says nothing of the software above it.
func (e *eval) snpVMPL() bool {
	allowed := e.rv.Lookup("snp_allowed_vmpls", e.now)
	for _, a := range allowed {
		if n, err := strconv.ParseUint(a, 10, 8); err != nil || n > 3 {
			e.badReference("snp_allowed_vmpls", a, "a VMPL, 0 to 3")
			return false
		}
	}
	expected := "0"
	if len(allowed) > 0 {
		expected = setText(allowed)
	} else {
		allowed = []string{"0"}
	}
	k, v, present := e.claimUint("vmpl")
	c := verify.Check{ID: "snp.vmpl", Title: "report requested from an allowed VMPL", Claim: k, Actual: fmt.Sprint(v),
		Expected: expected, Category: ear.Configuration}
	switch {
	case !present:
		c.Actual, c.Value, c.Reason = "", ear.UnsupportableConfig, "claim "+k+" absent"
	case slices.Contains(allowed, fmt.Sprint(v)):
		c.OK = true
	default:
		c.Value, c.Reason = ear.UnsupportableConfig, fmt.Sprintf("VMPL %d is not allowed (reference value snp_allowed_vmpls)", v)
	}
	e.add(c)
	return c.OK
}

// claimKeys names the claims the GPU rules read, per device kind (NVIDIA
// claims v3 names; "/" walks into nested objects).
type claimKeys struct {
	prefix    string   // check id and reference-value prefix: "gpu" or "switch"
	measres   []string // "success" when runtime measurements match the RIMs
	driver    []string
	vbios     []string
	fwidMatch []string
	ocsp      []string // OCSP status of the device certificate chain
	rims      []string // RIM names in claims: "driver", "vbios", "bios"
	rimPrefix string
}

var gpuKeys = claimKeys{
	prefix:    "gpu",
	measres:   []string{"measres"},
	driver:    []string{"x-nvidia-gpu-driver-version"},
	vbios:     []string{"x-nvidia-gpu-vbios-version"},
	fwidMatch: []string{"x-nvidia-gpu-attestation-report-cert-chain-fwid-match"},
	ocsp:      []string{"x-nvidia-gpu-attestation-report-cert-chain/x-nvidia-cert-ocsp-status"},
	rims:      []string{"driver", "vbios"},
	rimPrefix: "x-nvidia-gpu-",
}

var switchKeys = claimKeys{
	prefix:    "switch",
	measres:   []string{"measres"},
	vbios:     []string{"x-nvidia-switch-bios-version", "x-nvidia-switch-vbios-version"},
	fwidMatch: []string{"x-nvidia-switch-attestation-report-cert-chain-fwid-match"},
	ocsp:      []string{"x-nvidia-switch-attestation-report-cert-chain/x-nvidia-cert-ocsp-status"},
	rims:      []string{"bios"},
	rimPrefix: "x-nvidia-switch-",
}

// opaqueRecords: NVIDIA claims 4.0 list the opaque-data records the device
// did not meet (x-nvidia-mismatch-opaque-data-records): MIN_SVN floors its
// RIMs set on firmware security versions such as FSP_UCODE_SVN. Any entry is
// firmware below the floor: hardware 96, whether the local verifier or NRAS
// appraised the evidence. Claims before 4.0 have no such list: no check.
func (e *eval) opaqueRecords(p string) {
	const k = "x-nvidia-mismatch-opaque-data-records"
	v, present := lookupPath(e.in.Claims, k)
	if !present {
		return
	}
	c := verify.Check{ID: p + ".opaque_records", Title: "opaque data meets the RIMs' records (minimum SVNs)", Claim: k,
		Expected: "no mismatched record", Category: ear.Hardware}
	var items []any
	switch l := v.(type) {
	case nil:
	case []any:
		items = l
	case []map[string]any:
		for _, x := range l {
			items = append(items, x)
		}
	default:
		c.Actual, c.Value, c.Reason = fmt.Sprintf("%T", v), ear.ContraindicatedHardware, "claim "+k+" is not a list"
		e.add(c)
		return
	}
	if len(items) == 0 {
		c.OK, c.Actual = true, "none"
		e.add(c)
		return
	}
	desc := make([]string, 0, len(items))
	for _, x := range items {
		r, _ := x.(map[string]any)
		name, _ := Text(r["name"])
		golden, _ := Text(r["goldenValue"])
		runtime, ok := Text(r["runtimeValue"])
		if !ok {
			runtime = "absent"
		}
		desc = append(desc, fmt.Sprintf("%s (at least %s, got %s)", name, golden, runtime))
	}
	c.Actual, c.Value = strings.Join(desc, "; "), ear.ContraindicatedHardware
	c.Reason = "firmware below the minimum security version its RIM sets"
	e.add(c)
}

// gpu: executables from the RIM measurement comparison and the RIMs' own
// verification and revocation, hardware from the device chain's OCSP status
// and the FWID, configuration from pinned driver and VBIOS versions.
func (e *eval) gpu(k claimKeys) {
	p := k.prefix
	// Executables: measurements against the signed RIMs.
	mk, mres, present := e.claim(k.measres...)
	c := verify.Check{ID: p + ".measurements", Title: "runtime measurements match the driver and VBIOS RIMs",
		Claim: mk, Expected: "success", Actual: mres, Category: ear.Executables}
	switch {
	case !present || strings.EqualFold(mres, "not-run"):
		c.Value = ear.UnrecognizedRuntime
		c.Reason = "no RIM comparison: measurements not recognized"
	case strings.EqualFold(mres, "success"):
		c.OK, c.Value = true, ear.ApprovedRuntime
	default:
		c.Value = ear.ContraindicatedRuntime
		c.Reason = "measurements do not match the RIMs"
		if _, mm, ok := e.claim("x-nvidia-mismatch-measurement-records"); ok && mm != "" {
			c.Reason += ": " + mm
		}
	}
	e.add(c)
	if c.OK {
		for _, r := range k.rims {
			base := k.rimPrefix + r + "-rim-"
			for _, flag := range []string{"signature-verified", "version-match"} {
				fk, ok, _ := e.claimBool(base + flag)
				rc := verify.Check{ID: p + "." + r + "_rim." + flag, Title: r + " RIM " + strings.ReplaceAll(flag, "-", " "),
					Claim: fk, Expected: "true", Actual: fmt.Sprint(ok), Category: ear.Executables, OK: ok}
				if !ok {
					rc.Value, rc.Reason = ear.ContraindicatedRuntime, "the "+r+" RIM is not verified"
				}
				e.add(rc)
			}
			e.ocspRule(p+"."+r+"_rim.ocsp", r+" RIM signing certificates not revoked (OCSP)", []string{base + "cert-chain/x-nvidia-cert-ocsp-status"},
				ear.Executables, ear.ContraindicatedRuntime, ear.UnrecognizedRuntime)
		}
	}

	// Hardware: device certificate revocation and FWID.
	e.ocspRule(p+".ocsp", "device certificate chain not revoked (OCSP)", k.ocsp, ear.Hardware,
		ear.ContraindicatedHardware, ear.UnsafeHardware)
	requireFWID := true
	if v := e.rv.Lookup(p+"_require_fwid", e.now); len(v) > 0 && strings.EqualFold(v[0], "false") {
		requireFWID = false
	}
	// The verifier rejects a FWID that differs; false means the report has none.
	fk, fwid, _ := e.claimBool(k.fwidMatch...)
	fc := verify.Check{ID: p + ".fwid", Title: "report FWID matches the device certificate", Claim: fk, Expected: "true", Actual: fmt.Sprint(fwid), Category: ear.Hardware}
	switch {
	case fwid:
		fc.OK, fc.Value = true, ear.GenuineHardware
	case requireFWID:
		fc.Value, fc.Reason = ear.UnrecognizedHardware, "no FWID match, and the policy requires one"
	default:
		fc.OK, fc.Value, fc.Reason = true, ear.GenuineHardware, "no FWID; not required ("+p+"_require_fwid = false)"
	}
	e.add(fc)
	e.opaqueRecords(p)

	// Configuration: pinned driver and VBIOS versions.
	pinned, allOK := 0, true
	if k.driver != nil {
		if checked, ok := e.optionalPin(p+".driver_version", "driver version", "allowed_driver_versions", k.driver,
			ear.Configuration, ear.UnsupportableConfig); checked {
			pinned++
			allOK = allOK && ok
		}
		e.minVersion(p+".min_driver_version", "minimum driver version", p+"_min_driver_version", k.driver, ear.Configuration, ear.UnsupportableConfig)
	}
	vbiosRV := "allowed_vbios_versions"
	if p == "switch" {
		vbiosRV = "allowed_switch_bios_versions"
	}
	if checked, ok := e.optionalPin(p+".vbios_version", "VBIOS version", vbiosRV, k.vbios,
		ear.Configuration, ear.UnsupportableConfig); checked {
		pinned++
		allOK = allOK && ok
	}
	e.minVersion(p+".min_vbios_version", "minimum VBIOS version", p+"_min_vbios_version", k.vbios, ear.Configuration, ear.UnsupportableConfig)
	if allOK {
		cc := verify.Check{ID: p + ".configuration", Category: ear.Configuration, OK: true}
		if pinned > 0 {
			cc.Title, cc.Value, cc.Reason = "approved configuration", ear.ApprovedConfig, "pinned versions match"
		} else {
			cc.Title, cc.Value, cc.Reason = "configuration without known vulnerabilities", ear.NoConfigVulns, "no version pinned"
		}
		e.add(cc)
	}
}

// ocspRule appraises an OCSP status claim: good passes, revoked sets
// revokedV, anything else (unknown, absent when required) sets unknownV.
func (e *eval) ocspRule(id, title string, keys []string, cat ear.Category, revokedV, unknownV ear.TrustClaim) {
	k, s, present := e.claim(keys...)
	c := verify.Check{ID: id, Title: title, Claim: k, Expected: "good", Actual: s, Category: cat}
	switch {
	case strings.EqualFold(s, "good"):
		c.OK = true
	case strings.EqualFold(s, "revoked"):
		c.Value, c.Reason = revokedV, "certificate revoked"
	case !present || s == "not-checked":
		c.Value, c.Reason = unknownV, "revocation not checked"
	default:
		c.Value, c.Reason = unknownV, "OCSP status "+s
	}
	e.add(c)
}

// tpm: executables from pinned PCRs, instance identity from trusted AKs.
func (e *eval) tpm() {
	e.pcrs()
	e.aael()
	// The verifier accepts only AKs it trusts (a pinned key or a chain to a
	// pinned root); trusted_aks further restricts them by fingerprint.
	e.akTrust("tpm.ak", "attestation key trusted by the verifier", "", "the AK's trust is not established", "pinned-key", "certificate")
	e.optionalPin("tpm.ak_fingerprint", "attestation key among the trusted AKs", "trusted_aks",
		[]string{"ak.fingerprint", "ak_public"}, ear.Hardware, ear.UnrecognizedHardware)
	e.secureBoot("tpm.secure_boot", "UEFI Secure Boot enabled")
}

// azureSNP: the SEV-SNP rules for the paravisor's report (measurement,
// TCB, guest policy), the PCR rules for the guest's boot, and the AK's
// binding to the report.
func (e *eval) azureSNP() {
	e.snp()
	e.azureVTPM("SEV-SNP report")
}

// azureVTPM: what every Azure confidential VM adds to its hardware report's
// rules — the PCR rules for the guest's boot, the Attestation-Agent runtime
// events (aael_allowed, as for a TPM: the agent extends the vTPM's PCR 23),
// the vTPM AK bound by the HCL report, the report bound to this session
// (only version 2 evidence ties it to the session's user-data), and Secure
// Boot from the VM configuration. report names the hardware report in the
// checks.
func (e *eval) azureVTPM(report string) {
	e.pcrs()
	e.aael()
	e.akTrust("az.ak", "vTPM attestation key bound to the "+report,
		"the HCL report's runtime data, covered by the "+report+", carries the AK", "the AK is not bound to the hardware report", "bound")
	_, bound, present := e.claimBool("hcl_report_session_bound")
	fresh := verify.Check{ID: "az.report_fresh", Title: report + " bound to this session", Claim: "hcl_report_session_bound",
		Expected: "true", Actual: fmt.Sprint(bound), Category: ear.Hardware}
	switch {
	case bound:
		fresh.OK, fresh.Value = true, ear.GenuineHardware
	case present:
		fresh.Value, fresh.Reason = ear.UnsafeHardware, "the "+report+" (paravisor, TCB) is not bound to this session: it may be from an earlier boot"
	default:
		fresh.Actual, fresh.Value, fresh.Reason = "absent", ear.UnsafeHardware, "the verifier did not say whether the "+report+" is bound to this session"
	}
	e.add(fresh)
	e.secureBoot("az.secure_boot", "Secure Boot enabled in the VM configuration")
}

// akTrust: hardware from the verifier's "ak.trust" claim, genuine when it is
// one of the accepted kinds of trust.
func (e *eval) akTrust(id, title, okReason, badReason string, accepted ...string) {
	k, how, ok := e.claim("ak.trust")
	c := verify.Check{ID: id, Title: title, Claim: k, Actual: how, Expected: strings.Join(accepted, " or "), Category: ear.Hardware}
	if ok && slices.Contains(accepted, how) {
		c.OK, c.Value, c.Reason = true, ear.GenuineHardware, okReason
	} else {
		c.Value, c.Reason = ear.UnrecognizedHardware, badReason
	}
	e.add(c)
}

// tpmBootPCRs are the PCRs that make a TPM-measured boot known (TCG PC
// Client platform firmware profile): 0 the platform firmware, 4 the boot
// manager and the EFI applications it starts (shim, boot loader, a unified
// kernel image), and the kernel with its initrd and command line, which
// either GRUB measures (8 its commands and the command line, 9 the kernel
// and initrd files) or systemd-stub measures (11 the unified kernel image's
// sections). Either kernel set completes the boot.
var tpmBootPCRs = struct{ firmware, grub, uki []int }{
	firmware: []int{0, 4},
	grub:     []int{8, 9},
	uki:      []int{11},
}

// pcrs: executables from the PCRs pinned as tpm_pcrNN. Approved boot needs
// every tpmBootPCRs register pinned (PCRs 0 and 4, and 8 and 9 or 11); with
// fewer, the boot is unrecognized (POL-13), with any mismatch contraindicated.
func (e *eval) pcrs() {
	pinned, allOK := map[int]bool{}, true
	for i := 0; i < 24; i++ {
		n := fmt.Sprintf("pcr%02d", i)
		if len(e.rv.Lookup("tpm_"+n, e.now)) == 0 {
			continue
		}
		ok := e.pin("tpm."+n, fmt.Sprintf("PCR %d", i), "tpm_"+n, []string{n, fmt.Sprintf("pcr%d", i), "pcrs.sha256." + fmt.Sprint(i)},
			ear.Executables, ear.NoClaim, ear.NoClaim, ear.ContraindicatedRuntime)
		pinned[i] = true
		allOK = allOK && ok
	}
	all := func(pcrs []int) bool {
		for _, i := range pcrs {
			if !pinned[i] {
				return false
			}
		}
		return true
	}
	c := verify.Check{ID: "tpm.executables", Title: "boot measurements (PCRs) match reference values", Category: ear.Executables,
		Expected: "tpm_pcr00, tpm_pcr04 and either tpm_pcr08 and tpm_pcr09 (GRUB) or tpm_pcr11 (unified kernel image)"}
	switch {
	case !allOK:
		return // the mismatching PCR set the claim
	case len(pinned) == 0:
		c.Value, c.Reason = ear.UnrecognizedRuntime, "no PCR pinned"
	case !all(tpmBootPCRs.firmware) || !(all(tpmBootPCRs.grub) || all(tpmBootPCRs.uki)):
		c.Value = ear.UnrecognizedRuntime
		c.Reason = fmt.Sprintf("%d pinned PCRs match, but the firmware, boot loader or kernel PCRs are not all pinned: the boot is not recognized", len(pinned))
	default:
		c.OK, c.Value, c.Reason = true, ear.ApprovedBoot, fmt.Sprintf("%d pinned PCRs match, the boot PCRs among them", len(pinned))
	}
	e.add(c)
}

// secureBoot: configuration from the Secure Boot state, when claimed.
func (e *eval) secureBoot(id, title string) {
	if _, on, present := e.claimBool("secure_boot.enabled"); present {
		sb := verify.Check{ID: id, Title: title, Claim: "secure_boot.enabled",
			Expected: "true", Actual: fmt.Sprint(on), Category: ear.Configuration}
		if on {
			sb.OK, sb.Value = true, ear.NoConfigVulns
		} else {
			sb.Value, sb.Reason = ear.UnsafeConfig, "Secure Boot is off"
		}
		e.add(sb)
	}
}
