package policy

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trustfactory/attest/verify"
)

// This file checks, when a Policy is built, that its reference values are
// ones the default rules can read. The rules compare a reference value only
// when they meet it, so without this check a misspelt name
// ("snp_required_mitigation") or an unreadable floor ("08", which
// fmt.Sscan read as 0) silently turned a restriction off: fail open, where a
// reference value should only ever narrow what is affirmed.

// rvKind is how the default rules read one reference value.
type rvKind int

const (
	rvHex     rvKind = iota // hex bytes of a fixed length (a pin)
	rvText                  // free text: versions, statuses, advisory ids, AAEL lines
	rvBool                  // true or false
	rvUint                  // decimal, or 0x-prefixed hex
	rvDecimal               // decimal digits, compared as text with a decimal claim
	rvMask                  // a non-zero bit mask, decimal or 0x-prefixed hex
	rvDate                  // an RFC 3339 date
	rvVersion               // a dotted version
	rvSVNs                  // hex SVN bytes, compared byte by byte
	rvVMPL                  // an SEV-SNP VMPL, 0 to 3
	rvName                  // the name of another reference value (warn_only)
	rvStatus                // a TCB status other than Revoked
)

// rvSpec is what the default rules accept for one reference-value name.
type rvSpec struct {
	kind rvKind
	// single: the rules read one value; more than one distinct value is a
	// contradiction (the rules used to read the first and ignore the rest,
	// so a merged floor could be the lower one).
	single bool
	// sizes are the byte lengths a hex pin may have.
	sizes []int
}

// knownReferenceValues lists every name the default rules read, with what
// they accept. Names the rules build (tpm_pcrNN, snp_min_tcb_*,
// <tee>_accepted_tcb_status) are expanded in referenceSpec.
var knownReferenceValues = map[string]rvSpec{
	// TDX (and the Azure TDX paravisor).
	"mr_td":                      {kind: rvHex, sizes: []int{48}},
	"rtmr_0":                     {kind: rvHex, sizes: []int{48}},
	"rtmr_1":                     {kind: rvHex, sizes: []int{48}},
	"rtmr_2":                     {kind: rvHex, sizes: []int{48}},
	"rtmr_3":                     {kind: rvHex, sizes: []int{48}},
	"mr_seam":                    {kind: rvHex, sizes: []int{48}},
	"tdx_mr_config_id":           {kind: rvHex, sizes: []int{48}},
	"xfam":                       {kind: rvHex, sizes: []int{8}},
	"tdx_td_attributes":          {kind: rvHex, sizes: []int{8}},
	"tdx_mr_servicetd":           {kind: rvHex, sizes: []int{48}},
	"tdx_min_tcb_date":           {kind: rvDate, single: true},
	"tdx_forbidden_advisory_ids": {kind: rvText},
	"tdx_min_tee_tcb_svn":        {kind: rvSVNs, single: true},
	// SGX.
	"sgx_mr_enclave":             {kind: rvHex, sizes: []int{32}},
	"sgx_mr_signer":              {kind: rvHex, sizes: []int{32}},
	"sgx_isv_prod_id":            {kind: rvDecimal},
	"sgx_min_isv_svn":            {kind: rvUint, single: true},
	"sgx_misc_select":            {kind: rvHex, sizes: []int{4}},
	"sgx_isv_ext_prod_id":        {kind: rvHex, sizes: []int{16}},
	"sgx_isv_family_id":          {kind: rvHex, sizes: []int{16}},
	"sgx_min_tcb_date":           {kind: rvDate, single: true},
	"sgx_forbidden_advisory_ids": {kind: rvText},
	// SEV-SNP (and the Azure SNP paravisor).
	"snp_launch_measurement":      {kind: rvHex, sizes: []int{48}},
	"snp_host_data":               {kind: rvHex, sizes: []int{32}},
	"snp_id_key_digest":           {kind: rvHex, sizes: []int{48}},
	"snp_allowed_vmpls":           {kind: rvVMPL},
	"snp_require_author_key":      {kind: rvBool, single: true},
	"snp_required_mitigations":    {kind: rvMask, single: true},
	"snp_allow_masked_chip_id":    {kind: rvBool, single: true},
	"snp_allow_migration_agent":   {kind: rvBool, single: true},
	"snp_allow_no_alias_check":    {kind: rvBool, single: true},
	"snp_required_platform_info":  {kind: rvMask, single: true},
	"snp_forbidden_platform_info": {kind: rvMask, single: true},
	// NVIDIA GPUs and NVSwitches.
	"allowed_driver_versions":      {kind: rvText},
	"allowed_vbios_versions":       {kind: rvText},
	"gpu_min_driver_version":       {kind: rvVersion, single: true},
	"gpu_min_vbios_version":        {kind: rvVersion, single: true},
	"gpu_require_fwid":             {kind: rvBool, single: true},
	"allowed_switch_bios_versions": {kind: rvText},
	"switch_min_vbios_version":     {kind: rvVersion, single: true},
	"switch_require_fwid":          {kind: rvBool, single: true},
	// TPM (and the Azure guests): SHA-256 fingerprints of AKs.
	"trusted_aks": {kind: rvHex, sizes: []int{32}},
	// AWS Nitro Enclaves: SHA-384 PCRs.
	"nitro_pcr0": {kind: rvHex, sizes: []int{48}},
	"nitro_pcr1": {kind: rvHex, sizes: []int{48}},
	"nitro_pcr2": {kind: rvHex, sizes: []int{48}},
	"nitro_pcr3": {kind: rvHex, sizes: []int{48}},
	"nitro_pcr4": {kind: rvHex, sizes: []int{48}},
	"nitro_pcr8": {kind: rvHex, sizes: []int{48}},
	// Every TEE.
	"aael_allowed": {kind: rvText},
	"warn_only":    {kind: rvName},
}

