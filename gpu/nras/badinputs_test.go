package nras_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/gpu/nras"
	"github.com/trustfactory/attest/gpu/nras/nrastest"
	"github.com/trustfactory/attest/verify"
)

// Bad inputs for the NRAS verifier, by case ID. Each test asserts the error
// kind with errors.Is.
//
//	ID       input                                                          expected kind
//	NRAS01   any byte of a token's payload or signature text changed         ErrSignature
//	NRAS02   a claim changed in the decoded payload, original signature      ErrSignature
//	NRAS03   any byte of a token's header text changed                       ErrSignature, or ErrMalformed/ErrUnsupported when the header no longer parses
//	NRAS04   kid not in the JWKS (unknown key)                               ErrSignature
//	NRAS05   kid of another trusted key (wrong kid)                          ErrSignature
//	NRAS06   alg none, empty or garbage signature                            ErrSignature
//	NRAS07   alg HS256/HS384 MAC keyed with public JWKS bytes                ErrSignature
//	NRAS08   alg ES256, RS256, EdDSA, PS384, "es384"                         ErrUnsupported
//	NRAS09   attacker key in header jwk/jku/x5c (own kid or the real kid)    ErrSignature
//	NRAS10   expired: now == exp, now > exp (overall or device token)        ErrExpired
//	NRAS11   nbf or iat in the future beyond the skew                        ErrExpired
//	NRAS12   exp missing; exp not an integer                                 ErrMalformed
//	NRAS13   eat_nonce ≠ expected nonce                                      ErrFreshness
//	NRAS14   expected nonce empty, all zero, or not 32 bytes; InitDataDigest ErrConfig
//	NRAS15   device eat_nonce ≠ overall eat_nonce (both signed)              ErrBinding
//	NRAS16   device token digest ≠ overall submods digest; genuine device    ErrBinding
//	         token of another result swapped in
//	NRAS17   device set ≠ submods set (one removed, one added, renamed)      ErrBinding
//	NRAS18   device name twice in the map                                    ErrMalformed
//	NRAS19   oversize evidence, token or header; more than MaxDevices        ErrLimit
//	NRAS20   every truncation of a real detached EAT                         ErrMalformed
//	NRAS21   iss of another NRAS instance (staging vs production)            ErrBinding
//	NRAS22   x-nvidia-overall-att-result false or missing                    ErrPolicy
//	NRAS23   sub other than NVIDIA-PLATFORM-ATTESTATION; x-nvidia-ver 1.0    ErrUnsupported
//	NRAS24   claim of the wrong type (measres number, flag string, eat_nonce ErrMalformed
//	         not 64 hex, submods not DIGEST-shaped, ueid missing)
//	NRAS25   submods digest algorithm other than SHA-256                     ErrUnsupported
//	NRAS26   JWE (5 parts), crit or b64 header                               ErrUnsupported
//	NRAS27   JWKS with private key, symmetric key, wrong curve, x5c leaf of  ErrConfig (offline)
//	         another key, duplicate kid
//	NRAS28   switch result to the GPU verifier; GPU-name typo ("GPU-01")     ErrUnsupported / ErrMalformed
//	NRAS29   Split part naming a device not in the EAT; a part whose other   ErrMalformed / ErrBinding
//	         device's digest does not match
//	NRAS30   JSON outside the shape: not an array, label not "JWT", trailing ErrMalformed / ErrUnsupported
//	         data, no devices

type eatDoc struct {
	overall string
	names   []string
	tokens  map[string]string
}

func splitEAT(t *testing.T, eat []byte) eatDoc {
	t.Helper()
	var doc [2]json.RawMessage
	require.NoError(t, json.Unmarshal(eat, &doc))
	var head [2]string
	require.NoError(t, json.Unmarshal(doc[0], &head))
	d := eatDoc{overall: head[1], tokens: map[string]string{}}
	dec := json.NewDecoder(bytes.NewReader(doc[1]))
	_, _ = dec.Token()
	for dec.More() {
		k, _ := dec.Token()
		var v string
		require.NoError(t, dec.Decode(&v))
		d.names = append(d.names, k.(string))
		d.tokens[k.(string)] = v
	}
	return d
}

