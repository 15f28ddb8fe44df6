// Package pcktest holds what the public test beds of DCAP quotes (tdxtest
// and sgxtest) share to mint quotes: raw P-256 signatures and keys as the
// quote formats carry them, and the QE report data that binds an
// attestation key.
package pcktest

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
)

// RawSign signs SHA-256(msg) with k and returns the raw r‖s signature (64
// bytes). It panics if signing fails, which only a broken key causes: it
// serves test beds.
func RawSign(k *ecdsa.PrivateKey, msg []byte) []byte {
	d := sha256.Sum256(msg)
	r, s, err := ecdsa.Sign(rand.Reader, k, d[:])
	if err != nil {
		panic(err)
	}
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return out
}

// RawPub returns k as the raw x‖y P-256 point quotes carry (64 bytes). It
// panics on a key that is not a valid point.
func RawPub(k *ecdsa.PublicKey) []byte {
	b, err := k.Bytes()
	if err != nil {
		panic(err)
	}
	return b[1:]
}

// QEReportData is the report data of a QE report that vouches for the
// attestation key akPub with authData: SHA-256(akPub ‖ authData), zero
// padded.
func QEReportData(akPub, authData []byte) [64]byte {
	d := sha256.Sum256(append(append([]byte(nil), akPub...), authData...))
	var out [64]byte
	copy(out[:], d[:])
	return out
}