// referenceSpec returns the spec of a reference-value name, expanding the
// names the rules build.
func referenceSpec(name string) (rvSpec, bool) {
	if s, ok := knownReferenceValues[name]; ok {
		return s, true
	}
	if n, ok := strings.CutPrefix(name, "tpm_pcr"); ok && len(n) == 2 {
		if i, err := strconv.Atoi(n); err == nil && i >= 0 && i < 24 {
			// SHA-1, SHA-256, SHA-384 or SHA-512 banks.
			return rvSpec{kind: rvHex, sizes: []int{20, 32, 48, 64}}, true
		}
	}
	if part, ok := strings.CutPrefix(name, "snp_min_tcb_"); ok && slices.Contains(snpTCBParts, part) {
		return rvSpec{kind: rvUint, single: true}, true
	}
	for _, tee := range []string{"tdx", "sgx", "snp"} {
		if name == tee+"_accepted_tcb_status" || name == tee+"_tolerated_tcb_status" {
			return rvSpec{kind: rvStatus}, true
		}
	}
	return rvSpec{}, false
}

// checkReferenceValues refuses, with ErrConfig, reference values the default
// rules cannot read as given: an unknown name, a value that is blank, not of
// its name's form (a pin of the wrong length, a floor that is no number),
// several values where the rules read one, or a status list that accepts a
// revoked TCB. Expired values are checked too: a document is right or wrong
// whatever the clock says.
func checkReferenceValues(rv *ReferenceValues) error {
	for _, name := range rv.Names() {
		spec, ok := referenceSpec(name)
		if !ok {
			return verify.Errorf(verify.ErrConfig, "reference value %q: not a name the default policy reads (a misspelt name would turn its check off); see the policy package documentation", name)
		}
		var distinct []string
		for _, v := range rv.byName[name] {
			if err := checkReferenceText(name, spec, v.text); err != nil {
				return err
			}
			if !slices.ContainsFunc(distinct, func(d string) bool { return equalText(d, v.text) }) {
				distinct = append(distinct, v.text)
			}
		}
		if spec.single && len(distinct) > 1 {
			return verify.Errorf(verify.ErrConfig, "reference value %s: expected one value, got %d (%s): the rules read one", name, len(distinct), strings.Join(distinct, ", "))
		}
	}
	if err := checkStatusLists(rv); err != nil {
		return err
	}
	return checkMasks(rv)
}