func (d eatDoc) bytes() []byte {
	devs := make([]nrastest.Device, len(d.names))
	for i, n := range d.names {
		devs[i] = nrastest.Device{Name: n}
	}
	return nrastest.Assemble(d.overall, devs, d.tokens)
}

// parts splits a compact JWS.
func parts(tok string) (h, p, s string) {
	x := strings.SplitN(tok, ".", 3)
	return x[0], x[1], x[2]
}

func decodePart(t *testing.T, s string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	require.NoError(t, err)
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&m))
	return m
}

func enc(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func verifyErr(t *testing.T, v *nras.Verifier, eat []byte, exp verify.Expectations) error {
	t.Helper()
	c, err := v.Verify(context.Background(), eat, exp)
	if err == nil {
		require.NotNil(t, c)
	} else {
		require.Nil(t, c, "claims on error")
	}
	return err
}

const b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func flipChar(c byte) byte {
	i := strings.IndexByte(b64chars, c)
	return b64chars[(i+1)%len(b64chars)]
}

func TestNRAS01FlipPayloadOrSignature(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	d := splitEAT(t, mint(t, a, nrastest.Request{}))
	for _, which := range []string{"overall", "GPU-0"} {
		tok := d.overall
		if which != "overall" {
			tok = d.tokens[which]
		}
		h, p, _ := parts(tok)
		sigStart := len(h) + len(p) + 2
		// Each case costs one or two P-384 verifications (slow under -race):
		// a stride through the payload (about 30 positions) and the signature
		// (every 4th character), with the last character of each.
		stride := max(len(p)/30, 1)
		for i := len(h) + 1; i < len(tok); i++ {
			inSig := i >= sigStart
			last := i == sigStart-2 || i == len(tok)-1
			if tok[i] == '.' || (!last && (!inSig && (i-len(h)-1)%stride != 0 || inSig && (i-sigStart)%4 != 0)) {
				continue
			}
			b := []byte(tok)
			b[i] = flipChar(b[i])
			m := d
			m.tokens = map[string]string{"GPU-0": d.tokens["GPU-0"]}
			if which == "overall" {
				m.overall = string(b)
			} else {
				m.tokens[which] = string(b)
			}
			err := verifyErr(t, v, m.bytes(), expect())
			require.ErrorIs(t, err, verify.ErrSignature, "%s byte %d", which, i)
		}
	}
}

func TestNRAS02ChangedClaimKeepsSignature(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	d := splitEAT(t, mint(t, a, nrastest.Request{}))
	h, p, s := parts(d.tokens["GPU-0"])
	c := decodePart(t, p)
	c["measres"] = "success "
	c["x-nvidia-gpu-driver-version"] = "999.0"
	d.tokens["GPU-0"] = h + "." + enc(c) + "." + s
	require.ErrorIs(t, verifyErr(t, v, d.bytes(), expect()), verify.ErrSignature)
}

func TestNRAS03FlipHeader(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	d := splitEAT(t, mint(t, a, nrastest.Request{}))
	h, _, _ := parts(d.overall)
	kinds := map[string]int{}
	for i := 0; i < len(h); i++ {
		b := []byte(d.overall)
		b[i] = flipChar(b[i])
		m := d
		m.overall = string(b)
		err := verifyErr(t, v, m.bytes(), expect())
		require.Error(t, err, "byte %d", i)
		k := verify.KindOf(err)
		require.Contains(t, []error{verify.ErrSignature, verify.ErrMalformed, verify.ErrUnsupported}, k, "byte %d: %v", i, err)
		kinds[k.Error()]++
	}
	assert.Positive(t, kinds[verify.ErrSignature.Error()], "changing the kid is a signature failure")
}

func TestNRAS04UnknownKid(t *testing.T) {
	a, _ := authority(t, nras.FormatGPU)
	other, err := nrastest.NewAuthority(nras.ProductionURL)
	require.NoError(t, err)
	v, err := nras.NewVerifier(nras.FormatGPU, nras.WithJWKS(other.JWKS()))
	require.NoError(t, err)
	err = verifyErr(t, v, mint(t, a, nrastest.Request{}), expect())
	require.ErrorIs(t, err, verify.ErrSignature)
	assert.Contains(t, err.Error(), a.KID)
}

func TestNRAS05WrongKid(t *testing.T) {
	a, _ := authority(t, nras.FormatGPU)
	other, err := nrastest.NewAuthority(nras.ProductionURL)
	require.NoError(t, err)
	a.Extra = map[string]*ecdsa.PublicKey{other.KID: &other.Key.PublicKey}
	v, err := nras.NewVerifier(nras.FormatGPU, nras.WithJWKS(a.JWKS()))
	require.NoError(t, err)
	signer := *a
	signer.KID = other.KID // a's key, other's kid
	require.ErrorIs(t, verifyErr(t, v, mint(t, &signer, nrastest.Request{}), expect()), verify.ErrSignature)
}

// resignOverall replaces the overall token by one with header hdr and
// signature sig over the same payload.
func withOverall(d eatDoc, hdr map[string]any, sig string) []byte {
	_, p, _ := parts(d.overall)
	d.overall = enc(hdr) + "." + p + "." + sig
	return d.bytes()
}

func TestNRAS06AlgNone(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	d := splitEAT(t, mint(t, a, nrastest.Request{}))
	for _, alg := range []string{"none", "None", "NONE", ""} {
		for _, sig := range []string{"", "AAAA"} {
			err := verifyErr(t, v, withOverall(d, map[string]any{"alg": alg, "kid": a.KID}, sig), expect())
			require.ErrorIs(t, err, verify.ErrSignature, "alg %q sig %q", alg, sig)
		}
	}
	// An ES384 header with an empty signature is a signature failure too.
	require.ErrorIs(t, verifyErr(t, v, withOverall(d, map[string]any{"alg": "ES384", "kid": a.KID}, ""), expect()), verify.ErrSignature)
}

func TestNRAS07HMACWithPublicKey(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	d := splitEAT(t, mint(t, a, nrastest.Request{}))
	_, p, _ := parts(d.overall)
	jwk := nrastest.JWK(a.KID, &a.Key.PublicKey)
	for _, alg := range []string{"HS256", "HS384", "HS512"} {
		for _, secret := range [][]byte{a.JWKS(), []byte(jwk["x"].(string))} {
			h := enc(map[string]any{"alg": alg, "kid": a.KID})
			mac := hmac.New(sha256.New, secret)
			mac.Write([]byte(h + "." + p))
			d2 := d
			d2.overall = h + "." + p + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
			require.ErrorIs(t, verifyErr(t, v, d2.bytes(), expect()), verify.ErrSignature, alg)
		}
	}
}

func TestNRAS08OtherAlgorithms(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	d := splitEAT(t, mint(t, a, nrastest.Request{}))
	_, _, s := parts(d.overall)
	for _, alg := range []string{"ES256", "ES512", "RS256", "PS384", "EdDSA", "es384"} {
		err := verifyErr(t, v, withOverall(d, map[string]any{"alg": alg, "kid": a.KID}, s), expect())
		require.ErrorIs(t, err, verify.ErrUnsupported, alg)
	}
}

func TestNRAS09KeyInHeaderNeverTrusted(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	evil, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	for _, kid := range []string{"evil", a.KID} {
		hdr := map[string]any{"alg": "ES384", "kid": kid, "jwk": nrastest.JWK(kid, &evil.PublicKey),
			"jku": "https://evil.example/jwks.json", "x5u": "https://evil.example/cert.pem"}
		hb, _ := json.Marshal(hdr)
		payload, _ := json.Marshal(map[string]any{"sub": nras.Subject})
		tok, err := nrastest.SignRaw(evil, hb, payload)
		require.NoError(t, err)
		d := splitEAT(t, mint(t, a, nrastest.Request{}))
		d.overall = tok
		require.ErrorIs(t, verifyErr(t, v, d.bytes(), expect()), verify.ErrSignature, kid)
	}
}

func TestNRAS10Expired(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	eat := mint(t, a, nrastest.Request{})
	for _, at := range []time.Time{mintTime.Add(time.Hour), mintTime.Add(time.Hour + time.Second), mintTime.Add(48 * time.Hour)} {
		exp := expect()
		exp.Now = at
		require.ErrorIs(t, verifyErr(t, v, eat, exp), verify.ErrExpired, at)
	}
	// A device token that expires before the overall token.
	eat = mint(t, a, nrastest.Request{DeviceOverride: map[string]any{"exp": mintTime.Add(time.Second).Unix()}})
	require.ErrorIs(t, verifyErr(t, v, eat, expect()), verify.ErrExpired)
}

func TestNRAS11NotYetValid(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	exp := expect()
	for _, k := range []string{"nbf", "iat"} {
		eat := mint(t, a, nrastest.Request{Overall: map[string]any{k: exp.Now.Add(nras.DefaultClockSkew + time.Second).Unix()}})
		require.ErrorIs(t, verifyErr(t, v, eat, exp), verify.ErrExpired, k)
		eat = mint(t, a, nrastest.Request{DeviceOverride: map[string]any{k: exp.Now.Add(2 * time.Hour).Unix()}})
		require.ErrorIs(t, verifyErr(t, v, eat, exp), verify.ErrExpired, k)
		// Within the skew it passes.
		eat = mint(t, a, nrastest.Request{Overall: map[string]any{k: exp.Now.Add(nras.DefaultClockSkew).Unix()}})
		require.NoError(t, verifyErr(t, v, eat, exp), k)
	}
}

func TestNRAS12ExpMissingOrBad(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	for _, exp := range []any{nil, "2099-01-01", 1.5e9 + 0.5, -1} {
		over := map[string]any{"exp": exp}
		if exp == nil {
			over = map[string]any{"exp": nil}
		}
		eat := mint(t, a, nrastest.Request{Overall: over})
		require.ErrorIs(t, verifyErr(t, v, eat, expect()), verify.ErrMalformed, "%v", exp)
	}
}

func TestNRAS13WrongNonce(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	eat := mint(t, a, nrastest.Request{})
	exp := expect()
	exp.ReportData = bytes.Repeat([]byte{7}, 32)
	require.ErrorIs(t, verifyErr(t, v, eat, exp), verify.ErrFreshness)
}

func TestNRAS14BadExpectations(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	eat := mint(t, a, nrastest.Request{})
	for name, e := range map[string]verify.Expectations{
		"empty":     {Now: mintTime},
		"zero":      {Now: mintTime, ReportData: make([]byte, 32)},
		"short":     {Now: mintTime, ReportData: testNonce[:16]},
		"long":      {Now: mintTime, ReportData: append(testNonce, 0)},
		"init data": {Now: mintTime, ReportData: testNonce, InitDataDigest: make([]byte, 32)},
	} {
		require.ErrorIs(t, verifyErr(t, v, eat, e), verify.ErrConfig, name)
	}
}

func TestNRAS15DeviceNonceDiffers(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	eat := mint(t, a, nrastest.Request{DeviceOverride: map[string]any{"eat_nonce": hex.EncodeToString(bytes.Repeat([]byte{9}, 32))}})
	require.ErrorIs(t, verifyErr(t, v, eat, expect()), verify.ErrBinding)
}

func TestNRAS16DigestMismatch(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	bogus := map[string]any{"GPU-0": []any{"DIGEST", []any{"SHA-256", strings.Repeat("ab", 32)}}}
	eat := mint(t, a, nrastest.Request{Overall: map[string]any{"submods": bogus}})
	require.ErrorIs(t, verifyErr(t, v, eat, expect()), verify.ErrBinding)

	// A genuine device token of another result (same nonce) swapped in.
	d1 := splitEAT(t, mint(t, a, nrastest.Request{}))
	d2 := splitEAT(t, mint(t, a, nrastest.Request{}))
	d1.tokens["GPU-0"] = d2.tokens["GPU-0"]
	require.ErrorIs(t, verifyErr(t, v, d1.bytes(), expect()), verify.ErrBinding)
}

func TestNRAS17DeviceSetDiffers(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	two := []nrastest.Device{{Name: "GPU-0", Claims: nrastest.GPUClaims("3.0", "1")}, {Name: "GPU-1", Claims: nrastest.GPUClaims("3.0", "2")}}
	d := splitEAT(t, mint(t, a, nrastest.Request{Devices: two}))
	removed := d
	removed.names = []string{"GPU-0"}
	require.ErrorIs(t, verifyErr(t, v, removed.bytes(), expect()), verify.ErrBinding)

	one := splitEAT(t, mint(t, a, nrastest.Request{}))
	added := one
	added.names = []string{"GPU-0", "GPU-1"}
	added.tokens = map[string]string{"GPU-0": one.tokens["GPU-0"], "GPU-1": d.tokens["GPU-1"]}
	require.ErrorIs(t, verifyErr(t, v, added.bytes(), expect()), verify.ErrBinding)

	renamed := one
	renamed.names = []string{"GPU-1"}
	renamed.tokens = map[string]string{"GPU-1": one.tokens["GPU-0"]}
	require.ErrorIs(t, verifyErr(t, v, renamed.bytes(), expect()), verify.ErrBinding)
}

func TestNRAS18DuplicateDeviceName(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	d := splitEAT(t, mint(t, a, nrastest.Request{}))
	o, _ := json.Marshal(d.overall)
	g, _ := json.Marshal(d.tokens["GPU-0"])
	eat := []byte(`[["JWT",` + string(o) + `],{"GPU-0":"x.y.z","GPU-0":` + string(g) + `}]`)
	require.ErrorIs(t, verifyErr(t, v, eat, expect()), verify.ErrMalformed)
}

func TestNRAS19Limits(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	eat := mint(t, a, nrastest.Request{})
	big := append(append([]byte{}, eat...), bytes.Repeat([]byte(" "), nras.MaxEvidenceSize)...)
	require.ErrorIs(t, verifyErr(t, v, big, expect()), verify.ErrLimit)

	d := splitEAT(t, eat)
	d.tokens["GPU-0"] = strings.Repeat("A", nras.MaxTokenSize) + ".e30.AAAA"
	require.ErrorIs(t, verifyErr(t, v, d.bytes(), expect()), verify.ErrLimit)

	d = splitEAT(t, eat)
	d.overall = strings.Repeat("A", 2000) + ".e30.AAAA"
	require.ErrorIs(t, verifyErr(t, v, d.bytes(), expect()), verify.ErrLimit)

	var many bytes.Buffer
	many.WriteString(`[["JWT","a.b.c"],{`)
	for i := 0; i <= nras.MaxDevices; i++ {
		if i > 0 {
			many.WriteByte(',')
		}
		fmt.Fprintf(&many, `"GPU-%d":"a.b.c"`, i)
	}
	many.WriteString(`}]`)
	require.ErrorIs(t, verifyErr(t, v, many.Bytes(), expect()), verify.ErrLimit)
}

func TestNRAS20Truncated(t *testing.T) {
	eat := readTestdata(t, "hopperClaimsv3_detached_eat.json")
	_, v := authority(t, nras.FormatGPU)
	for n := 0; n < len(eat)-1; n++ {
		if len(bytes.TrimSpace(eat[n:])) == 0 {
			continue // only whitespace cut
		}
		err := verifyErr(t, v, eat[:n], expect())
		require.ErrorIs(t, err, verify.ErrMalformed, "prefix %d", n)
	}
}

func TestNRAS21OtherIssuer(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	stg := *a
	stg.Issuer = nras.StagingURL
	require.ErrorIs(t, verifyErr(t, v, mint(t, &stg, nrastest.Request{}), expect()), verify.ErrBinding)
	// A device token of another issuer under a production overall token.
	eat := mint(t, a, nrastest.Request{DeviceOverride: map[string]any{"iss": nras.StagingURL}})
	require.ErrorIs(t, verifyErr(t, v, eat, expect()), verify.ErrBinding)
}

func TestNRAS22OverallResultFalse(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	for _, r := range []any{false, "true", nil} {
		over := map[string]any{"x-nvidia-overall-att-result": r}
		eat := mint(t, a, nrastest.Request{Overall: over})
		err := verifyErr(t, v, eat, expect())
		if r == "true" {
			require.ErrorIs(t, err, verify.ErrMalformed)
			continue
		}
		require.ErrorIs(t, err, verify.ErrPolicy, "%v", r)
	}
}

func TestNRAS23SubjectOrVersion(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	for _, over := range []map[string]any{
		{"sub": "NVIDIA-GPU-ATTESTATION"}, {"sub": nil}, {"x-nvidia-ver": "1.0"}, {"x-nvidia-ver": "5.0"},
	} {
		require.ErrorIs(t, verifyErr(t, v, mint(t, a, nrastest.Request{Overall: over}), expect()), verify.ErrUnsupported, "%v", over)
	}
}

func TestNRAS24WrongTypes(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	for _, dev := range []map[string]any{
		{"measres": 1}, {"x-nvidia-gpu-driver-version": 550}, {"x-nvidia-gpu-attestation-report-nonce-match": "true"},
		{"x-nvidia-gpu-attestation-report-cert-chain": "valid"},
		{"x-nvidia-gpu-attestation-report-cert-chain": map[string]any{"x-nvidia-cert-ocsp-status": true}},
		{"secboot": "yes"}, {"eat_nonce": "xyz"}, {"eat_nonce": hex.EncodeToString(testNonce) + "00"}, {"ueid": nil}, {"ueid": 5},
	} {
		require.ErrorIs(t, verifyErr(t, v, mint(t, a, nrastest.Request{DeviceOverride: dev}), expect()), verify.ErrMalformed, "%v", dev)
	}
	for _, over := range []map[string]any{
		{"submods": "GPU-0"}, {"submods": map[string]any{}}, {"submods": map[string]any{"GPU-0": []any{"DIGEST", "x"}}},
		{"submods": map[string]any{"GPU-0": []any{"DIGEST", []any{"SHA-256", "zz"}}}}, {"eat_nonce": 5}, {"iss": nil},
	} {
		require.ErrorIs(t, verifyErr(t, v, mint(t, a, nrastest.Request{Overall: over}), expect()), verify.ErrMalformed, "%v", over)
	}
}

func TestNRAS25DigestAlgorithm(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	over := map[string]any{"submods": map[string]any{"GPU-0": []any{"DIGEST", []any{"SHA-384", strings.Repeat("ab", 48)}}}}
	require.ErrorIs(t, verifyErr(t, v, mint(t, a, nrastest.Request{Overall: over}), expect()), verify.ErrUnsupported)
}

func TestNRAS26JOSEExtensions(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	d := splitEAT(t, mint(t, a, nrastest.Request{}))
	_, _, s := parts(d.overall)
	for _, hdr := range []map[string]any{
		{"alg": "ES384", "kid": a.KID, "crit": []string{"exp"}},
		{"alg": "ES384", "kid": a.KID, "b64": false},
		{"alg": "ES384", "kid": a.KID, "enc": "A256GCM"},
	} {
		require.ErrorIs(t, verifyErr(t, v, withOverall(d, hdr, s), expect()), verify.ErrUnsupported, "%v", hdr)
	}
	d.overall = "a.b.c.d.e"
	require.ErrorIs(t, verifyErr(t, v, d.bytes(), expect()), verify.ErrUnsupported)
}

func TestNRAS27HostileJWKS(t *testing.T) {
	a, err := nrastest.NewAuthority(nras.ProductionURL)
	require.NoError(t, err)
	good := nrastest.JWK(a.KID, &a.Key.PublicKey)
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for x, y := range good {
			m[x] = y
		}
		m[k] = v
		return m
	}
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	for name, keys := range map[string][]any{
		"private":       {with("d", "AAAA")},
		"symmetric":     {map[string]any{"kty": "oct", "k": "c2VjcmV0", "kid": "x"}},
		"P-256":         {nrastest.JWK("p256", &p256.PublicKey)},
		"wrong crv tag": {with("crv", "P-256")},
		"alg HS384":     {with("alg", "HS384")},
		"use enc":       {with("use", "enc")},
		"no kid":        {with("kid", "")},
		"bad point":     {with("y", good["x"])},
		"short x":       {with("x", "AAAA")},
		"x5c garbage":   {with("x5c", []string{"AAAA"})},
		"duplicate kid": {good, good},
		"empty":         {},
	} {
		doc, _ := json.Marshal(map[string]any{"keys": keys})
		_, err := nras.NewVerifier(nras.FormatGPU, nras.WithJWKS(doc))
		assert.ErrorIs(t, err, verify.ErrConfig, name)
	}
	_, err = nras.ParseJWKS(bytes.Repeat([]byte(" "), nras.MaxJWKSSize+1))
	require.ErrorIs(t, err, verify.ErrLimit)
}

