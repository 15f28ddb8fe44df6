package kbs_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	offlinetest "github.com/trustfactory/attest/examples/offline-test"
	"github.com/trustfactory/attest/kbs"
	"github.com/trustfactory/attest/verify"
)

// POL-05: test evidence ("sample", "sampledevice") offered to a production
// service is refused as ErrUnsupported, not ErrConfig (see kbs.Format for
// why): it is not operational, and it maps to unexpected evidence, never to
// a verifier malfunction that a retry could clear.
func TestPOL05SampleEvidenceRefused(t *testing.T) {
	f := newFixture(t, 0)
	svc := f.service(t)
	body := f.request(t, attester{nonce: "bg==", key: teeKey(t)})
	withSampleDevice := func() []byte {
		var req map[string]any
		require.NoError(t, json.Unmarshal(body, &req))
		req["tee-evidence"].(map[string]any)["additional_evidence"] = `{"sampledevice":{"svn":"1"}}`
		b, err := json.Marshal(req)
		require.NoError(t, err)
		return b
	}
	cases := []struct {
		name string
		tee  string
		body []byte
	}{
		{"sample TEE", "sample", body},
		{"sampledevice TEE", "sampledevice", body},
		{"sample device beside a real TEE", "tdx", withSampleDevice()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := svc.Attest(context.Background(), c.tee, "bg==", c.body, offlinetest.Now())
			require.ErrorIs(t, err, verify.ErrUnsupported)
			assert.NotErrorIs(t, err, verify.ErrConfig)
			assert.False(t, verify.IsOperational(err))
			assert.Equal(t, ear.UnexpectedEvidence, verify.FailureVector(err)[ear.InstanceIdentity])
		})
	}
	_, err := kbs.Format("sample")
	require.ErrorIs(t, err, verify.ErrUnsupported)
}
