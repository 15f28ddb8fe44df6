package nitro_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha512"
	"crypto/x509"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/trustfactory/attest/nitro"
	"github.com/trustfactory/attest/verify"
)

// BenchmarkVerify measures a warm verification of the real Dstack document
// (its certificate chain cached by the hash of its DER bytes) against the
// floor no cache can remove: the document's own ES384 signature (SHA-384 of
// the Sig_structure and a P-384 ECDSA verification), timed in the same run.
// Metric x-floor = ours/floor, from per-iteration medians.
//
// There is no x-baseline: no Go library that verifies Nitro documents is
// among the allowed dependencies in go.mod (go-cose checks a COSE_Sign1
// signature, not the document, its chain or its fields).
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	doc := sampleDstck.read(b)
	v := newVerifier(b)
	exp := verify.Expectations{Now: sampleDstck.at, ReportData: emptyDigest}
	floor := es384Floor(b, doc)
	if _, err := v.Verify(ctx, doc, exp); err != nil {
		b.Fatal(err)
	}
	if !floor() {
		b.Fatal("floor: signature does not verify")
	}
	var ours, fl []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if _, err := v.Verify(ctx, doc, exp); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if !floor() {
			b.Fatal("floor")
		}
		t2 := time.Now()
		ours, fl = append(ours, t1.Sub(t0)), append(fl, t2.Sub(t1))
	}
	o, f := median(ours), median(fl)
	b.ReportMetric(float64(o)/float64(f), "x-floor")
	b.ReportMetric(float64(o)/1e3, "ours-µs")
	b.ReportMetric(float64(f)/1e3, "floor-µs")
}

// BenchmarkVerifyCold measures a verification with nothing cached: a new
// verifier each time, so the chain's four signatures are checked too.
func BenchmarkVerifyCold(b *testing.B) {
	ctx := context.Background()
	doc := sampleDstck.read(b)
	exp := verify.Expectations{Now: sampleDstck.at, ReportData: emptyDigest}
	b.ReportAllocs()
	for b.Loop() {
		v, err := nitro.NewVerifier()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := v.Verify(ctx, doc, exp); err != nil {
			b.Fatal(err)
		}
	}
}

// es384Floor returns the document's bare signature check, with everything
// it needs decoded beforehand.
func es384Floor(tb testing.TB, doc []byte) func() bool {
	tb.Helper()
	var m struct {
		_           struct{} `cbor:",toarray"`
		Protected   []byte
		Unprotected cbor.RawMessage
		Payload     []byte
		Signature   []byte
	}
	if err := cbor.Unmarshal(doc, &m); err != nil {
		tb.Fatal(err)
	}
	d, err := nitro.ParseDocument(doc)
	if err != nil {
		tb.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(d.Certificate)
	if err != nil {
		tb.Fatal(err)
	}
	key := leaf.PublicKey.(*ecdsa.PublicKey)
	tbs, err := cbor.Marshal([]any{"Signature1", m.Protected, []byte{}, m.Payload})
	if err != nil {
		tb.Fatal(err)
	}
	return func() bool {
		h := sha512.Sum384(tbs)
		r, s := new(big.Int).SetBytes(m.Signature[:48]), new(big.Int).SetBytes(m.Signature[48:])
		return ecdsa.Verify(key, h[:], r, s)
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// A warm verification allocates a bounded amount: the decoded document and
// the claims, never the chain again (129 allocations and about 17 KB
// measured; a chain re-verified per call costs several times that).
func TestVerifyWarmAllocations(t *testing.T) {
	ctx := context.Background()
	doc := sampleDstck.read(t)
	v := newVerifier(t)
	exp := verify.Expectations{Now: sampleDstck.at, ReportData: emptyDigest}
	if _, err := v.Verify(ctx, doc, exp); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := v.Verify(ctx, doc, exp); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 200 {
		t.Fatalf("warm verification: %.0f allocations, budget 200", allocs)
	}
	cold := testing.AllocsPerRun(5, func() {
		v, err := nitro.NewVerifier()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(ctx, doc, exp); err != nil {
			t.Fatal(err)
		}
	})
	if cold < 2*allocs {
		t.Fatalf("cold verification %.0f allocations vs warm %.0f: is the chain cached at all?", cold, allocs)
	}
}
