package pck

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"hash/maphash"
	"time"

	"github.com/trustfactory/attest/internal/lru"
	"github.com/trustfactory/attest/verify"
)

// Verifier is the state a DCAP quote verifier (packages tdx and sgx) keeps
// between quotes: the pinned roots and bounded caches of verified platforms
// and verified collateral. It is immutable but for its caches, which are
// safe for concurrent use.
type Verifier struct {
	Trust      *Trust
	platforms  *lru.Cache[[32]byte, platformEntry]
	seed       maphash.Seed
	collateral *lru.Cache[[32]byte, *Verified]
}

// platformEntry is a verified platform and, when platformKey keeps them,
// the exact bytes it was verified from (attestation key ‖ certification
// data), which a hit must equal.
type platformEntry struct {
	raw []byte
	p   *Platform
}

// NewVerifier returns a Verifier pinned to roots whose caches hold at most
// cacheSize entries each.
func NewVerifier(roots []*x509.Certificate, cacheSize int) *Verifier {
	return &Verifier{
		Trust:      NewTrust(roots),
		platforms:  lru.New[[32]byte, platformEntry](cacheSize),
		seed:       maphash.MakeSeed(),
		collateral: lru.New[[32]byte, *Verified](cacheSize),
	}
}

// Platform returns the platform that the quote's attestation key and
// certification data stand for: from the cache while its PCK chain is
// valid, else verified from the QE that qe builds (called only then, so
// that parsing the QE report costs nothing on a hit).
func (v *Verifier) Platform(attestationKey, certData []byte, now time.Time, qe func() (*QE, error)) (*Platform, error) {
	key, kept := v.platformKey(attestationKey, certData)
	if e, ok := v.platforms.Get(key, now); ok && (!kept || len(e.raw) == len(attestationKey)+len(certData) &&
		bytes.Equal(e.raw[:len(attestationKey)], attestationKey) && bytes.Equal(e.raw[len(attestationKey):], certData)) {
		// The cache drops entries after NotAfter; NotBefore is checked
		// here because a cached platform may be asked about an earlier time.
		if now.Before(e.p.NotBefore) {
			return nil, verify.Errorf(verify.ErrChain, "PCK chain not valid before %s (now %s): %w", RFC3339(e.p.NotBefore), RFC3339(now), verify.ErrExpired)
		}
		return e.p, nil
	}
	q, err := qe()
	if err != nil {
		return nil, err
	}
	p, err := v.Trust.VerifyPlatform(q, now)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write(attestationKey)
	h.Write(certData)
	h.Sum(p.Key[:0])
	var raw []byte
	if kept {
		raw = make([]byte, 0, len(attestationKey)+len(certData))
		raw = append(append(raw, attestationKey...), certData...)
	}
	v.platforms.Add(key, platformEntry{raw: raw, p: p}, p.NotAfter)
	return p, nil
}

// maxKeptPlatform is the most bytes of attestation key and certification
// data the platform cache keeps a copy of (real quotes carry about 5 KB),
// so that its entries stay small.
const maxKeptPlatform = 16 << 10

// platformKey keys the platform cache by every byte a verified platform
// depends on: the attestation key and the certification data (the QE
// report, its signature, the QE auth data and the PCK chain). Up to
// maxKeptPlatform bytes, by a seeded maphash, and kept is true: the entry
// keeps a copy that a hit must equal byte for byte, so two inputs sharing
// the hash only evict each other, and a warm quote is spared the SHA-256
// of 5 KB (about 2 µs). Larger inputs are keyed by SHA-256. The two kinds
// of key differ in their last byte.
func (v *Verifier) platformKey(attestationKey, certData []byte) (key [32]byte, kept bool) {
	if len(attestationKey)+len(certData) <= maxKeptPlatform {
		var h maphash.Hash
		h.SetSeed(v.seed)
		h.Write(attestationKey)
		h.Write(certData)
		binary.LittleEndian.PutUint64(key[:], h.Sum64())
		key[31] = 1
		return key, true
	}
	h := sha256.New()
	h.Write(attestationKey)
	h.Write(certData)
	h.Sum(key[:0])
	key[31] &^= 1 // keyspace of SHA-256 keys: last bit clear
	return key, false
}

