package gpu

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/verify"
)

// Real public evidence this package was not written from (provenance in
// testdata/gpu/README.md). Every device chain here runs to 9999; the pinned
// time only has to follow the certificates' notBefore (2023-06-20).
var realPublicTime = time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)

// realPublicDevice verifies evidence offline (no OCSP answers or RIMs are
// published for these boards) and returns its one device.
func realPublicDevice(t *testing.T, ev []byte, nonce string) *DeviceClaims {
	t.Helper()
	c, err := noNetVerifier(t, verify.FormatGPU).VerifyDevices(context.Background(), ev, verify.Expectations{ReportData: mustHex(nonce), Now: realPublicTime})
	require.NoError(t, err)
	require.Len(t, c.Devices, 1)
	return c.Devices[0]
}

const (
	rtxNonce     = "4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e"
	rtxCocoNonce = "d622979b6c3ab8b8e7b30a43f2dc7f553ebbc187536231d531effa496ec03fb5"
	h590Nonce    = "e97b23a1718095a0e9e35edca810768c70a6a5a389b705e753b197912bc11576"
	fspNonce     = "d42a0594c5cd5743ee08fe5ec3cf884b1fac4f106879cda98b7d1c51652b04b7"
	rubinNonce   = "0497d7698d84fbd3d06741ae70aa329337501f44d4c227421eb6454aefc654a8"
)

func rtxEvidence(t testing.TB) []byte {
	return rawEvidence(readHex(t, "rtxpro6000", "blackwellAttestationReport.txt"), readFile(t, "rtxpro6000", "blackwell_cert_chain_case1.txt"))
}

func rtxCocoEvidence(t testing.TB) []byte {
	return rawEvidence(readHex(t, "rtxpro6000", "blackwell_coco_report.txt"), readFile(t, "rtxpro6000", "blackwell_coco_certs.txt"))
}

// TestRealPublicRTXPro6000 verifies two RTX PRO 6000 Blackwell Server
// Edition captures (GB202, a chip and PKI none of the package's other
// samples come from): signature, chain to the pinned root through the
// GB20X identity CA, FWID from the DICE TcbInfo extension. The upstream
// fixture note states driver, VBIOS, UEID, FWID and 64 measurements for the
// first; both NVIDIA verifiers passed it.
func TestRealPublicRTXPro6000(t *testing.T) {
	d := realPublicDevice(t, rtxEvidence(t), rtxNonce)
	assert.Equal(t, ArchBlackwell, d.Arch)
	assert.True(t, d.FWIDMatched)
	assert.Len(t, d.Report.Response.Blocks, 64)
	assert.Nil(t, d.Report.Response.Manifest)
	assert.Equal(t, "595.58.03", d.Decoded.DriverVersion)
	assert.Equal(t, "98.02.81.00.01", d.Decoded.VBIOSVersion)
	assert.Equal(t, "GB202", d.Decoded.ChipInfo)
	assert.Equal(t, "G153", d.Decoded.Project)
	assert.Equal(t, "0210", d.Decoded.ProjectSKU)
	assert.Equal(t, "895", d.Decoded.ChipSKU)
	assert.Equal(t, byte(StatusEnabled), d.Decoded.NVDEC0Status)
	assert.Equal(t, 0, d.Decoded.FeatureFlag)
	assert.Equal(t, "9b92cc3e53b9265259e1abde163653288c2474fcafd8e5c0fd62ce9c9036fb62723fe3715b50f4ac27c68b62e2fd9240", string(hexOf(d.Decoded.FWID)))
	m := d.Map()
	assert.Equal(t, "GB20X A01 GSP BROM", m["hwmodel"])
	assert.Equal(t, "408762037488965241743361667085904172082023387885", m["ueid"])
	assert.Equal(t, "not-run", m["measres"], "no RIM was checked, so no measurement is affirmed")
	drv, fw, err := RIMIDs(d.Arch, d.Decoded)
	require.NoError(t, err)
	assert.Equal(t, "NV_GPU_CC_DRIVER_GB202_595.58.03", drv)
	assert.Equal(t, "NV_GPU_VBIOS_G153_0210_895_9802810001", fw)

	// The second board: same driver, older VBIOS, its own chain.
	d2 := realPublicDevice(t, rtxCocoEvidence(t), rtxCocoNonce)
	assert.True(t, d2.FWIDMatched)
	assert.Len(t, d2.Report.Response.Blocks, 64)
	assert.Equal(t, "595.58.03", d2.Decoded.DriverVersion)
	assert.Equal(t, "98.02.74.00.01", d2.Decoded.VBIOSVersion)
	assert.Equal(t, "547053072822519851739950566727626803442637733666", d2.Map()["ueid"])
	assert.NotEqual(t, d.DeviceID, d2.DeviceID)

	// Both boards in one request are two devices of one system.
	both, err := EncodeEvidence(append(mustParse(t, rtxEvidence(t)), mustParse(t, rtxCocoEvidence(t))...))
	require.NoError(t, err)
	_, err = noNetVerifier(t, verify.FormatGPU).VerifyDevices(context.Background(), both, verify.Expectations{ReportData: mustHex(rtxNonce), Now: realPublicTime})
	require.Error(t, err, "the second board signed another nonce")
	assert.ErrorIs(t, err, verify.ErrFreshness)
}

