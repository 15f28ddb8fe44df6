package gpu

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/trustfactory/attest/gpu/ocsp"
	"github.com/trustfactory/attest/gpu/rim"
	"github.com/trustfactory/attest/internal/certlink"
	"github.com/trustfactory/attest/internal/lru"
	"github.com/trustfactory/attest/verify"
)

// Option configures a Verifier at construction.
type Option func(*Verifier) error

// WithDeviceRoots replaces the pinned NVIDIA Device Identity CA certificates.
// A chain is accepted when its last certificate carries one of their keys.
func WithDeviceRoots(roots ...*x509.Certificate) Option {
	return func(v *Verifier) error {
		if len(roots) == 0 {
			return verify.Errorf(verify.ErrConfig, "WithDeviceRoots: no root")
		}
		v.roots = roots
		return nil
	}
}

// WithOCSP sets the revocation checker used for the device chain and every
// RIM signer chain. Without it NewVerifier fails unless
// WithoutRevocationUnsafe is given.
func WithOCSP(c *ocsp.Checker) Option {
	return func(v *Verifier) error {
		if c == nil {
			return verify.Errorf(verify.ErrConfig, "WithOCSP: nil checker")
		}
		v.ocsp = c
		return nil
	}
}

// The unsafe switches of this package's options, as DeviceClaims report
// them (with those of the ocsp.Checker and verify.UnsafeMissingReportData).
const (
	UnsafeWithoutRevocation verify.UnsafeSwitch = "gpu.WithoutRevocationUnsafe"
	UnsafeWithoutRIMs       verify.UnsafeSwitch = "gpu.WithoutRIMsUnsafe"
	UnsafeMissingFWID       verify.UnsafeSwitch = "gpu.WithMissingFWIDUnsafe" // only for a report without FWID
)

// WithoutRevocationUnsafe skips OCSP entirely. The claims say so.
func WithoutRevocationUnsafe() Option {
	return func(v *Verifier) error { v.noRevocation = true; return nil }
}

// WithRIMs sets where RIMs come from (see NewRIMProvider). Without it
// NewVerifier fails unless WithoutRIMsUnsafe is given.
func WithRIMs(p RIMProvider) Option {
	return func(v *Verifier) error {
		if p == nil {
			return verify.Errorf(verify.ErrConfig, "WithRIMs: nil provider")
		}
		v.rims = p
		return nil
	}
}

// WithoutRIMsUnsafe skips the RIMs and the measurement comparison: the
// evidence is authenticated but its firmware is not appraised. The claims say so.
func WithoutRIMsUnsafe() Option {
	return func(v *Verifier) error { v.noRIMs = true; return nil }
}

// WithMissingFWIDUnsafe accepts reports without the FWID opaque entry (old
// firmware); the binding of the attestation key certificate to the running
// firmware is then not checked. The claims say so.
func WithMissingFWIDUnsafe() Option {
	return func(v *Verifier) error { v.allowNoFWID = true; return nil }
}

// AllowTrailingZeroPadding tolerates up to 16 zero bytes after the signature,
// as some capture paths append.
func AllowTrailingZeroPadding() Option {
	return func(v *Verifier) error { v.parse.AllowTrailingZeros = true; return nil }
}

// WithCacheSize bounds the verified-chain caches (default 256 chains by
// PEM, and as many by the base64 text of a certificate field).
func WithCacheSize(n int) Option {
	return func(v *Verifier) error {
		if n < 1 {
			return verify.Errorf(verify.ErrConfig, "WithCacheSize: %d, expected at least 1", n)
		}
		v.cacheSize = n
		return nil
	}
}