// CollateralChecks are the collateral appraisal options a verifier was
// configured with.
type CollateralChecks struct {
	Flavor        Flavor
	SkipCRLs      bool
	StaleGrace    time.Duration // accept collateral this long past its validity
	MinEvalNumber int           // lowest tcbEvaluationDataNumber accepted; 0 for any
}

// Collateral returns the verified collateral whose Digest is digest (items
// builds it, called only when it is not cached), and whether it was accepted
// only within chk.StaleGrace past its validity. Every error carries
// verify.ErrCollateral.
func (v *Verifier) Collateral(digest [32]byte, items func() *Items, chk CollateralChecks, now time.Time) (*Verified, bool, error) {
	vc, ok := v.collateral.Get(digest, now)
	if !ok {
		var err error
		if vc, err = v.Trust.VerifyCollateral(items(), chk.Flavor, now, chk.SkipCRLs); err != nil {
			return nil, false, AsCollateral(err)
		}
		v.collateral.Add(digest, vc, vc.NotAfter.Add(chk.StaleGrace))
	}
	stale, err := vc.CheckValidityGrace(now, chk.StaleGrace)
	if err != nil {
		return nil, false, AsCollateral(err)
	}
	if n := chk.MinEvalNumber; n > 0 && (vc.TCB.TCBEvaluationDataNumber < n || vc.QE.TCBEvaluationDataNumber < n) {
		return nil, false, verify.Errorf(verify.ErrCollateral, "tcbEvaluationDataNumber: expected at least %d, TCB info has %d and QE identity %d",
			n, vc.TCB.TCBEvaluationDataNumber, vc.QE.TCBEvaluationDataNumber)
	}
	return vc, stale, nil
}

// Contradictions refuses option sets that ask for two incompatible things:
// a switch that turns a check off beside an option that configures it would
// leave the caller believing the check runs. prefix ("tdx", "sgx") starts
// the messages.
func Contradictions(prefix string, hasSource, skipCollateral bool, chk CollateralChecks) error {
	if !skipCollateral {
		if !hasSource {
			return verify.Errorf(verify.ErrConfig, "%s: no collateral source: use WithCollateral (or WithoutCollateralUnsafe)", prefix)
		}
		return nil
	}
	switch {
	case hasSource:
		return verify.Errorf(verify.ErrConfig, "%s: WithCollateral and WithoutCollateralUnsafe contradict each other: give one", prefix)
	case chk.SkipCRLs:
		return verify.Errorf(verify.ErrConfig, "%s: WithoutCRLsUnsafe configures a collateral appraisal that WithoutCollateralUnsafe turns off: give one", prefix)
	case chk.StaleGrace > 0:
		return verify.Errorf(verify.ErrConfig, "%s: WithExpiredCollateralUnsafe configures a collateral appraisal that WithoutCollateralUnsafe turns off: give one", prefix)
	case chk.MinEvalNumber > 0:
		return verify.Errorf(verify.ErrConfig, "%s: WithMinTCBEvaluationDataNumber(%d) demands collateral that WithoutCollateralUnsafe skips", prefix, chk.MinEvalNumber)
	}
	return nil
}

// TrustedRoots checks the roots given to a WithTrustedRoots option (opt
// names it in errors, with its package prefix when it has one) and returns
// a copy of them: at least one, each a CA certificate.
func TrustedRoots(opt string, roots []*x509.Certificate) ([]*x509.Certificate, error) {
	if len(roots) == 0 {
		return nil, verify.Errorf(verify.ErrConfig, "%s: no roots", opt)
	}
	for i, r := range roots {
		if r == nil || !r.IsCA {
			return nil, verify.Errorf(verify.ErrConfig, "%s: root %d is nil or not a CA", opt, i)
		}
	}
	return append([]*x509.Certificate(nil), roots...), nil
}
