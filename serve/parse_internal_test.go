package serve

import (
	"encoding/base64"
	"strings"
	"testing"
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
	} {
		t.Run(name, func(t *testing.T) {
			if cerr := checkAdditional(c.extra, c.additional); (cerr == nil) != c.ok {
				t.Fatalf("checkAdditional: %v, expected ok=%v", cerr, c.ok)
			}
		})
	}
}
