package snp

import (
	"encoding/hex"
	"fmt"
	"time"

	"github.com/trustfactory/attest/verify"
)

// GuestPolicy is the decoded GUEST_POLICY.
type GuestPolicy struct {
	ABIMinor, ABIMajor uint8
	SMTAllowed         bool
	MigrateMA          bool
	DebugAllowed       bool
	SingleSocket       bool
	CXLAllowed         bool
	MemAES256XTS       bool
	RAPLDisabled       bool
	CiphertextHiding   bool
	PageSwapDisabled   bool
	Raw                uint64
}

// DecodePolicy decodes a GUEST_POLICY value.
func DecodePolicy(v uint64) GuestPolicy {
	return GuestPolicy{
		ABIMinor: uint8(v), ABIMajor: uint8(v >> 8),
		SMTAllowed: v&PolicySMT != 0, MigrateMA: v&PolicyMigrateMA != 0, DebugAllowed: v&PolicyDebug != 0,
		SingleSocket: v&PolicySingleSocket != 0, CXLAllowed: v&PolicyCXLAllow != 0,
		MemAES256XTS: v&PolicyMemAES256XTS != 0, RAPLDisabled: v&PolicyRAPLDis != 0,
		CiphertextHiding: v&PolicyCiphertextHiding != 0, PageSwapDisabled: v&PolicyPageSwapDisable != 0,
		Raw: v,
	}
}

// PlatformInfo is the decoded PLATFORM_INFO. A flag is true only when its
// bit is set and defined for the report's version (PlatformInfoDefined).
type PlatformInfo struct {
	SMTEnabled              bool
	TSMEEnabled             bool
	ECCEnabled              bool
	RAPLDisabled            bool
	CiphertextHidingEnabled bool
	AliasCheckComplete      bool
	TIOEnabled              bool
	// Reserved holds the set bits the ABI does not define for the report's
	// version (bit 6 on current Turin firmware): accepted, not interpreted.
	Reserved uint64
	Raw      uint64
}

// DecodePlatformInfo decodes a PLATFORM_INFO value as the newest ABI
// revision this package knows (1.58) defines it, whatever the report version.
func DecodePlatformInfo(v uint64) PlatformInfo {
	return DecodePlatformInfoVersion(MaxReportVersion, v)
}

// DecodePlatformInfoVersion decodes the PLATFORM_INFO value of a report of
// the given version: bits that version does not define go to Reserved.
func DecodePlatformInfoVersion(version uint32, v uint64) PlatformInfo {
	defined := PlatformInfoDefined(version)
	d := v & defined
	return PlatformInfo{
		SMTEnabled: d&PlatformSMTEnabled != 0, TSMEEnabled: d&PlatformTSMEEnabled != 0,
		ECCEnabled: d&PlatformECCEnabled != 0, RAPLDisabled: d&PlatformRAPLDisabled != 0,
		CiphertextHidingEnabled: d&PlatformCiphertextHidingEnabled != 0,
		AliasCheckComplete:      d&PlatformAliasCheckComplete != 0, TIOEnabled: d&PlatformTIOEnabled != 0,
		Reserved: v &^ defined,
		Raw:      v,
	}
}

// Claims are the facts a successful verification established: every field
// of the signature-checked report, decoded, plus what was checked.
// Judging them (debug allowed, minimum TCB, measurement) is a policy's job.
type Claims struct {
	Report       *Report // the verified report
	Product      Product
	SigningKey   SigningKey
	Policy       GuestPolicy
	Platform     PlatformInfo
	ReportedTCB  TCB
	CurrentTCB   TCB
	CommittedTCB TCB
	LaunchTCB    TCB
	ChipIDMasked bool
	// EndorsementProductName is the VCEK/VLEK product-name extension ("Milan-B0").
	EndorsementProductName string
	// CSPID is the VLEK's cloud-service-provider ID extension, if any.
	CSPID string
	// RevocationChecked is false only with WithoutRevocationUnsafe.
	RevocationChecked bool
	// InitDataChecked says HOST_DATA was compared with Expectations.InitDataDigest.
	InitDataChecked bool
	// ReportDataChecked is false only with Expectations.AllowMissingReportDataUnsafe
	// and no expected report data.
	ReportDataChecked bool
	// NotAfter is the earliest expiry of what the verification relied on:
	// the endorsement chain's certificates and, when checked, the CRL's
	// nextUpdate. A token issued from these claims should not outlive it.
	NotAfter time.Time
}