// TestRealPublicRTXPro6000Negatives are the variants a reviewer makes of
// the real evidence: another board's chain, a chain one certificate short
// or long, bytes changed in the signed report, the wrong nonce.
func TestRealPublicRTXPro6000Negatives(t *testing.T) {
	report := readHex(t, "rtxpro6000", "blackwellAttestationReport.txt")
	chain := readFile(t, "rtxpro6000", "blackwell_cert_chain_case1.txt")
	other := readFile(t, "rtxpro6000", "blackwell_coco_certs.txt")
	certs := pemBlocks(t, chain)
	otherCerts := pemBlocks(t, other)
	require.Len(t, certs, 5)
	exp := verify.Expectations{ReportData: mustHex(rtxNonce), Now: realPublicTime}
	run := func(ev []byte) (verify.Claims, error) {
		return noNetVerifier(t, verify.FormatGPU).Verify(context.Background(), ev, exp)
	}
	// The other board's whole chain: a valid chain, the wrong key.
	c, err := run(rawEvidence(report, other))
	mustFail(t, c, err, verify.ErrSignature)
	// The other board's leaf on this board's chain: the leaf does not chain.
	c, err = run(rawEvidence(report, join(otherCerts[0], certs[1], certs[2], certs[3], certs[4])))
	mustFail(t, c, err, verify.ErrChain)
	// Four certificates (provisioner ICA dropped) and six (one repeated).
	c, err = run(rawEvidence(report, join(certs[0], certs[1], certs[3], certs[4])))
	mustFail(t, c, err, verify.ErrChain)
	c, err = run(rawEvidence(report, join(certs[0], certs[1], certs[2], certs[2], certs[3], certs[4])))
	mustFail(t, c, err, verify.ErrChain)
	// One measurement byte changed: GPU-01.
	bad := bytes.Clone(report)
	bad[RequestSize+8+4+3+10] ^= 1
	c, err = run(rawEvidence(bad, chain))
	mustFail(t, c, err, verify.ErrSignature)
	// The wrong nonce.
	c, err = noNetVerifier(t, verify.FormatGPU).Verify(context.Background(), rawEvidence(report, chain), verify.Expectations{ReportData: mustHex(rtxCocoNonce), Now: realPublicTime})
	mustFail(t, c, err, verify.ErrFreshness)
	// A GPU is not a switch.
	c, err = noNetVerifier(t, verify.FormatNVSwitch).Verify(context.Background(), rawEvidence(report, chain), exp)
	mustFail(t, c, err, verify.ErrUnsupported)
}

// TestRealPublicRTXPro6000Structure changes the structure of the real
// report (before its signature is checked): opaque data with a duplicate or
// overrunning entry, a measurement block whose sizes disagree. All are
// ErrMalformed (GPU-18, GPU-19): nothing is read from such a report.
func TestRealPublicRTXPro6000Structure(t *testing.T) {
	report := readHex(t, "rtxpro6000", "blackwellAttestationReport.txt")
	chain := readFile(t, "rtxpro6000", "blackwell_cert_chain_case1.txt")
	rep, err := ParseReport(report, ParseOptions{})
	require.NoError(t, err)
	opaqueAt := len(rep.Signed) - rep.Response.OpaqueLength
	require.Equal(t, rep.Response.OpaqueRaw, report[opaqueAt:opaqueAt+rep.Response.OpaqueLength])
	exp := verify.Expectations{ReportData: mustHex(rtxNonce), Now: realPublicTime}
	run := func(r []byte) error {
		c, err := noNetVerifier(t, verify.FormatGPU).Verify(context.Background(), rawEvidence(r, chain), exp)
		assert.Nil(t, c)
		return err
	}
	// The first opaque entry (DRIVER_VERSION… in this legacy layout, type
	// at offset 0) renamed to the type of the second: a duplicate.
	o := rep.Response.OpaqueRaw
	first, second := o[0:2], o[4+int(o[2])|int(o[3])<<8:][0:2]
	dup := bytes.Clone(report)
	copy(dup[opaqueAt:], second)
	require.NotEqual(t, first, second)
	assert.ErrorIs(t, run(dup), verify.ErrMalformed)
	// The first entry's length past the end of the opaque data.
	over := bytes.Clone(report)
	over[opaqueAt+2], over[opaqueAt+3] = 0xff, 0xff
	assert.ErrorIs(t, run(over), verify.ErrMalformed)
	// Block 1's measurement size one more than its DMTF value size says.
	blk := bytes.Clone(report)
	blk[RequestSize+8+2]++
	assert.ErrorIs(t, run(blk), verify.ErrMalformed)
	// Block 2 given block 1's index.
	idx := bytes.Clone(report)
	idx[RequestSize+8+4+int(report[RequestSize+8+2])] = 1
	assert.ErrorIs(t, run(idx), verify.ErrMalformed)
}

