package serve

import (
	"bytes"
	"crypto/hmac"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

// equalBase64URL agrees with encoding and comparing, at every length
// around its block size, and tells any one changed byte apart.
func TestEqualBase64URL(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 3071, 3072, 3073, 6144, 6145, 10000} {
		raw := strings.Repeat("ab\"c{}", n/6+1)[:n]
		enc := base64.RawURLEncoding.EncodeToString([]byte(raw))
		if !equalBase64URL(enc, raw) {
			t.Fatalf("%d bytes: the encoding of raw does not match it", n)
		}
		if n == 0 {
			continue
		}
		for _, i := range []int{0, n / 2, n - 1} {
			b := []byte(raw)
			b[i] ^= 1
			if equalBase64URL(enc, string(b)) {
				t.Fatalf("%d bytes: byte %d changed, still equal", n, i)
			}
		}
		if equalBase64URL(enc+"A", raw) || equalBase64URL(enc[:len(enc)-1], raw) {
			t.Fatalf("%d bytes: an encoding of another length matched", n)
		}
		if padded := base64.URLEncoding.EncodeToString([]byte(raw)); padded != enc && equalBase64URL(padded, raw) {
			t.Fatalf("%d bytes: padded encoding matched", n)
		}
	}
}

// The fast path of checkAdditional holds only when the bytes match; other
// serialisations of the same evidence take the full comparison, and
// evidence the additional evidence does not carry is refused either way.
func TestCheckAdditional(t *testing.T) {
	ev := `{"device_evidence_list":[{"arch":"HOPPER","evidence":"AAAA"}]}`
	enc := base64.RawURLEncoding.EncodeToString([]byte(ev))
	if len(ev)%3 == 0 {
		t.Fatal("the sample evidence must need base64 padding")
	}
	extra := func(tee, e string) []asVerification { return []asVerification{{TEE: tee, Evidence: e}} }
	for name, c := range map[string]struct {
		extra      []asVerification
		additional string
		ok         bool
	}{
		"same bytes":              {extra("nvidia", enc), `{"nvidia":` + ev + `}`, true},
		"other spacing":           {extra("nvidia", enc), `{ "nvidia" : ` + strings.ReplaceAll(ev, ",", ", ") + ` }`, true},
		"other TEE":               {extra("snp", enc), `{"nvidia":` + ev + `}`, false},
		"other evidence":          {extra("nvidia", base64.RawURLEncoding.EncodeToString([]byte(`{"x":1}`))), `{"nvidia":` + ev + `}`, false},
		"additional carries more": {extra("nvidia", enc), `{"nvidia":` + ev + `,"x":1}`, true},
		"padded base64":           {extra("nvidia", base64.URLEncoding.EncodeToString([]byte(ev))), `{"nvidia":` + ev + `}`, false},
		"additional not JSON":     {extra("nvidia", enc), `{"nvidia":` + ev, false},
		"name that needs escapes": {extra("nv\"idia", enc), `{"nv\"idia":` + ev + `}`, true},
		"none":                    {nil, "", true},
		// More devices than a KBS request may carry: refused here, before
		// the nonce is consumed, not by the appraisal after.
		"more than the device limit": {extra("nvidia", enc), `{"nvidia":` + ev + `,"a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1,"h":1}`, false},
	} {
		t.Run(name, func(t *testing.T) {
			if cerr := checkAdditional(c.extra, c.additional); (cerr == nil) != c.ok {
				t.Fatalf("checkAdditional: %v, expected ok=%v", cerr, c.ok)
			}
		})
	}
}

// issueNonce makes nonces parseNonce reads back, 64 characters (so that
// the token's eat_nonce is the string's bytes), whose MAC verifies under
// the secret and TEE they were issued for and under no other.
func TestNonceFormat(t *testing.T) {
	secret := NewNonceSecret()
	exp := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tee := range []string{"", "tdx", "az-snp-vtpm"} {
		n := issueNonce(secret, tee, exp)
		if len(n) != 64 {
			t.Fatalf("nonce of %d characters, expected 64", len(n))
		}
		raw, ok := parseNonce(n)
		if !ok {
			t.Fatalf("issued nonce %q does not parse", n)
		}
		if !nonceExpiry(raw).Equal(exp) {
			t.Fatalf("expiry %v, expected %v", nonceExpiry(raw), exp)
		}
		if !hmac.Equal(nonceMAC(secret, raw, tee), raw[nonceBodySize:]) {
			t.Fatal("MAC does not verify under its own secret and TEE")
		}
		if hmac.Equal(nonceMAC(NewNonceSecret(), raw, tee), raw[nonceBodySize:]) {
			t.Fatal("MAC verifies under another secret")
		}
		if bound := tee != ""; bound && hmac.Equal(nonceMAC(secret, raw, "snp"), raw[nonceBodySize:]) {
			t.Fatal("a TEE-bound nonce verifies for another TEE")
		}
	}
	raw, _ := parseNonce(issueNonce(secret, "az-snp-vtpm", exp))
	if !hmac.Equal(nonceMAC(secret, raw, "azsnpvtpm"), raw[nonceBodySize:]) {
		t.Fatal("Trustee's older TEE name is not the same TEE")
	}
	good := issueNonce(secret, "", exp)
	b, _ := base64.StdEncoding.DecodeString(good)
	for name, s := range map[string]string{
		"version 2":     func() string { c := bytes.Clone(b); c[0] = 2; return base64.StdEncoding.EncodeToString(c) }(),
		"unknown flag":  func() string { c := bytes.Clone(b); c[1] = 2; return base64.StdEncoding.EncodeToString(c) }(),
		"short":         base64.StdEncoding.EncodeToString(b[:45]),
		"url alphabet":  base64.URLEncoding.EncodeToString(b),
		"newline":       good[:10] + "\n" + good[10:63],
		"empty":         "",
		"Trustee nonce": base64.StdEncoding.EncodeToString(b[:32]),
	} {
		if _, ok := parseNonce(s); ok && s != good {
			t.Errorf("%s: %q parsed as the service's nonce", name, s)
		}
	}
}

// FuzzParseNonce: parseNonce never panics, and what it accepts is the
// canonical encoding of 48 bytes of version 1.
func FuzzParseNonce(f *testing.F) {
	f.Add(issueNonce(NewNonceSecret(), "tdx", time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)))
	f.Add(issueNonce(NewNonceSecret(), "", time.Unix(0, 0)))
	f.Add("bm9uY2Utbm9uY2Utbm9uY2UtMDAwMQ==")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		raw, ok := parseNonce(s)
		if !ok {
			return
		}
		if len(raw) != nonceRawSize || raw[0] != nonceVersion || base64.StdEncoding.EncodeToString(raw) != s {
			t.Fatalf("accepted %q: %d bytes, version %d", s, len(raw), raw[0])
		}
		_ = nonceExpiry(raw)
	})
}