// WithOpaqueRecords floors opaque-data entries of every GPU's report, as the
// opaque-data records of NVIDIA's RIMs do (each a MIN_SVN, compared
// numerically): a report that misses one is refused with ErrPolicy naming
// each record, and the runtime values of records marked IncludeInResult are
// claimed in x-nvidia-attester-claims. The records are checked with
// CheckOpaqueRecords (ErrConfig); they apply to GPUs only, so an NVSwitch
// verifier refuses them (ErrConfig).
func WithOpaqueRecords(recs ...OpaqueRecord) Option {
	return func(v *Verifier) error {
		if len(recs) == 0 {
			return verify.Errorf(verify.ErrConfig, "WithOpaqueRecords: no records")
		}
		if err := CheckOpaqueRecords(recs); err != nil {
			return err
		}
		v.opaqueRecords = slices.Clone(recs)
		return nil
	}
}

// WithLogger logs at debug level; the default is silent.
func WithLogger(l *slog.Logger) Option {
	return func(v *Verifier) error { v.log = l; return nil }
}

// Verifier verifies NVIDIA GPU (FormatGPU) or NVSwitch (FormatNVSwitch)
// evidence. It is immutable after construction and safe for concurrent use.
type Verifier struct {
	format       verify.Format
	roots        []*x509.Certificate
	rootSet      *rootSet
	ocsp         *ocsp.Checker
	noRevocation bool
	rims         RIMProvider
	noRIMs       bool
	allowNoFWID  bool
	// opaqueRecords floor opaque-data entries of GPU reports (read only).
	opaqueRecords []OpaqueRecord
	parse         ParseOptions
	cacheSize     int
	log           *slog.Logger
	chains        *lru.Cache[[32]byte, *DeviceChain]
	// textChains holds the same verified chains keyed by the SHA-256 of
	// the base64 text of the certificate field they were decoded from, so
	// that a known field is neither decoded nor hashed as PEM again. A
	// cache of its own: a text key can never meet a PEM key.
	textChains *lru.Cache[[32]byte, *DeviceChain]
	// links remembers each verified issuer→subject link of device chains:
	// every board's chain shares its identity and provisioner CAs.
	links *certlink.Cache
	// rimChains holds the signer chains of the manifests the RIM provider
	// returned, prepared for OCSP checks. Keyed by the manifest itself: a
	// provider that caches returns the same manifest again.
	rimChains *lru.Cache[*rim.Manifest, *ocsp.Chain]
}

// NewVerifier returns a verifier for format, verify.FormatGPU or
// verify.FormatNVSwitch.
func NewVerifier(format verify.Format, opts ...Option) (*Verifier, error) {
	if format != verify.FormatGPU && format != verify.FormatNVSwitch {
		return nil, verify.Errorf(verify.ErrConfig, "gpu: format expected %q or %q, got %q", verify.FormatGPU, verify.FormatNVSwitch, format)
	}
	v := &Verifier{format: format, cacheSize: 256}
	for _, o := range opts {
		if err := o(v); err != nil {
			return nil, err
		}
	}
	if v.roots == nil {
		v.roots = DefaultDeviceRoots()
	}
	rs, err := newRootSet(v.roots)
	if err != nil {
		return nil, err
	}
	v.rootSet = rs
	switch {
	case v.ocsp == nil && !v.noRevocation:
		return nil, verify.Errorf(verify.ErrConfig, "gpu: no OCSP checker: use WithOCSP, or WithoutRevocationUnsafe")
	case v.ocsp != nil && v.noRevocation:
		return nil, verify.Errorf(verify.ErrConfig, "gpu: WithOCSP and WithoutRevocationUnsafe contradict each other: give one")
	case v.rims == nil && !v.noRIMs:
		return nil, verify.Errorf(verify.ErrConfig, "gpu: no RIM provider: use WithRIMs, or WithoutRIMsUnsafe")
	case v.rims != nil && v.noRIMs:
		return nil, verify.Errorf(verify.ErrConfig, "gpu: WithRIMs and WithoutRIMsUnsafe contradict each other: give one")
	case len(v.opaqueRecords) > 0 && format == verify.FormatNVSwitch:
		return nil, verify.Errorf(verify.ErrConfig, "gpu: WithOpaqueRecords applies to GPUs, not to an %s verifier", format)
	}
	v.chains = lru.New[[32]byte, *DeviceChain](v.cacheSize)
	v.textChains = lru.New[[32]byte, *DeviceChain](v.cacheSize)
	v.links = certlink.New(2*v.cacheSize + DeviceChainLength)
	v.rimChains = lru.New[*rim.Manifest, *ocsp.Chain](v.cacheSize)
	return v, nil
}

