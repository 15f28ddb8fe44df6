package tpm

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"math/big"
	"slices"

	"github.com/trustfactory/attest/verify"
)

// ParsePublic parses a TPMT_PUBLIC (RSA or ECC on NIST P-256/P-384/P-521)
// and builds its public key. A curve the library cannot use is ErrSignature:
// such a key can never verify a quote.
func ParsePublic(b []byte) (*Public, error) {
	p, x, y, err := parsePublicArea(b)
	if err != nil {
		return nil, err
	}
	switch p.Type {
	case algRSA:
		n := new(big.Int).SetBytes(x)
		if p.RSABits == 0 || n.BitLen() != p.RSABits {
			return nil, verify.Errorf(verify.ErrMalformed, "TPMT_PUBLIC RSA modulus: keyBits says %d bits, modulus has %d", p.RSABits, n.BitLen())
		}
		e := binary.BigEndian.Uint32(y)
		if e < 3 || e%2 == 0 || e > 1<<31-1 {
			return nil, verify.Errorf(verify.ErrMalformed, "TPMT_PUBLIC RSA exponent %d is not usable", e)
		}
		p.Key = &rsa.PublicKey{N: n, E: int(e)}
	case algECC:
		var curve elliptic.Curve
		switch p.Curve {
		case eccNistP256:
			curve = elliptic.P256()
		case eccNistP384:
			curve = elliptic.P384()
		case eccNistP521:
			curve = elliptic.P521()
		default:
			return nil, verify.Errorf(verify.ErrSignature, "TPMT_PUBLIC curveID %#04x: only NIST P-256, P-384 and P-521 AKs are supported", p.Curve)
		}
		size := (curve.Params().BitSize + 7) / 8
		if len(x) > size || len(y) > size {
			return nil, verify.Errorf(verify.ErrMalformed, "TPMT_PUBLIC ECC point: coordinates of %d and %d bytes exceed %d", len(x), len(y), size)
		}
		// Encode as an uncompressed point so that crypto/ecdh-backed
		// validation rejects points that are not on the curve.
		pt := make([]byte, 1+2*size)
		pt[0] = 4
		copy(pt[1+size-len(x):1+size], x)
		copy(pt[1+2*size-len(y):], y)
		// ParseUncompressedPublicKey validates the point (Go 1.25+).
		k, err := ecdsa.ParseUncompressedPublicKey(curve, pt)
		if err != nil {
			return nil, verify.Errorf(verify.ErrSignature, "TPMT_PUBLIC ECC point is not on curve %s: %w", curve.Params().Name, err)
		}
		p.Key = k
	}
	return p, nil
}

// checkAKAttributes requires a restricted signing key that never left its
// TPM: only such a key signs TPMS_ATTEST structures that the TPM generated,
// so a forged TPM_GENERATED_VALUE cannot be signed with TPM2_Sign.
func checkAKAttributes(p *Public) error {
	const need = attrRestricted | attrSign | attrFixedTPM | attrFixedParent | attrSensitiveDataOrigin
	if p.Attributes&need != need || p.Attributes&attrDecrypt != 0 {
		return verify.Errorf(verify.ErrSignature, "AK objectAttributes %#08x: expected restricted, sign, fixedTPM, fixedParent, sensitiveDataOrigin and not decrypt (%#08x)", p.Attributes, need)
	}
	return nil
}

// checkKeyStrength rejects keys too weak to be trusted.
func checkKeyStrength(k crypto.PublicKey, minRSABits int) error {
	switch k := k.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return verify.Errorf(verify.ErrPolicy, "AK RSA modulus: expected at least %d bits, got %d", minRSABits, k.N.BitLen())
		}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return verify.Errorf(verify.ErrSignature, "AK curve %s: only NIST P-256, P-384 and P-521 are supported", k.Curve.Params().Name)
		}
	default:
		return verify.Errorf(verify.ErrSignature, "AK key type %T: only RSA and ECDSA keys are supported", k)
	}
	return nil
}

// verifySignature checks sig over msg with key. The hash comes from the
// signature scheme; a key whose public area fixes a scheme must be used with
// exactly that scheme.
func verifySignature(key crypto.PublicKey, pub *Public, sig *Signature, msg []byte, sigHashes []crypto.Hash) error {
	if !slices.Contains(sigHashes, sig.Hash) {
		return verify.Errorf(verify.ErrPolicy, "TPMT_SIGNATURE hash %v: allowed signature hashes are %v", sig.Hash, sigHashes)
	}
	if pub != nil && pub.SchemeAlg != algNull && (pub.SchemeAlg != sig.Alg || pub.SchemeHash != sig.Hash) {
		return verify.Errorf(verify.ErrSignature, "TPMT_SIGNATURE scheme %#04x/%v: the AK is fixed to scheme %#04x/%v", sig.Alg, sig.Hash, pub.SchemeAlg, pub.SchemeHash)
	}
	h := sig.Hash.New()
	h.Write(msg)
	digest := h.Sum(nil)
	switch k := key.(type) {
	case *rsa.PublicKey:
		switch sig.Alg {
		case algRSASSA:
			if err := rsa.VerifyPKCS1v15(k, sig.Hash, digest, sig.RSA); err != nil {
				return verify.Errorf(verify.ErrSignature, "quote RSASSA-%v signature by the AK: %w", sig.Hash, err)
			}
		case algRSAPSS:
			if err := rsa.VerifyPSS(k, sig.Hash, digest, sig.RSA, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}); err != nil {
				return verify.Errorf(verify.ErrSignature, "quote RSAPSS-%v signature by the AK: %w", sig.Hash, err)
			}
		default:
			return verify.Errorf(verify.ErrSignature, "TPMT_SIGNATURE sigAlg %#04x: expected RSASSA or RSAPSS for an RSA AK", sig.Alg)
		}
	case *ecdsa.PublicKey:
		if sig.Alg != algECDSA {
			return verify.Errorf(verify.ErrSignature, "TPMT_SIGNATURE sigAlg %#04x: expected ECDSA for an ECC AK", sig.Alg)
		}
		r, s := new(big.Int).SetBytes(sig.R), new(big.Int).SetBytes(sig.S)
		if !ecdsa.Verify(k, digest, r, s) {
			return verify.Errorf(verify.ErrSignature, "quote ECDSA-%v signature by the AK on %s does not verify", sig.Hash, k.Curve.Params().Name)
		}
	default:
		return verify.Errorf(verify.ErrSignature, "AK key type %T: only RSA and ECDSA keys are supported", key)
	}
	return nil
}

