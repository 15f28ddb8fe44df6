package snp_test

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/snp/snptest"
	"github.com/trustfactory/attest/verify"
)

func seedFiles(f *testing.F, names ...string) {
	for _, n := range names {
		b, err := os.ReadFile(td + n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzParseReport(f *testing.F) {
	seedFiles(f, "gsg-attestation.bin", "test-report.bin", "test-vlek-report.bin")
	// The real v3 Milan report rewritten as current Turin firmware's v5
	// (PLATFORM_INFO 0x65 with reserved bit 6); unsigned, for the parser.
	turin, err := os.ReadFile(td + "test-vlek-report.bin")
	if err != nil {
		f.Fatal(err)
	}
	turin[0], turin[0x40] = 5, snptest.TurinPlatformInfo
	f.Add(turin)
	// Real Milan, Genoa and Turin reports of versions 2, 3 and 5.
	for _, s := range publicSamples {
		f.Add(pub(f, s.report))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := snp.ParseReport(b)
		if err != nil {
			if verify.KindOf(err) == nil {
				t.Fatalf("error without a kind: %v", err)
			}
			return
		}
		if string(r.Raw()) != string(b) {
			t.Fatal("Raw differs from the input")
		}
		// PLATFORM_INFO is never refused; the bits the version does not
		// define are exactly the reserved ones.
		d := snp.DecodePlatformInfoVersion(r.Version, r.PlatformInfo)
		if d.Raw != r.PlatformInfo || d.Reserved != r.PlatformInfo&^snp.PlatformInfoDefined(r.Version) {
			t.Fatalf("platform info %#x version %d: decoded %+v", r.PlatformInfo, r.Version, d)
		}
	})
}

func FuzzCertTable(f *testing.F) {
	vcek, err := os.ReadFile(td + "test-vcek.der")
	if err != nil {
		f.Fatal(err)
	}
	vlek, err := os.ReadFile(td + "test-vlek.der")
	if err != nil {
		f.Fatal(err)
	}
	for _, entries := range [][]snp.CertEntry{
		{{GUID: snp.GUIDVCEK(), Data: vcek}},
		{{GUID: snp.GUIDVLEK(), Data: vlek}, {GUID: snp.GUIDASK(), Data: vcek[:100]}},
	} {
		tb, err := snp.MarshalCertTable(entries)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tb)
	}
	f.Add(make([]byte, 24))
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := snp.ParseCertTable(b)
		if err != nil {
			if verify.KindOf(err) == nil {
				t.Fatalf("error without a kind: %v", err)
			}
			return
		}
		total := 0
		for _, e := range entries {
			total += len(e.Data)
		}
		if total > len(b) {
			t.Fatalf("entries claim %d bytes of a %d-byte table", total, len(b))
		}
		// What parses re-marshals and parses to the same entries.
		if len(entries) == 0 {
			return
		}
		again, err := snp.MarshalCertTable(entries)
		if err != nil {
			t.Fatal(err)
		}
		back, err := snp.ParseCertTable(again)
		if err != nil || len(back) != len(entries) {
			t.Fatalf("round trip: %v", err)
		}
		for i := range back {
			if back[i].GUID != entries[i].GUID || !bytes.Equal(back[i].Data, entries[i].Data) {
				t.Fatalf("round trip changed entry %d: %s %x, was %s %x", i, back[i].GUID, back[i].Data, entries[i].GUID, entries[i].Data)
			}
		}
	})
}

func FuzzDecodeEvidence(f *testing.F) {
	seedFiles(f, "trustee-e2e-evidence.json", "test-report.bin")
	p, err := snptest.NewPKI(snp.Turin)
	if err != nil {
		f.Fatal(err)
	}
	js, err := p.JSON(snptest.Report{SigningKey: snp.SigningKeyVLEK, Version: 5})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(js)
	ext, err := p.Extended(snptest.Report{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ext)
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := snp.DecodeEvidence(b)
		if err != nil {
			if verify.KindOf(err) == nil {
				t.Fatalf("error without a kind: %v", err)
			}
			return
		}
		if ev.Report == nil {
			t.Fatal("no report and no error")
		}
	})
}

// FuzzVerify runs whole verifications of mutated evidence against the test
// roots: nothing may panic, and only the untouched seed may verify.
func FuzzVerify(f *testing.F) {
	p, err := snptest.NewPKI(snp.Genoa)
	if err != nil {
		f.Fatal(err)
	}
	mem := snp.NewMemorySource()
	crl, err := p.CRL(now.AddDate(0, 0, -1), now.AddDate(0, 0, 7))
	if err != nil {
		f.Fatal(err)
	}
	mem.AddCRL(snp.Genoa, snp.SigningKeyVCEK, crl)
	mem.AddCRL(snp.Genoa, snp.SigningKeyVLEK, crl)
	v, err := snp.NewVerifier(snp.WithTrustedRoots(p.Roots()), snp.WithKDS(mem))
	if err != nil {
		f.Fatal(err)
	}
	var signed [][]byte // the signed regions of the seeds: the only ones that may verify
	for _, k := range []snp.SigningKey{snp.SigningKeyVCEK, snp.SigningKeyVLEK} {
		ext, err := p.Extended(snptest.Report{SigningKey: k, ReportData: nonce})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(ext)
		signed = append(signed, bytes.Clone(ext[:snp.SignedSize]))
		js, err := p.JSON(snptest.Report{SigningKey: k, ReportData: nonce})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(js)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := v.Verify(context.Background(), b, exp())
		if err != nil {
			if c != nil {
				t.Fatal("claims with an error")
			}
			if verify.KindOf(err) == nil {
				t.Fatalf("error without a kind: %v", err)
			}
			return
		}
		got := c.(*snp.Claims).Report.Signed()
		for _, s := range signed {
			if bytes.Equal(got, s) {
				return
			}
		}
		t.Fatalf("a report that was never signed verified: %x", got)
	})
}

// FuzzVerifyRealPublic mutates real extended reports (report, then a table
// with the real VCEK and the pinned ASK and ARK) from Milan, Genoa and
// Turin and verifies them against the embedded AMD roots: nothing may
// panic, and no report whose signed bytes differ from a real one may
// verify (that would be a forgery of AMD's signature).
func FuzzVerifyRealPublic(f *testing.F) {
	v, err := snp.NewVerifier(snp.WithoutRevocationUnsafe())
	if err != nil {
		f.Fatal(err)
	}
	var signed [][]byte
	for _, s := range publicSamples {
		report := pub(f, s.report)
		roots, err := snp.DefaultRoots(s.product)
		if err != nil {
			f.Fatal(err)
		}
		table, err := snp.MarshalCertTable([]snp.CertEntry{
			{GUID: snp.GUIDVCEK(), Data: derOf(f, pub(f, s.vcek))},
			{GUID: snp.GUIDASK(), Data: roots.ASK.Raw},
			{GUID: snp.GUIDARK(), Data: roots.ARK.Raw},
		})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append(bytes.Clone(report), table...))
		signed = append(signed, bytes.Clone(report[:snp.SignedSize]))
	}
	exp := verify.Expectations{Now: publicTime, AllowMissingReportDataUnsafe: true}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := v.Verify(context.Background(), b, exp)
		if err != nil {
			if c != nil {
				t.Fatal("claims with an error")
			}
			if verify.KindOf(err) == nil {
				t.Fatalf("error without a kind: %v", err)
			}
			return
		}
		got := c.(*snp.Claims).Report.Signed()
		for _, s := range signed {
			if bytes.Equal(got, s) {
				return
			}
		}
		t.Fatalf("a report AMD never signed verified: %x", got)
	})
}
