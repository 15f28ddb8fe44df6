package binding

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/trustfactory/attest/verify"
)

// The unit vector of Trustee's attestation service (parse_runtime_data).
func TestDigestTrusteeVector(t *testing.T) {
	d, err := Digest([]byte(`{"b":1,"a":"test","c":{"d":"e"}}`), crypto.SHA384)
	if err != nil {
		t.Fatal(err)
	}
	h := hex.EncodeToString(d)
	if len(d) != 48 || !strings.HasPrefix(h, "e71ce8e70d814ba6") || !strings.HasSuffix(h, "78870c3") {
		t.Fatalf("digest %s", h)
	}
	// Whitespace and key order do not matter; values do.
	d2, err := Digest([]byte(" {\"c\": {\"d\":\"e\"}, \"a\":\"test\",\n \"b\":1.0 }"), crypto.SHA384)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(d, d2) {
		t.Fatalf("canonical forms differ: %x vs %x", d, d2)
	}
	d3, _ := Digest([]byte(`{"b":2,"a":"test","c":{"d":"e"}}`), crypto.SHA384)
	if bytes.Equal(d, d3) {
		t.Fatal("different values, same digest")
	}
	want := sha512.Sum512([]byte(`{"a":"test","b":1,"c":{"d":"e"}}`))
	d4, err := Digest([]byte(`{"b":1,"a":"test","c":{"d":"e"}}`), crypto.SHA512)
	if err != nil || !bytes.Equal(d4, want[:]) {
		t.Fatalf("sha512: %x, %v", d4, err)
	}
}

func TestDigestErrors(t *testing.T) {
	cases := []struct {
		name string
		doc  []byte
		h    crypto.Hash
		kind error
	}{
		{"empty", nil, crypto.SHA384, verify.ErrConfig},
		{"blank", []byte("  "), crypto.SHA384, verify.ErrConfig},
		{"bad json", []byte(`{"a":`), crypto.SHA384, verify.ErrMalformed},
		{"duplicate key", []byte(`{"a":1,"a":2}`), crypto.SHA384, verify.ErrMalformed},
		{"trailing", []byte(`{"a":1} x`), crypto.SHA384, verify.ErrMalformed},
		{"md5", []byte(`{}`), crypto.MD5, verify.ErrConfig},
		{"too big", append(append([]byte(`"`), bytes.Repeat([]byte("a"), MaxRuntimeData)...), '"'), crypto.SHA384, verify.ErrLimit},
		{"deep", []byte(strings.Repeat("[", 100000) + strings.Repeat("]", 100000)), crypto.SHA384, verify.ErrLimit}, // GEN-05: refused before canonicalising
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := Digest(c.doc, c.h)
			if !errors.Is(err, c.kind) || d != nil {
				t.Fatalf("got %x, %v; want kind %v", d, err, c.kind)
			}
		})
	}
}

func TestRuntimeDataPrimaryAndDevice(t *testing.T) {
	ae := ""
	r := RuntimeData{Nonce: "bm9uY2U=", TEEPubKey: []byte(`{"kty":"EC","crv":"P-256","x":"AA","y":"BB","alg":"ES256"}`), AdditionalEvidence: &ae}
	b, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	// Trustee always includes additional-evidence in the primary runtime data, even empty.
	if !bytes.Contains(b, []byte(`"additional-evidence":""`)) {
		t.Fatalf("primary runtime data lacks additional-evidence: %s", b)
	}
	c, _ := Canonicalize(b)
	want := sha512.Sum384(c)
	d, err := r.Digest(crypto.SHA384)
	if err != nil || !bytes.Equal(d, want[:]) {
		t.Fatalf("digest %x, %v", d, err)
	}
	dev, _ := r.Device().JSON()
	if bytes.Contains(dev, []byte("additional-evidence")) {
		t.Fatalf("device runtime data carries additional-evidence: %s", dev)
	}
	if _, err := (RuntimeData{TEEPubKey: r.TEEPubKey}).JSON(); !errors.Is(err, verify.ErrConfig) {
		t.Fatalf("empty nonce: %v", err)
	}
	if _, err := (RuntimeData{Nonce: "n"}).Digest(crypto.SHA384); !errors.Is(err, verify.ErrConfig) {
		t.Fatalf("empty key: %v", err)
	}
}