// TestRealPublicHopper590 verifies NVIDIA's H100 sample for driver 590.12
// (protected-PCIe mode, NVDEC0 disabled), in the serialized array encoding
// with three more keys than the package's other samples.
func TestRealPublicHopper590(t *testing.T) {
	ev := readFile(t, "hopper590", "evidence_hopper_590_12.json")
	require.True(t, noNetVerifier(t, verify.FormatGPU).Detect(ev))
	d := realPublicDevice(t, ev, h590Nonce)
	assert.Equal(t, ArchHopper, d.Arch)
	assert.True(t, d.FWIDMatched)
	assert.Len(t, d.Report.Response.Blocks, 64)
	assert.Equal(t, "590.12", d.Decoded.DriverVersion)
	assert.Equal(t, "96.00.A5.00.01", d.Decoded.VBIOSVersion)
	assert.Equal(t, "G520", d.Decoded.Project)
	assert.Equal(t, 2, d.Decoded.FeatureFlag, "protected PCIe")
	assert.Equal(t, byte(StatusEnabled), d.Decoded.ProtectedPCIeStatus)
	assert.Equal(t, byte(StatusDisabled), d.Decoded.NVDEC0Status)
	m := d.Map()
	assert.Equal(t, "GH100 A01 GSP BROM", m["hwmodel"])
	assert.Equal(t, "462496802410983848477057609082198727668509984363", m["ueid"])
	drv, fw, err := RIMIDs(d.Arch, d.Decoded)
	require.NoError(t, err)
	assert.Equal(t, "NV_GPU_DRIVER_GH100_590.12", drv)
	assert.Equal(t, "NV_GPU_VBIOS_G520_0200_885_9600A50001", fw)
}

// TestRealPublicHopper590DeclaredVersions: the sample declares its driver
// and VBIOS versions beside the report. They were ignored; now a declared
// version must equal the signed one (as a declared nonce must), the VBIOS
// version in either case.
func TestRealPublicHopper590DeclaredVersions(t *testing.T) {
	ev := string(readFile(t, "hopper590", "evidence_hopper_590_12.json"))
	exp := verify.Expectations{ReportData: mustHex(h590Nonce), Now: realPublicTime}
	v := noNetVerifier(t, verify.FormatGPU)
	lower := strings.Replace(ev, `"96.00.A5.00.01"`, `"96.00.a5.00.01"`, 1)
	_, err := v.Verify(context.Background(), []byte(lower), exp)
	require.NoError(t, err)
	for _, bad := range []string{
		strings.Replace(ev, `"driver_version": "590.12"`, `"driver_version": "590.13"`, 1),
		strings.Replace(ev, `"vbios_version": "96.00.A5.00.01"`, `"vbios_version": "96.00.A5.00.02"`, 1),
	} {
		require.NotEqual(t, ev, bad)
		c, err := v.Verify(context.Background(), []byte(bad), exp)
		mustFail(t, c, err, verify.ErrMalformed)
		assert.Contains(t, err.Error(), "declared")
	}
}

