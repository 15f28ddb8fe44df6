package binding_test

import (
	"crypto"
	"strings"
	"testing"

	"github.com/trustfactory/attest/binding"
	"github.com/trustfactory/attest/internal/allocbudget"
)

// TestWorstShapeCanonicalize: the runtime data of a request is canonicalised
// (RFC 8785) and hashed before any evidence is checked against it. Whatever
// its shape within binding.MaxRuntimeData, Canonicalize and Digest cost a
// bounded multiple of its size, plus the values cap's worth of tree: 4096
// values of about 120 bytes (measured 490 KB for 8 KB of [0,0,…], 60 bytes
// per byte, which the cap holds to that; 720 KB under -race).
func TestWorstShapeCanonicalize(t *testing.T) {
	size := allocbudget.Size(binding.MaxRuntimeData - 64)
	positions := []struct {
		name string
		wrap func(v string) string
	}{
		{"document", func(v string) string { return v }},
		{"tee-pubkey", func(v string) string { return `{"nonce":"n","tee-pubkey":` + v + `}` }},
	}
	shapes := append(allocbudget.JSONValues(size),
		allocbudget.Shape{Name: "max values", Value: allocbudget.Fill(4095*2+2, "[", "0,", "0]")},
		allocbudget.Shape{Name: "max values of long numbers", Value: []byte("[" + strings.Repeat("1"+strings.Repeat("0", 300)+",", 4000) + "1]")},
		allocbudget.Shape{Name: "max values of escapes", Value: []byte("[" + strings.Repeat(`"\ud83d\ude00",`, 4000) + `""]`)},
	)
	for _, p := range positions {
		for _, s := range shapes {
			t.Run(p.name+"/"+s.Name, func(t *testing.T) {
				doc := []byte(p.wrap(string(s.Value)))
				allocbudget.Within(t, len(doc), 8, 1<<20, func() { _, _ = binding.Canonicalize(doc) })
				allocbudget.Within(t, len(doc), 8, 1<<20, func() { _, _ = binding.Digest(doc, crypto.SHA384) })
			})
		}
	}
}
