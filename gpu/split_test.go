package gpu_test

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/gpu/gputest"
	"github.com/trustfactory/attest/verify"
)

// The composite appraiser verifies each part Split returns on its own, so
// the checks VerifyDevices makes over the whole set (one device twice, modes
// mixed) must hold for the verified parts through CheckSet, or splitting
// would bypass them.
func TestSplitKeepsSetChecks(t *testing.T) {
	root, rootKey := gputest.NewRoot()
	a := gputest.NewPKI(gputest.PKIOptions{Root: root, RootKey: rootKey})
	b := gputest.NewPKI(gputest.PKIOptions{Root: root, RootKey: rootKey})
	v, err := gpu.NewVerifier(verify.FormatGPU, gpu.WithDeviceRoots(root), gpu.WithoutRIMsUnsafe(), gpu.WithoutRevocationUnsafe())
	if err != nil {
		t.Fatal(err)
	}
	dev := func(p *gputest.PKI, mode int) gpu.DeviceEvidence {
		ops := p.DefaultOpaque()
		if mode >= 0 {
			ops = append(ops, gpu.OpaqueField{Type: gpu.OpaqueFeatureFlag, Value: binary.LittleEndian.AppendUint16(nil, uint16(mode))})
		}
		return gpu.DeviceEvidence{Arch: p.Arch, Nonce: testNonce[:], Report: p.Sign(gputest.Report{Nonce: testNonce, Opaque: ops}), Certificate: p.ChainPEM()}
	}
	// verifyAll verifies ev whole, then split into parts checked as a set.
	verifyAll := func(ev []byte) error {
		if _, err := v.Verify(context.Background(), ev, exp()); err != nil {
			return err
		}
		return verifyParts(v, ev)
	}
	good, _ := gpu.EncodeEvidence([]gpu.DeviceEvidence{dev(a, 1), dev(b, 1)})
	if err := verifyAll(good); err != nil {
		t.Fatalf("two MPT GPUs: %v", err)
	}
	if parts, err := v.Split(good); err != nil || len(parts) != 2 {
		t.Fatalf("split: %d parts, %v", len(parts), err)
	}
	// Absent FEATURE_FLAG counts as single-GPU mode, as in VerifyDevices.
	if parts, err := v.Split(mustEncode(t, dev(a, -1), dev(b, 0))); err != nil || len(parts) != 2 {
		t.Fatalf("absent and SPT: %d parts, %v", len(parts), err)
	}
	for name, c := range map[string]struct {
		devs []gpu.DeviceEvidence
		kind error
	}{
		"same device twice":       {[]gpu.DeviceEvidence{dev(a, 0), dev(a, 0)}, verify.ErrMalformed},
		"same device, new report": {[]gpu.DeviceEvidence{dev(a, 0), dev(b, 0), dev(a, 0)}, verify.ErrMalformed},
		"modes mixed":             {[]gpu.DeviceEvidence{dev(a, 1), dev(b, 0)}, verify.ErrPolicy},
	} {
		ev := mustEncode(t, c.devs...)
		if _, err := v.Verify(context.Background(), ev, exp()); !errorsIs(err, c.kind) {
			t.Fatalf("%s: Verify: expected %v, got %v", name, c.kind, err)
		}
		if err := verifyParts(v, ev); !errorsIs(err, c.kind) {
			t.Fatalf("%s: parts: expected %v, got %v", name, c.kind, err)
		}
	}
	// The same device in two evidence blobs, as two components would bring it.
	one := mustEncode(t, dev(a, 0))
	var claims []verify.Claims
	for _, ev := range [][]byte{one, mustEncode(t, dev(b, 0)), one} {
		c, err := v.Verify(context.Background(), ev, exp())
		if err != nil {
			t.Fatal(err)
		}
		claims = append(claims, c)
	}
	if err := v.CheckSet(claims[:2]); err != nil {
		t.Fatalf("two devices: %v", err)
	}
	if err := v.CheckSet(claims); !errorsIs(err, verify.ErrMalformed) {
		t.Fatalf("same device in two blobs: %v", err)
	}
	if err := v.CheckSet([]verify.Claims{claims[0], nil}); !errorsIs(err, verify.ErrConfig) {
		t.Fatalf("foreign claims: %v", err)
	}
	sw, err := gpu.NewVerifier(verify.FormatNVSwitch, gpu.WithDeviceRoots(root), gpu.WithoutRIMsUnsafe(), gpu.WithoutRevocationUnsafe())
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.CheckSet(claims[:1]); !errorsIs(err, verify.ErrConfig) {
		t.Fatalf("GPU claims given to the switch verifier: %v", err)
	}
}

// verifyParts splits ev, verifies every part and checks them as a set.
func verifyParts(v *gpu.Verifier, ev []byte) error {
	parts, err := v.Split(ev)
	if err != nil {
		return err
	}
	var claims []verify.Claims
	for _, p := range parts {
		c, err := v.Verify(context.Background(), p, exp())
		if err != nil {
			return err
		}
		claims = append(claims, c)
	}
	return v.CheckSet(claims)
}

func mustEncode(t *testing.T, devs ...gpu.DeviceEvidence) []byte {
	t.Helper()
	b, err := gpu.EncodeEvidence(devs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func errorsIs(err, kind error) bool { return err != nil && errors.Is(err, kind) }
