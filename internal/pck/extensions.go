// Package pck holds what Intel SGX and TDX DCAP quotes share: the PCK
// certificate chain to a pinned Intel SGX Root CA and its SGX extensions,
// the QE report and its binding to the attestation key, the collateral
// (TCB info, QE identity, CRLs) with its signatures and validity windows,
// and the QE and SGX-component TCB matching of Intel's QVL. Packages tdx and
// sgx wrap it in their own public types.
package pck

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	_ "embed"
	"encoding/asn1"
	"fmt"

	"github.com/trustfactory/attest/internal/pemchain"
	"github.com/trustfactory/attest/verify"
)

var (
	oidSGXExtensions      = asn1.ObjectIdentifier{1, 2, 840, 113741, 1, 13, 1}
	oidPPID               = asn1.ObjectIdentifier{1, 2, 840, 113741, 1, 13, 1, 1}
	oidTCB                = asn1.ObjectIdentifier{1, 2, 840, 113741, 1, 13, 1, 2}
	oidPCEID              = asn1.ObjectIdentifier{1, 2, 840, 113741, 1, 13, 1, 3}
	oidFMSPC              = asn1.ObjectIdentifier{1, 2, 840, 113741, 1, 13, 1, 4}
	oidSGXType            = asn1.ObjectIdentifier{1, 2, 840, 113741, 1, 13, 1, 5}
	oidPlatformInstanceID = asn1.ObjectIdentifier{1, 2, 840, 113741, 1, 13, 1, 6}
	oidConfiguration      = asn1.ObjectIdentifier{1, 2, 840, 113741, 1, 13, 1, 7}
)

// Extensions are the Intel SGX extensions of a PCK certificate. tdx.PCKExtensions
// and sgx.PCKExtensions are conversions of it (same fields), so they cannot drift.
type Extensions struct {
	PPID               []byte
	CompSVN            [16]byte // SGX TCB component SVNs 1..16
	PCESVN             uint16
	CPUSVN             [16]byte
	PCEID              [2]byte
	FMSPC              [6]byte
	SGXType            int    // 0 Standard, 1 Scalable, 2 Scalable with Integrity
	PlatformInstanceID []byte // Platform CA certificates only
	DynamicPlatform    *bool
	CachedKeys         *bool
	SMTEnabled         *bool
}

type sgxExt struct {
	ID    asn1.ObjectIdentifier
	Value asn1.RawValue
}

// ParseExtensions reads the SGX extensions (OID 1.2.840.113741.1.13.1) of a PCK certificate.
func ParseExtensions(cert *x509.Certificate) (*Extensions, error) {
	var raw []byte
	for _, e := range cert.Extensions {
		if e.Id.Equal(oidSGXExtensions) {
			if raw != nil {
				return nil, verify.Errorf(verify.ErrMalformed, "PCK certificate: duplicate SGX extension")
			}
			raw = e.Value
		}
	}
	if raw == nil {
		return nil, verify.Errorf(verify.ErrMalformed, "PCK certificate %q: no SGX extension", cert.Subject.CommonName)
	}
	var items []sgxExt
	if rest, err := asn1.Unmarshal(raw, &items); err != nil || len(rest) != 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "PCK SGX extension: not a sequence of (OID, value): %v", err)
	}
	x := &Extensions{}
	var seen [8]bool
	for _, it := range items {
		var err error
		switch {
		case it.ID.Equal(oidPPID):
			x.PPID, err = octets(it.Value, 16, "PPID")
			seen[1] = true
		case it.ID.Equal(oidTCB):
			err = parsePCKTCB(it.Value, x)
			seen[2] = true
		case it.ID.Equal(oidPCEID):
			var b []byte
			b, err = octets(it.Value, 2, "PCE-ID")
			copy(x.PCEID[:], b)
			seen[3] = true
		case it.ID.Equal(oidFMSPC):
			var b []byte
			b, err = octets(it.Value, 6, "FMSPC")
			copy(x.FMSPC[:], b)
			seen[4] = true
		case it.ID.Equal(oidSGXType):
			var e asn1.Enumerated
			if _, err = asn1.Unmarshal(it.Value.FullBytes, &e); err == nil {
				x.SGXType = int(e)
			}
			seen[5] = true
		case it.ID.Equal(oidPlatformInstanceID):
			x.PlatformInstanceID, err = octets(it.Value, 16, "PlatformInstanceID")
		case it.ID.Equal(oidConfiguration):
			err = parsePCKConfig(it.Value, x)
		}
		if err != nil {
			return nil, verify.Errorf(verify.ErrMalformed, "PCK SGX extension %v: %w", it.ID, err)
		}
	}
	for i, name := range []string{"", "PPID", "TCB", "PCE-ID", "FMSPC", "SGX Type"} {
		if i > 0 && !seen[i] {
			return nil, verify.Errorf(verify.ErrMalformed, "PCK SGX extension: required %s missing", name)
		}
	}
	return x, nil
}

func octets(v asn1.RawValue, n int, name string) ([]byte, error) {
	var b []byte
	if _, err := asn1.Unmarshal(v.FullBytes, &b); err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "%s: %w", name, err)
	}
	if len(b) != n {
		return nil, verify.Errorf(verify.ErrMalformed, "%s: expected %d bytes, got %d", name, n, len(b))
	}
	return b, nil
}

