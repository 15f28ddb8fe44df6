package offlinetest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/ear/token"
	"github.com/trustfactory/attest/testbed"
	"github.com/trustfactory/attest/verify"
)

// floorOps is the uncacheable work of a TDX + 8 GPU composite with a signed
// result: one P-256 verification (the quote), eight P-384 verifications (the
// SPDM reports) and one ES256 signature (the token's: SHA-256 of a signing
// input as long as the benchmark's token, then a P-256 signature).
type floorOps struct {
	k256, k384 *ecdsa.PrivateKey
	d256, d384 []byte
	s256, s384 []byte
	input      []byte
}

func newFloorOps(b *testing.B, tokenLen int) *floorOps {
	f := &floorOps{input: make([]byte, tokenLen)}
	f.k256, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.k384, _ = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	d256 := sha256.Sum256([]byte("quote"))
	d384 := sha512.Sum384([]byte("report"))
	f.d256, f.d384 = d256[:], d384[:]
	f.s256, _ = ecdsa.SignASN1(rand.Reader, f.k256, f.d256)
	f.s384, _ = ecdsa.SignASN1(rand.Reader, f.k384, f.d384)
	return f
}

func (f *floorOps) run(b *testing.B) {
	if !ecdsa.VerifyASN1(&f.k256.PublicKey, f.d256, f.s256) {
		b.Fatal("P-256")
	}
	for i := 0; i < 8; i++ {
		if !ecdsa.VerifyASN1(&f.k384.PublicKey, f.d384, f.s384) {
			b.Fatal("P-384")
		}
	}
	d := sha256.Sum256(f.input)
	if _, err := ecdsa.SignASN1(rand.Reader, f.k256, d[:]); err != nil {
		b.Fatal(err)
	}
}

// runParallel is run's work shared by n goroutines, the caller one of them,
// each taking the next check in turn: what a perfectly scheduled appraisal
// gets from the machine at that moment.
func (f *floorOps) runParallel(b *testing.B, n int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	work := func() {
		for {
			switch i := next.Add(1) - 1; {
			case i == 0:
				if !ecdsa.VerifyASN1(&f.k256.PublicKey, f.d256, f.s256) {
					b.Error("P-256")
				}
			case i <= 8:
				if !ecdsa.VerifyASN1(&f.k384.PublicKey, f.d384, f.s384) {
					b.Error("P-384")
				}
			case i == 9:
				d := sha256.Sum256(f.input)
				if _, err := ecdsa.SignASN1(rand.Reader, f.k256, d[:]); err != nil {
					b.Error(err)
				}
			default:
				return
			}
		}
	}
	for range n - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
}

// BenchmarkComposite appraises a TDX quote and eight GPU reports bound to one
// session and signs the EAR, with warm caches (chains, collateral, RIMs, OCSP
// answers verified once). Run with -cpu 2. x-floor is ours / floor, the floor
// timed serially in the same loop and divided by GOMAXPROCS. x-floor-par is
// ours / the floor's checks shared by GOMAXPROCS goroutines, timed in the
// same loop: on a machine that gives the process less than its cores it
// separates what the machine withholds (both suffer) from what the
// appraiser's scheduling costs (only ours does); par-cpu is that parallel
// floor's CPU time / the serial floor's.
func BenchmarkComposite(b *testing.B) {
	w := newWorld(b, 8, verify.WithAnnotatedEvidence(false))
	s := newSession(b, "YmVuY2htYXJr")
	comps := w.components(b, s, nil, nil)
	priv, _, _ := token.GenerateKey(token.ES256, "bench")
	signer, err := token.NewSignerFromJWK(priv)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var tokenLen int
	run := func() {
		o, err := w.a.AppraiseOutcome(ctx, comps)
		if err != nil {
			b.Fatal(err)
		}
		if o.Status() != ear.StatusAffirming {
			b.Fatalf("status %s", o.Status())
		}
		tok, err := signer.SignJWT(o.Result)
		if err != nil {
			b.Fatal(err)
		}
		tokenLen = bytes.LastIndexByte(tok, '.') // the signing input
	}
	run() // warm the caches
	fl := newFloorOps(b, tokenLen)
	// The floor is timed in the loop, interleaved with ours, so that both see
	// the same machine load; it runs on one core and is divided by the cores.
	// CPU time is measured too: on a shared machine a process may get less
	// than its cores, which inflates x-floor but not x-floor-cpu.
	var floorNs, parNs, ourCPU, floorCPU, parCPU time.Duration
	procs := runtime.GOMAXPROCS(0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c0 := cpuTime()
		run()
		b.StopTimer()
		c1 := cpuTime()
		t0 := time.Now()
		fl.run(b)
		floorNs += time.Since(t0)
		floorCPU += cpuTime() - c1
		ourCPU += c1 - c0
		t0, c1 = time.Now(), cpuTime()
		fl.runParallel(b, procs)
		parNs += time.Since(t0)
		parCPU += cpuTime() - c1
		b.StartTimer()
	}
	b.StopTimer()
	ours := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	floor := float64(floorNs.Nanoseconds()) / float64(b.N) / float64(runtime.GOMAXPROCS(0))
	b.ReportMetric(ours/floor, "x-floor")
	b.ReportMetric(floor, "floor-ns/op")
	b.ReportMetric(ours/(float64(parNs.Nanoseconds())/float64(b.N)), "x-floor-par")
	if floorCPU > 0 {
		b.ReportMetric(float64(ourCPU)/float64(floorCPU), "x-floor-cpu")
		// The parallel floor's own CPU cost: above 1 when checks running
		// side by side slow each other (shared cores, caches, clocks).
		b.ReportMetric(float64(parCPU)/float64(floorCPU), "par-cpu")
	}
}