func TestReportDataPlacement(t *testing.T) {
	d := make([]byte, 48)
	for i := range d {
		d[i] = byte(i + 1)
	}
	for _, f := range []verify.Format{verify.FormatTDX, verify.FormatSNP} {
		rd, err := ReportData(f, d)
		if err != nil || len(rd) != 64 || !bytes.Equal(rd[:48], d) || !bytes.Equal(rd[48:], make([]byte, 16)) {
			t.Fatalf("%s: %x %v", f, rd, err)
		}
	}
	for _, f := range []verify.Format{verify.FormatGPU, verify.FormatNVSwitch, verify.FormatTPM} {
		rd, err := ReportData(f, d)
		if err != nil || !bytes.Equal(rd, d[:32]) {
			t.Fatalf("%s: %x %v", f, rd, err)
		}
	}
	// An Azure vTPM quote carries the digest itself (Trustee compares exactly).
	if rd, err := ReportData(verify.FormatAzureSNP, d); err != nil || !bytes.Equal(rd, d) {
		t.Fatalf("az-snp-vtpm: %x %v", rd, err)
	}
	if _, err := ReportData(verify.FormatAzureSNP, make([]byte, 65)); !errors.Is(err, verify.ErrConfig) {
		t.Fatalf("az-snp-vtpm, 65 bytes: %v", err)
	}
	if _, err := ReportData(verify.FormatTDX, nil); !errors.Is(err, verify.ErrConfig) {
		t.Fatalf("empty: %v", err)
	}
	if _, err := ReportData(verify.FormatTDX, make([]byte, 65)); !errors.Is(err, verify.ErrConfig) {
		t.Fatalf("65 bytes: %v", err)
	}
	if _, err := ReportData(verify.FormatGPU, make([]byte, 31)); !errors.Is(err, verify.ErrConfig) {
		t.Fatalf("31 bytes: %v", err)
	}
	if _, err := ReportData("other", d); !errors.Is(err, verify.ErrUnsupported) {
		t.Fatalf("unknown format: %v", err)
	}
}

func TestExpectChecksAgainstField(t *testing.T) {
	ae := `{"nvidia":{}}`
	r := RuntimeData{Nonce: "abc", TEEPubKey: []byte(`{"kty":"EC"}`), AdditionalEvidence: &ae}
	cpu, err := Expect(verify.FormatTDX, r, crypto.SHA384)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := r.Digest(crypto.SHA384)
	field := append(bytes.Clone(d), make([]byte, 16)...)
	if err := cpu.CheckReportData("REPORTDATA", field); err != nil {
		t.Fatalf("matching field rejected: %v", err)
	}
	field[0] ^= 1
	if err := cpu.CheckReportData("REPORTDATA", field); !errors.Is(err, verify.ErrFreshness) {
		t.Fatalf("flipped field: %v", err)
	}
	gpu, err := Expect(verify.FormatGPU, r, crypto.SHA384)
	if err != nil {
		t.Fatal(err)
	}
	dd, _ := r.Device().Digest(crypto.SHA384)
	if err := gpu.CheckReportData("nonce", dd[:32]); err != nil {
		t.Fatalf("device nonce rejected: %v", err)
	}
	if err := gpu.CheckReportData("nonce", d[:32]); !errors.Is(err, verify.ErrFreshness) {
		t.Fatalf("primary digest accepted as device nonce: %v", err)
	}
}

func TestInitData(t *testing.T) {
	raw, err := os.ReadFile("../testdata/binding/init-data-with-policy.toml")
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseInitData(raw)
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != "0.1.0" || d.Algorithm != SHA256 || d.Data["policy.rego"] == "" {
		t.Fatalf("parsed %+v", d)
	}
	want := sha256.Sum256(raw)
	if !bytes.Equal(d.Digest(), want[:]) {
		t.Fatalf("digest %x", d.Digest())
	}
	td, _ := InitDataField(verify.FormatTDX, d.Digest())
	if len(td) != 48 || !bytes.Equal(td[:32], want[:]) || !bytes.Equal(td[32:], make([]byte, 16)) {
		t.Fatalf("MRCONFIGID %x", td)
	}
	cfg, _ := InitDataField(verify.FormatSGX, d.Digest())
	if len(cfg) != 64 || !bytes.Equal(cfg[:32], want[:]) || !bytes.Equal(cfg[32:], make([]byte, 32)) {
		t.Fatalf("CONFIGID %x", cfg)
	}
	sn, _ := InitDataField(verify.FormatSNP, d.Digest())
	if !bytes.Equal(sn, want[:]) {
		t.Fatalf("HOST_DATA %x", sn)
	}
	pcr, _ := InitDataField(verify.FormatTPM, d.Digest())
	wantPCR := sha256.Sum256(append(make([]byte, 32), want[:]...))
	if !bytes.Equal(pcr, wantPCR[:]) {
		t.Fatalf("PCR8 %x", pcr)
	}
	if az, _ := InitDataField(verify.FormatAzureSNP, d.Digest()); !bytes.Equal(az, wantPCR[:]) {
		t.Fatalf("Azure PCR8 %x", az)
	}
	// A SHA-384 digest is truncated into HOST_DATA and refused for PCR 8.
	d384 := sha512.Sum384(raw)
	sn, _ = InitDataField(verify.FormatSNP, d384[:])
	if !bytes.Equal(sn, d384[:32]) {
		t.Fatalf("HOST_DATA from sha384 %x", sn)
	}
	if _, err := InitDataField(verify.FormatTPM, d384[:]); !errors.Is(err, verify.ErrConfig) {
		t.Fatalf("sha384 in PCR8: %v", err)
	}
	// The digest is over the raw bytes: a comment changes it.
	d2, err := ParseInitData(append([]byte("# x\n"), raw...))
	if err != nil || bytes.Equal(d2.Digest(), d.Digest()) {
		t.Fatalf("comment did not change digest: %v", err)
	}
}