func parsePCKTCB(v asn1.RawValue, x *Extensions) error {
	var comps []sgxExt
	if _, err := asn1.Unmarshal(v.FullBytes, &comps); err != nil {
		return err
	}
	var got [19]bool
	for _, c := range comps {
		if len(c.ID) != len(oidTCB)+1 || !c.ID[:len(oidTCB)].Equal(oidTCB) {
			continue
		}
		n := c.ID[len(oidTCB)]
		switch {
		case n >= 1 && n <= 17:
			var i int
			if _, err := asn1.Unmarshal(c.Value.FullBytes, &i); err != nil {
				return err
			}
			limit := 255
			if n == 17 {
				limit = 65535
			}
			if i < 0 || i > limit {
				return verify.Errorf(verify.ErrMalformed, "TCB component %d out of range: %d", n, i)
			}
			if n == 17 {
				x.PCESVN = uint16(i)
			} else {
				x.CompSVN[n-1] = byte(i)
			}
		case n == 18:
			b, err := octets(c.Value, 16, "CPUSVN")
			if err != nil {
				return err
			}
			copy(x.CPUSVN[:], b)
		default:
			continue
		}
		got[n] = true
	}
	for n := 1; n <= 18; n++ {
		if !got[n] {
			return verify.Errorf(verify.ErrMalformed, "TCB component %d missing", n)
		}
	}
	return nil
}

func parsePCKConfig(v asn1.RawValue, x *Extensions) error {
	var items []sgxExt
	if _, err := asn1.Unmarshal(v.FullBytes, &items); err != nil {
		return err
	}
	for _, it := range items {
		if len(it.ID) != len(oidConfiguration)+1 || !it.ID[:len(oidConfiguration)].Equal(oidConfiguration) {
			continue
		}
		var b bool
		if _, err := asn1.Unmarshal(it.Value.FullBytes, &b); err != nil {
			return err
		}
		switch it.ID[len(oidConfiguration)] {
		case 1:
			x.DynamicPlatform = &b
		case 2:
			x.CachedKeys = &b
		case 3:
			x.SMTEnabled = &b
		}
	}
	return nil
}

// ParsePEMChain decodes exactly want certificates; only whitespace and NUL
// padding may follow the last one.
func ParsePEMChain(b []byte, want int, what string) ([]*x509.Certificate, error) {
	if len(bytes.Trim(b, " \t\r\n\x00")) == 0 {
		return nil, verify.Errorf(verify.ErrChain, "%s: expected %d certificates, got none", what, want)
	}
	// Parsed before counted: a malformed certificate is ErrMalformed
	// whatever the chain's length (TDX-07).
	certs, err := pemchain.Parse(b, MaxPEMBlocks)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if len(certs) != want {
		return nil, verify.Errorf(verify.ErrChain, "%s: expected %d certificates, got %d", what, want, len(certs))
	}
	return certs, nil
}

// MaxPEMBlocks bounds the blocks read from a certificate chain in evidence
// before its length is checked.
const MaxPEMBlocks = 16

// P256Key decodes a raw x‖y P-256 public key.
func P256Key(raw []byte) (*ecdsa.PublicKey, error) {
	if len(raw) != 64 {
		return nil, verify.Errorf(verify.ErrMalformed, "attestation key: expected 64 bytes, got %d", len(raw))
	}
	uncompressed := append([]byte{4}, raw...)
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), uncompressed)
	if err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "attestation key is not a P-256 point: %w", err)
	}
	return pub, nil
}

// VerifyRawP256 checks a raw r‖s signature over digest.
func VerifyRawP256(pub *ecdsa.PublicKey, digest, sig []byte) bool {
	if len(sig) != 64 {
		return false
	}
	// ecdsa.Verify would turn big.Int r and s into this very DER (through
	// two big.Int and a cryptobyte builder) before checking it: encoding
	// it here, on the stack, spares those allocations on every quote.
	var der [2 + 2*(2+33)]byte
	b := append(der[:0], 0x30, 0)
	b = appendDERUint(b, sig[:32])
	b = appendDERUint(b, sig[32:])
	b[1] = byte(len(b) - 2)
	return ecdsa.VerifyASN1(pub, digest, b)
}

// appendDERUint appends the DER INTEGER of the unsigned big-endian v (at
// most 126 bytes): no leading zero bytes but one before a set top bit, and
// a single zero byte for zero.
func appendDERUint(b, v []byte) []byte {
	for len(v) > 1 && v[0] == 0 {
		v = v[1:]
	}
	if len(v) == 0 || v[0]&0x80 != 0 {
		b = append(b, 0x02, byte(len(v)+1), 0)
		return append(b, v...)
	}
	b = append(b, 0x02, byte(len(v)))
	return append(b, v...)
}

// MaxChainPEMLen caps a PEM certificate chain in a quote or collateral.
const MaxChainPEMLen = 64 << 10

//go:embed intel_sgx_root_ca.pem
var intelRootPEM []byte

// IntelSGXRootCA returns the embedded Intel SGX Root CA (SHA-256 of the DER
// 44A0196B…FAB674D3), the default trust anchor of tdx and sgx.
func IntelSGXRootCA() *x509.Certificate {
	certs, err := ParsePEMChain(intelRootPEM, 1, "embedded Intel SGX Root CA")
	if err != nil {
		panic("pck: embedded Intel SGX Root CA does not parse: " + err.Error())
	}
	return certs[0]
}
