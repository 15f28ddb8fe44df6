package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/trustfactory/attest/ear"
)

// testNow is the pinned clock of the token tests.
var testNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

var testNonce = []byte("nonce-0123456789")

// deterministic keys, derived from fixed scalars/seeds so golden files and
// test runs are reproducible (ECDSA signatures themselves stay randomized).
var (
	keyOnce sync.Once
	keys    map[Algorithm]crypto.Signer
)

func fixedECDSA(c elliptic.Curve, d int64) *ecdsa.PrivateKey {
	size := (c.Params().BitSize + 7) / 8
	scalar := new(big.Int).Mul(big.NewInt(d), big.NewInt(1_000_003)).FillBytes(make([]byte, size))
	k, err := ecdsa.ParseRawPrivateKey(c, scalar)
	if err != nil {
		panic(err)
	}
	return k
}

func testKey(t testing.TB, alg Algorithm) crypto.Signer {
	t.Helper()
	keyOnce.Do(func() {
		seed := make([]byte, ed25519.SeedSize)
		for i := range seed {
			seed[i] = byte(i)
		}
		rsaKey := rsaTestKey()
		keys = map[Algorithm]crypto.Signer{
			ES256: fixedECDSA(elliptic.P256(), 7),
			ES384: fixedECDSA(elliptic.P384(), 11),
			EdDSA: ed25519.NewKeyFromSeed(seed),
			PS256: rsaKey,
			PS384: rsaKey,
		}
	})
	return keys[alg]
}

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

func rsaTestKey() *rsa.PrivateKey {
	rsaOnce.Do(func() {
		var err error
		rsaKey, err = rsa.GenerateKey(randReader(), 2048)
		if err != nil {
			panic(err)
		}
	})
	return rsaKey
}

// testResult returns a valid result issued at testNow with two submods and
// every optional claim set.
func testResult(profile string) *ear.Result {
	r := ear.NewResult(ear.VerifierID{Developer: "https://trustfactory.example", Build: "attest test"}, testNow)
	r.Profile = profile
	r.ExpiresAt = testNow.Add(10 * time.Minute)
	r.NotBefore = testNow
	r.Issuer = "attest-test"
	r.ID = "token-1"
	r.Nonce = testNonce
	r.RawEvidence = []byte("raw evidence bytes")
	cpu := &ear.Appraisal{PolicyIDs: []string{"policy://cpu/1"}}
	cpu.TrustVector[ear.InstanceIdentity] = ear.TrustworthyInstance
	cpu.TrustVector[ear.Hardware] = ear.GenuineHardware
	cpu.TrustVector[ear.Executables] = ear.ApprovedBoot
	cpu.StatusFromVector()
	cpu.AnnotatedEvidence = map[string]any{"tdx": map[string]any{"mr_td": "00ff", "tcb_svn": int64(3)}, "debug": false}
	cpu.PolicyClaims = map[string]any{"rule": "ok"}
	cpu.Extensions = map[string]any{ear.ExtReason().Name: "all checks passed"}
	gpu := &ear.Appraisal{PolicyIDs: []string{"policy://gpu/1"}}
	gpu.TrustVector[ear.Hardware] = ear.UnrecognizedHardware
	gpu.StatusFromVector()
	gpu.KeyAttestation = &ear.KeyAttestation{AKPub: []byte{0x30, 0x59, 0x01}}
	r.Submods = map[string]*ear.Appraisal{"cpu0": cpu, "gpu0": gpu}
	r.UpdateStatus()
	r.Extensions = map[string]any{ear.ExtUnsafe().Name: []any{"AllowDebugUnsafe"}}
	return r
}

func mustSigner(t testing.TB, alg Algorithm, opts ...SignerOption) *Signer {
	t.Helper()
	s, err := NewSigner(testKey(t, alg), append([]SignerOption{WithKeyID("kid-" + string(alg)), WithAlgorithm(alg)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustVerifier(t testing.TB, s *Signer, opts ...VerifierOption) *Verifier {
	t.Helper()
	v, err := NewVerifier(s.KeySet(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func wantKinds(t *testing.T, err error, kinds ...error) {
	t.Helper()
	if err == nil {
		t.Fatalf("expected an error of kinds %v, got nil", kinds)
	}
	for _, k := range kinds {
		if !errors.Is(err, k) {
			t.Errorf("error %q: expected kind %q", err, k)
		}
	}
}
