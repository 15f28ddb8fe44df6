// Package nrastest is a test attester for package nras: a stand-in for
// NVIDIA's NRAS that mints detached EATs (claims 3.0 and 4.0, GPUs and
// switches) signed ES384 with a test key, and serves its JWKS on an
// httptest server. It is for tests (ours and users'); nothing in it is
// trusted by non-test code.
package nrastest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// Authority signs NRAS-shaped tokens. Its fields may be changed between
// calls (for example a new KID to simulate rotation) but not during them.
type Authority struct {
	Key    *ecdsa.PrivateKey
	KID    string
	Issuer string // iss of every token, also the base URL the JWKS is served under
	// Extra keys published in the JWKS besides Key (rotation, decoys).
	Extra map[string]*ecdsa.PublicKey
}

// NewAuthority returns an authority with a fresh P-384 key, a kid shaped
// like NVIDIA's, and issuer as iss.
func NewAuthority(issuer string) (*Authority, error) {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, err
	}
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	return &Authority{Key: k, KID: "nv-eat-kid-test-" + hex.EncodeToString(id[:]), Issuer: issuer}, nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func fixed48(b []byte) []byte {
	out := make([]byte, 48)
	copy(out[48-len(b):], b)
	return out
}

// JWK returns the public JWK of key under kid, shaped like NVIDIA's (no alg,
// no use). key must be a NIST curve key (it panics otherwise: a test's
// mistake); NRAS keys are P-384, others serve negative tests.
func JWK(kid string, key *ecdsa.PublicKey) map[string]any {
	pt, err := key.Bytes() // 0x04 ‖ X ‖ Y
	crv := map[int]string{65: "P-256", 97: "P-384", 133: "P-521"}[len(pt)]
	if err != nil || crv == "" {
		panic(fmt.Sprintf("nrastest: JWK: not a NIST public key (%d bytes): %v", len(pt), err))
	}
	n := (len(pt) - 1) / 2
	return map[string]any{"kty": "EC", "crv": crv, "kid": kid, "x": b64(pt[1 : 1+n]), "y": b64(pt[1+n:])}
}

// JWKS returns the JWKS document publishing the authority's keys.
func (a *Authority) JWKS() []byte {
	keys := []any{JWK(a.KID, &a.Key.PublicKey)}
	kids := make([]string, 0, len(a.Extra))
	for k := range a.Extra {
		kids = append(kids, k)
	}
	sort.Strings(kids)
	for _, k := range kids {
		keys = append(keys, JWK(k, a.Extra[k]))
	}
	b, _ := json.Marshal(map[string]any{"keys": keys})
	return b
}

// SignRaw signs payload (JSON bytes) under header (JSON bytes) with key and
// returns the compact JWS: ES384, raw r‖s.
func SignRaw(key *ecdsa.PrivateKey, header, payload []byte) (string, error) {
	in := b64(header) + "." + b64(payload)
	d := sha512.Sum384([]byte(in))
	r, s, err := ecdsa.Sign(rand.Reader, key, d[:])
	if err != nil {
		return "", err
	}
	sig := append(fixed48(r.Bytes()), fixed48(s.Bytes())...)
	return in + "." + b64(sig), nil
}

// Sign signs claims with the authority's key, header {"kid","alg":"ES384"}.
func (a *Authority) Sign(claims map[string]any) (string, error) {
	h, _ := json.Marshal(map[string]string{"kid": a.KID, "alg": "ES384"})
	p, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	return SignRaw(a.Key, h, p)
}

// certChain is a cert-chain claim object as NRAS 3.0 writes it.
func certChain(expires string) map[string]any {
	return map[string]any{
		"x-nvidia-cert-status": "valid", "x-nvidia-cert-ocsp-status": "good",
		"x-nvidia-cert-expiration-date": expires, "x-nvidia-cert-revocation-reason": nil,
	}
}

