package binding_test

import (
	"crypto"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/binding"
	"github.com/trustfactory/attest/testbed"
	"github.com/trustfactory/attest/verify"
)

// Bind places the primary evidence's digest over the whole runtime data and
// every additional device's over r.Device(), as Expect does for each format;
// it keeps the caller's other expectations.
func TestBind(t *testing.T) {
	bed, err := testbed.New(testbed.Options{GPUs: 1})
	require.NoError(t, err)
	reg, err := bed.Registry()
	require.NoError(t, err)
	s, err := testbed.NewSession()
	require.NoError(t, err)
	rd := s.RuntimeData
	require.NotNil(t, rd.AdditionalEvidence, "the primary's runtime data differs from the device's")

	quote := bed.Quote(make([]byte, 64), nil)
	got, err := binding.Bind(reg, rd, crypto.SHA384, []verify.Component{
		{Format: verify.FormatTDX, Evidence: quote, Expect: verify.Expectations{Now: bed.Now}},
		{Format: verify.FormatGPU, Evidence: []byte("{}")},
	})
	require.NoError(t, err)
	cpu, err := binding.Expect(verify.FormatTDX, rd, crypto.SHA384)
	require.NoError(t, err)
	gpu, err := binding.Expect(verify.FormatGPU, rd, crypto.SHA384)
	require.NoError(t, err)
	require.Equal(t, verify.FormatTDX, got[0].Format)
	require.Equal(t, cpu.ReportData, got[0].Expect.ReportData)
	require.Equal(t, bed.Now, got[0].Expect.Now)
	require.Equal(t, gpu.ReportData, got[1].Expect.ReportData)
}

func TestBindErrors(t *testing.T) {
	bed, err := testbed.New(testbed.Options{})
	require.NoError(t, err)
	reg, err := bed.Registry()
	require.NoError(t, err)
	s, err := testbed.NewSession()
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		reg   *verify.Registry
		rd    binding.RuntimeData
		comps []verify.Component
		kind  error
	}{
		"nil registry":    {nil, s.RuntimeData, []verify.Component{{Format: verify.FormatTDX}}, verify.ErrConfig},
		"no components":   {reg, s.RuntimeData, nil, verify.ErrConfig},
		"own report data": {reg, s.RuntimeData, []verify.Component{{Format: verify.FormatTDX, Expect: verify.Expectations{ReportData: []byte{1}}}}, verify.ErrConfig},
		"empty nonce":     {reg, binding.RuntimeData{TEEPubKey: s.RuntimeData.TEEPubKey}, []verify.Component{{Format: verify.FormatTDX}}, verify.ErrConfig},
		"no verifier":     {reg, s.RuntimeData, []verify.Component{{Format: verify.FormatTDX}, {Format: verify.FormatNitro}}, verify.ErrUnsupported},
		"no format":       {reg, s.RuntimeData, []verify.Component{{Evidence: []byte("not evidence")}}, verify.ErrConfig},
		"too many":        {reg, s.RuntimeData, make([]verify.Component, binding.MaxBindComponents+1), verify.ErrLimit},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := binding.Bind(tc.reg, tc.rd, crypto.SHA384, tc.comps)
			require.ErrorIs(t, err, tc.kind)
		})
	}
}
