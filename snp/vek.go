package snp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/asn1"
	"time"

	"github.com/trustfactory/attest/verify"
)

// AMD's VCEK/VLEK certificate extensions (VCEK Certificate and KDS Interface
// Specification, 57230).
var (
	oidProductName = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 2}
	oidBLSPL       = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 3, 1}
	oidTEESPL      = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 3, 2}
	oidSNPSPL      = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 3, 3}
	oidSPL4        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 3, 4}
	oidSPL5        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 3, 5}
	oidSPL6        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 3, 6}
	oidSPL7        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 3, 7}
	oidUcodeSPL    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 3, 8}
	oidFMCSPL      = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 3, 9}
	oidHWID        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 4}
	oidCSPID       = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 5}
)

// endorsement is a VCEK or VLEK certificate with its AMD extensions decoded.
// Only the chain check makes it trustworthy.
type endorsement struct {
	cert        *x509.Certificate
	kind        SigningKey
	productName string // e.g. "Milan-B0"; may be empty
	tcb         TCB
	hasFMC      bool
	spl47       [4]uint8 // reserved SPL slots 4–7 (zero in AMD's certificates)
	hwid        []byte   // VCEK only
	cspID       string   // VLEK only
	pub         *ecdsa.PublicKey
}

// parseEndorsement decodes a VCEK or VLEK certificate. The kind comes from
// the certificate itself (subject CN SEV-VCEK / SEV-VLEK), never from the
// label it arrived under.
func parseEndorsement(c *x509.Certificate) (*endorsement, error) {
	e := &endorsement{cert: c}
	switch c.Subject.CommonName {
	case "SEV-VCEK":
		e.kind = SigningKeyVCEK
	case "SEV-VLEK":
		e.kind = SigningKeyVLEK
	default:
		return nil, verify.Errorf(verify.ErrChain, "endorsement key certificate: subject CN: expected SEV-VCEK or SEV-VLEK, got %q", c.Subject.CommonName)
	}
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P384() {
		return nil, verify.Errorf(verify.ErrChain, "%s certificate: public key: expected ECDSA P-384, got %T", e.kind, c.PublicKey)
	}
	e.pub = pub
	var seen struct{ bl, tee, snp, ucode bool }
	for _, x := range c.Extensions {
		var err error
		switch {
		case x.Id.Equal(oidProductName):
			e.productName, err = decodeIA5(x.Value)
		case x.Id.Equal(oidBLSPL):
			e.tcb.Bootloader, err = decodeSPL(x.Value)
			seen.bl = true
		case x.Id.Equal(oidTEESPL):
			e.tcb.TEE, err = decodeSPL(x.Value)
			seen.tee = true
		case x.Id.Equal(oidSNPSPL):
			e.tcb.SNP, err = decodeSPL(x.Value)
			seen.snp = true
		case x.Id.Equal(oidUcodeSPL):
			e.tcb.Microcode, err = decodeSPL(x.Value)
			seen.ucode = true
		case x.Id.Equal(oidSPL4):
			e.spl47[0], err = decodeSPL(x.Value)
		case x.Id.Equal(oidSPL5):
			e.spl47[1], err = decodeSPL(x.Value)
		case x.Id.Equal(oidSPL6):
			e.spl47[2], err = decodeSPL(x.Value)
		case x.Id.Equal(oidSPL7):
			e.spl47[3], err = decodeSPL(x.Value)
		case x.Id.Equal(oidFMCSPL):
			e.tcb.FMC, err = decodeSPL(x.Value)
			e.hasFMC = true
		case x.Id.Equal(oidHWID):
			e.hwid, err = decodeHWID(x.Value)
		case x.Id.Equal(oidCSPID):
			e.cspID, err = decodeIA5(x.Value)
		}
		if err != nil {
			return nil, verify.Errorf(verify.ErrMalformed, "%s certificate: extension %s: %w", e.kind, x.Id, err)
		}
	}
	if !seen.bl || !seen.tee || !seen.snp || !seen.ucode {
		return nil, verify.Errorf(verify.ErrMalformed, "%s certificate: missing TCB extensions (bootloader %t, tee %t, snp %t, microcode %t)", e.kind, seen.bl, seen.tee, seen.snp, seen.ucode)
	}
	if e.kind == SigningKeyVCEK && e.hwid == nil {
		return nil, verify.Errorf(verify.ErrMalformed, "VCEK certificate: no hwID extension")
	}
	return e, nil
}

func decodeIA5(v []byte) (string, error) {
	var s string
	rest, err := asn1.UnmarshalWithParams(v, &s, "ia5")
	if err != nil {
		return "", err
	}
	if len(rest) != 0 {
		return "", verify.Errorf(verify.ErrMalformed, "%d trailing bytes", len(rest))
	}
	return s, nil
}

func decodeSPL(v []byte) (uint8, error) {
	var n int64
	rest, err := asn1.Unmarshal(v, &n)
	if err != nil {
		return 0, err
	}
	if len(rest) != 0 || n < 0 || n > 255 {
		return 0, verify.Errorf(verify.ErrMalformed, "security patch level %d (%d trailing bytes): expected one byte", n, len(rest))
	}
	return uint8(n), nil
}

// decodeHWID accepts the chip ID as AMD's KDS writes it, the raw 64 bytes
// (8 for Turin) as the extension value, or wrapped in a DER OCTET STRING as
// newer certificates and other tooling do.
func decodeHWID(v []byte) ([]byte, error) {
	ok := func(n int) bool { return n == 64 || n == 8 }
	if ok(len(v)) {
		return v, nil
	}
	var inner []byte
	rest, err := asn1.Unmarshal(v, &inner)
	if err != nil || len(rest) != 0 || !ok(len(inner)) {
		return nil, verify.Errorf(verify.ErrMalformed, "hwID: expected 64 (or 8 for Turin) bytes, raw or as a DER OCTET STRING, got %d bytes", len(v))
	}
	return inner, nil
}

// validity checks a certificate's validity period at now; an error matches
// both verify.ErrChain and verify.ErrExpired.
func validity(c *x509.Certificate, now time.Time) error {
	if now.Before(c.NotBefore) || now.After(c.NotAfter) {
		return verify.Errorf(verify.ErrChain, "certificate %q: %w", c.Subject.CommonName,
			verify.Errorf(verify.ErrExpired, "valid %s to %s, verification time %s",
				c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
	}
	return nil
}
