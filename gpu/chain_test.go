package gpu

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"

	"github.com/trustfactory/attest/verify"
)

func TestLeafFWIDExtensions(t *testing.T) {
	fw := make([]byte, 48)
	fw[0], fw[47] = 1, 2
	good, _ := asn1.Marshal(diceTcbInfo{FWIDs: []diceFWID{{HashAlg: asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}, Digest: fw}}})
	for name, c := range map[string]struct {
		arch Arch
		ext  pkix.Extension
		want []byte
		kind error
	}{
		"hopper last 48":       {ArchHopper, pkix.Extension{Id: oidFWID, Value: append([]byte{0x30, 0x33, 4, 0x31, 0}, fw...)}, fw, nil},
		"hopper short":         {ArchHopper, pkix.Extension{Id: oidFWID, Value: fw[:47]}, nil, verify.ErrMalformed},
		"blackwell tcbinfo":    {ArchBlackwell, pkix.Extension{Id: oidDiceTcbInfo, Value: good}, fw, nil},
		"blackwell garbage":    {ArchBlackwell, pkix.Extension{Id: oidDiceTcbInfo, Value: []byte{0x30, 0x03, 1, 2}}, nil, verify.ErrMalformed},
		"blackwell no fwids":   {ArchBlackwell, pkix.Extension{Id: oidDiceTcbInfo, Value: []byte{0x30, 0x00}}, nil, verify.ErrMalformed},
		"blackwell hopper ext": {ArchBlackwell, pkix.Extension{Id: oidFWID, Value: append([]byte{0}, fw...)}, nil, nil},
	} {
		got, err := leafFWID(&x509.Certificate{Extensions: []pkix.Extension{c.ext}}, c.arch)
		if c.kind != nil {
			if !isKind(err, c.kind) {
				t.Errorf("%s: expected %v, got %v", name, c.kind, err)
			}
			continue
		}
		if err != nil || string(got) != string(c.want) {
			t.Errorf("%s: got %x, %v", name, got, err)
		}
	}
}

func TestParsePEMChainErrors(t *testing.T) {
	chain := readFile(t, "v1", "hopperCertChain.txt")
	for name, c := range map[string]struct {
		b    []byte
		kind error
	}{
		"empty":       {nil, verify.ErrMalformed},
		"text":        {[]byte("hello"), verify.ErrMalformed},
		"trailing":    {append(append([]byte(nil), chain...), "junk"...), verify.ErrMalformed},
		"private key": {[]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), verify.ErrMalformed},
		"bad der":     {[]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), verify.ErrMalformed},
		"too large":   {make([]byte, maxChainPEM+1), verify.ErrLimit},
	} {
		if _, err := ParsePEMChain(c.b); !isKind(err, c.kind) {
			t.Errorf("%s: expected %v, got %v", name, c.kind, err)
		}
	}
	var many []byte
	for i := 0; i < 4; i++ {
		many = append(append(many, chain...), '\n')
	}
	if _, err := ParsePEMChain(many); !isKind(err, verify.ErrLimit) {
		t.Errorf("20 certificates: %v", err)
	}
}
