package token

import (
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/veraison/go-cose"

	"github.com/trustfactory/attest/ear"
)

// The benchmarks time attest and the bare upstream operation on the same
// ES256 key and the same claims in one run and report x-floor = ours/bare.

func benchSetup(b *testing.B) (*Signer, *Verifier, *ear.Result) {
	s := mustSigner(b, ES256)
	return s, mustVerifier(b, s), testResult(ear.ProfileIETF03)
}

// bareJWT returns a jwx token carrying the same claims as r.
func bareJWT(b *testing.B, r *ear.Result) jwt.Token {
	claims, err := r.MarshalJSON()
	if err != nil {
		b.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(claims, &m); err != nil {
		b.Fatal(err)
	}
	tok := jwt.New()
	for k, v := range m {
		if k == "iat" || k == "exp" || k == "nbf" {
			v = time.Unix(int64(v.(float64)), 0)
		}
		if err := tok.Set(k, v); err != nil {
			b.Fatal(err)
		}
	}
	return tok
}

// interleave runs ours and bare alternately, each timed per iteration and
// each going first on every other iteration, so both see the same machine
// load and cache state. It reports the medians (robust to load spikes on a
// shared machine): ns/op is ours, bare-ns/op the bare operation, x-floor their
// ratio. (testing.Benchmark cannot be nested inside a running benchmark: it
// would wait forever on the benchmark lock.)
func interleave(b *testing.B, ours, bare func() error) {
	tOurs := make([]time.Duration, 0, b.N)
	tBare := make([]time.Duration, 0, b.N)
	timed := func(f func() error, acc *[]time.Duration) {
		t0 := time.Now()
		if err := f(); err != nil {
			b.Fatal(err)
		}
		*acc = append(*acc, time.Since(t0))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			timed(ours, &tOurs)
			timed(bare, &tBare)
		} else {
			timed(bare, &tBare)
			timed(ours, &tOurs)
		}
	}
	b.StopTimer()
	mo, mb := median(tOurs), median(tBare)
	b.ReportMetric(float64(mo.Nanoseconds()), "ns/op")
	b.ReportMetric(float64(mb.Nanoseconds()), "bare-ns/op")
	b.ReportMetric(float64(mo)/float64(mb), "x-floor")
}

func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}

func BenchmarkSignJWT(b *testing.B) {
	s, _, r := benchSetup(b)
	key := testKey(b, ES256).(*ecdsa.PrivateKey)
	tok := bareJWT(b, r)
	interleave(b, func() error {
		_, err := s.SignJWT(r)
		return err
	}, func() error {
		_, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, key))
		return err
	})
}

func BenchmarkVerifyJWT(b *testing.B) {
	s, v, r := benchSetup(b)
	signed, err := s.SignJWT(r)
	if err != nil {
		b.Fatal(err)
	}
	pub := s.PublicKey().Public
	now := testNow.Add(time.Minute)
	clock := jwt.WithClock(jwt.ClockFunc(func() time.Time { return now }))
	exp := Expectations{Now: now, Nonce: testNonce}
	interleave(b, func() error {
		_, err := v.VerifyJWT(ctx, signed, exp)
		return err
	}, func() error {
		_, err := jwt.Parse(signed, jwt.WithKey(jwa.ES256, pub), clock)
		return err
	})
}

func BenchmarkSignCOSE(b *testing.B) {
	s, _, r := benchSetup(b)
	payload, err := r.MarshalCBOR()
	if err != nil {
		b.Fatal(err)
	}
	signer, err := cose.NewSigner(cose.AlgorithmES256, testKey(b, ES256))
	if err != nil {
		b.Fatal(err)
	}
	interleave(b, func() error {
		_, err := s.SignCWT(r)
		return err
	}, func() error {
		hdr := cose.Headers{Protected: cose.ProtectedHeader{cose.HeaderLabelAlgorithm: cose.AlgorithmES256,
			cose.HeaderLabelKeyID: []byte(s.KeyID()), cose.HeaderLabelContentType: MediaTypeCWT}}
		_, err := cose.Sign1(rand.Reader, signer, hdr, payload, nil)
		return err
	})
}

func BenchmarkVerifyCOSE(b *testing.B) {
	s, v, r := benchSetup(b)
	signed, err := s.SignCWT(r)
	if err != nil {
		b.Fatal(err)
	}
	verifier, err := cose.NewVerifier(cose.AlgorithmES256, s.PublicKey().Public)
	if err != nil {
		b.Fatal(err)
	}
	exp := Expectations{Now: testNow.Add(time.Minute), Nonce: testNonce}
	interleave(b, func() error {
		_, err := v.VerifyCWT(ctx, signed, exp)
		return err
	}, func() error {
		var m cose.Sign1Message
		if err := m.UnmarshalCBOR(signed); err != nil {
			return err
		}
		return m.Verify(nil, verifier)
	})
}
