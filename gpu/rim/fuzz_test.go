package rim

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/trustfactory/attest/verify"
)

func fuzzSeeds(f *testing.F) {
	for _, pattern := range []string{
		"../../testdata/gpu/rim/v*/*.xml",
		"../../testdata/gpu/rim/negative/*.xml",
		"../../testdata/gpu/rim/go-nvattest-fixtures/*.xml",
	} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
}

// FuzzParseRIM runs untrusted bytes through the whole verification (with the
// real NVIDIA root, at V1's time) and, separately, through the structural
// parser, the signature-shape check and the manifest parser without the
// signature, so that mutations reach the parser. Nothing may panic, every
// error must carry a kind, and a parsed manifest must be self-consistent.
func FuzzParseRIM(f *testing.F) {
	fuzzSeeds(f)
	v, err := NewVerifier(WithCacheSize(1))
	if err != nil {
		f.Fatal(err)
	}
	at := time.Date(2025, 10, 24, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, doc []byte) {
		m, err := v.Verify(context.Background(), doc, at)
		if err != nil {
			if m != nil || verify.KindOf(err) == nil {
				t.Fatalf("error without kind or with a manifest: %v", err)
			}
		} else {
			checkManifest(t, m)
		}

		d, err := parseXML(doc)
		if err != nil {
			if verify.KindOf(err) == nil {
				t.Fatalf("parse error without kind: %v", err)
			}
			return
		}
		if sig, err := checkSignatureShape(d); err == nil {
			if err := d.detach(sig.el); err != nil {
				t.Fatal(err)
			}
		} else if verify.KindOf(err) == nil {
			t.Fatalf("signature shape error without kind: %v", err)
		}
		pm, err := parseManifest(d)
		if err != nil {
			if verify.KindOf(err) == nil {
				t.Fatalf("parse error without kind: %v", err)
			}
			return
		}
		checkManifest(t, pm)
	})
}

func checkManifest(t *testing.T, m *Manifest) {
	t.Helper()
	if m.Version == "" || len(m.Measurements) == 0 {
		t.Fatalf("manifest without version or measurements")
	}
	seen := map[int]bool{}
	for _, ms := range m.Measurements {
		if ms.Index < 0 || ms.Index > maxIndex || seen[ms.Index] || ms.Size != hashLen || len(ms.Alternatives) == 0 {
			t.Fatalf("bad measurement %+v", ms)
		}
		seen[ms.Index] = true
		for _, a := range ms.Alternatives {
			if len(a) != ms.Size {
				t.Fatalf("alternative of %d bytes, size %d", len(a), ms.Size)
			}
		}
	}
}

// FuzzServiceResponse feeds arbitrary RIM service answers to the decoder.
func FuzzServiceResponse(f *testing.F) {
	doc, err := os.ReadFile("../../testdata/gpu/rim/v1/NV_GPU_DRIVER_GH100_550.90.07.xml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"id":"NV_GPU_DRIVER_GH100_550.90.07","rim":"PFNvZnR3YXJlSWRlbnRpdHkvPg==","sha256":"","rim_format":"TCG"}`))
	f.Add(append(append([]byte(`{"id":"NV_GPU_DRIVER_GH100_550.90.07","rim":"`), []byte(encodeStd(doc))...), `"}`...))
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := decodeServiceResponse("NV_GPU_DRIVER_GH100_550.90.07", body)
		if err != nil && (out != nil || verify.KindOf(err) == nil) {
			t.Fatalf("bad error: %v", err)
		}
	})
}

func encodeStd(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