// Format returns the evidence format of this verifier.
func (v *Verifier) Format() verify.Format { return v.format }

// Detect reports whether evidence is in a supported encoding and every
// device in it is of this verifier's kind (GPU or switch).
func (v *Verifier) Detect(evidence []byte) bool {
	if !DetectEncoding(evidence) {
		return false
	}
	devs, err := ParseEvidence(evidence)
	if err != nil {
		return false
	}
	for _, d := range devs {
		arch := d.Arch
		if arch == "" {
			certs, err := ParsePEMChain(d.Certificate)
			if err != nil {
				return false
			}
			if arch, err = archFromLeaf(certs[0]); err != nil {
				return false
			}
		}
		if arch.IsSwitch() != (v.format == verify.FormatNVSwitch) {
			return false
		}
	}
	return true
}

// Split returns one evidence blob per device: the device's object from
// NVIDIA's serialized array, a slice of evidence itself, or, for an element
// outside the plain form ParseEvidence reads alone, a copy in an array of
// one (evidence holding one device, and raw evidence, are returned as they
// are). It verifies nothing (it decodes an element only to learn whether it
// stands alone), so the parts can be verified in parallel; an element that
// is not a device fails the verification of its part. The parts share evidence's memory: keep it
// unchanged while they are used.
//
// The checks VerifyDevices makes across devices (the same device twice, modes
// mixed) need authenticated claims, so Split cannot make them: a caller that
// verifies the parts one by one must pass their claims to CheckSet, as the
// composite appraiser does.
func (v *Verifier) Split(evidence []byte) ([][]byte, error) {
	return splitEvidence(evidence)
}

// CheckSet judges verified devices as one system, as VerifyDevices does for
// the devices of one evidence blob: the same device (DeviceClaims.DeviceID,
// the device identity key the chain proves, not the attestation-key
// certificate a reset may re-issue) twice is ErrMalformed, devices in different FEATURE_FLAG modes
// are ErrPolicy (a report without FEATURE_FLAG counts as single-GPU mode).
// claims are the results of this verifier's Verify.
func (v *Verifier) CheckSet(claims []verify.Claims) error {
	var devs []*DeviceClaims
	for i, c := range claims {
		gc, ok := c.(*Claims)
		if !ok || gc == nil {
			return verify.Errorf(verify.ErrConfig, "device set: claims %d are %T, not *gpu.Claims", i, c)
		}
		if gc.format != v.format {
			return verify.Errorf(verify.ErrConfig, "device set: claims %d are %s claims, this verifier's are %s", i, gc.format, v.format)
		}
		devs = append(devs, gc.Devices...)
	}
	return checkDevices(devs)
}

// checkDevices is the set rule of VerifyDevices and CheckSet. Errors name
// devices by their position in devs.
func checkDevices(devs []*DeviceClaims) error {
	seen := make(map[string]int, len(devs))
	mode := func(d *DeviceClaims) int { return max(d.Decoded.FeatureFlag, 0) }
	for i, d := range devs {
		if d.DeviceID == "" {
			// Claims this package made always carry it: fail closed on others.
			return verify.Errorf(verify.ErrConfig, "device %d: no device identity", i)
		}
		if j, dup := seen[d.DeviceID]; dup {
			return verify.Errorf(verify.ErrMalformed, "device %d: the same device (identity key %s; ueid %s, device %d's ueid %s) as device %d", i, d.DeviceID, d.UEID, j, devs[j].UEID, j)
		}
		seen[d.DeviceID] = i
		if f0, f := mode(devs[0]), mode(d); f != f0 {
			return verify.Errorf(verify.ErrPolicy, "device %d FEATURE_FLAG: expected %d as device 0, got %d", i, f0, f)
		}
	}
	return nil
}

