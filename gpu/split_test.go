package gpu_test

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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

// A device whose attestation-key certificate was re-issued (after a reset:
// new key, new serial, so a new UEID) is still the same device: its identity
// (BROM) key is fused. Two reports of it are refused as one device counted
// twice, in one blob and across blobs; different devices still pass.
func TestDuplicateDeviceByIdentityKey(t *testing.T) {
	root, rootKey := gputest.NewRoot()
	a := gputest.NewPKI(gputest.PKIOptions{Root: root, RootKey: rootKey})
	aAgain := a.ReissueLeaf()
	b := gputest.NewPKI(gputest.PKIOptions{Root: root, RootKey: rootKey})
	require.NotEqual(t, a.Certs[0].SerialNumber, aAgain.Certs[0].SerialNumber)
	require.NotEqual(t, a.Certs[0].Raw, aAgain.Certs[0].Raw)
	v, err := gpu.NewVerifier(verify.FormatGPU, gpu.WithDeviceRoots(root), gpu.WithoutRIMsUnsafe(), gpu.WithoutRevocationUnsafe())
	require.NoError(t, err)
	dev := func(p *gputest.PKI) gpu.DeviceEvidence {
		return gpu.DeviceEvidence{Arch: p.Arch, Nonce: testNonce[:], Report: p.Sign(gputest.Report{Nonce: testNonce, Opaque: p.DefaultOpaque()}), Certificate: p.ChainPEM()}
	}
	claimsOf := func(p *gputest.PKI) *gpu.Claims {
		c, err := v.Verify(context.Background(), mustEncode(t, dev(p)), exp())
		require.NoError(t, err)
		return c.(*gpu.Claims)
	}
	ca, cAgain, cb := claimsOf(a), claimsOf(aAgain), claimsOf(b)
	require.NotEqual(t, ca.Devices[0].UEID, cAgain.Devices[0].UEID, "a new leaf has a new UEID")
	require.Equal(t, ca.Devices[0].DeviceID, cAgain.Devices[0].DeviceID)
	require.NotEqual(t, ca.Devices[0].DeviceID, cb.Devices[0].DeviceID)
	require.Len(t, ca.Devices[0].DeviceID, 64)

	cases := []struct {
		name string
		devs []*gputest.PKI
		kind error
	}{
		{"two devices", []*gputest.PKI{a, b}, nil},
		{"re-issued leaf", []*gputest.PKI{a, aAgain}, verify.ErrMalformed},
		{"re-issued leaf after another device", []*gputest.PKI{aAgain, b, a}, verify.ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var devs []gpu.DeviceEvidence
			var claims []verify.Claims
			for _, p := range c.devs {
				devs = append(devs, dev(p))
				claims = append(claims, claimsOf(p))
			}
			_, err := v.Verify(context.Background(), mustEncode(t, devs...), exp())
			setErr := v.CheckSet(claims)
			if c.kind == nil {
				require.NoError(t, err)
				require.NoError(t, setErr)
				return
			}
			require.ErrorIs(t, err, c.kind)
			require.ErrorIs(t, setErr, c.kind)
			assert.Contains(t, err.Error(), "the same device")
		})
	}
}
