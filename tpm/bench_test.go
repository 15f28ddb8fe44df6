package tpm_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"slices"
	"testing"
	"time"

	pb "github.com/google/go-tpm-tools/proto/attest"
	"github.com/google/go-tpm-tools/server"
	"google.golang.org/protobuf/proto"

	"github.com/trustfactory/attest/tpm"
)

// BenchmarkVerify verifies the real GCE COS-85 attestation (RSA-2048 AK with
// certificate, SHA-384 quote, 24 KB event log) with our verifier, warm cache,
// and with go-tpm-tools server.VerifyAttestation on the same bytes. It
// reports x-baseline = baseline/ours and x-floor = ours/floor (medians of
// per-iteration times), the floor being the uncacheable work: the AK's RSA
// signature check over the quote plus the SHA-384 extends of the event log's
// digests.
func BenchmarkVerify(b *testing.B) {
	raw := readFile(b, "gce-cos-85-nonce9009.pb")
	v := gceVerifier(b, tpm.WithRequireEventLog())
	ctx := context.Background()
	exp := gceExpect()
	if _, err := v.Verify(ctx, raw, exp); err != nil { // warm the caches
		b.Fatal(err)
	}
	benchAgainstBaseline(b, raw, func() error {
		_, err := v.Verify(ctx, raw, exp)
		return err
	})
}

// BenchmarkVerifyCold is BenchmarkVerify with empty caches: a new verifier
// per verification.
func BenchmarkVerifyCold(b *testing.B) {
	raw := readFile(b, "gce-cos-85-nonce9009.pb")
	root, inter := gceCert(b, "tpm_ek_root_1.cer"), gceCert(b, "tpm_ek_intermediate_2.crt")
	ctx := context.Background()
	exp := gceExpect()
	benchAgainstBaseline(b, raw, func() error {
		v, err := tpm.NewVerifier(tpm.WithAKRoots(root), tpm.WithAKIntermediates(inter), tpm.WithRequireEventLog())
		if err != nil {
			return err
		}
		_, err = v.Verify(ctx, raw, exp)
		return err
	})
}

// benchAgainstBaseline times ours, go-tpm-tools and the floor on raw.
func benchAgainstBaseline(b *testing.B, raw []byte, ours func() error) {
	b.Helper()
	// The three measurements are timed in-loop, interleaved, so that they
	// share the machine's state; ns/op is their sum.
	opts := server.VerifyOpts{Nonce: gceNonce, TrustedRootCerts: server.GceEKRoots, IntermediateCerts: server.GceEKIntermediates, Loader: server.GRUB}
	ev, _, err := tpm.Decode(raw)
	if err != nil {
		b.Fatal(err)
	}
	pub, err := tpm.ParsePublic(ev.AKPublicArea)
	if err != nil {
		b.Fatal(err)
	}
	sig, err := tpm.ParseSignature(ev.Quotes[2].Signature)
	if err != nil {
		b.Fatal(err)
	}
	log, err := tpm.ParseEventLog(ev.EventLog, tpm.Limits{})
	if err != nil {
		b.Fatal(err)
	}
	msg := ev.Quotes[2].Attest
	var oursT, baseline, floor []time.Duration
	for b.Loop() {
		t0 := time.Now()
		if err := ours(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		var a pb.Attestation
		if err := proto.Unmarshal(raw, &a); err != nil {
			b.Fatal(err)
		}
		if _, err := server.VerifyAttestation(&a, opts); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		d := sha256.Sum256(msg)
		if err := rsa.VerifyPKCS1v15(pub.Key.(*rsa.PublicKey), crypto.SHA256, d[:], sig.RSA); err != nil {
			b.Fatal(err)
		}
		var pcr [48]byte
		for i := range log.Events {
			h := sha512.New384()
			h.Write(pcr[:])
			h.Write(log.Events[i].Digest(crypto.SHA384))
			h.Sum(pcr[:0])
		}
		t3 := time.Now()
		oursT = append(oursT, t1.Sub(t0))
		baseline = append(baseline, t2.Sub(t1))
		floor = append(floor, t3.Sub(t2))
	}
	// Medians: on a shared machine a GC cycle or a neighbour's burst lands
	// in whichever measurement happens to run; the median ignores it.
	o, bl, fl := median(oursT), median(baseline), median(floor)
	b.ReportMetric(float64(bl)/float64(o), "x-baseline")
	b.ReportMetric(float64(o)/float64(fl), "x-floor")
	b.ReportMetric(float64(o.Nanoseconds())/1e3, "ours-µs")
	b.ReportMetric(float64(bl.Nanoseconds())/1e3, "baseline-µs")
	b.ReportMetric(float64(fl.Nanoseconds())/1e3, "floor-µs")
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkParseEventLog parses the real 24 KB COS-85 event log.
func BenchmarkParseEventLog(b *testing.B) {
	ev, _, err := tpm.Decode(readFile(b, "gce-cos-85-nonce9009.pb"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(ev.EventLog)))
	for b.Loop() {
		if _, err := tpm.ParseEventLog(ev.EventLog, tpm.Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