// keyFingerprint is the SHA-256 of the key's DER SubjectPublicKeyInfo, the
// AK identity claims and pinned-key lookups use.
func keyFingerprint(k crypto.PublicKey) ([32]byte, error) {
	if rk, ok := k.(*rsa.PublicKey); ok && rk.N != nil && rk.N.Sign() > 0 && rk.E > 0 {
		// The same bytes as x509.MarshalPKIXPublicKey, whose reflective
		// encoding cost an Azure verification (a bound AK per call) about
		// 5 µs; encoded into a buffer on the stack (up to 4096-bit keys), as
		// the bound AK is fingerprinted on every call.
		var buf [rsaSPKIStackSize]byte
		return sha256.Sum256(appendRSASPKI(buf[:0], rk)), nil
	}
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return [32]byte{}, verify.Errorf(verify.ErrSignature, "AK key %T cannot be encoded: %w", k, err)
	}
	return sha256.Sum256(der), nil
}

// rsaSPKIStackSize holds the SubjectPublicKeyInfo of an RSA key of up to
// 4096 bits with any int exponent.
const rsaSPKIStackSize = 600

// rsaAlgorithmIdentifier is the DER AlgorithmIdentifier of an RSA
// SubjectPublicKeyInfo: SEQUENCE {rsaEncryption (PKCS #1), NULL}.
const rsaAlgorithmIdentifier = "\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01\x05\x00"

// rsaSPKI encodes k as a DER SubjectPublicKeyInfo; k.N must be positive and
// k.E positive.
func rsaSPKI(k *rsa.PublicKey) ([]byte, error) {
	if k.N == nil || k.N.Sign() <= 0 || k.E <= 0 {
		return nil, verify.Errorf(verify.ErrSignature, "RSA AK: modulus and exponent must be positive")
	}
	return appendRSASPKI(nil, k), nil
}

// appendRSASPKI appends the DER SubjectPublicKeyInfo of k (positive N and
// E): the rsaEncryption AlgorithmIdentifier and a BIT STRING holding the
// PKCS #1 RSAPublicKey SEQUENCE {n INTEGER, e INTEGER}.
func appendRSASPKI(dst []byte, k *rsa.PublicKey) []byte {
	nLen := (k.N.BitLen() + 7) / 8
	nInt := nLen
	if k.N.BitLen()%8 == 0 {
		nInt++ // a zero byte keeps the top bit clear: the INTEGER is positive
	}
	var eBuf [9]byte
	e := binary.BigEndian.AppendUint64(eBuf[:1], uint64(k.E))[1:]
	for len(e) > 1 && e[0] == 0 {
		e = e[1:]
	}
	if e[0]&0x80 != 0 {
		e = eBuf[8-len(e) : 9]
	}
	rsaKey := derSize(nInt) + derSize(len(e))
	bits := 1 + derSize(rsaKey)
	spki := len(rsaAlgorithmIdentifier) + derSize(bits)
	b := slices.Grow(dst, derSize(spki))
	b = appendDERHeader(b, 0x30, spki)
	b = append(b, rsaAlgorithmIdentifier...)
	b = appendDERHeader(b, 0x03, bits)
	b = append(b, 0) // no unused bits
	b = appendDERHeader(b, 0x30, rsaKey)
	b = appendDERHeader(b, 0x02, nInt)
	if nInt > nLen {
		b = append(b, 0)
	}
	off := len(b)
	b = b[:off+nLen] // within the capacity grown above
	k.N.FillBytes(b[off:])
	b = appendDERHeader(b, 0x02, len(e))
	return append(b, e...)
}

// derSize is the size of a DER element whose contents are n bytes.
func derSize(n int) int {
	s := 2 + n
	if n > 0x7f {
		for l := n; l > 0; l >>= 8 {
			s++ // a byte of the long form's length
		}
	}
	return s
}

// appendDERHeader appends the DER tag and definite length of an element
// whose contents are n bytes.
func appendDERHeader(b []byte, tag byte, n int) []byte {
	if n <= 0x7f {
		return append(b, tag, byte(n))
	}
	var l [8]byte
	i := len(l)
	for v := n; v > 0; v >>= 8 {
		i--
		l[i] = byte(v)
	}
	b = append(b, tag, 0x80|byte(len(l)-i))
	return append(b, l[i:]...)
}
