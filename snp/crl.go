package snp

import (
	"bytes"
	"context"
	"crypto/x509"
	"time"

	"github.com/trustfactory/attest/verify"
)

// maxCRLBytes caps a CRL; AMD's are a few kilobytes.
const maxCRLBytes = 1 << 20

// verifiedCRL is a CRL whose signature by a pinned ARK verified, reduced to
// what the per-call check needs. Cached by the hash of its exact bytes and
// the ARK; its time window is re-checked on every use.
type verifiedCRL struct {
	thisUpdate, nextUpdate time.Time
	revoked                map[string]time.Time // serial (big-endian bytes) → revocation time
}

// checkRevocation fetches the product's CRL for key's intermediate, checks it
// (signature by the pinned ARK, issuer, validity at now) and that the
// intermediate's serial is not listed. It returns the CRL's nextUpdate.
func (v *Verifier) checkRevocation(ctx context.Context, roots Roots, key SigningKey, intermediate *x509.Certificate, now time.Time) (time.Time, error) {
	if v.source == nil {
		return time.Time{}, verify.Errorf(verify.ErrCollateral, "revocation check: no collateral source for the %s CRL (configure WithKDS, or WithoutRevocationUnsafe)", roots.Product)
	}
	der, err := v.source.CRL(ctx, roots.Product, key)
	if err != nil {
		return time.Time{}, verify.Wrap(verify.ErrCollateral, err)
	}
	// A CRL that is malformed, not the ARK's or outside its validity is a
	// collateral failure besides its own kind: it says nothing about the
	// report, and verify.FailureVector reads it as collateral, not as a
	// cryptographic failure of the evidence.
	crl, err := v.crl(roots, der)
	if err != nil {
		return time.Time{}, verify.Errorf(verify.ErrCollateral, "%w", err)
	}
	if now.Before(crl.thisUpdate) || now.After(crl.nextUpdate) {
		return time.Time{}, verify.Errorf(verify.ErrCollateral, "%w", verify.Errorf(verify.ErrChain, "%s CRL: %w", roots.Product, verify.Errorf(verify.ErrExpired, "valid %s to %s, verification time %s",
			crl.thisUpdate.UTC().Format(time.RFC3339), crl.nextUpdate.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))))
	}
	if at, ok := crl.revoked[string(intermediate.SerialNumber.Bytes())]; ok {
		return time.Time{}, verify.Errorf(verify.ErrRevoked, "%s %q serial %s: revoked at %s by the %s ARK's CRL",
			intermediateName(key), intermediate.Subject.CommonName,
			intermediate.SerialNumber.Text(16), at.UTC().Format(time.RFC3339), roots.Product)
	}
	return crl.nextUpdate, nil
}

func (v *Verifier) crl(roots Roots, der []byte) (*verifiedCRL, error) {
	if len(der) > maxCRLBytes {
		return nil, verify.Errorf(verify.ErrLimit, "%s CRL: %d bytes exceeds the limit of %d", roots.Product, len(der), maxCRLBytes)
	}
	k := v.cacheKey(roots, SigningKeyNone, der)
	if c, ok := v.crls.Get(k, time.Time{}); ok {
		return c, nil
	}
	rl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "%s CRL: %w", roots.Product, err)
	}
	if !bytes.Equal(rl.RawIssuer, roots.ARK.RawSubject) {
		return nil, verify.Errorf(verify.ErrChain, "%s CRL: issuer %q is not the pinned ARK %q", roots.Product, rl.Issuer.CommonName, roots.ARK.Subject.CommonName)
	}
	if rl.SignatureAlgorithm != x509.SHA384WithRSAPSS {
		return nil, verify.Errorf(verify.ErrChain, "%s CRL: signature algorithm: expected %s, got %s", roots.Product, x509.SHA384WithRSAPSS, rl.SignatureAlgorithm)
	}
	if err := rl.CheckSignatureFrom(roots.ARK); err != nil {
		return nil, verify.Errorf(verify.ErrChain, "%s CRL: not signed by the pinned ARK: %w", roots.Product, err)
	}
	if rl.NextUpdate.IsZero() {
		return nil, verify.Errorf(verify.ErrMalformed, "%s CRL: no nextUpdate", roots.Product)
	}
	c := &verifiedCRL{thisUpdate: rl.ThisUpdate, nextUpdate: rl.NextUpdate, revoked: make(map[string]time.Time, len(rl.RevokedCertificateEntries))}
	for _, e := range rl.RevokedCertificateEntries {
		c.revoked[string(e.SerialNumber.Bytes())] = e.RevocationTime
	}
	v.log.Debug("snp: verified CRL", "product", roots.Product, "thisUpdate", rl.ThisUpdate, "nextUpdate", rl.NextUpdate, "revoked", len(c.revoked))
	// Keyed by content, so it never goes stale: the window is checked per call.
	v.crls.Add(k, c, time.Time{})
	return c, nil
}
