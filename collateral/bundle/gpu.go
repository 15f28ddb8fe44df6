package bundle

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"sync"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/gpu/ocsp"
	"github.com/trustfactory/attest/gpu/rim"
	"github.com/trustfactory/attest/verify"
)

// rimRecorder is a rim.Source that remembers every RIM it served by ID.
type rimRecorder struct {
	next rim.Source
	mu   sync.Mutex
	docs map[string][]byte // nil value: asked for, not found
}

func (r *rimRecorder) Get(ctx context.Context, id string) ([]byte, error) {
	b, err := r.next.Get(ctx, id)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.docs[id] = nil
	} else {
		r.docs[id] = append([]byte(nil), b...)
	}
	return b, err
}

// ocspRecorder is an ocsp.Source that remembers every answer by the
// bundle path of its certificate, and asks without a nonce: a bundle holds
// recorded answers, which the offline checker matches by certificate.
type ocspRecorder struct {
	next    ocsp.Source
	mu      sync.Mutex
	answers map[string][]byte // nil value: asked for, not found
}

// SendsNonce implements ocsp.NonceSource: live sources get a request
// without a nonce; recorded ones (inspect) none at all.
func (r *ocspRecorder) SendsNonce() bool { return false }

func (r *ocspRecorder) Fetch(ctx context.Context, q ocsp.Query) ([]byte, error) {
	b, err := r.next.Fetch(ctx, q)
	p := ocspPath(q.Issuer, q.Cert)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.answers[p] = nil
	} else {
		r.answers[p] = append([]byte(nil), b...)
	}
	return b, err
}

// ocspPath names an answer by its issuer's key and its serial: serials
// alone collide across issuers.
func ocspPath(issuer, cert *x509.Certificate) string {
	h := []byte("unknown-issuer")
	if issuer != nil {
		s := sha256.Sum256(issuer.RawSubjectPublicKeyInfo)
		h = s[:8]
	}
	serial := "0"
	if cert != nil && cert.SerialNumber != nil {
		serial = cert.SerialNumber.Text(16)
	}
	return join("gpu", "ocsp", hex.EncodeToString(h)+"_"+serial+".der")
}

// gpuVerifiers builds the GPU and switch verifiers over the given sources.
//
// listAll (inspect) tolerates missing OCSP answers, so that verification
// goes on to the RIMs and every need is listed; the recorder still reports
// each missing answer.
func gpuVerifiers(rims rim.Source, answers ocsp.Source, deviceRoots, rimRoots []*x509.Certificate, listAll bool) (map[verify.Format]*gpu.Verifier, *rim.Verifier, error) {
	var ropts []rim.Option
	if len(rimRoots) > 0 {
		ropts = append(ropts, rim.WithRoots(rimRoots...))
	}
	rv, err := rim.NewVerifier(ropts...)
	if err != nil {
		return nil, nil, err
	}
	out := map[verify.Format]*gpu.Verifier{}
	for _, f := range []verify.Format{verify.FormatGPU, verify.FormatNVSwitch} {
		prov, err := gpu.NewRIMProvider(rv, rims, 0)
		if err != nil {
			return nil, nil, err
		}
		var copts []ocsp.Option
		if listAll {
			copts = append(copts, ocsp.WithMissingAnswersUnsafe())
		}
		chk, err := ocsp.NewChecker(answers, copts...)
		if err != nil {
			return nil, nil, err
		}
		opts := []gpu.Option{gpu.WithRIMs(prov), gpu.WithOCSP(chk)}
		if len(deviceRoots) > 0 {
			opts = append(opts, gpu.WithDeviceRoots(deviceRoots...))
		}
		v, err := gpu.NewVerifier(f, opts...)
		if err != nil {
			return nil, nil, err
		}
		out[f] = v
	}
	return out, rv, nil
}

// rimValidity is the validity of a RIM's signer chain.
func rimValidity(rv *rim.Verifier, doc []byte, now time.Time) Validity {
	m, err := rv.Verify(context.Background(), doc, now)
	if err != nil {
		return Validity{}
	}
	var v Validity
	for _, c := range m.Chain {
		if v.NotBefore.IsZero() || c.NotBefore.After(v.NotBefore) {
			v.NotBefore = c.NotBefore.UTC()
		}
		if v.NotAfter.IsZero() || c.NotAfter.Before(v.NotAfter) {
			v.NotAfter = c.NotAfter.UTC()
		}
	}
	return v
}

// ocspValidity reads thisUpdate and nextUpdate of an answer (verified by
// the checker before it is written).
func ocspValidity(der []byte) Validity {
	r, err := xocsp.ParseResponse(der, nil)
	if err != nil {
		return Validity{}
	}
	return Validity{NotBefore: r.ThisUpdate.UTC(), NotAfter: r.NextUpdate.UTC()}
}
