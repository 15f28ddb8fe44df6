package setup_test

import (
	"context"
	"crypto/x509"
	"io/fs"
	"os"
	"testing"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/gpu/ocsp"
	"github.com/trustfactory/attest/gpu/rim"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/setup"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/testbed"
	"github.com/trustfactory/attest/verify"
)

// handBuilt builds, package by package, the TDX + GPU appraiser setup builds
// from the same bundle, roots and reference values: what a caller without
// setup writes.
func handBuilt(b testing.TB, bundle fs.FS, bed *testbed.Bed, rv *policy.ReferenceValues) *verify.Appraiser {
	b.Helper()
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	sub := func(dir string) fs.FS {
		s, err := fs.Sub(bundle, dir)
		must(err)
		return s
	}
	tdxSrc, err := tdx.NewFSSource(sub("tdx"))
	must(err)
	tv, err := tdx.NewVerifier(tdx.WithCollateral(tdxSrc), tdx.WithTrustedRoots(bed.TDX.Root.Cert))
	must(err)
	rims, err := rim.NewFSSource(sub("gpu/rims"))
	must(err)
	rimV, err := rim.NewVerifier(rim.WithRoots(bed.RIM.Root))
	must(err)
	prov, err := gpu.NewRIMProvider(rimV, rims, 0)
	must(err)
	answers, err := ocsp.NewFSSource(sub("gpu/ocsp"))
	must(err)
	chk, err := ocsp.NewChecker(answers)
	must(err)
	gv, err := gpu.NewVerifier(verify.FormatGPU, gpu.WithRIMs(prov), gpu.WithOCSP(chk), gpu.WithDeviceRoots(bed.GPURoots...))
	must(err)
	reg, err := verify.NewRegistry(tv, gv)
	must(err)
	p, err := policy.New(rv)
	must(err)
	a, err := verify.NewAppraiser(reg, p, verify.WithRequired(verify.FormatGPU, len(bed.GPUs)), verify.WithAnnotatedEvidence(false))
	must(err)
	return a
}

// warm is one TD with eight GPUs bound to one session, and two appraisers
// of it: one setup built, one built by hand from the same bundle.
type warm struct {
	viaSetup *setup.Appraiser
	byHand   *verify.Appraiser
	s        *testbed.Session
	comps    []verify.Component
	session  verify.Session
}

func newWarm(b testing.TB) *warm {
	b.Helper()
	bed, err := testbed.New(testbed.Options{GPUs: 8})
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	if err := bed.WriteCollateral(dir); err != nil {
		b.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { root.Close() })
	rv, err := bed.ReferenceValues()
	if err != nil {
		b.Fatal(err)
	}
	w := &warm{}
	w.viaSetup, err = setup.NewAppraiser(setup.Config{
		Bundle:           root.FS(),
		Roots:            setup.Roots{TDX: []*x509.Certificate{bed.TDX.Root.Cert}, GPU: bed.GPURoots, RIM: []*x509.Certificate{bed.RIM.Root}},
		ReferenceValues:  rv,
		AppraiserOptions: []verify.AppraiserOption{verify.WithRequired(verify.FormatGPU, 8), verify.WithAnnotatedEvidence(false)},
	})
	if err != nil {
		b.Fatal(err)
	}
	w.byHand = handBuilt(b, root.FS(), bed, rv)
	if w.s, err = testbed.NewSession(); err != nil {
		b.Fatal(err)
	}
	if w.comps, err = bed.TDXComponents(w.s); err != nil {
		b.Fatal(err)
	}
	if w.session, err = w.s.RuntimeData.Session(); err != nil {
		b.Fatal(err)
	}
	return w
}

// The setup layer adds nothing to the warm path: an appraisal through the
// appraiser setup built allocates what one through the hand-built appraiser
// does (within 1%, for the goroutines of the parallel verification), and
// both affirm.
func TestWarmPathAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("mints eight GPUs")
	}
	w := newWarm(t)
	ctx := context.Background()
	allocs := func(a *verify.Appraiser) float64 {
		o, err := a.AppraiseSession(ctx, w.session, w.comps) // warm the caches
		if err != nil || o.Status() != ear.StatusAffirming {
			t.Fatalf("%v %v", err, o)
		}
		return testing.AllocsPerRun(5, func() {
			if _, err := a.AppraiseSession(ctx, w.session, w.comps); err != nil {
				t.Fatal(err)
			}
		})
	}
	hand, viaSetup := allocs(w.byHand), allocs(w.viaSetup.Appraiser)
	if viaSetup > hand*1.01 {
		t.Fatalf("setup's appraiser: %.0f allocations per appraisal, by hand %.0f", viaSetup, hand)
	}
}

// BenchmarkWarmSetupVsHand appraises one TD with eight GPUs, bound to one
// session, with warm caches, through an appraiser setup built and through
// one built by hand from the same bundle: the setup layer must add nothing
// (the two "session" results are equal within noise). "runtime-data" is
// setup's AppraiseRuntimeData, which also binds the components (two RFC 8785
// digests of the runtime data) per call.
func BenchmarkWarmSetupVsHand(b *testing.B) {
	w := newWarm(b)
	viaSetup, byHand, s, comps, session := w.viaSetup, w.byHand, w.s, w.comps, w.session
	ctx := context.Background()
	check := func(b *testing.B, o *verify.Outcome, err error) {
		if err != nil {
			b.Fatal(err)
		}
		if o.Status() != ear.StatusAffirming {
			b.Fatalf("status %s", o.Status())
		}
	}
	for name, run := range map[string]func() (*verify.Outcome, error){
		"hand/session":  func() (*verify.Outcome, error) { return byHand.AppraiseSession(ctx, session, comps) },
		"setup/session": func() (*verify.Outcome, error) { return viaSetup.AppraiseSession(ctx, session, comps) },
		"setup/runtime-data": func() (*verify.Outcome, error) {
			return viaSetup.AppraiseRuntimeData(ctx, s.RuntimeData, unbound(comps)...)
		},
	} {
		b.Run(name, func(b *testing.B) {
			o, err := run() // warm the caches
			check(b, o, err)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				o, err := run()
				check(b, o, err)
			}
		})
	}
}