func newClaims(r *Report, p Product, chain *verifiedChain, revocation, initData, reportData bool) *Claims {
	return &Claims{
		Report: r, Product: p, SigningKey: r.SigningKey(),
		Policy: DecodePolicy(r.Policy), Platform: DecodePlatformInfoVersion(r.Version, r.PlatformInfo),
		ReportedTCB: DecodeTCB(p, r.ReportedTCB), CurrentTCB: DecodeTCB(p, r.CurrentTCB),
		CommittedTCB: DecodeTCB(p, r.CommittedTCB), LaunchTCB: DecodeTCB(p, r.LaunchTCB),
		ChipIDMasked:           r.ChipIDMasked() || allZero(r.ChipID[:]),
		EndorsementProductName: chain.vek.productName, CSPID: chain.vek.cspID,
		RevocationChecked: revocation, InitDataChecked: initData, ReportDataChecked: reportData,
	}
}

// UnsafeSwitches implements verify.UnsafeReporter: UnsafeWithoutRevocation
// when the CRL was not checked, verify.UnsafeMissingReportData when the
// report data was not.
func (c *Claims) UnsafeSwitches() []verify.UnsafeSwitch {
	var out []verify.UnsafeSwitch
	if !c.RevocationChecked {
		out = append(out, UnsafeWithoutRevocation)
	}
	if !c.ReportDataChecked {
		out = append(out, verify.UnsafeMissingReportData)
	}
	return out
}

// Format implements verify.Claims.
func (c *Claims) Format() verify.Format { return verify.FormatSNP }