// BenchmarkCompositeCold appraises a TDX quote and eight GPU reports bound
// to one session with nothing reused between iterations: new verifiers,
// registry, policy and appraiser each time (the evidence, collateral, RIMs
// and OCSP answers are the Bed's, in memory). Run with -cpu 2.
//
// Two shapes of GPU PKI: fleet, where the GPUs share the identity CA and
// provisioner ICA (and root), as every board of one product does on real
// hardware, and own-cas, the Bed's default, where each GPU has an identity
// CA and ICA of its own under the shared root.
//
// Metrics: ms/op is the wall time of one appraisal, cpu-ms/op the process
// CPU time it took, and x-floor-cpu that CPU time over the P-384 checks no
// cold appraisal of the bed can avoid, timed in the same iteration: per GPU
// the report, the BROM→leaf and ICA→BROM links and the BROM's OCSP answer;
// the ICA and identity CA links and OCSP answers once per distinct CA (once
// in all for fleet, per GPU for own-cas); for the shared RIMs each
// signer-chain link and its OCSP answer once, and one XML signature per
// RIM. The TDX quote's P-256 checks are left out of the floor.
func BenchmarkCompositeCold(b *testing.B) {
	for _, shape := range []struct {
		name string
		opts testbed.Options
	}{
		{"fleet", testbed.Options{Now: Now(), GPUs: 8, SharedGPUCAs: true}},
		{"own-cas", testbed.Options{Now: Now(), GPUs: 8, SharedGPURoot: true}},
	} {
		b.Run(shape.name, func(b *testing.B) {
			bed, err := testbed.New(shape.opts)
			if err != nil {
				b.Fatal(err)
			}
			benchmarkCold(b, bed)
		})
	}
}

func benchmarkCold(b *testing.B, bed *Bed) {
	s := newSession(b, "Y29sZA")
	comps := worldFor(b, bed).components(b, s, nil, nil)
	ctx := context.Background()
	rimLinks := len(bed.RIM.Chain()) - 1
	cas := map[string]bool{}
	for _, p := range bed.GPUs {
		cas[string(p.Certs[2].Raw)] = true // the ICA; an identity CA is shared when it is
	}
	checks := len(bed.GPUs)*(1+2+1) + len(cas)*(2+2) + 2*rimLinks + 2
	fl := newFloorOps(b, 0)
	var wall, cpu, floorCPU time.Duration
	b.ResetTimer()
	for b.Loop() {
		c0, t0 := cpuTime(), time.Now()
		w := worldFor(b, bed, verify.WithAnnotatedEvidence(false))
		o, err := w.a.AppraiseOutcome(ctx, comps)
		if err != nil {
			b.Fatal(err)
		}
		wall += time.Since(t0)
		c1 := cpuTime()
		cpu += c1 - c0
		if o.Status() != ear.StatusAffirming {
			b.Fatalf("status %s", o.Status())
		}
		for range checks {
			if !ecdsa.VerifyASN1(&fl.k384.PublicKey, fl.d384, fl.s384) {
				b.Fatal("P-384")
			}
		}
		floorCPU += cpuTime() - c1
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(wall.Nanoseconds())/n/1e6, "ms/op")
	if cpu > 0 && floorCPU > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/n/1e6, "cpu-ms/op")
		b.ReportMetric(float64(floorCPU.Nanoseconds())/n/1e6, "floor-cpu-ms/op")
		b.ReportMetric(float64(cpu)/float64(floorCPU), "x-floor-cpu")
	}
}