// Verify verifies every device in evidence against exp and returns their
// claims. All devices must pass; on any failure the claims are nil.
// exp.ReportData is the 32-byte request nonce; exp.InitDataDigest must be
// nil (the evidence has no init-data field: ErrConfig).
func (v *Verifier) Verify(ctx context.Context, evidence []byte, exp verify.Expectations) (verify.Claims, error) {
	c, err := v.VerifyDevices(ctx, evidence, exp)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// VerifyDevices is Verify with the concrete claims type.
func (v *Verifier) VerifyDevices(ctx context.Context, evidence []byte, exp verify.Expectations) (*Claims, error) {
	if len(exp.ReportData) != 0 && len(exp.ReportData) != NonceSize {
		return nil, verify.Errorf(verify.ErrConfig, "expected nonce: %d bytes, must be %d", len(exp.ReportData), NonceSize)
	}
	if exp.InitDataDigest != nil {
		// An expectation that cannot be checked must not pass unchecked.
		return nil, verify.Errorf(verify.ErrConfig, "expected init-data digest %x: NVIDIA device evidence has no init-data field; bind init data through the CPU evidence", exp.InitDataDigest)
	}
	now := exp.Time()
	devs, err := parseEvidence(evidence, func(text []byte) ([32]byte, *DeviceChain) {
		key := sha256.Sum256(text)
		return key, v.cachedChain(v.textChains, key, now)
	})
	if err != nil {
		return nil, err
	}
	out := &Claims{format: v.format}
	for i, d := range devs {
		dc, err := v.verifyDevice(ctx, d, exp, now)
		if err != nil {
			if len(devs) > 1 {
				return nil, fmt.Errorf("device %d: %w", i, err)
			}
			return nil, err
		}
		dc.Index = i
		out.Devices = append(out.Devices, dc)
	}
	if err := checkDevices(out.Devices); err != nil {
		return nil, err
	}
	return out, nil
}

func (v *Verifier) verifyDevice(ctx context.Context, d DeviceEvidence, exp verify.Expectations, now time.Time) (*DeviceClaims, error) {
	rep, err := ParseReport(d.Report, v.parse)
	if err != nil {
		return nil, err
	}
	if d.Nonce != nil && string(d.Nonce) != string(rep.Request.Nonce[:]) {
		return nil, verify.Errorf(verify.ErrMalformed, "declared nonce %x differs from the signed request nonce %x", d.Nonce, rep.Request.Nonce)
	}
	if err := exp.CheckReportData("nonce", rep.Request.Nonce[:]); err != nil {
		return nil, err
	}
	nonceChecked := len(exp.ReportData) != 0
	opaque, err := ParseOpaqueData(rep.Response.OpaqueRaw)
	if err != nil {
		return nil, err
	}
	chain := d.chain
	if chain == nil {
		if chain, err = v.deviceChain(d.Certificate, now); err != nil {
			return nil, err
		}
		if d.certKeyed {
			v.textChains.Add(d.certKey, chain, chain.NotAfter)
		}
	}
	if chain.Arch.IsSwitch() != (v.format == verify.FormatNVSwitch) {
		return nil, verify.Errorf(verify.ErrUnsupported, "device of architecture %s given to the %s verifier", chain.Arch, v.format)
	}
	if d.Arch != "" && d.Arch != chain.Arch {
		return nil, verify.Errorf(verify.ErrBinding, "architecture: evidence declares %s, the attestation key certificate is for %s", d.Arch, chain.Arch)
	}
	if err := checkSignature(chain.Key, rep); err != nil {
		return nil, err
	}
	if !chain.Arch.IsSwitch() && len(rep.Response.OpaqueRaw) == 0 {
		// A GPU's FSP (not GSP) responder signs a transcript without opaque
		// data: no driver or VBIOS version to find RIMs by, no FWID to bind
		// the key to. NVIDIA appraises it against CoRIM reference values,
		// which this package does not read; nothing here could vouch for it.
		return nil, verify.Errorf(verify.ErrUnsupported,
			"GPU report signed by %q carries no opaque data (no driver or VBIOS version, no FWID): an FSP transcript, appraised against CoRIM reference values, which this verifier does not support",
			chain.Certs[0].Subject.CommonName)
	}
	// Everything below reads signed bytes.
	dec, err := opaque.Decode(chain.Arch.IsSwitch())
	if err != nil {
		return nil, err
	}
	if d.DriverVersion != "" && d.DriverVersion != dec.DriverVersion {
		return nil, verify.Errorf(verify.ErrMalformed, "declared driver version %q differs from the signed %q", d.DriverVersion, dec.DriverVersion)
	}
	// NVIDIA's tools print VBIOS versions in either case.
	if d.VBIOSVersion != "" && !strings.EqualFold(d.VBIOSVersion, dec.VBIOSVersion) {
		return nil, verify.Errorf(verify.ErrMalformed, "declared VBIOS version %q differs from the signed %q", d.VBIOSVersion, dec.VBIOSVersion)
	}
	dc := &DeviceClaims{
		Arch: chain.Arch, UUID: d.UUID, Report: rep, Opaque: opaque, Decoded: dec, Chain: chain,
		HWModel: chain.Certs[1].Subject.CommonName, UEID: chain.Certs[0].SerialNumber.String(),
		DeviceID: deviceID(chain.Certs[1]),
		Nonce:    rep.Request.Nonce[:], NonceChecked: nonceChecked,
	}
	if !nonceChecked {
		dc.Unsafe = append(dc.Unsafe, verify.UnsafeMissingReportData)
	}
	if rep.TrailingPadding > 0 {
		dc.Warnings = append(dc.Warnings, fmt.Sprintf("%d zero bytes after the signature were ignored", rep.TrailingPadding))
	}
	if err := v.checkFWID(dc); err != nil {
		return nil, err
	}
	// A cold verifier's RIMs (fetched, parsed, their XML signatures and
	// signer chains checked) wait on nothing below: they are checked beside
	// the device chain's revocation status, so that the signature checks of
	// both keep the cores busy. Failures are still reported in the order of
	// the checks: revocation, opaque records, RIMs. Cached RIMs cost less
	// than starting a goroutine and are checked here, after the rest.
	var (
		rims    *DeviceClaims
		rimsErr error
		rimsWG  sync.WaitGroup
	)
	checkRIMs := func(ctx context.Context) {
		// A scratch copy: the checks below write dc meanwhile.
		rims = &DeviceClaims{Arch: dc.Arch, Decoded: dc.Decoded, Report: dc.Report}
		rimsErr = v.checkRIMs(ctx, rims, now)
	}
	beside := !v.noRIMs && !v.noRevocation && !v.rimsWarm(dc, now)
	if beside {
		rimsCtx, cancel := context.WithCancel(ctx)
		defer func() {
			cancel() // a failure below stops the RIM checks
			rimsWG.Wait()
		}()
		rimsWG.Go(func() { checkRIMs(rimsCtx) })
	}
	if v.noRevocation {
		dc.Unsafe = append(dc.Unsafe, UnsafeWithoutRevocation)
	} else {
		if v.ocsp.AllowsMissing() {
			dc.Unsafe = append(dc.Unsafe, ocsp.UnsafeMissingAnswers)
		}
		if v.ocsp.AllowsRIMHold() {
			dc.Unsafe = append(dc.Unsafe, ocsp.UnsafeRIMCertificateHold)
		}
		res, err := v.ocsp.Check(ctx, chain.revocation, 1, ocsp.ScopeDevice, now)
		if err != nil {
			return nil, fmt.Errorf("device certificate chain: %w", err)
		}
		dc.OCSP = res
		dc.Warnings = append(dc.Warnings, res.Warnings...)
	}
	// A switch verifier has no records (NewVerifier refuses them): it
	// compares nothing and states so.
	dc.OpaqueComparison = CompareOpaqueRecords(opaque, v.opaqueRecords)
	if !dc.OpaqueComparison.OK() {
		msgs := make([]string, 0, len(dc.OpaqueComparison.Mismatches))
		for _, m := range dc.OpaqueComparison.Mismatches {
			msgs = append(msgs, m.String())
		}
		return nil, verify.Errorf(verify.ErrPolicy, "opaque data below its reference records: %s", strings.Join(msgs, "; "))
	}
	if v.noRIMs {
		dc.Unsafe = append(dc.Unsafe, UnsafeWithoutRIMs)
		return dc, nil
	}
	if beside {
		rimsWG.Wait()
	} else {
		checkRIMs(ctx)
	}
	if rimsErr != nil {
		return nil, rimsErr
	}
	dc.DriverRIM, dc.FirmwareRIM, dc.Comparison = rims.DriverRIM, rims.FirmwareRIM, rims.Comparison
	dc.Warnings = append(dc.Warnings, rims.Warnings...)
	return dc, nil
}

// rimsWarm reports whether the RIMs the device's signed report calls for
// are verified and cached already (or its RIM IDs are malformed, which
// checkRIMs reports at once).
func (v *Verifier) rimsWarm(dc *DeviceClaims, now time.Time) bool {
	driverID, fwID, err := RIMIDs(dc.Arch, dc.Decoded)
	if err != nil {
		return true
	}
	if dc.Arch.IsSwitch() {
		return v.rimsCached(now, fwID, dc.Decoded.VBIOSVersion)
	}
	return v.rimsCached(now, driverID, dc.Decoded.DriverVersion, fwID, dc.Decoded.VBIOSVersion)
}

// deviceChain verifies the PEM chain, or returns the chain verified earlier
// from the very same bytes while it is valid at now.
func (v *Verifier) deviceChain(pemChain []byte, now time.Time) (*DeviceChain, error) {
	key := sha256.Sum256(pemChain)
	if dc := v.cachedChain(v.chains, key, now); dc != nil {
		return dc, nil
	}
	certs, err := ParsePEMChain(pemChain)
	if err != nil {
		return nil, err
	}
	dc, err := verifyDeviceChain(certs, v.rootSet, v.links, now)
	if err != nil {
		return nil, err
	}
	if v.log != nil {
		v.log.Debug("gpu: device chain verified", "leaf", certs[0].Subject.CommonName, "arch", dc.Arch, "notAfter", dc.NotAfter)
	}
	v.chains.Add(key, dc, dc.NotAfter)
	return dc, nil
}

// cachedChain returns the chain c holds under key when it is valid at now,
// or nil.
func (v *Verifier) cachedChain(c *lru.Cache[[32]byte, *DeviceChain], key [32]byte, now time.Time) *DeviceChain {
	if dc, ok := c.Get(key, now); ok && !now.Before(dc.NotBefore) {
		return dc
	}
	return nil
}

// checkSignature verifies the raw r‖s ECDSA P-384 signature over SHA-384 of
// request ‖ response-without-signature.
func checkSignature(key *ecdsa.PublicKey, rep *Report) error {
	digest := sha512.Sum384(rep.Signed)
	sig := rep.Response.Signature
	r := new(big.Int).SetBytes(sig[:48])
	s := new(big.Int).SetBytes(sig[48:])
	if !ecdsa.Verify(key, digest[:], r, s) {
		return verify.Errorf(verify.ErrSignature, "SPDM report signature: does not verify with the attestation key over SHA-384 of %d signed bytes (digest %x)", len(rep.Signed), digest)
	}
	return nil
}

func (v *Verifier) checkFWID(dc *DeviceClaims) error {
	got, want := dc.Decoded.FWID, dc.Chain.FWID
	switch {
	case got == nil && dc.Arch == ArchLS10:
		// LS10 switch reports carry no FWID entry; NVIDIA binds nothing here.
		dc.Warnings = append(dc.Warnings, "LS10 reports carry no FWID: the attestation key certificate is not bound to the running firmware")
		return nil
	case got == nil && v.allowNoFWID:
		dc.Unsafe = append(dc.Unsafe, UnsafeMissingFWID)
		dc.Warnings = append(dc.Warnings, "report carries no FWID: the attestation key certificate is not bound to the running firmware")
		return nil
	case got == nil:
		return verify.Errorf(verify.ErrBinding, "FWID: the report has no FWID entry (set WithMissingFWIDUnsafe for old firmware)")
	case want == nil:
		return verify.Errorf(verify.ErrBinding, "FWID: the report carries %x, the attestation key certificate has no FWID extension", got)
	case string(got) != string(want):
		return verify.Errorf(verify.ErrBinding, "FWID: expected %x (attestation key certificate), got %x (report)", want, got)
	}
	dc.FWIDMatched = true
	return nil
}

// RIMIDs returns the IDs of the RIMs a device's signed report calls for:
// the driver and VBIOS RIM for a GPU, the switch BIOS RIM for a switch
// (driver ID empty). IDs are formed by the gpu/rim package, which refuses
// characters a RIM ID cannot hold.
func RIMIDs(arch Arch, dec *Decoded) (driverID, firmwareID string, err error) {
	if arch.IsSwitch() {
		firmwareID, err = rim.SwitchBIOSID(rim.Arch(arch), dec.VBIOSVersion)
		return "", firmwareID, err
	}
	if driverID, err = rim.DriverIDForChip(rim.Arch(arch), dec.ChipInfo, dec.DriverVersion); err != nil {
		return "", "", err
	}
	if firmwareID, err = rim.VBIOSID(dec.Project, dec.ProjectSKU, dec.ChipSKU, dec.VBIOSVersion); err != nil {
		return "", "", err
	}
	return driverID, firmwareID, nil
}

func (v *Verifier) checkRIMs(ctx context.Context, dc *DeviceClaims, now time.Time) error {
	driverID, fwID, err := RIMIDs(dc.Arch, dc.Decoded)
	if err != nil {
		return err
	}
	// A GPU's two RIMs are fetched and verified side by side (their signer
	// chains share CAs, which the RIM verifier checks once); errors are
	// still reported driver RIM first: its failures are the more common and
	// the more telling.
	var (
		drv    *rim.Manifest
		drvRes *ocsp.Result
		drvErr error
		wg     sync.WaitGroup
	)
	var (
		fw  *rim.Manifest
		res *ocsp.Result
	)
	switch {
	case dc.Arch.IsSwitch():
		fw, res, err = v.fetchRIM(ctx, fwID, dc.Decoded.VBIOSVersion, now)
	case v.rimsCached(now, driverID, dc.Decoded.DriverVersion, fwID, dc.Decoded.VBIOSVersion):
		// Both manifests are verified already (the warm path): what is left
		// is cheaper than waking another thread for it, so it runs here.
		if drv, drvRes, drvErr = v.fetchRIM(ctx, driverID, dc.Decoded.DriverVersion, now); drvErr == nil {
			fw, res, err = v.fetchRIM(ctx, fwID, dc.Decoded.VBIOSVersion, now)
		}
	default:
		// A failed driver RIM is the error reported, so it stops the other.
		fwCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		wg.Go(func() {
			if drv, drvRes, drvErr = v.fetchRIM(ctx, driverID, dc.Decoded.DriverVersion, now); drvErr != nil {
				cancel()
			}
		})
		fw, res, err = v.fetchRIM(fwCtx, fwID, dc.Decoded.VBIOSVersion, now)
		wg.Wait()
	}
	if !dc.Arch.IsSwitch() {
		if drvErr != nil {
			return fmt.Errorf("driver RIM %s: %w", driverID, drvErr)
		}
		dc.DriverRIM = &RIMResult{Manifest: drv, OCSP: drvRes}
		if drvRes != nil {
			dc.Warnings = append(dc.Warnings, drvRes.Warnings...)
		}
	}
	if err != nil {
		return fmt.Errorf("firmware RIM %s: %w", fwID, err)
	}
	dc.FirmwareRIM = &RIMResult{Manifest: fw, OCSP: res}
	if res != nil {
		dc.Warnings = append(dc.Warnings, res.Warnings...)
	}
	// The golden values are read from the manifests on every comparison: a
	// provider's manifest is its own, and no earlier reading of it may stand
	// in for what it holds now.
	var cr *rim.Comparer
	if dc.Arch.IsSwitch() {
		cr, err = rim.NewSwitchComparer(fw)
	} else {
		cr, err = rim.NewComparer(drv, fw)
	}
	if err != nil {
		return err
	}
	var opts rim.CompareOptions
	if !dc.Arch.IsSwitch() {
		// Decode refuses a present status other than 0xAA or 0x55, so zero
		// means absent.
		opts = rim.CompareOptions{NVDEC0Status: dc.Decoded.NVDEC0Status, HasNVDEC0Status: dc.Decoded.NVDEC0Status != 0}
	}
	// CompareFunc fails (ErrPolicy, naming each) on any mismatch or conflict.
	cmp, err := cr.CompareFunc(dc.Report.Response.Measurement, opts)
	if err != nil {
		return err
	}
	dc.Comparison = cmp
	return nil
}

// rimsCached reports whether the RIM provider holds every (id, version)
// pair of pairs verified and valid at now. Providers other than
// NewRIMProvider's are never known to.
func (v *Verifier) rimsCached(now time.Time, pairs ...string) bool {
	p, ok := v.rims.(*rimProvider)
	if !ok {
		return false
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		if !p.cached(pairs[i], pairs[i+1], now) {
			return false
		}
	}
	return true
}

func (v *Verifier) fetchRIM(ctx context.Context, id, version string, now time.Time) (*rim.Manifest, *ocsp.Result, error) {
	m, err := v.rims.RIM(ctx, id, version, now)
	if err != nil {
		// A RIM is collateral: one that is missing, malformed, badly signed
		// or expired says nothing about the GPU's evidence, and carries
		// ErrCollateral besides its own kind so that verify.FailureVector
		// reads it so (a revoked RIM signer stays ErrRevoked).
		if !errors.Is(err, verify.ErrCollateral) {
			err = verify.Errorf(verify.ErrCollateral, "%w", err)
		}
		return nil, nil, err
	}
	// Bind the manifest to what the signed report calls for, whatever the
	// provider checked: an empty m.ID must not skip the kind, chip and
	// version the ID implies.
	if err := m.Expect(id, version); err != nil {
		return nil, nil, err
	}
	if v.noRevocation {
		return m, nil, nil
	}
	if len(m.Chain) < 2 {
		return nil, nil, verify.Errorf(verify.ErrChain, "RIM %s: signer chain of %d certificates", id, len(m.Chain))
	}
	prepared, ok := v.rimChains.Get(m, now)
	if !ok || !slices.Equal(prepared.Certs(), m.Chain) {
		prepared = ocsp.NewChain(m.Chain)
		v.rimChains.Add(m, prepared, m.NotAfter)
	}
	// The devices of a composite check the same RIM signer chain at once;
	// the checker shares each answer's fetch and signature check between
	// callers asking at the same instant, and each caller gets a Result of
	// its own.
	res, err := v.ocsp.Check(ctx, prepared, 0, ocsp.ScopeRIM, now)
	if err != nil {
		return nil, nil, fmt.Errorf("RIM %s signer chain: %w", id, err)
	}
	return m, res, nil
}

// deviceID names a device by its identity (BROM) certificate's public key,
// which the device's fuses fix: the attestation-key (leaf) certificate above
// it is re-issued with a new key and serial after a reset, and the identity
// certificate itself could be re-issued by the provisioner, but neither
// changes this key.
func deviceID(identity *x509.Certificate) string {
	sum := sha256.Sum256(identity.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}