func TestNRAS28DeviceKindAndNames(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	sw := mint(t, a, nrastest.Request{Devices: []nrastest.Device{{Name: "SWITCH-0", Claims: nrastest.SwitchClaims("3.0", "1")}}})
	require.ErrorIs(t, verifyErr(t, v, sw, expect()), verify.ErrUnsupported)
	for _, name := range []string{"GPU-01", "GPU-", "GPU0", "gpu-0", "CPU-0", "GPU-1000"} {
		eat := mint(t, a, nrastest.Request{Devices: []nrastest.Device{{Name: name, Claims: nrastest.GPUClaims("3.0", "1")}}})
		require.ErrorIs(t, verifyErr(t, v, eat, expect()), verify.ErrMalformed, name)
	}
}

func TestNRAS29BadParts(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	two := []nrastest.Device{{Name: "GPU-0", Claims: nrastest.GPUClaims("3.0", "1")}, {Name: "GPU-1", Claims: nrastest.GPUClaims("3.0", "2")}}
	eat := mint(t, a, nrastest.Request{Devices: two})
	part := []byte(`{"nras-device":"GPU-7","detached-eat":` + string(eat) + `}`)
	require.ErrorIs(t, verifyErr(t, v, part, expect()), verify.ErrMalformed)
	part = []byte(`{"nras-device":"GPU-0","detached-eat":` + string(eat) + `,"extra":1}`)
	require.ErrorIs(t, verifyErr(t, v, part, expect()), verify.ErrMalformed)

	// GPU-1 replaced by a genuine token of another result: the part for
	// GPU-0 fails too, since its overall token's digests must all match.
	d := splitEAT(t, eat)
	other := splitEAT(t, mint(t, a, nrastest.Request{Devices: two}))
	d.tokens["GPU-1"] = other.tokens["GPU-1"]
	part = []byte(`{"nras-device":"GPU-0","detached-eat":` + string(d.bytes()) + `}`)
	require.ErrorIs(t, verifyErr(t, v, part, expect()), verify.ErrBinding)
}

func TestNRAS30Shape(t *testing.T) {
	_, v := authority(t, nras.FormatGPU)
	for in, kind := range map[string]error{
		``:                                  verify.ErrMalformed,
		`{}`:                                verify.ErrMalformed,
		`[]`:                                verify.ErrMalformed,
		`"a.b.c"`:                           verify.ErrMalformed,
		`[["JWT","a.b.c"]]`:                 verify.ErrMalformed,
		`[["JWT","a.b.c"],{}]`:              verify.ErrMalformed,
		`[["JWT","a.b.c"],{"GPU-0":5}]`:     verify.ErrMalformed,
		`[["CWT","a.b.c"],{"GPU-0":"x"}]`:   verify.ErrUnsupported,
		`[["JWT","a.b.c"],{"GPU-0":"x"}]x`:  verify.ErrMalformed,
		`[["JWT","a.b.c"],{"GPU-0":"x"},3]`: verify.ErrMalformed,
		`[["JWT","a.b.c",1],{"GPU-0":"x"}]`: verify.ErrMalformed,
	} {
		require.ErrorIs(t, verifyErr(t, v, []byte(in), expect()), kind, in)
	}
}
