package gpu

import (
	"encoding/hex"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trustfactory/attest/gpu/ocsp"
	"github.com/trustfactory/attest/gpu/rim"
	"github.com/trustfactory/attest/verify"
)

// ClaimsVersion is the NVIDIA claims version whose names Map uses.
const ClaimsVersion = "4.0"

// claimNumber returns v as the int64 a JSON number decodes to elsewhere in
// attest (NRAS results), or as uint64 when it does not fit.
func claimNumber(v uint64) any {
	if v <= math.MaxInt64 {
		return int64(v)
	}
	return v
}

// RIMResult is a verified RIM and the revocation status of its signer chain.
type RIMResult struct {
	Manifest *rim.Manifest
	OCSP     *ocsp.Result // nil with WithoutRevocationUnsafe
}

// DeviceClaims is what verification proved about one device. Chain and the
// RIM manifests are shared with the verifier's caches: treat them as read-only.
type DeviceClaims struct {
	Index int
	Arch  Arch
	UUID  string // as declared by the evidence encoding: NOT authenticated, never in Map
	Nonce []byte // the signed request nonce
	// NonceChecked is false only under Expectations.AllowMissingReportDataUnsafe.
	NonceChecked bool
	Report       *Report
	Opaque       *OpaqueData
	Decoded      *Decoded
	Chain        *DeviceChain
	HWModel      string // CN of the BROM certificate
	UEID         string // decimal serial of the attestation key certificate
	// DeviceID is the hex SHA-256 of the device identity (BROM) certificate's
	// public key: the key fused into the device, the same across resets and
	// attestation-key certificates re-issued with new serials. Devices are
	// told apart by it. Not in Map: the UEID stays the claim NVIDIA's tools
	// name.
	DeviceID    string
	FWIDMatched bool
	OCSP        *ocsp.Result    // device chain; nil with WithoutRevocationUnsafe
	DriverRIM   *RIMResult      // GPUs only
	FirmwareRIM *RIMResult      // VBIOS or switch BIOS
	Comparison  *rim.Comparison // nil with WithoutRIMsUnsafe
	// OpaqueComparison is the opaque data against WithOpaqueRecords (with
	// no records, as always for switches, it compares nothing).
	OpaqueComparison *OpaqueComparison
	Warnings         []string
	Unsafe           []verify.UnsafeSwitch // unsafe switches that affected this result
}

// UnsafeSwitches implements verify.UnsafeReporter.
func (d *DeviceClaims) UnsafeSwitches() []verify.UnsafeSwitch { return slices.Clone(d.Unsafe) }

// Claims are the claims of every device of one piece of evidence.
type Claims struct {
	format  verify.Format
	Devices []*DeviceClaims
}

// UnsafeSwitches implements verify.UnsafeReporter: the switches of every
// device, each once.
func (c *Claims) UnsafeSwitches() []verify.UnsafeSwitch {
	var out []verify.UnsafeSwitch
	for _, d := range c.Devices {
		out = verify.AddUnsafe(out, d.Unsafe...)
	}
	return out
}

// Format returns the evidence format.
func (c *Claims) Format() verify.Format { return c.format }

// Map returns the flat claims of the single device, or for several devices
// {"devices": [...], "x-nvidia-device-count": n}.
func (c *Claims) Map() map[string]any {
	if len(c.Devices) == 1 {
		return c.Devices[0].Map()
	}
	list := make([]any, 0, len(c.Devices))
	for _, d := range c.Devices {
		list = append(list, d.Map())
	}
	return map[string]any{"devices": list, "x-nvidia-device-count": len(c.Devices)}
}

func chainClaims(certsNotAfter time.Time, res *ocsp.Result) map[string]any {
	m := make(map[string]any, 6)
	m["x-nvidia-cert-expiration-date"] = certsNotAfter.UTC().Format(time.RFC3339)
	m["x-nvidia-cert-status"] = "valid"
	if res == nil {
		m["x-nvidia-cert-ocsp-status"] = "not-checked"
		return m
	}
	m["x-nvidia-cert-ocsp-status"] = res.Status()
	nonce := len(res.Certs) > 0
	for _, c := range res.Certs {
		nonce = nonce && c.NonceChecked
	}
	m["x-nvidia-cert-ocsp-nonce-matches"] = nonce
	m["x-nvidia-cert-ocsp-response-valid"] = res.Status() != ocsp.StatusMissing
	for _, c := range res.Certs {
		if c.Status == ocsp.StatusRevoked {
			m["x-nvidia-cert-revocation-reason"] = c.Reason
		}
	}
	return m
}

