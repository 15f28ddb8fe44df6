package gputest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ocsp"
)

// CertState is what the OCSP responder says about one certificate.
type CertState struct {
	Status int // ocsp.Good, ocsp.Revoked, ocsp.Unknown
	Reason int // when revoked
}

// Responder is an OCSP responder on httptest answering for certificates
// issued by the CAs it knows, with a delegated responder certificate per
// issuer (id-kp-OCSPSigning), and echoing the request nonce.
type Responder struct {
	Server *httptest.Server

	mu sync.Mutex
	// Now is the time the responder signs at (thisUpdate); zero: time.Now.
	Now time.Time
	// Validity is nextUpdate − thisUpdate (default 24 h).
	Validity time.Duration
	// States overrides the status per serial (hex); default good.
	States map[string]CertState
	// NoNonce omits the nonce; WrongNonce echoes a different one.
	NoNonce, WrongNonce bool
	// RogueSigner signs with a self-made responder not issued by the issuer.
	RogueSigner bool
	// NoEKU issues the delegated responder without id-kp-OCSPSigning.
	NoEKU bool

	issuers map[issuerID]issuer // as the CertID names the issuer
}

// issuerID names an issuer as an OCSP CertID does: the SHA-384 of its name
// and of its public key. The name alone is not enough: every gputest PKI
// has the same CA names, and several PKIs share one responder.
type issuerID struct {
	nameHash, keyHash string
}

// issuerIDOf returns the CertID name of the CA c.
func issuerIDOf(c *x509.Certificate) issuerID {
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(c.RawSubjectPublicKeyInfo, &spki); err != nil {
		panic(err) // a parsed certificate's SPKI parses
	}
	return issuerID{string(sha384Sum(c.RawSubject)), string(sha384Sum(spki.PublicKey.RightAlign()))}
}

type issuer struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewResponder starts a responder for the given CAs (certificate and key
// pairs). CAs of several PKIs may share it, same names included: it tells
// them apart by key, as the request's CertID does.
func NewResponder(cas []*x509.Certificate, keys []*ecdsa.PrivateKey) *Responder {
	r := &Responder{States: map[string]CertState{}, issuers: map[issuerID]issuer{}, Validity: 24 * time.Hour}
	for i, c := range cas {
		r.issuers[issuerIDOf(c)] = issuer{c, keys[i]}
	}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	return r
}

// NewDeviceResponder answers for every CA of the given PKIs.
func NewDeviceResponder(pkis ...*PKI) *Responder {
	var cas []*x509.Certificate
	var keys []*ecdsa.PrivateKey
	for _, p := range pkis {
		cas = append(cas, p.Certs[1:]...)
		keys = append(keys, p.Keys[1:]...)
	}
	return NewResponder(cas, keys)
}

// Close stops the server.
func (r *Responder) Close() { r.Server.Close() }

// Set sets the state of the certificate c.
func (r *Responder) Set(c *x509.Certificate, s CertState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.States[c.SerialNumber.Text(16)] = s
}

type certID struct {
	HashAlgorithm  pkix.AlgorithmIdentifier
	IssuerNameHash []byte
	IssuerKeyHash  []byte
	SerialNumber   *big.Int
}

type ocspRequest struct {
	TBS struct {
		Version     int `asn1:"explicit,tag:0,default:0,optional"`
		RequestList []struct {
			Cert certID
		}
		Extensions []pkix.Extension `asn1:"explicit,tag:2,optional"`
	}
}

var oidNonce = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}

func (r *Responder) serve(w http.ResponseWriter, req *http.Request) {
	var der []byte
	var err error
	if req.Method == http.MethodPost {
		der, err = io.ReadAll(io.LimitReader(req.Body, 1<<16))
	} else {
		der, err = base64.StdEncoding.DecodeString(strings.TrimPrefix(req.URL.Path, "/"))
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var q ocspRequest
	if _, err := asn1.Unmarshal(der, &q); err != nil || len(q.TBS.RequestList) != 1 {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	id := q.TBS.RequestList[0].Cert
	r.mu.Lock()
	defer r.mu.Unlock()
	iss, ok := r.issuers[issuerID{string(id.IssuerNameHash), string(id.IssuerKeyHash)}]
	if !ok {
		w.Write(ocsp.UnauthorizedErrorResponse)
		return
	}
	now := r.Now
	if now.IsZero() {
		now = time.Now()
	}
	st := r.States[id.SerialNumber.Text(16)]
	tmpl := ocsp.Response{
		Status: st.Status, SerialNumber: id.SerialNumber, RevocationReason: st.Reason,
		ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(r.Validity), IssuerHash: hashSHA384,
	}
	if st.Status == ocsp.Revoked {
		tmpl.RevokedAt = now.Add(-time.Hour)
	}
	if !r.NoNonce {
		for _, e := range q.TBS.Extensions {
			if e.Id.Equal(oidNonce) {
				v := e.Value
				if r.WrongNonce {
					v = append([]byte(nil), v...)
					v[len(v)-1] ^= 1
				}
				tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{Id: oidNonce, Value: v})
			}
		}
	}
	signerIssuer, signerIssuerKey := iss.cert, iss.key
	if r.RogueSigner {
		signerIssuer, signerIssuerKey = NewRoot()
	}
	key := NewKey()
	eku := []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}
	if r.NoEKU {
		eku = nil
	}
	resp := Sign(&x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "NVIDIA OCSP Responder (test)"},
		NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: eku,
	}, &key.PublicKey, signerIssuer, signerIssuerKey)
	tmpl.Certificate = resp
	out, err := ocsp.CreateResponse(iss.cert, resp, tmpl, key)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	w.Write(out)
}

const hashSHA384 = crypto.SHA384

func sha384Sum(b []byte) []byte {
	h := sha512.Sum384(b)
	return h[:]
}
