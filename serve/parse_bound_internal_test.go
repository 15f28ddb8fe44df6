package serve

import (
	"context"
	"encoding/base64"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/trustfactory/attest/verify"
)

// The structured runtime data is the caller's JSON, read before any nonce
// or evidence is checked: a request of MaxBody bytes whose tee-pubkey (or
// an unknown member) is an array of a million empty objects must be
// refused without decoding them into a million Go values (which allocates
// tens of times the body).
func TestStructuredRuntimeDataBoundedBeforeDecoding(t *testing.T) {
	reg, err := verify.NewRegistry(stubTDX{})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{cfg: Config{Registry: reg}}
	s.catalog.Store(&policyCatalog{byID: map[string]verify.Policy{DefaultPolicyID: nil}})
	const size = DefaultMaxBody
	ev := base64.RawURLEncoding.EncodeToString([]byte(`{"quote":"AA=="}`))
	many := "[" + strings.Repeat("{},", size/3) + "{}]"
	for name, structured := range map[string]string{
		"tee-pubkey member": `{"nonce":"bm9uY2Utbm9uY2Utbm9uY2U","additional-evidence":"","tee-pubkey":{"kty":"EC","x":` + many + `}}`,
		"unknown member":    `{"nonce":"bm9uY2Utbm9uY2Utbm9uY2U","additional-evidence":"","tee-pubkey":{"kty":"EC"},"x":` + many + `}`,
		"nonce member":      `{"nonce":` + many + `,"additional-evidence":"","tee-pubkey":{"kty":"EC"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			body := []byte(`{"verification_requests":[{"tee":"tdx","evidence":"` + ev + `","runtime_data":{"structured":` + structured + `}}],"policy_ids":[]}`)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			p, cerr := s.parseAttestation(body)
			runtime.ReadMemStats(&after)
			if p != nil || cerr == nil || cerr.code != http.StatusBadRequest {
				t.Fatalf("parsed: %v, %v", p, cerr)
			}
			if got, budget := after.TotalAlloc-before.TotalAlloc, uint64(4*len(body)); got > budget {
				t.Fatalf("%d bytes allocated for a %d-byte body, budget %d", got, len(body), budget)
			}
		})
	}
}

// stubTDX answers to the TEE name "tdx"; parsing never verifies.
type stubTDX struct{}

func (stubTDX) Format() verify.Format { return verify.FormatTDX }
func (stubTDX) TEEName() string       { return "tdx" }
func (stubTDX) Verify(context.Context, []byte, verify.Expectations) (verify.Claims, error) {
	return nil, verify.Errorf(verify.ErrConfig, "stub")
}