// Map returns NVIDIA's claims 4.0 names where they exist (with
// x-nvidia-attester-claims and x-nvidia-mismatch-opaque-data-records), plus
// the decoded opaque fields and the measurements.
func (d *DeviceClaims) Map() map[string]any {
	k := &gpuKeys
	if d.Arch.IsSwitch() {
		k = &switchKeys
	}
	dev := k.dev
	dec := d.Decoded
	// Sized for every claim a GPU with both RIMs has (40), so that the map
	// is allocated once instead of growing twice.
	m := make(map[string]any, 48)
	m["eat_nonce"] = hex.EncodeToString(d.Nonce)
	m["hwmodel"] = d.HWModel
	m["ueid"] = d.UEID
	m["x-nvidia-device-type"] = dev
	m[k.claimsVersion] = ClaimsVersion
	m[k.arch] = string(d.Arch)
	m[k.archCheck] = true
	m[k.vbiosVersion] = dec.VBIOSVersion
	m[k.reportParsed] = true
	m[k.nonceMatch] = d.NonceChecked
	m[k.sigVerified] = true
	m[k.certChain] = chainClaims(d.Chain.NotAfter, d.OCSP)
	m[k.fwidMatch] = d.FWIDMatched
	m["x-attest-opaque-format"] = d.Opaque.Format.String()
	m["x-attest-opaque-version"] = dec.OpaqueVersion
	m["x-attest-measurements"] = measurementsMap(d.Report)
	m["x-attest-opaque"] = opaqueMap(d)
	if d.Arch.IsSwitch() {
		m["x-nvidia-switch-bios-version"] = dec.VBIOSVersion
		m[k.pdi] = hex.EncodeToString(dec.DevicePDI)
		m[k.gpuPDIs] = pdiList(dec.SwitchGPUPDIs)
	} else {
		m[k.driverVersion] = dec.DriverVersion
		if dec.SwitchPDIs != nil {
			m[k.switchPDIs] = pdiList(dec.SwitchPDIs)
		}
	}
	if d.Comparison != nil {
		m["measres"] = "success"
		m["secboot"] = true
		m["dbgstat"] = "disabled"
		m["x-nvidia-mismatch-measurement-records"] = []any{}
		m[k.noConflict] = true
		m["x-attest-measurements-matched"] = len(d.Comparison.Matched)
		m["x-attest-measurements-skipped"] = append([]int(nil), d.Comparison.Skipped...)
		if d.FirmwareRIM != nil {
			m["oemid"] = d.FirmwareRIM.Manifest.FirmwareManufacturerID
		}
	} else {
		m["measres"] = "not-run"
	}
	if oc := d.OpaqueComparison; oc != nil {
		// Claims 4.0: the opaque records' attester claims and mismatches
		// (always none here: a mismatch refuses the evidence).
		att := make(map[string]any, len(oc.AttesterClaims))
		for name, v := range oc.AttesterClaims {
			att[name] = claimNumber(v)
		}
		mm := make([]any, 0, len(oc.Mismatches))
		for _, x := range oc.Mismatches {
			mm = append(mm, x.Map())
		}
		m["x-nvidia-attester-claims"] = att
		m["x-nvidia-mismatch-opaque-data-records"] = mm
	}
	rim := func(rk *rimKeys, r *RIMResult) {
		if r == nil {
			return
		}
		m[rk.fetched] = true
		m[rk.signatureVerified] = true
		m[rk.versionMatch] = true
		m[rk.measurementsAvailable] = true
		m[rk.certChain] = chainClaims(r.Manifest.NotAfter, r.OCSP)
		m[rk.id] = r.Manifest.ID
	}
	rim(&k.driverRIM, d.DriverRIM)
	rim(&k.firmwareRIM, d.FirmwareRIM)
	if len(d.Warnings) > 0 {
		m["x-nvidia-attestation-warning"] = append([]string(nil), d.Warnings...)
	}
	verify.PutUnsafeClaim(m, d.Unsafe)
	return m
}

func pdiList(p [][8]byte) []string {
	out := make([]string, 0, len(p))
	for _, x := range p {
		out = append(out, hex.EncodeToString(x[:]))
	}
	return out
}