func TestInitDataErrors(t *testing.T) {
	cases := []struct {
		name, doc string
		kind      error
	}{
		{"empty", "", verify.ErrConfig},
		{"bad toml", "version = ", verify.ErrMalformed},
		{"no version", "algorithm = 'sha256'\n", verify.ErrMalformed},
		{"bad algorithm", "version = '0.1.0'\nalgorithm = 'md5'\n", verify.ErrMalformed},
		{"unknown key", "version = '0.1.0'\nalgorithm = 'sha256'\nextra = 1\n", verify.ErrMalformed},
		{"data not strings", "version = '0.1.0'\nalgorithm = 'sha256'\n[data]\na = 1\n", verify.ErrMalformed},
		{"too big", "#" + strings.Repeat("a", MaxInitData), verify.ErrLimit},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := ParseInitData([]byte(c.doc))
			if !errors.Is(err, c.kind) || d != nil {
				t.Fatalf("got %v, %v; want %v", d, err, c.kind)
			}
		})
	}
	if _, err := InitDataField(verify.FormatTDX, nil); !errors.Is(err, verify.ErrConfig) {
		t.Fatal(err)
	}
	if _, err := InitDataField(verify.FormatGPU, make([]byte, 32)); !errors.Is(err, verify.ErrUnsupported) {
		t.Fatal(err)
	}
}

func FuzzDigest(f *testing.F) {
	f.Add([]byte(`{"b":1,"a":"test","c":{"d":"e"}}`))
	f.Add([]byte(`{"nonce":"abc","tee-pubkey":{"kty":"EC","crv":"P-256"},"additional-evidence":""}`))
	f.Add([]byte(`[1e20, -0.0, "\u00e9", null, true]`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		d, err := Digest(doc, crypto.SHA384)
		if err == nil && len(d) != 48 {
			t.Fatalf("digest of %d bytes", len(d))
		}
		if err != nil && verify.KindOf(err) == nil {
			t.Fatalf("error without kind: %v", err)
		}
	})
}

func FuzzParseInitData(f *testing.F) {
	if raw, err := os.ReadFile("../testdata/binding/init-data-with-policy.toml"); err == nil {
		f.Add(raw)
	}
	f.Add([]byte("version = '0.1.0'\nalgorithm = 'sha384'\n[data]\n'aa.toml' = ''\n"))
	// GEN-05 shapes: nesting, dotted keys and headers at the caps, and
	// strings that hide brackets from the scan.
	f.Add([]byte("version = {a={b={c={d=1}}}}\n"))
	f.Add([]byte("a.b.c.d.e.f.g.h = 1\n[a.b.c.d.e.f.g.h]\n[[x.y]]\n"))
	f.Add([]byte(`version = "\"{["` + "\nalgorithm = '''{[''''' # {[\n[data]\n" + `"a.b" = """` + "\n{[\\\"\"\"\"\"\n"))
	f.Add([]byte("version = [{a=[{b=1}]}, 2]\n"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		d, err := ParseInitData(doc)
		if err != nil {
			if d != nil || verify.KindOf(err) == nil {
				t.Fatalf("%v, %v", d, err)
			}
			return
		}
		if len(d.Digest()) == 0 {
			t.Fatal("empty digest")
		}
	})
}