// GPUClaims returns the device claims of a GPU that passed, as NRAS writes
// them for claims version "3.0" or "4.0" (registered claims iss, iat, nbf,
// exp, jti and eat_nonce are added by Mint). ueid identifies the device.
func GPUClaims(version, ueid string) map[string]any {
	c := map[string]any{
		"measres": "success", "secboot": true, "dbgstat": "disabled", "hwmodel": "GH100 A01 GSP BROM",
		"oemid": "5703", "ueid": ueid,
		"x-nvidia-gpu-driver-version": "550.90.07", "x-nvidia-gpu-vbios-version": "96.00.9F.00.01",
		"x-nvidia-gpu-arch-check": true, "x-nvidia-attestation-warning": nil,
		"x-nvidia-gpu-attestation-report-parsed": true, "x-nvidia-gpu-attestation-report-nonce-match": true,
		"x-nvidia-gpu-attestation-report-signature-verified":    true,
		"x-nvidia-gpu-attestation-report-cert-chain":            certChain("9999-12-31T23:59:59Z"),
		"x-nvidia-gpu-attestation-report-cert-chain-fwid-match": true,
		"x-nvidia-gpu-vbios-index-no-conflict":                  true,
	}
	for _, r := range []string{"driver", "vbios"} {
		p := "x-nvidia-gpu-" + r + "-rim-"
		for _, f := range []string{"fetched", "schema-validated", "signature-verified", "version-match", "measurements-available"} {
			c[p+f] = true
		}
		c[p+"cert-chain"] = certChain("2026-06-01T02:08:29Z")
	}
	if version == "4.0" {
		c["x-nvidia-attester-claims"] = map[string]any{"FSP_UCODE_MIN_SVN": 5}
		c["x-nvidia-mismatch-opaque-data-records"] = nil
	}
	return c
}

// SwitchClaims is GPUClaims for an LS10 NVSwitch.
func SwitchClaims(version, ueid string) map[string]any {
	c := map[string]any{
		"measres": "success", "secboot": true, "dbgstat": "disabled", "hwmodel": "LS_10 A01 FSP BROM",
		"oemid": nil, "ueid": ueid,
		"x-nvidia-switch-bios-version": "96.10.55.00.01", "x-nvidia-switch-arch-check": true,
		"x-nvidia-attestation-warning":                             nil,
		"x-nvidia-switch-attestation-report-parsed":                true,
		"x-nvidia-switch-attestation-report-nonce-match":           true,
		"x-nvidia-switch-attestation-report-signature-verified":    true,
		"x-nvidia-switch-attestation-report-cert-chain":            certChain("9999-12-31T23:59:59Z"),
		"x-nvidia-switch-attestation-report-cert-chain-fwid-match": true,
	}
	p := "x-nvidia-switch-bios-rim-"
	for _, f := range []string{"fetched", "schema-validated", "signature-verified", "version-match", "measurements-available"} {
		c[p+f] = true
	}
	c[p+"cert-chain"] = certChain("2026-05-20T17:59:06Z")
	if version == "4.0" {
		c["x-nvidia-attester-claims"] = map[string]any{}
		c["x-nvidia-mismatch-opaque-data-records"] = nil
	}
	return c
}

// Device is one device token to mint: its submodule name ("GPU-0",
// "SWITCH-0") and its claims without the registered ones.
type Device struct {
	Name   string
	Claims map[string]any
}

// Request describes a detached EAT to mint.
type Request struct {
	Nonce   []byte    // the 32-byte request nonce (eat_nonce, hex)
	Version string    // x-nvidia-ver; "" means "3.0"
	Now     time.Time // iat and nbf; exp is one hour later as NRAS does
	// Devices default to one GPU "GPU-0" with GPUClaims(Version, …).
	Devices []Device
	// Overall replaces or adds overall claims after they are built (for
	// negative tests: a nil value deletes the claim).
	Overall map[string]any
	// DeviceOverride does the same for every device token.
	DeviceOverride map[string]any
}

var jtiCounter atomic.Uint64

func jti() string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", jtiCounter.Add(1)) }

