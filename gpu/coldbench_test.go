package gpu

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha512"
	"crypto/x509"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/trustfactory/attest/gpu/rim"
	"github.com/trustfactory/attest/verify"
)

// BenchmarkVerifyCold verifies V1 with nothing reused between iterations:
// a new Verifier, RIM provider and rim.Verifier each time, over RIMs held in
// memory (signature, device chain, FWID, both RIMs with their signer chains,
// every measurement; OCSP off).
//
// Metrics: ms/op is wall time; x-floor-cpu is the process CPU time of one
// verification divided by the CPU time of the P-384 checks no cold
// verification can avoid, run in the same iteration: the report signature,
// the four device-chain links, each distinct RIM signer-chain link once and
// one XML signature per RIM.
func BenchmarkVerifyCold(b *testing.B) {
	ev := v1Evidence(b)
	exp := verify.Expectations{ReportData: v1Nonce, Now: v1Time}
	ctx := context.Background()
	docs := v1RIMDocs(b)
	newV := func() *Verifier {
		src, err := rim.NewMemorySource(docs)
		if err != nil {
			b.Fatal(err)
		}
		p, err := NewRIMProvider(nil, src, 0)
		if err != nil {
			b.Fatal(err)
		}
		v, err := NewVerifier(verify.FormatGPU, WithoutRevocationUnsafe(), WithRIMs(p))
		if err != nil {
			b.Fatal(err)
		}
		return v
	}
	c, err := newV().VerifyDevices(ctx, ev, exp)
	if err != nil {
		b.Fatal(err)
	}
	floor := coldFloor(b, c.Devices[0])
	var wall, ourCPU, floorCPU time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c0, t0 := cpuTime(), time.Now()
		if _, err := newV().VerifyDevices(ctx, ev, exp); err != nil {
			b.Fatal(err)
		}
		wall += time.Since(t0)
		c1 := cpuTime()
		floor()
		floorCPU += cpuTime() - c1
		ourCPU += c1 - c0
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(wall.Nanoseconds())/n/1e6, "ms/op")
	if floorCPU > 0 {
		b.ReportMetric(float64(ourCPU)/float64(floorCPU), "x-floor-cpu")
		b.ReportMetric(float64(ourCPU.Nanoseconds())/n/1e6, "cpu-ms/op")
		b.ReportMetric(float64(floorCPU.Nanoseconds())/n/1e6, "floor-cpu-ms/op")
	}
}

// v1RIMDocs reads V1's driver and VBIOS RIMs, keyed by RIM ID.
func v1RIMDocs(t testing.TB) map[string][]byte {
	t.Helper()
	dir, err := rim.NewFSSource(os.DirFS(filepath.Join(td, "v1")))
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewVerifier(verify.FormatGPU, WithoutRevocationUnsafe(), WithoutRIMsUnsafe())
	if err != nil {
		t.Fatal(err)
	}
	dc, err := c.VerifyDevices(context.Background(), v1Evidence(t), verify.Expectations{ReportData: v1Nonce, Now: v1Time})
	if err != nil {
		t.Fatal(err)
	}
	drv, fw, err := RIMIDs(dc.Devices[0].Arch, dc.Devices[0].Decoded)
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string][]byte{}
	for _, id := range []string{drv, fw} {
		if docs[id], err = dir.Get(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	return docs
}

// coldFloor returns the P-384 checks a cold verification of d cannot avoid.
// The XML signatures are stood in for by the report signature check, which
// costs the same: a P-384 verification of a SHA-384 digest.
func coldFloor(b *testing.B, d *DeviceClaims) func() {
	type link struct{ child, parent *x509.Certificate }
	var links []link
	seen := map[string]bool{}
	add := func(chain []*x509.Certificate) {
		for i := 0; i+1 < len(chain); i++ {
			k := string(chain[i].Raw) + "\x00" + string(chain[i+1].Raw)
			if !seen[k] {
				seen[k] = true
				links = append(links, link{chain[i], chain[i+1]})
			}
		}
	}
	add(d.Chain.Certs)
	add(d.DriverRIM.Manifest.Chain)
	add(d.FirmwareRIM.Manifest.Chain)
	signed, sig := d.Report.Signed, d.Report.Response.Signature
	sigs := 3 // the report and one XML signature per RIM
	b.Logf("floor: %d certificate links + %d signatures", len(links), sigs)
	return func() {
		for _, l := range links {
			if err := l.child.CheckSignatureFrom(l.parent); err != nil {
				b.Fatal(err)
			}
		}
		for range sigs {
			dg := sha512.Sum384(signed)
			if !ecdsa.Verify(d.Chain.Key, dg[:], new(big.Int).SetBytes(sig[:48]), new(big.Int).SetBytes(sig[48:])) {
				b.Fatal("floor signature")
			}
		}
	}
}
