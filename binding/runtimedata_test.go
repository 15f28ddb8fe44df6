package binding

import (
	"bytes"
	"crypto"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/verify"
)

// runtimeDataReference is RuntimeData.Digest as it was: Digest of r.JSON()
// (json.Marshal), canonicalised by jcs.
func runtimeDataReference(r RuntimeData, h crypto.Hash) ([]byte, error) {
	doc, err := r.JSON()
	if err != nil {
		return nil, err
	}
	name, err := HashName(h)
	if err != nil {
		return nil, err
	}
	c, err := jcsReference(doc)
	if err != nil {
		return nil, err
	}
	hh, _ := newHash(name)
	hh.Write(c)
	return hh.Sum(nil), nil
}

// sameAsMarshalled asserts that r.Digest(h) is the reference's digest, or
// that both refuse r with the same kind of error.
func sameAsMarshalled(t testing.TB, r RuntimeData, h crypto.Hash) {
	t.Helper()
	want, wantErr := runtimeDataReference(r, h)
	got, err := r.Digest(h)
	if wantErr != nil {
		if err == nil || verify.KindOf(err) != verify.KindOf(wantErr) || got != nil {
			t.Fatalf("nonce %.60q key %.60q: reference refuses (%v), ours %x, %v", r.Nonce, r.TEEPubKey, wantErr, got, err)
		}
		return
	}
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("nonce %.60q key %.60q: reference %x, ours %x, %v", r.Nonce, r.TEEPubKey, want, got, err)
	}
}

// oddStrings are nonce and additional-evidence values that json.Marshal
// escapes or coerces: HTML characters, line separators, control
// characters, invalid UTF-8 (a stray byte, an encoded surrogate, a cut
// sequence), characters above U+FFFF.
var oddStrings = []string{"", "bm9uY2U=", "<>&", "\u2028\u2029", "\x00\x01\x1f\x7f", "\b\f\n\r\t\"\\/", "\xff\xfe", "\xed\xa0\x80",
	"a\xe2\x80", "\xe2\x80\xa8\xe2\x80", "é€😀\uFFFD", `{"nvidia":[{"evidence":"QUFB\u003c"}]}`}

