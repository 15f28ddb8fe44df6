package testbed

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/trustfactory/attest/binding"
	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/gpu/gputest"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/snp/snptest"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/tpm"
	"github.com/trustfactory/attest/tpm/tpmtest"
	"github.com/trustfactory/attest/verify"
)

// Session is one KBS-style attestation session: the verifier's nonce and
// the key the TEE wants secrets wrapped to, as runtime data whose digest
// every piece of evidence carries (binding.Expect).
type Session struct {
	// RuntimeData holds the nonce, the TEE key's public JWK and an empty
	// additional-evidence member, as a KBS client sends them.
	RuntimeData binding.RuntimeData
	// TEEKey is the TEE's private key.
	TEEKey *ecdsa.PrivateKey
}

// NewSession returns a session with a random 32-byte nonce (base64) and a
// fresh P-256 TEE key.
func NewSession() (*Session, error) {
	nonce := make([]byte, 32)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	jwk, err := publicJWK(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	empty := ""
	return &Session{
		RuntimeData: binding.RuntimeData{Nonce: base64.StdEncoding.EncodeToString(nonce), TEEPubKey: jwk, AdditionalEvidence: &empty},
		TEEKey:      key,
	}, nil
}

// publicJWK encodes a P-256 public key as a JWK.
func publicJWK(k *ecdsa.PublicKey) (json.RawMessage, error) {
	pub, err := k.ECDH()
	if err != nil {
		return nil, err
	}
	point := pub.Bytes() // 0x04 ‖ X ‖ Y
	enc := base64.RawURLEncoding.EncodeToString
	return json.Marshal(map[string]string{"kty": "EC", "crv": "P-256", "x": enc(point[1:33]), "y": enc(point[33:])})
}

// Expect returns what evidence of format f must carry for the session
// (report data, GPU nonce or TPM extraData, from binding.Expect with
// SHA-384), verified at the bed's time.
func (b *Bed) Expect(s *Session, f verify.Format) (verify.Expectations, error) {
	if s == nil {
		return verify.Expectations{}, verify.Errorf(verify.ErrConfig, "testbed: nil session")
	}
	e, err := binding.Expect(f, s.RuntimeData, crypto.SHA384)
	if err != nil {
		return verify.Expectations{}, err
	}
	e.Now = b.Now
	return e, nil
}

// QuoteSpec returns the spec of the bed's TD quote for report data: the
// tdxtest default, with RTMR 0 to 2 measured (firmware, kernel, command
// line, as a booted TD has them) and RTMR 3 left empty.
func (b *Bed) QuoteSpec(reportData []byte) tdxtest.QuoteSpec {
	s := b.TDX.DefaultQuote(reportData)
	for i := 0; i < 3; i++ {
		for j := range s.Body.RTMR[i] {
			s.Body.RTMR[i][j] = byte(0x80 + 0x10*i + j%16)
		}
	}
	return s
}

// Quote mints a TD quote carrying reportData; edit, when non-nil, changes
// the spec first (for example to set the debug bit).
func (b *Bed) Quote(reportData []byte, edit func(*tdxtest.QuoteSpec)) []byte {
	s := b.QuoteSpec(reportData)
	if edit != nil {
		edit(&s)
	}
	return b.TDX.Quote(s)
}

// GPUEvidence mints one report per GPU, all answering nonce (32 bytes), in
// NVIDIA's JSON array encoding (one entry per device). edit, when non-nil,
// changes GPU i's report first.
func (b *Bed) GPUEvidence(nonce []byte, edit func(i int, r *gputest.Report)) ([]byte, error) {
	return deviceEvidence("GPU", "GPUs", b.GPUs, b.Measurements, nonce, edit)
}

// SwitchEvidence mints one report per NVSwitch, all answering nonce (32
// bytes), in NVIDIA's JSON array encoding. edit, when non-nil, changes
// switch i's report first.
func (b *Bed) SwitchEvidence(nonce []byte, edit func(i int, r *gputest.Report)) ([]byte, error) {
	return deviceEvidence("switch", "switches", b.Switches, b.SwitchMeasurements, nonce, edit)
}

// deviceEvidence mints one report per device of kind (GPU or switch; plural
// names them in errors), each
// with measurements and answering nonce, signed by the device's PKI.
func deviceEvidence(kind, plural string, pkis []*gputest.PKI, measurements map[int][]byte, nonce []byte, edit func(i int, r *gputest.Report)) ([]byte, error) {
	if len(nonce) != 32 {
		return nil, verify.Errorf(verify.ErrConfig, "testbed: %s nonce of %d bytes, expected 32", kind, len(nonce))
	}
	if len(pkis) == 0 {
		return nil, verify.Errorf(verify.ErrConfig, "testbed: a bed without %s has no %s evidence", plural, kind)
	}
	devs := make([]gpu.DeviceEvidence, 0, len(pkis))
	for i, p := range pkis {
		r := gputest.Report{Measurements: measurements}
		copy(r.Nonce[:], nonce)
		if edit != nil {
			edit(i, &r)
		}
		devs = append(devs, gpu.DeviceEvidence{Arch: p.Arch, Nonce: bytes.Clone(r.Nonce[:]), Report: p.Sign(r), Certificate: p.ChainPEM()})
	}
	return gpu.EncodeEvidence(devs)
}

// SNPReport returns the bed's SNP report spec for report data: the launch
// measurement SNPMeasurement, debugging and migration agent not allowed,
// the chip's TCB reported.
func (b *Bed) SNPReport(reportData []byte) snptest.Report {
	r := snptest.Report{Measurement: b.SNPMeasurement, Policy: 0x30000}
	copy(r.ReportData[:], reportData)
	return r
}

// SNPEvidence mints an SNP attestation report carrying reportData; edit,
// when non-nil, changes the spec first.
func (b *Bed) SNPEvidence(reportData []byte, edit func(*snptest.Report)) ([]byte, error) {
	r := b.SNPReport(reportData)
	if edit != nil {
		edit(&r)
	}
	return b.SNP.Sign(r)
}

// TPMEvidence mints a TPM quote over every PCR of the bed's boot log
// (SHA-256 bank) with extraData, with the log, as tpm.Evidence protobuf.
func (b *Bed) TPMEvidence(extraData []byte) ([]byte, error) {
	q, err := b.TPMAK.Quote(crypto.SHA256, b.TPMLog.PCRs(crypto.SHA256), extraData)
	if err != nil {
		return nil, err
	}
	return tpmtest.MarshalProto(&tpm.Evidence{AKPublicArea: b.TPMAK.PublicArea(), Quotes: []tpm.Quote{q}, EventLog: b.TPMLog.Bytes()})
}

// TDXComponents returns the session's TD quote as component "cpu0" and, when
// the bed has GPUs, their evidence as one GPU component, each with the
// session's expectations.
func (b *Bed) TDXComponents(s *Session) ([]verify.Component, error) {
	cpu, err := b.Expect(s, verify.FormatTDX)
	if err != nil {
		return nil, err
	}
	comps := []verify.Component{{Name: "cpu0", Format: verify.FormatTDX, Evidence: b.Quote(cpu.ReportData, nil), Expect: cpu}}
	if len(b.GPUs) == 0 {
		return comps, nil
	}
	g, err := b.Expect(s, verify.FormatGPU)
	if err != nil {
		return nil, err
	}
	ev, err := b.GPUEvidence(g.ReportData, nil)
	if err != nil {
		return nil, err
	}
	return append(comps, verify.Component{Format: verify.FormatGPU, Evidence: ev, Expect: g}), nil
}

// SNPComponent returns the session's SNP report as component "cpu0".
func (b *Bed) SNPComponent(s *Session) (verify.Component, error) {
	e, err := b.Expect(s, verify.FormatSNP)
	if err != nil {
		return verify.Component{}, err
	}
	ev, err := b.SNPEvidence(e.ReportData, nil)
	if err != nil {
		return verify.Component{}, err
	}
	return verify.Component{Name: "cpu0", Format: verify.FormatSNP, Evidence: ev, Expect: e}, nil
}

// TPMComponent returns the session's TPM quote as component "cpu0".
func (b *Bed) TPMComponent(s *Session) (verify.Component, error) {
	e, err := b.Expect(s, verify.FormatTPM)
	if err != nil {
		return verify.Component{}, err
	}
	ev, err := b.TPMEvidence(e.ReportData)
	if err != nil {
		return verify.Component{}, err
	}
	return verify.Component{Name: "cpu0", Format: verify.FormatTPM, Evidence: ev, Expect: e}, nil
}

// ReferenceValues pin everything the bed's evidence measures, valid for a
// year after the bed's time, so that the default policy affirms it:
//
//   - TDX: mr_td, rtmr_0 to rtmr_3, xfam, mr_seam and tdx_min_tee_tcb_svn;
//   - SNP: snp_launch_measurement and snp_min_tcb_bootloader, _tee, _snp
//     and _microcode (the chip's TCB);
//   - TPM: tpm_pcrNN for every PCR of the boot log (SHA-256);
//   - GPUs: allowed_driver_versions, allowed_vbios_versions and the same
//     versions as gpu_min_driver_version and gpu_min_vbios_version;
//   - switches (when the bed has some): allowed_switch_bios_versions, and
//     switch_require_fwid false (an LS10 report carries no FWID).
func (b *Bed) ReferenceValues() (*policy.ReferenceValues, error) {
	exp := b.Now.AddDate(1, 0, 0)
	var entries []policy.Entry
	add := func(name string, value any) {
		entries = append(entries, policy.Entry{Name: name, Value: value, Expiration: &exp})
	}
	q := b.QuoteSpec(nil)
	add("mr_td", hex.EncodeToString(q.Body.MRTD[:]))
	for i := range q.Body.RTMR {
		add(fmt.Sprintf("rtmr_%d", i), hex.EncodeToString(q.Body.RTMR[i][:]))
	}
	add("xfam", hex.EncodeToString(q.Body.XFAM[:]))
	add("mr_seam", hex.EncodeToString(q.Body.MRSEAM[:]))
	add("tdx_min_tee_tcb_svn", hex.EncodeToString(q.Body.TEETCBSVN[:]))

	add("snp_launch_measurement", hex.EncodeToString(b.SNPMeasurement[:]))
	tcb := b.SNP.TCB
	add("snp_min_tcb_bootloader", fmt.Sprint(tcb.Bootloader))
	add("snp_min_tcb_tee", fmt.Sprint(tcb.TEE))
	add("snp_min_tcb_snp", fmt.Sprint(tcb.SNP))
	add("snp_min_tcb_microcode", fmt.Sprint(tcb.Microcode))

	pcrs := b.TPMLog.PCRs(crypto.SHA256)
	idx := make([]int, 0, len(pcrs))
	for i := range pcrs {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	for _, i := range idx {
		add(fmt.Sprintf("tpm_pcr%02d", i), hex.EncodeToString(pcrs[i]))
	}

	add("allowed_driver_versions", DriverVersion)
	add("allowed_vbios_versions", VBIOSVersion)
	add("gpu_min_driver_version", DriverVersion)
	add("gpu_min_vbios_version", VBIOSVersion)
	if len(b.Switches) > 0 {
		add("allowed_switch_bios_versions", SwitchBIOSVersion)
		// LS10 reports carry no FWID to bind the attestation key to.
		add("switch_require_fwid", "false")
	}
	return policy.FromEntries(entries...)
}
