package serve

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/verify"
)

// One body must not be two requests: encoding/json keeps the last of two
// members and folds case, Trustee's attestation service refuses a repeated
// field and reads names exactly. A body whose first runtime_data names one
// key and whose second names another was read by this service as the
// second.
func TestAttestationMembersOnce(t *testing.T) {
	reg, err := verify.NewRegistry(stubTDX{})
	require.NoError(t, err)
	s := &Server{cfg: Config{Registry: reg}}
	s.catalog.Store(&policyCatalog{byID: map[string]verify.Policy{DefaultPolicyID: nil}})
	vr := func(members string) string {
		return `{"verification_requests":[{"tee":"tdx","evidence":"e30"` + members + `}],"policy_ids":[]}`
	}
	refused := map[string]string{
		"runtime_data twice":              vr(`,"runtime_data":{"raw":"YQ"},"runtime_data":{"raw":"Yg"}`),
		"raw twice":                       vr(`,"runtime_data":{"raw":"YQ","raw":"Yg"}`),
		"tee twice":                       vr(`,"tee":"snp"`),
		"policy_ids twice":                `{"verification_requests":[{"tee":"tdx","evidence":"e30"}],"policy_ids":[],"policy_ids":["x"]}`,
		"TEE in capitals":                 vr(`,"TEE":"snp"`),
		"Runtime_Data":                    vr(`,"Runtime_Data":{"raw":"YQ"}`),
		"escaped evidence":                `{"verification_requests":[{"tee":"tdx","\u0065vidence":"e30"}],"policy_ids":[]}`,
		"init_data_TOML":                  vr(`,"init_data":{"init_data_TOML":"a"}`),
		"structured key twice":            vr(`,"runtime_data":{"structured":{"nonce":"a","nonce":"b"}}`),
		"escaped duplicate in structured": vr(`,"runtime_data":{"structured":{"nonce":"a","n\u006fnce":"b"}}`),
		"second element, tee twice":       `{"verification_requests":[{"tee":"tdx","evidence":"e30"},{"tee":"tdx","evidence":"e30","tee":"x"}],"policy_ids":[]}`,
	}
	for name, body := range refused {
		t.Run(name, func(t *testing.T) {
			cerr := checkMemberNames([]byte(body))
			require.NotNil(t, cerr, "accepted")
			assert.Equal(t, 400, cerr.code)
			_, cerr = s.parseAttestation([]byte(body))
			require.NotNil(t, cerr)
		})
	}
	accepted := map[string]string{
		"plain":                         vr(`,"runtime_data":{"raw":"YQ"}`),
		"unknown member":                vr(`,"extra":1`),
		"case-distinct structured keys": vr(`,"runtime_data":{"structured":{"nonce":"a","Nonce":"b"}}`),
		"same key in sibling objects":   vr(`,"runtime_data":{"structured":{"a":{"k":1},"b":{"k":2}}}`),
		"braces inside strings":         vr(`,"runtime_data":{"raw":"{\"tee\":1,\"tee\":2}"}`),
		"two elements":                  `{"verification_requests":[{"tee":"tdx","evidence":"e30"},{"tee":"tdx","evidence":"e30"}],"policy_ids":[]}`,
	}
	for name, body := range accepted {
		t.Run(name, func(t *testing.T) {
			assert.Nil(t, checkMemberNames([]byte(body)))
		})
	}
	long := vr(`,"runtime_data":{"structured":{` + strings.Repeat(`"k":1,`, 3) + `"z":0}}`)
	assert.NotNil(t, checkMemberNames([]byte(long)), "three k")
}