func measurementsMap(r *Report) map[string]string {
	n := 0
	for _, b := range r.Response.Blocks {
		n += 2 * len(b.Value)
	}
	// One hex string for all values, sliced per index: one allocation, not
	// one per measurement, and built in place (a strings.Builder's String
	// does not copy), not encoded into bytes and then copied into a string.
	var sb strings.Builder
	sb.Grow(n)
	var chunk [128]byte
	for _, b := range r.Response.Blocks {
		for v := b.Value; len(v) > 0; {
			k := min(len(v), len(chunk)/2)
			sb.Write(chunk[:hex.Encode(chunk[:], v[:k])])
			v = v[k:]
		}
	}
	all := sb.String()
	out := make(map[string]string, len(r.Response.Blocks))
	off := 0
	for _, b := range r.Response.Blocks {
		out[strconv.Itoa(b.Index)] = all[off : off+2*len(b.Value)]
		off += 2 * len(b.Value)
	}
	return out
}

func statusName(b byte) string {
	switch b {
	case StatusEnabled:
		return "enabled"
	case StatusDisabled:
		return "disabled"
	}
	return "absent"
}

func opaqueMap(d *DeviceClaims) map[string]any {
	dec := d.Decoded
	m := map[string]any{
		"driver_version": dec.DriverVersion, "vbios_version": dec.VBIOSVersion,
		"project": dec.Project, "project_sku": dec.ProjectSKU, "project_sku_mod": dec.ProjectSKUMod,
		"chip_sku": dec.ChipSKU, "chip_sku_mod": dec.ChipSKUMod, "board_id": dec.BoardID,
		"gpu_info": dec.GPUInfo, "cpr_info": dec.CPRInfo, "fwid": hex.EncodeToString(dec.FWID),
		"nvdec0_status": statusName(dec.NVDEC0Status), "protected_pcie_status": statusName(dec.ProtectedPCIeStatus),
	}
	if dec.ChipInfo != "" {
		m["chip_info"] = dec.ChipInfo
	}
	if dec.FeatureFlag >= 0 {
		m["feature_flag"] = dec.FeatureFlag
	}
	if dec.FSPUcodeSVN >= 0 {
		m["fsp_ucode_svn"] = dec.FSPUcodeSVN
	}
	if dec.MSRSCount != nil {
		mc := make(map[string]uint32, len(dec.MSRSCount))
		for i, n := range dec.MSRSCount {
			mc[strconv.Itoa(i+1)] = n
		}
		m["measurement_count"] = mc
	}
	var unknown []map[string]any
	for _, f := range d.Opaque.Fields {
		if _, known := opaqueNames[f.Type]; !known {
			unknown = append(unknown, map[string]any{"type": int(f.Type), "value_type": int(f.ValueType), "value": hex.EncodeToString(f.Value)})
		}
	}
	if unknown != nil {
		m["unknown"] = unknown
	}
	return m
}

// claimKeys are the claim names of one device type, built once rather than
// concatenated for every device of every appraisal.
type claimKeys struct {
	dev                                                         string
	claimsVersion, arch, archCheck, vbiosVersion                string
	reportParsed, nonceMatch, sigVerified, certChain, fwidMatch string
	pdi, gpuPDIs, driverVersion, switchPDIs, noConflict         string
	driverRIM, firmwareRIM                                      rimKeys
}

type rimKeys struct {
	fetched, signatureVerified, versionMatch, measurementsAvailable, certChain, id string
}

var (
	gpuKeys    = newClaimKeys("gpu", "vbios")
	switchKeys = newClaimKeys("switch", "bios")
)

func newClaimKeys(dev, firmware string) claimKeys {
	p := "x-nvidia-" + dev + "-"
	rk := func(name string) rimKeys {
		return rimKeys{
			fetched: p + name + "-rim-fetched", signatureVerified: p + name + "-rim-signature-verified",
			versionMatch: p + name + "-rim-version-match", measurementsAvailable: p + name + "-rim-measurements-available",
			certChain: p + name + "-rim-cert-chain", id: "x-attest-" + name + "-rim-id",
		}
	}
	return claimKeys{
		dev: dev, claimsVersion: p + "claims-version", arch: p + "arch", archCheck: p + "arch-check",
		vbiosVersion: p + "vbios-version", reportParsed: p + "attestation-report-parsed",
		nonceMatch: p + "attestation-report-nonce-match", sigVerified: p + "attestation-report-signature-verified",
		certChain: p + "attestation-report-cert-chain", fwidMatch: p + "attestation-report-cert-chain-fwid-match",
		pdi: p + "pdi", gpuPDIs: p + "gpu-pdis", driverVersion: p + "driver-version", switchPDIs: p + "switch-pdis",
		noConflict: p + "vbios-index-no-conflict", driverRIM: rk("driver"), firmwareRIM: rk(firmware),
	}
}