// TestRealPublicBlackwellFSP: a GB100 FSP responder's transcript verifies
// (signature, chain) but carries no opaque data: no driver or VBIOS version
// to find reference values by, no FWID binding the key to the firmware. It
// is refused as unsupported, whatever the unsafe options, and never claimed.
// Before, the refusal was ErrBinding with the advice to set
// WithMissingFWIDUnsafe, which then "verified" it with empty versions.
func TestRealPublicBlackwellFSP(t *testing.T) {
	report := readHex(t, "blackwell-fsp", "blackwellFspAttestationReport.txt")
	chain := readFile(t, "blackwell-fsp", "blackwellFspCertChain.txt")
	rep, err := ParseReport(report, ParseOptions{})
	require.NoError(t, err)
	assert.Len(t, rep.Response.Blocks, 52)
	assert.Zero(t, rep.Response.OpaqueLength)
	exp := verify.Expectations{ReportData: mustHex(fspNonce), Now: realPublicTime}
	for _, v := range []*Verifier{
		noNetVerifier(t, verify.FormatGPU),
		noNetVerifier(t, verify.FormatGPU, WithMissingFWIDUnsafe()),
	} {
		c, err := v.Verify(context.Background(), rawEvidence(report, chain), exp)
		mustFail(t, c, err, verify.ErrUnsupported)
		assert.Contains(t, err.Error(), "FSP FMC LF")
	}
	// The signature is checked first: a changed byte is a forgery, not an
	// unsupported report.
	bad := bytes.Clone(report)
	bad[RequestSize+8+11+8+7+5] ^= 1 // a byte of block 3's digest
	c, err := noNetVerifier(t, verify.FormatGPU).Verify(context.Background(), rawEvidence(bad, chain), exp)
	mustFail(t, c, err, verify.ErrSignature)
}

// testCMWRecord decodes the base64url value of a CMW record [type, value].
func testCMWRecord(t *testing.T, rec []string) []byte {
	t.Helper()
	require.Len(t, rec, 2)
	b, err := base64.RawURLEncoding.DecodeString(rec[1])
	require.NoError(t, err)
	return b
}

// TestRealPublicRubinManifest parses a Rubin (GR100) GSP report: 64
// numbered blocks and a measurement manifest at SPDM index 0xFD, which the
// parser used to refuse as an index out of range. Rubin itself is not
// supported: its chain is refused by architecture, after parsing.
func TestRealPublicRubinManifest(t *testing.T) {
	var doc struct {
		GPU struct {
			Evidence    []string `json:"evidence"`
			Certificate []string `json:"certificate"`
			Nonce       []string `json:"nonce"`
		} `json:"gpu_0"`
	}
	require.NoError(t, json.Unmarshal(readFile(t, "rubin", "rubin_evidence.cmw.json"), &doc))
	report, chain := testCMWRecord(t, doc.GPU.Evidence), testCMWRecord(t, doc.GPU.Certificate)
	assert.Equal(t, rubinNonce, string(hexOf(testCMWRecord(t, doc.GPU.Nonce))))
	rep, err := ParseReport(report, ParseOptions{})
	require.NoError(t, err)
	assert.Equal(t, 65, rep.Response.NumberOfBlocks)
	assert.Len(t, rep.Response.Blocks, 64)
	require.NotNil(t, rep.Response.Manifest)
	assert.Equal(t, MeasurementIndexManifest, rep.Response.Manifest.Index)
	assert.Len(t, rep.Response.Manifest.Value, 0x04ef)
	_, ok := rep.Response.Measurement(MeasurementIndexManifest)
	assert.False(t, ok, "the manifest is not a measurement")
	o, err := ParseOpaqueData(rep.Response.OpaqueRaw)
	require.NoError(t, err)
	assert.Equal(t, OpaqueVersioned, o.Format)
	dec, err := o.Decode(false)
	require.NoError(t, err)
	assert.Equal(t, "620.54", dec.DriverVersion)
	assert.Equal(t, "GR100", dec.ChipInfo)
	c, err := noNetVerifier(t, verify.FormatGPU).Verify(context.Background(), rawEvidence(report, chain),
		verify.Expectations{ReportData: mustHex(rubinNonce), Now: realPublicTime})
	mustFail(t, c, err, verify.ErrUnsupported)
	assert.Contains(t, err.Error(), "GR100")

	// A second manifest, or a manifest alone, is still refused.
	blocks := rep.Response.Blocks
	recStart := RequestSize + 8
	twice := bytes.Clone(report)
	twice[recStart] = MeasurementIndexManifest // block 1 renamed: two manifests
	_, err = ParseReport(twice, ParseOptions{})
	assert.ErrorIs(t, err, verify.ErrMalformed)
	require.Equal(t, 1, blocks[0].Index)
}

