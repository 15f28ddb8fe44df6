package nras_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha512"
	"encoding/base64"
	"math/big"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/trustfactory/attest/gpu/nras"
	"github.com/trustfactory/attest/gpu/nras/nrastest"
	"github.com/trustfactory/attest/verify"
)

// es384Floor returns the checks no cache can remove: the ES384 signatures
// of the overall and the device token.
func es384Floor(b *testing.B, key *ecdsa.PublicKey, tokens ...string) func() {
	type sig struct {
		digest [48]byte
		r, s   *big.Int
	}
	sigs := make([]sig, len(tokens))
	for i, t := range tokens {
		j := strings.LastIndexByte(t, '.')
		raw, err := base64.RawURLEncoding.DecodeString(t[j+1:])
		if err != nil {
			b.Fatal(err)
		}
		sigs[i] = sig{sha512.Sum384([]byte(t[:j])), new(big.Int).SetBytes(raw[:48]), new(big.Int).SetBytes(raw[48:])}
	}
	return func() {
		for _, s := range sigs {
			if !ecdsa.Verify(key, s.digest[:], s.r, s.s) {
				b.Fatal("floor signature")
			}
		}
	}
}

// BenchmarkVerify verifies the real H100 NRAS result (re-signed with a test
// key, one GPU) warm, with the offline JWKS. Metrics, medians of one run:
// x-floor = ours / the two ES384 verifications (target ≤ 1.2), x-baseline =
// jwx's jwt.Parse with verification of the same two tokens / ours (checks
// signature and time only: no digests, nonce, issuer or claim mapping).
func BenchmarkVerify(b *testing.B) {
	a, err := nrastest.NewAuthority(nras.ProductionURL)
	if err != nil {
		b.Fatal(err)
	}
	eat, err := a.Resign(readTestdata(b, "hopperClaimsv3_detached_eat.json"))
	if err != nil {
		b.Fatal(err)
	}
	v, err := nras.NewVerifier(nras.FormatGPU, nras.WithJWKS(a.JWKS()))
	if err != nil {
		b.Fatal(err)
	}
	exp := verify.Expectations{ReportData: realNonce, Now: hopperTime}
	ctx := context.Background()
	if _, err := v.Verify(ctx, eat, exp); err != nil {
		b.Fatal(err)
	}
	d := splitEATB(b, eat)
	tokens := []string{d[0], d[1]}
	floor := es384Floor(b, &a.Key.PublicKey, tokens...)
	set, err := jwk.Parse(a.JWKS())
	if err != nil {
		b.Fatal(err)
	}
	clock := jwt.WithClock(jwt.ClockFunc(func() time.Time { return hopperTime }))
	baseline := func() {
		for _, t := range tokens {
			if _, err := jwt.Parse([]byte(t), jwt.WithKeySet(set, jws.WithInferAlgorithmFromKey(true)), clock); err != nil {
				b.Fatal(err)
			}
		}
	}
	baseline()
	ours := make([]time.Duration, 0, b.N)
	fl := make([]time.Duration, 0, b.N)
	bl := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := v.Verify(ctx, eat, exp); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		floor()
		t2 := time.Now()
		baseline()
		bl = append(bl, time.Since(t2))
		fl = append(fl, t2.Sub(t1))
		ours = append(ours, t1.Sub(t0))
	}
	b.StopTimer()
	b.ReportMetric(float64(median(ours))/float64(median(fl)), "x-floor")
	b.ReportMetric(float64(median(bl))/float64(median(ours)), "x-baseline")
	b.ReportMetric(float64(median(ours).Nanoseconds()), "verify-ns/op")
	b.ReportMetric(float64(median(fl).Nanoseconds()), "floor-ns/op")
	b.ReportMetric(float64(median(bl).Nanoseconds()), "jwx-ns/op")
}

// splitEATB returns the overall and the first device token.
func splitEATB(b *testing.B, eat []byte) [2]string {
	s := string(eat)
	var out [2]string
	for i := 0; i < 2; i++ {
		j := strings.Index(s, `"ey`)
		if j < 0 {
			b.Fatal("no token")
		}
		s = s[j+1:]
		k := strings.IndexByte(s, '"')
		out[i], s = s[:k], s[k+1:]
	}
	return out
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
