package tpm

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	encasn1 "encoding/asn1"
	"encoding/binary"
	"math/big"
	"slices"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

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
		// 5 µs.
		if der, err := rsaSPKI(rk); err == nil {
			return sha256.Sum256(der), nil
		}
	}
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return [32]byte{}, verify.Errorf(verify.ErrSignature, "AK key %T cannot be encoded: %w", k, err)
	}
	return sha256.Sum256(der), nil
}

// oidRSAEncryption is rsaEncryption (PKCS #1), the algorithm of an RSA
// SubjectPublicKeyInfo.
var oidRSAEncryption = encasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}

// rsaSPKI encodes k as a DER SubjectPublicKeyInfo: {rsaEncryption, NULL}
// and a BIT STRING holding the PKCS #1 RSAPublicKey {n, e}.
func rsaSPKI(k *rsa.PublicKey) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oidRSAEncryption)
			b.AddASN1NULL()
		})
		b.AddASN1(cbasn1.BIT_STRING, func(b *cryptobyte.Builder) {
			b.AddUint8(0) // no unused bits
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1BigInt(k.N)
				b.AddASN1Int64(int64(k.E))
			})
		})
	})
	return b.Bytes()
}
