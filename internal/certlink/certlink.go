// Package certlink verifies certificate paths of a fixed order link by link,
// remembering every link whose signature verified, so that certificates
// shared by many chains (a vendor's intermediate CAs) cost one signature
// check per verifier instead of one per chain, and concurrent checks of the
// same link are done once.
//
// It accepts a path only when it can tell that crypto/x509's Verify would
// accept the same path: anything it does not model (name constraints,
// policy constraints, a certificate twice) makes it answer "unknown", and
// the caller then runs x509.Verify, which also words every rejection. It
// never rejects on its own.
package certlink

import (
	"crypto/sha256"
	"crypto/x509"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/trustfactory/attest/internal/lru"
)

// linkKey is SHA-256 of the child's DER followed by SHA-256 of the parent's:
// a different certificate on either side is a different key.
type linkKey [64]byte

// Cache remembers verified links. It is safe for concurrent use; the zero
// value is not usable, call New.
type Cache struct {
	links *lru.Cache[linkKey, struct{}]
	group singleflight.Group
}

// New returns a cache of at most n verified links.
func New(n int) *Cache {
	return &Cache{links: lru.New[linkKey, struct{}](n)}
}

func keyOf(child, parent *x509.Certificate) linkKey {
	var k linkKey
	c, p := sha256.Sum256(child.Raw), sha256.Sum256(parent.Raw)
	copy(k[:32], c[:])
	copy(k[32:], p[:])
	return k
}

// CheckSignatureFrom is child.CheckSignatureFrom(parent) (the parent's CA
// and key-usage constraints, then the signature), remembered on success.
// Concurrent calls for the same link share one check.
func (c *Cache) CheckSignatureFrom(child, parent *x509.Certificate) error {
	k := keyOf(child, parent)
	if _, ok := c.links.Get(k, time.Time{}); ok {
		return nil
	}
	_, err, _ := c.group.Do(string(k[:]), func() (any, error) {
		if _, ok := c.links.Get(k, time.Time{}); ok {
			return nil, nil
		}
		if err := child.CheckSignatureFrom(parent); err != nil {
			return nil, err
		}
		c.links.Add(k, struct{}{}, time.Time{})
		return nil, nil
	})
	return err
}

// Verify reports whether path (leaf first, trust anchor last) is known to
// be accepted by x509.Verify at now with the anchor as the only root, the
// others as intermediates and any extended key usage. Signatures of links
// not remembered are checked concurrently. false means "not known": the
// caller must decide with x509.Verify.
func (c *Cache) Verify(path []*x509.Certificate, now time.Time) bool {
	if len(path) < 2 || !modeled(path, now) {
		return false
	}
	var pending []int
	for i := 0; i+1 < len(path); i++ {
		if _, ok := c.links.Get(keyOf(path[i], path[i+1]), time.Time{}); !ok {
			pending = append(pending, i)
		}
	}
	if len(pending) == 0 {
		return true
	}
	ok := make([]bool, len(pending))
	var wg sync.WaitGroup
	for j, i := range pending[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok[j+1] = c.CheckSignatureFrom(path[i], path[i+1]) == nil
		}()
	}
	ok[0] = c.CheckSignatureFrom(path[pending[0]], path[pending[0]+1]) == nil
	wg.Wait()
	for _, o := range ok {
		if !o {
			return false
		}
	}
	return true
}

// modeled checks everything x509.Verify checks of this path except the
// signatures, and refuses paths using features it does not model. It
// mirrors crypto/x509's isValid: no unhandled critical extension, issuer
// name equal to the parent's subject, validity at now, intermediates that
// are CAs, path-length limits; the anchor is exempt only from the CA check,
// as a root is there (CheckSignatureFrom still applies it).
func modeled(path []*x509.Certificate, now time.Time) bool {
	for i, c := range path {
		if len(c.Raw) == 0 || c.PublicKey == nil || len(c.UnhandledCriticalExtensions) > 0 {
			return false
		}
		if now.Before(c.NotBefore) || now.After(c.NotAfter) {
			return false
		}
		if hasConstraints(c) {
			return false
		}
		for _, d := range path[:i] {
			// x509 skips a parent already in the chain; let it decide.
			if string(d.RawSubject) == string(c.RawSubject) && string(d.RawSubjectPublicKeyInfo) == string(c.RawSubjectPublicKeyInfo) {
				return false
			}
		}
		if i == 0 {
			continue
		}
		if string(path[i-1].RawIssuer) != string(c.RawSubject) {
			return false
		}
		if i < len(path)-1 && (!c.BasicConstraintsValid || !c.IsCA) {
			return false
		}
		// x509 counts the intermediates below c: the chain before c less the leaf.
		if c.BasicConstraintsValid && c.MaxPathLen >= 0 && i-1 > c.MaxPathLen {
			return false
		}
	}
	return true
}

// hasConstraints reports name or policy constraints, which x509.Verify
// applies across the chain and this package leaves to it.
func hasConstraints(c *x509.Certificate) bool {
	return c.PermittedDNSDomainsCritical ||
		len(c.PermittedDNSDomains) > 0 || len(c.ExcludedDNSDomains) > 0 ||
		len(c.PermittedIPRanges) > 0 || len(c.ExcludedIPRanges) > 0 ||
		len(c.PermittedEmailAddresses) > 0 || len(c.ExcludedEmailAddresses) > 0 ||
		len(c.PermittedURIDomains) > 0 || len(c.ExcludedURIDomains) > 0 ||
		len(c.PolicyMappings) > 0 ||
		c.RequireExplicitPolicy > 0 || c.RequireExplicitPolicyZero ||
		c.InhibitPolicyMapping > 0 || c.InhibitPolicyMappingZero ||
		c.InhibitAnyPolicy > 0 || c.InhibitAnyPolicyZero
}