// TestRealPublicNVDAODTranscript parses the whole H100 transcript whose
// opaque data the NVDAOD tests were first written from by hand (driver
// 620.12); the two agree byte for byte. No chain was published with it.
func TestRealPublicNVDAODTranscript(t *testing.T) {
	rep, err := ParseReport(readHex(t, "nvdaod", "sample_nvdaod_transcript.txt"), ParseOptions{})
	require.NoError(t, err)
	assert.Len(t, rep.Response.Blocks, 64)
	assert.Equal(t, readHex(t, "nvdaod", "sample_nvdaod_transcript.opaque_only.hex"), rep.Response.OpaqueRaw)
	o, err := ParseOpaqueData(rep.Response.OpaqueRaw)
	require.NoError(t, err)
	dec, err := o.Decode(false)
	require.NoError(t, err)
	assert.Equal(t, "620.12", dec.DriverVersion)
	assert.Equal(t, "G520", dec.Project)
	assert.Equal(t, 0, dec.FSPUcodeSVN)
	assert.Len(t, dec.FWID, 48)
}

func hexOf(b []byte) []byte {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return out
}

func mustParse(t *testing.T, ev []byte) []DeviceEvidence {
	t.Helper()
	d, err := ParseEvidence(ev)
	require.NoError(t, err)
	for i := range d {
		if d[i].Arch == "" {
			d[i].Arch = ArchBlackwell
		}
	}
	return d
}

// pemBlocks splits a PEM chain into its certificates' PEM texts.
func pemBlocks(t *testing.T, chain []byte) [][]byte {
	t.Helper()
	var out [][]byte
	const end = "-----END CERTIFICATE-----\n"
	for s := string(chain); strings.Contains(s, end); {
		i := strings.Index(s, end) + len(end)
		out = append(out, []byte(strings.TrimLeft(s[:i], "\n")))
		s = s[i:]
	}
	return out
}

func join(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// TestRealPublicRTXPro6000TrusteeGolden compares the RTX PRO 6000 claims
// with Trustee's own parse of the same report, published beside it: every
// opaque field and all 64 measurements.
func TestRealPublicRTXPro6000TrusteeGolden(t *testing.T) {
	var want struct {
		UEID         string            `json:"ueid"`
		Config       map[string]any    `json:"config"`
		Measurements map[string]string `json:"measurements"`
	}
	require.NoError(t, json.Unmarshal(readFile(t, "golden", "blackwellAttestationReport-claims.txt"), &want))
	d := realPublicDevice(t, rtxEvidence(t), rtxNonce)
	m := d.Map()
	assert.Equal(t, want.UEID, m["ueid"])
	got := m["x-attest-opaque"].(map[string]any)
	sys, ok := d.Opaque.Get(OpaqueSysEnableStatus)
	require.True(t, ok)
	require.Len(t, want.Config, 17)
	for k, w := range want.Config {
		switch k {
		case "measurement_count":
			mc := got[k].(map[string]uint32)
			wm := w.(map[string]any)
			require.Len(t, mc, len(wm))
			for i, n := range wm {
				assert.EqualValues(t, n, mc[i], "measurement_count[%s]", i)
			}
		case "feature_flag": // Trustee names the mode
			assert.Equal(t, "SPT", w)
			assert.Equal(t, 0, got[k])
		case "opaque_data_version":
			assert.EqualValues(t, w, d.Decoded.OpaqueVersion)
		case "sys_enable_status": // not a claim of ours: the raw entry
			assert.Equal(t, w, hex.EncodeToString(sys))
		default:
			assert.Equal(t, fmt.Sprint(w), fmt.Sprint(got[k]), k)
		}
	}
	assert.Equal(t, want.Measurements, m["x-attest-measurements"])
}

// TestRealPublicChainFileWithBlankLines: NVIDIA's rubinCertChain.txt starts
// with a blank line; joined after a report (as `attest verify REPORT CHAIN`
// joins them) the blank line sat between the signature and the chain and
// the report was refused for bytes after its signature. White space there
// is now the chain file's; anything else still is not.
func TestRealPublicChainFileWithBlankLines(t *testing.T) {
	report := readHex(t, "rtxpro6000", "blackwellAttestationReport.txt")
	chain := readFile(t, "rtxpro6000", "blackwell_cert_chain_case1.txt")
	exp := verify.Expectations{ReportData: mustHex(rtxNonce), Now: realPublicTime}
	v := noNetVerifier(t, verify.FormatGPU)
	_, err := v.Verify(context.Background(), rawEvidence(report, append([]byte("\n\r\n \t"), chain...)), exp)
	require.NoError(t, err)
	for _, junk := range []string{"\nx\n", "\x00\n"} {
		c, err := v.Verify(context.Background(), rawEvidence(report, append([]byte(junk), chain...)), exp)
		mustFail(t, c, err, verify.ErrMalformed)
	}
}
