package serve

import (
	"testing"

	"github.com/trustfactory/attest/internal/allocbudget"
	"github.com/trustfactory/attest/verify"
)

// TestWorstShapeParseAttestation: the body of an attestation request is read
// before any evidence in it is verified. Whatever its shape, wherever the
// shape sits, refusing or mapping it costs a bounded multiple of its size,
// and the error sent back quotes little of it. Measured at most 7 bytes per
// byte (8.6 under -race): a long TEE name, unescaped and looked up.
func TestWorstShapeParseAttestation(t *testing.T) {
	reg, err := verify.NewRegistry(stubTDX{})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{cfg: Config{Registry: reg}}
	s.catalog.Store(&policyCatalog{byID: map[string]verify.Policy{DefaultPolicyID: nil}})
	req := func(v string) string { return `{"verification_requests":[` + v + `],"policy_ids":[]}` }
	positions := []struct {
		name string
		wrap func(v string) string
	}{
		{"document", func(v string) string { return v }},
		{"verification_requests", func(v string) string { return `{"verification_requests":` + v + `,"policy_ids":[]}` }},
		{"policy_ids", func(v string) string {
			return `{"verification_requests":[{"tee":"tdx","evidence":"e30"}],"policy_ids":` + v + `}`
		}},
		{"policy id", func(v string) string {
			return `{"verification_requests":[{"tee":"tdx","evidence":"e30"}],"policy_ids":[` + v + `]}`
		}},
		{"tee", func(v string) string { return req(`{"tee":` + v + `,"evidence":"e30"}`) }},
		{"evidence", func(v string) string { return req(`{"tee":"tdx","evidence":` + v + `}`) }},
		{"runtime_data", func(v string) string { return req(`{"tee":"tdx","evidence":"e30","runtime_data":` + v + `}`) }},
		{"structured", func(v string) string {
			return req(`{"tee":"tdx","evidence":"e30","runtime_data":{"structured":` + v + `}}`)
		}},
	}
	for _, p := range positions {
		for _, sh := range allocbudget.JSONValues(allocbudget.Size(DefaultMaxBody - 256)) {
			t.Run(p.name+"/"+sh.Name, func(t *testing.T) {
				body := []byte(p.wrap(string(sh.Value)))
				var cerr *clientError
				allocbudget.Within(t, len(body), 12, 64<<10, func() { _, cerr = s.parseAttestation(body) })
				if cerr != nil && len(cerr.Error()) > 1<<10 {
					t.Errorf("error of %d bytes quotes the input: %.200s", len(cerr.Error()), cerr.Error())
				}
			})
		}
	}
}