// checkReferenceText checks one value of name against its spec.
func checkReferenceText(name string, spec rvSpec, v string) error {
	bad := func(want string) error {
		return verify.Errorf(verify.ErrConfig, "reference value %s %q: expected %s", name, v, want)
	}
	if strings.TrimSpace(v) != v || v == "" {
		return bad("a value without leading or trailing blanks")
	}
	switch spec.kind {
	case rvHex:
		h := strings.TrimPrefix(strings.TrimPrefix(v, "0x"), "0X")
		b, err := hex.DecodeString(h)
		if err != nil || !slices.Contains(spec.sizes, len(b)) {
			return bad(fmt.Sprintf("hex of %s bytes", sizesText(spec.sizes)))
		}
	case rvBool:
		if !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
			return bad("true or false")
		}
	case rvUint:
		if _, ok := parseUint(v); !ok {
			return bad("a decimal or 0x-prefixed hexadecimal integer")
		}
	case rvDecimal:
		if n, err := strconv.ParseUint(v, 10, 16); err != nil || strconv.FormatUint(n, 10) != v {
			return bad("a decimal number without leading zeros (compared as text with the claim)")
		}
	case rvMask:
		if m, ok := parseUint(v); !ok || m == 0 {
			return bad("a non-zero bit mask (0x…)")
		}
	case rvDate:
		if _, err := time.Parse(time.RFC3339, v); err != nil {
			return bad("an RFC 3339 date")
		}
	case rvVersion:
		if _, err := compareVersions(v, v); err != nil {
			return bad("a dotted version")
		}
	case rvSVNs:
		if b, err := hex.DecodeString(v); err != nil || len(b) == 0 || len(b) > 16 {
			return bad("hex of 1 to 16 SVN bytes")
		}
	case rvVMPL:
		if n, err := strconv.ParseUint(v, 10, 8); err != nil || n > 3 {
			return bad("a VMPL, 0 to 3")
		}
	case rvName:
		if _, ok := referenceSpec(v); !ok || v == "warn_only" {
			return bad("the name of a reference value the default policy reads")
		}
	case rvStatus:
		if strings.EqualFold(v, "Revoked") {
			return bad("a status other than Revoked: a revoked TCB is never accepted or tolerated")
		}
	}
	return nil
}

// checkStatusLists refuses a TCB status both accepted and tolerated for one
// TEE: which of hardware 2 and 32 it yields would depend on rule order.
func checkStatusLists(rv *ReferenceValues) error {
	for _, tee := range []string{"tdx", "sgx", "snp"} {
		acc, tol := rv.byName[tee+"_accepted_tcb_status"], rv.byName[tee+"_tolerated_tcb_status"]
		for _, a := range acc {
			for _, t := range tol {
				if equalText(a.text, t.text) {
					return verify.Errorf(verify.ErrConfig, "reference values %s_accepted_tcb_status and %s_tolerated_tcb_status both list %q", tee, tee, a.text)
				}
			}
		}
	}
	return nil
}

// checkMasks refuses a PLATFORM_INFO bit both required and forbidden.
func checkMasks(rv *ReferenceValues) error {
	req, forb := rv.byName["snp_required_platform_info"], rv.byName["snp_forbidden_platform_info"]
	if len(req) == 0 || len(forb) == 0 {
		return nil
	}
	r, _ := parseUint(req[0].text)
	f, _ := parseUint(forb[0].text)
	if both := r & f; both != 0 {
		return verify.Errorf(verify.ErrConfig, "reference values snp_required_platform_info %s and snp_forbidden_platform_info %s both name bits %#x", req[0].text, forb[0].text, both)
	}
	return nil
}

func sizesText(sizes []int) string {
	parts := make([]string, len(sizes))
	for i, s := range sizes {
		parts[i] = strconv.Itoa(s)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}