func apply(c, over map[string]any) {
	for k, v := range over {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
}

// Mint returns an NRAS detached EAT: [["JWT", overall], {name: device JWS}].
func (a *Authority) Mint(r Request) ([]byte, error) {
	if len(r.Nonce) == 0 {
		return nil, errors.New("nrastest: Mint: no nonce")
	}
	if r.Version == "" {
		r.Version = "3.0"
	}
	if r.Now.IsZero() {
		return nil, errors.New("nrastest: Mint: zero time")
	}
	devs := r.Devices
	if devs == nil {
		devs = []Device{{Name: "GPU-0", Claims: GPUClaims(r.Version, "478176379286082186618948445787393647364802107249")}}
	}
	nonce := hex.EncodeToString(r.Nonce)
	reg := func() map[string]any {
		return map[string]any{"iss": a.Issuer, "iat": r.Now.Unix(), "nbf": r.Now.Unix(), "exp": r.Now.Add(time.Hour).Unix(), "jti": jti(), "eat_nonce": nonce}
	}
	tokens := map[string]string{}
	submods := map[string]any{}
	for _, d := range devs {
		c := reg()
		maps.Copy(c, d.Claims)
		apply(c, r.DeviceOverride)
		t, err := a.Sign(c)
		if err != nil {
			return nil, err
		}
		tokens[d.Name] = t
		sum := sha256.Sum256([]byte(t))
		submods[d.Name] = []any{"DIGEST", []any{"SHA-256", hex.EncodeToString(sum[:])}}
	}
	oc := reg()
	oc["sub"] = "NVIDIA-PLATFORM-ATTESTATION"
	oc["x-nvidia-ver"] = r.Version
	oc["x-nvidia-overall-att-result"] = true
	oc["submods"] = submods
	apply(oc, r.Overall)
	ot, err := a.Sign(oc)
	if err != nil {
		return nil, err
	}
	return Assemble(ot, devs, tokens), nil
}

// Assemble writes a detached EAT from an overall token and device tokens
// (in the order of devs).
func Assemble(overall string, devs []Device, tokens map[string]string) []byte {
	var b bytes.Buffer
	o, _ := json.Marshal(overall)
	b.WriteString(`[["JWT",`)
	b.Write(o)
	b.WriteString(`],{`)
	for i, d := range devs {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(d.Name)
		v, _ := json.Marshal(tokens[d.Name])
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteString(`}]`)
	return b.Bytes()
}

// Resign re-signs a real detached EAT with the authority's key: the device
// payloads are kept byte for byte, the overall payload gets the new digests
// and every iss becomes a.Issuer. The result proves only that the verifier
// handles real claims; it is not NVIDIA's signature.
func (a *Authority) Resign(eat []byte) ([]byte, error) {
	var doc [2]json.RawMessage
	if err := json.Unmarshal(eat, &doc); err != nil {
		return nil, err
	}
	var head [2]string
	if err := json.Unmarshal(doc[0], &head); err != nil {
		return nil, err
	}
	var devMap map[string]string
	if err := json.Unmarshal(doc[1], &devMap); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(devMap))
	for n := range devMap {
		names = append(names, n)
	}
	sort.Strings(names)
	devs := make([]Device, 0, len(names))
	tokens := map[string]string{}
	digests := map[string]any{}
	for _, n := range names {
		c, err := payloadOf(devMap[n])
		if err != nil {
			return nil, err
		}
		c["iss"] = a.Issuer
		t, err := a.Sign(c)
		if err != nil {
			return nil, err
		}
		devs = append(devs, Device{Name: n})
		tokens[n] = t
		sum := sha256.Sum256([]byte(t))
		digests[n] = []any{"DIGEST", []any{"SHA-256", hex.EncodeToString(sum[:])}}
	}
	oc, err := payloadOf(head[1])
	if err != nil {
		return nil, err
	}
	oc["iss"] = a.Issuer
	oc["submods"] = digests
	ot, err := a.Sign(oc)
	if err != nil {
		return nil, err
	}
	return Assemble(ot, devs, tokens), nil
}

func payloadOf(jws string) (map[string]any, error) {
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		return nil, errors.New("nrastest: not a compact JWS")
	}
	p, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.UseNumber()
	var c map[string]any
	return c, dec.Decode(&c)
}

// Server serves the authority's JWKS at /.well-known/jwks.json (read on every
// request, so rotation shows) and counts the requests.
type Server struct {
	*httptest.Server
	requests atomic.Int64
}

// Requests returns how many JWKS requests the server answered.
func (s *Server) Requests() int64 { return s.requests.Load() }

// NewServer starts a JWKS server for a. The authority's Issuer is not
// changed: give the verifier the server's URL as base URL and mint with
// Issuer = that URL (see NewServedAuthority).
func NewServer(a *Authority) *Server {
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		s.requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(a.JWKS())
	}))
	return s
}

// NewServedAuthority returns an authority whose Issuer is the URL of the
// JWKS server it returns. Close the server when done.
func NewServedAuthority() (*Authority, *Server, error) {
	a, err := NewAuthority("")
	if err != nil {
		return nil, nil, err
	}
	s := NewServer(a)
	a.Issuer = s.URL
	return a, s, nil
}
