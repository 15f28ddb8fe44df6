package bundle_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/collateral/bundle"
	"github.com/trustfactory/attest/internal/allocbudget"
	"github.com/trustfactory/attest/verify"
)

// TestWorstShapeParse: a bundle's manifest and dcap-qvl collateral are JSON
// read before any signature in the collateral is checked. Whatever the
// shape, and wherever it sits, parsing costs a bounded multiple of its size.
// Measured at most 20 bytes per byte for a manifest (27 under -race) (members refused one by
// one, an error each; items are counted before they are decoded) and 48 for
// dcap-qvl collateral, whose byte fields may be arrays of integers: an
// element of the wrong type costs encoding/json an error. Collateral comes
// from the operator or Intel's PCS, not from the attester.
func TestWorstShapeParse(t *testing.T) {
	positions := []struct {
		name string
		wrap func(v string) string
		max  int
	}{
		{"manifest", func(v string) string { return v }, bundle.MaxManifestBytes},
		{"manifest items", func(v string) string { return `{"format":"` + bundle.Format + `","items":` + v + `}` }, bundle.MaxManifestBytes},
		{"manifest item", func(v string) string { return `{"format":"` + bundle.Format + `","items":[` + v + `]}` }, bundle.MaxManifestBytes},
		{"dcap-qvl", func(v string) string { return v }, bundle.MaxDCAPQVLBytes},
		{"dcap-qvl root_ca_crl", func(v string) string { return `{"root_ca_crl":` + v + `}` }, bundle.MaxDCAPQVLBytes},
		{"dcap-qvl tcb_info", func(v string) string { return `{"tcb_info":` + v + `}` }, bundle.MaxDCAPQVLBytes},
		{"dcap-qvl all strings, root_ca_crl", func(v string) string {
			return `{"pck_crl_issuer_chain":"x","tcb_info_issuer_chain":"x","tcb_info":"{}","qe_identity_issuer_chain":"x","qe_identity":"{}","root_ca_crl":` + v + `}`
		}, bundle.MaxDCAPQVLBytes},
	}
	for _, p := range positions {
		for _, s := range allocbudget.JSONValues(allocbudget.Size(min(p.max, 1<<20) - 512)) {
			t.Run(p.name+"/"+s.Name, func(t *testing.T) {
				doc := []byte(p.wrap(string(s.Value)))
				if p.max == bundle.MaxManifestBytes {
					allocbudget.Within(t, len(doc), 32, 64<<10, func() { _, _ = bundle.ParseManifest(doc) })
				} else {
					allocbudget.Within(t, len(doc), 56, 64<<10, func() { _, _ = bundle.ParseDCAPQVL(doc) })
				}
			})
		}
	}
}

// TestItemsCapKeepsStrictness: the items are counted in every occurrence of
// a repeated member, and a member of the wrong type still fails the
// manifest rather than being replaced by the next.
func TestItemsCapKeepsStrictness(t *testing.T) {
	head := `{"format":"` + bundle.Format + `","created":"2025-01-01T00:00:00Z",`
	for doc, kind := range map[string]error{
		head + `"items":5,"items":[]}`: verify.ErrMalformed,
		head + `"items":[],"items":5}`: verify.ErrMalformed,
		head + `"items":[{"x":1}]}`:    verify.ErrMalformed,
		head + `"items":[` + strings.Repeat(`{},`, bundle.MaxItems) + `{}],"items":[]}`: verify.ErrLimit,
	} {
		_, err := bundle.ParseManifest([]byte(doc))
		require.ErrorIs(t, err, kind, "%.80s", doc)
	}
}
