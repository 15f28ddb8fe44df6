package nras_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/gpu/nras"
	"github.com/trustfactory/attest/internal/allocbudget"
	"github.com/trustfactory/attest/verify"
)

// TestWorstShapeVerify: a detached EAT (or a Split part of one) is parsed
// before any of its tokens' signatures is checked. Whatever its shape, a
// document at nras.MaxEvidenceSize costs Verify a bounded multiple of its
// size: measured at most 15 bytes per byte (24 under the race detector) for
// a member repeated or a number of a million digits, read as tokens by the
// streaming decoder.
func TestWorstShapeVerify(t *testing.T) {
	if testing.Short() {
		t.Skip("megabyte inputs")
	}
	v, err := nras.NewVerifier(nras.FormatGPU, nras.WithJWKS(fuzzJWKS()))
	require.NoError(t, err)
	positions := []struct {
		name string
		wrap func(v string) string
	}{
		{"document", func(v string) string { return v }},
		{"device map", func(v string) string { return `[["JWT","a.b.c"],` + v + `]` }},
		{"device token", func(v string) string { return `[["JWT","a.b.c"],{"GPU-0":` + v + `}]` }},
		{"overall", func(v string) string { return `[` + v + `,{}]` }},
		{"part member", func(v string) string { return `{"nras-device":"GPU-0","x":` + v + `}` }},
		{"part eat", func(v string) string { return `{"nras-device":"GPU-0","detached-eat":` + v + `}` }},
	}
	exp := verify.Expectations{ReportData: make([]byte, 32)}
	for _, p := range positions {
		for _, s := range allocbudget.JSONValues(allocbudget.Size(nras.MaxEvidenceSize - 128)) {
			t.Run(p.name+"/"+s.Name, func(t *testing.T) {
				doc := []byte(p.wrap(string(s.Value)))
				allocbudget.Within(t, len(doc), 32, 16<<10, func() { _, _ = v.Verify(context.Background(), doc, exp) })
			})
		}
	}
}

// TestWorstShapeParseJWKS: the JWKS is NVIDIA's, fetched over TLS or
// configured, but parsed before any key in it is used: whatever its shape
// within nras.MaxJWKSSize, it costs a bounded multiple of its size.
func TestWorstShapeParseJWKS(t *testing.T) {
	if testing.Short() {
		t.Skip("megabyte inputs")
	}
	positions := []struct {
		name string
		wrap func(v string) string
	}{
		{"document", func(v string) string { return v }},
		{"keys", func(v string) string { return `{"keys":` + v + `}` }},
		{"key", func(v string) string { return `{"keys":[` + v + `]}` }},
		{"x5c", func(v string) string { return `{"keys":[{"kty":"EC","crv":"P-384","kid":"k","x5c":` + v + `}]}` }},
	}
	for _, p := range positions {
		for _, s := range allocbudget.JSONValues(allocbudget.Size(nras.MaxJWKSSize - 128)) {
			t.Run(p.name+"/"+s.Name, func(t *testing.T) {
				doc := []byte(p.wrap(string(s.Value)))
				allocbudget.Within(t, len(doc), 8, 16<<10, func() { _, _ = nras.ParseJWKS(doc) })
			})
		}
	}
}
