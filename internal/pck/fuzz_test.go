package pck_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"os"
	"reflect"
	"testing"

	"github.com/trustfactory/attest/internal/pck"
	"github.com/trustfactory/attest/verify"
)

var oidSGX = asn1.ObjectIdentifier{1, 2, 840, 113741, 1, 13, 1}

// realChains returns the PCK chains of the real SGX quotes (v3: the chain is
// the last item of the signature data, after a u16 type and u32 size).
func realChains(f *testing.F) [][]byte {
	var out [][]byte
	for _, name := range []string{"dcapqvl_sgx_quote.dat", "occlum_quote.dat"} {
		q, err := os.ReadFile("../../testdata/sgx/" + name)
		if err != nil {
			f.Fatal(err)
		}
		sig := q[436:]
		authLen := int(binary.LittleEndian.Uint16(sig[576:]))
		cert := sig[578+authLen:]
		size := int(binary.LittleEndian.Uint32(cert[2:]))
		out = append(out, cert[6:6+size])
	}
	return out
}

// FuzzParseExtensions: the SGX-extension reader never panics, errors carry
// a kind and come without a result, and what it accepts it reads the same
// way twice. Seeded with the extensions of real PCK certificates.
func FuzzParseExtensions(f *testing.F) {
	for _, chain := range realChains(f) {
		certs, err := pck.ParsePEMChain(chain, 3, "seed")
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range certs[0].Extensions {
			if e.Id.Equal(oidSGX) {
				f.Add(e.Value)
			}
		}
	}
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		cert := &x509.Certificate{Subject: pkix.Name{CommonName: "fuzz"}, Extensions: []pkix.Extension{{Id: oidSGX, Value: b}}}
		x, err := pck.ParseExtensions(cert)
		if err != nil {
			if x != nil || verify.KindOf(err) == nil {
				t.Fatalf("error without kind or with a result: %v", err)
			}
			return
		}
		again, err := pck.ParseExtensions(cert)
		if err != nil || !reflect.DeepEqual(x, again) {
			t.Fatalf("not deterministic: %v", err)
		}
	})
}

// FuzzParsePEMChain: chains of any bytes are refused with a kind or give
// exactly the number of certificates asked for. Seeded with real PCK chains.
func FuzzParsePEMChain(f *testing.F) {
	for _, c := range realChains(f) {
		f.Add(c)
	}
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		certs, err := pck.ParsePEMChain(b, 3, "fuzz")
		if err != nil {
			if certs != nil || verify.KindOf(err) == nil {
				t.Fatalf("error without kind or with a result: %v", err)
			}
			return
		}
		if len(certs) != 3 {
			t.Fatalf("%d certificates, asked for 3", len(certs))
		}
	})
}

// FuzzParseEnclaveReport: a REPORTBODY parses only at 384 bytes and keeps
// its raw bytes. Seeded with the enclave reports of real quotes.
func FuzzParseEnclaveReport(f *testing.F) {
	q, err := os.ReadFile("../../testdata/sgx/dcapqvl_sgx_quote.dat")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(q[48:432])
	f.Add(q[436+128 : 436+128+384])
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := pck.ParseEnclaveReport(b)
		if err != nil {
			if verify.KindOf(err) == nil || len(b) == pck.EnclaveReportSize {
				t.Fatalf("bad error for %d bytes: %v", len(b), err)
			}
			return
		}
		if string(r.Raw[:]) != string(b) || string(r.ReportData[:]) != string(b[320:]) {
			t.Fatal("report does not keep its bytes")
		}
	})
}