// TestRuntimeDataDigestMatchesMarshalled: RuntimeData.Digest, which
// writes the canonical form from the members, gives the digest of
// Digest(r.JSON()) with jcs, or refuses what that refuses, with the same
// kind: on the real runtime data, odd strings, edge-case keys (the
// canonicalisation edge cases as keys), the structure bounds and the size
// limit to the byte.
func TestRuntimeDataDigestMatchesMarshalled(t *testing.T) {
	var real RuntimeData
	require.NoError(t, json.Unmarshal(withEvidence(t, 0), &real))
	require.NotEmpty(t, *real.AdditionalEvidence)
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512, crypto.MD5} {
		sameAsMarshalled(t, real, h)
		sameAsMarshalled(t, real.Device(), h)
	}
	jwk := real.TEEPubKey
	keys := [][]byte{jwk, []byte(" \n" + string(jwk) + "\t"), []byte(`{"k":"<\u2028>&` + "\u2028\xe2\x80\xa9" + `","n":[1e20,-0,0.1]}`),
		[]byte(`{"x":"` + "\xff" + `"}`), []byte(`{"x":1,"x":2}`), []byte(`{"x":"\ud800"}`), []byte(`{"x":1e400}`), nil, []byte("  "), []byte(`{`)}
	for _, doc := range jcsEdgeCases {
		keys = append(keys, []byte(doc))
	}
	for _, key := range keys {
		for _, s := range oddStrings {
			ae := s
			sameAsMarshalled(t, RuntimeData{Nonce: s, TEEPubKey: key}, crypto.SHA384)
			sameAsMarshalled(t, RuntimeData{Nonce: "n", TEEPubKey: key, AdditionalEvidence: &ae}, crypto.SHA384)
		}
	}

	// Structure: the key nests one level less and holds as many values
	// fewer as the outer object has members.
	nested := func(n int) []byte { return []byte(strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n)) }
	values := func(n int) []byte { return []byte("[" + strings.Repeat("0,", n-1) + "0]") }
	empty := ""
	for _, c := range []struct {
		key  []byte
		ae   *string
		kind error
	}{
		{nested(maxRuntimeDataDepth - 1), nil, nil},
		{nested(maxRuntimeDataDepth), nil, verify.ErrLimit},
		{values(maxRuntimeDataValues - 2), nil, nil},
		{values(maxRuntimeDataValues - 1), nil, verify.ErrLimit},
		{values(maxRuntimeDataValues - 3), &empty, nil},
		{values(maxRuntimeDataValues - 2), &empty, verify.ErrLimit},
	} {
		r := RuntimeData{Nonce: "n", TEEPubKey: c.key, AdditionalEvidence: c.ae}
		sameAsMarshalled(t, r, crypto.SHA384)
		_, err := r.Digest(crypto.SHA384)
		if c.kind == nil {
			require.NoError(t, err)
		} else {
			require.ErrorIs(t, err, c.kind)
		}
	}

	// Size: the marshalled document at the limit and one byte over, with
	// the escapes json.Marshal writes in the strings and in the key.
	key := []byte(`{ "k" : "<&\u2028` + "\u2028" + `" }`)
	for _, prefix := range []string{"", strings.Join(oddStrings, "")} {
		for _, over := range []int{0, 1} {
			r := RuntimeData{Nonce: prefix + "n", TEEPubKey: key, AdditionalEvidence: &prefix}
			base, err := r.JSON()
			require.NoError(t, err)
			fill := prefix + strings.Repeat("a", MaxRuntimeData+over-len(base))
			r.AdditionalEvidence = &fill
			doc, err := r.JSON()
			require.NoError(t, err)
			require.Equal(t, MaxRuntimeData+over, len(doc), "prefix %q", prefix)
			require.Equal(t, len(doc), r.marshalledSize())
			// Against Digest of the marshalled document (which the
			// tests above hold to jcs): jcs on 4 MiB is slow under -race.
			want, wantErr := Digest(doc, crypto.SHA384)
			got, err := r.Digest(crypto.SHA384)
			if over == 0 {
				require.NoError(t, wantErr)
				require.NoError(t, err)
				require.Equal(t, want, got)
			} else {
				require.ErrorIs(t, wantErr, verify.ErrLimit)
				require.ErrorIs(t, err, verify.ErrLimit)
			}
		}
	}
}

// FuzzRuntimeDataDigest: for any nonce, key and additional evidence,
// RuntimeData.Digest agrees with Digest(r.JSON()) canonicalised by jcs.
func FuzzRuntimeDataDigest(f *testing.F) {
	var real RuntimeData
	raw := realRuntimeData(f)["composite"]
	if err := json.Unmarshal(raw, &real); err != nil {
		f.Fatal(err)
	}
	f.Add(real.Nonce, []byte(real.TEEPubKey), "", true)
	f.Add(real.Nonce, []byte(real.TEEPubKey), "", false)
	f.Add("<\u2028\x01\xff", []byte(`{"k":"<\u2028>&","n":[1e20,-0]}`), `{"nvgpu":"\"x\""}`, true)
	for i, s := range oddStrings {
		f.Add(s, []byte(jcsEdgeCases[i%len(jcsEdgeCases)]), oddStrings[(i+1)%len(oddStrings)], i%2 == 0)
	}
	f.Fuzz(func(t *testing.T, nonce string, key []byte, ae string, withAE bool) {
		r := RuntimeData{Nonce: nonce, TEEPubKey: key}
		if withAE {
			r.AdditionalEvidence = &ae
		}
		sameAsMarshalled(t, r, crypto.SHA384)
		if doc, err := r.JSON(); err == nil {
			if n := r.marshalledSize(); n != len(doc) {
				t.Fatalf("marshalled size %d, json.Marshal wrote %d", n, len(doc))
			}
		}
	})
}
