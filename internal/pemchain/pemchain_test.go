package pemchain

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/trustfactory/attest/verify"
)

func testCert(t *testing.T, cn string) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<32, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestParse(t *testing.T) {
	a, b := testCert(t, "a"), testCert(t, "b")
	for name, in := range map[string]string{
		"plain":        a + b,
		"spaced":       "\n  " + a + "\r\n\r\n" + b + "\n\n",
		"crlf":         strings.ReplaceAll(a+b, "\n", "\r\n"),
		"nul padding":  a + b + "\x00\x00\x00",
		"no last EOL":  a + strings.TrimSuffix(b, "\n"),
		"nul after sp": a + b + "\n\x00",
	} {
		certs, err := Parse([]byte(in), 2)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(certs) != 2 || certs[0].Subject.CommonName != "a" || certs[1].Subject.CommonName != "b" {
			t.Errorf("%s: %d certificates", name, len(certs))
		}
	}
	// A broken block must not be skipped for the next one, as pem.Decode
	// alone would.
	broken := "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"
	mismatched := strings.Replace(a, "END CERTIFICATE", "END X509 CRL", 1)
	for name, tc := range map[string]struct {
		in   string
		kind error
	}{
		"empty":             {"", verify.ErrMalformed},
		"only padding":      {"\n\x00", verify.ErrMalformed},
		"text before":       {"chain:\n" + a + b, verify.ErrMalformed},
		"text between":      {a + "junk\n" + b, verify.ErrMalformed},
		"text after":        {a + b + "junk", verify.ErrMalformed},
		"nul between":       {a + "\x00" + b, verify.ErrMalformed},
		"broken then good":  {broken + a, verify.ErrMalformed},
		"BEGIN without END": {"-----BEGIN CERTIFICATE-----\nany text\n" + a + b, verify.ErrMalformed},
		"stray BEGIN":       {a + "-----BEGIN NOTE hello\n" + b, verify.ErrMalformed},
		"truncated then ok": {a[:40] + "\n" + b, verify.ErrMalformed},
		"END then BEGIN":    {strings.TrimSuffix(a, "\n") + b, verify.ErrMalformed},
		"headers":           {strings.Replace(a, "-----\n", "-----\nComment: x\n\n", 1) + b, verify.ErrMalformed},
		"mismatched END":    {mismatched + b, verify.ErrMalformed},
		"no END":            {a + "-----BEGIN CERTIFICATE-----\nAAAA\n", verify.ErrMalformed},
		"END unterminated":  {a + "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERT", verify.ErrMalformed},
		"too many":          {a + b + a, verify.ErrLimit},
		"other type":        {a + strings.ReplaceAll(b, "CERTIFICATE", "PUBLIC KEY"), verify.ErrMalformed},
		"not a certificate": {a + string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0}})), verify.ErrMalformed},
	} {
		if _, err := Parse([]byte(tc.in), 2); !errors.Is(err, tc.kind) {
			t.Errorf("%s: got %v, want %v", name, err, tc.kind)
		}
	}
}

func TestBlocksTypes(t *testing.T) {
	a := testCert(t, "a")
	key := "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
	blks, err := Blocks([]byte(key+a), 4)
	if err != nil || len(blks) != 2 || blks[0].Type != "PUBLIC KEY" || blks[1].Type != "CERTIFICATE" {
		t.Fatalf("%v %v", blks, err)
	}
	if _, err := Certificates([]byte(key+a), 4); !errors.Is(err, verify.ErrMalformed) {
		t.Errorf("public key as certificate: %v", err)
	}
}

func FuzzBlocks(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n\x00"))
	f.Add([]byte("-----BEGIN A-----\n-----END A-----"))
	f.Add([]byte("-----BEGIN A-----\n-----END A----------BEGIN A-----\n-----END A-----"))
	f.Add([]byte("-----BEGIN A-----\nx\n-----BEGIN A-----\nAAAA\n-----END A-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		blks, err := Blocks(b, 8)
		if err != nil {
			return
		}
		// Whatever is accepted has one BEGIN line per block and is what
		// pem.Decode reads from the blocks written out again.
		if n := strings.Count(string(b), "-----BEGIN "); n != len(blks) {
			t.Fatalf("%d BEGIN lines, %d blocks", n, len(blks))
		}
		var again []byte
		for _, blk := range blks {
			if len(blk.Headers) != 0 {
				t.Fatal("block with headers accepted")
			}
			again = append(again, pem.EncodeToMemory(blk)...)
		}
		rest := again
		for i := range blks {
			var blk *pem.Block
			blk, rest = pem.Decode(rest)
			if blk == nil || blk.Type != blks[i].Type || string(blk.Bytes) != string(blks[i].Bytes) {
				t.Fatalf("block %d differs from pem.Decode", i)
			}
		}
	})
}