// Map implements verify.Claims: a flat map with Trustee's claim names where
// they exist (policy_debug_allowed, reported_tcb_snp, init_data, …) and the
// remaining report fields under their ABI names. Byte strings are lowercase
// hex, flags are booleans, numbers are integers.
func (c *Claims) Map() map[string]any {
	r := c.Report
	h := hex.EncodeToString
	m := map[string]any{
		"product":     string(c.Product),
		"signing_key": c.SigningKey.String(),

		"version":       int(r.Version),
		"guest_svn":     int(r.GuestSVN),
		"policy":        fmt.Sprintf("%#x", r.Policy),
		"family_id":     h(r.FamilyID[:]),
		"image_id":      h(r.ImageID[:]),
		"vmpl":          int(r.VMPL),
		"sig_algo":      int(r.SignatureAlgo),
		"platform_info": fmt.Sprintf("%#x", r.PlatformInfo),
		"signer_info":   fmt.Sprintf("%#x", r.SignerInfo),

		"author_key_en":  r.AuthorKeyEnabled(),
		"mask_chip_key":  r.ChipIDMasked(),
		"chip_id_masked": c.ChipIDMasked,

		"report_data":       h(r.ReportData[:]),
		"measurement":       h(r.Measurement[:]),
		"host_data":         h(r.HostData[:]),
		"id_key_digest":     h(r.IDKeyDigest[:]),
		"author_key_digest": h(r.AuthorKeyDigest[:]),
		"report_id":         h(r.ReportID[:]),
		"report_id_ma":      h(r.ReportIDMA[:]),
		"chip_id":           h(r.ChipID[:]),

		"policy_abi_major":         int(c.Policy.ABIMajor),
		"policy_abi_minor":         int(c.Policy.ABIMinor),
		"policy_smt_allowed":       c.Policy.SMTAllowed,
		"policy_migrate_ma":        c.Policy.MigrateMA,
		"policy_debug_allowed":     c.Policy.DebugAllowed,
		"policy_single_socket":     c.Policy.SingleSocket,
		"policy_cxl_allowed":       c.Policy.CXLAllowed,
		"policy_mem_aes_256_xts":   c.Policy.MemAES256XTS,
		"policy_rapl_dis":          c.Policy.RAPLDisabled,
		"policy_ciphertext_hiding": c.Policy.CiphertextHiding,
		"policy_page_swap_disable": c.Policy.PageSwapDisabled,

		"platform_info_reserved": fmt.Sprintf("%#x", c.Platform.Reserved),

		"current_version":   fmt.Sprintf("%d.%d.%d", r.CurrentMajor, r.CurrentMinor, r.CurrentBuild),
		"committed_version": fmt.Sprintf("%d.%d.%d", r.CommittedMajor, r.CommittedMinor, r.CommittedBuild),
		"current_major":     int(r.CurrentMajor), "current_minor": int(r.CurrentMinor), "current_build": int(r.CurrentBuild),
		"committed_major": int(r.CommittedMajor), "committed_minor": int(r.CommittedMinor), "committed_build": int(r.CommittedBuild),

		"revocation_checked": c.RevocationChecked,
	}
	if !c.NotAfter.IsZero() {
		// The name the appraiser reads to cap a token's lifetime.
		m["earliest_expiration_date"] = c.NotAfter.UTC().Format(time.RFC3339)
	}
	for name, t := range map[string]struct {
		tcb TCB
		raw uint64
	}{
		"reported_tcb":  {c.ReportedTCB, r.ReportedTCB},
		"current_tcb":   {c.CurrentTCB, r.CurrentTCB},
		"committed_tcb": {c.CommittedTCB, r.CommittedTCB},
		"launch_tcb":    {c.LaunchTCB, r.LaunchTCB},
	} {
		m[name] = fmt.Sprintf("%#016x", t.raw)
		m[name+"_bootloader"] = int(t.tcb.Bootloader)
		m[name+"_tee"] = int(t.tcb.TEE)
		m[name+"_snp"] = int(t.tcb.SNP)
		m[name+"_microcode"] = int(t.tcb.Microcode)
		if c.Product == Turin {
			m[name+"_fmc"] = int(t.tcb.FMC)
		}
	}
	// A flag the report's version cannot state is absent, not false.
	defined := PlatformInfoDefined(r.Version)
	for _, f := range []struct {
		name string
		bit  uint64
		on   bool
	}{
		{"platform_smt_enabled", PlatformSMTEnabled, c.Platform.SMTEnabled},
		{"platform_tsme_enabled", PlatformTSMEEnabled, c.Platform.TSMEEnabled},
		{"platform_ecc_enabled", PlatformECCEnabled, c.Platform.ECCEnabled},
		{"platform_rapl_disabled", PlatformRAPLDisabled, c.Platform.RAPLDisabled},
		{"platform_ciphertext_hiding_enabled", PlatformCiphertextHidingEnabled, c.Platform.CiphertextHidingEnabled},
		{"platform_alias_check_complete", PlatformAliasCheckComplete, c.Platform.AliasCheckComplete},
		{"platform_tio_enabled", PlatformTIOEnabled, c.Platform.TIOEnabled},
	} {
		if defined&f.bit != 0 {
			m[f.name] = f.on
		}
	}
	if r.Version >= 3 {
		m["cpuid_fam_id"] = int(r.CPUIDFamily)
		m["cpuid_mod_id"] = int(r.CPUIDModel)
		m["cpuid_step"] = int(r.CPUIDStepping)
	}
	if r.Version >= 5 {
		m["launch_mit_vector"] = fmt.Sprintf("%#x", r.LaunchMitVector)
		m["current_mit_vector"] = fmt.Sprintf("%#x", r.CurrentMitVector)
	}
	if c.EndorsementProductName != "" {
		m["endorsement_product_name"] = c.EndorsementProductName
	}
	if c.CSPID != "" {
		m["vlek_csp_id"] = c.CSPID
	}
	if c.InitDataChecked {
		m["init_data"] = h(r.HostData[:])
	}
	verify.PutUnsafeClaim(m, c.UnsafeSwitches())
	m["report_data_checked"] = c.ReportDataChecked
	return m
}
