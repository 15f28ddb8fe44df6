package testbed_test

import (
	"context"
	"crypto"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/kbs"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/testbed"
	"github.com/trustfactory/attest/verify"
)

// A KBS request from the bed (TD with 3 GPUs of 3 PKIs, with init data)
// parses and is affirmed at the real clock; a debug TD is not.
func TestKBSRequest(t *testing.T) {
	bed, err := testbed.New(testbed.Options{GPUs: 3})
	require.NoError(t, err)
	a, err := bed.Appraiser()
	require.NoError(t, err)
	s, err := testbed.NewSession()
	require.NoError(t, err)
	initData := "version = \"0.1.0\"\nalgorithm = \"sha384\"\n[data]\n\"aa.toml\" = '''\n[token_configs]\n'''\n"
	cases := []struct {
		name  string
		edits testbed.KBSEdits
		want  ear.Status
	}{
		{"as sent", testbed.KBSEdits{InitData: initData}, ear.StatusAffirming},
		{"debug TD", testbed.KBSEdits{Quote: func(q *tdxtest.QuoteSpec) { q.Body.TDAttributes[0] |= 1 }}, ear.StatusContraindicated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body, err := bed.KBSRequestFor(s, c.edits)
			require.NoError(t, err)
			req, err := kbs.ParseRequest(body)
			require.NoError(t, err)
			comps, err := kbs.Components(req, verify.FormatTDX, crypto.SHA384, bed.Now)
			require.NoError(t, err)
			require.Len(t, comps, 2)
			o, err := a.AppraiseOutcome(context.Background(), comps)
			require.NoError(t, err)
			require.Equal(t, c.want, o.Status())
		})
	}
}
