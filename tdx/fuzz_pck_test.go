package tdx_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"reflect"
	"testing"

	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/verify"
)

var oidSGX = asn1.ObjectIdentifier{1, 2, 840, 113741, 1, 13, 1}

// FuzzParsePCKExtensions drives the SGX-extension reader of PCK
// certificates with arbitrary extension values: it never panics, errors
// carry a kind and come without a result, and a value it accepts is read the
// same way twice.
func FuzzParsePCKExtensions(f *testing.F) {
	for _, e := range tdxtest.NewPKI().PCK.Cert.Extensions {
		if e.Id.Equal(oidSGX) {
			f.Add(e.Value)
		}
	}
	f.Add([]byte{0x30, 0x00})
	f.Add([]byte{0x30, 0x03, 0x06, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		cert := &x509.Certificate{Subject: pkix.Name{CommonName: "fuzz"}, Extensions: []pkix.Extension{{Id: oidSGX, Value: b}}}
		x, err := tdx.ParsePCKExtensions(cert)
		if err != nil {
			if x != nil || verify.KindOf(err) == nil {
				t.Fatalf("error without kind or with a result: %v", err)
			}
			return
		}
		again, err := tdx.ParsePCKExtensions(cert)
		if err != nil || !reflect.DeepEqual(x, again) {
			t.Fatalf("not deterministic: %v", err)
		}
	})
}
