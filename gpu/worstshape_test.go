package gpu_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/internal/allocbudget"
	"github.com/trustfactory/attest/verify"
)

// gpuEvidenceCap is the size ParseEvidence accepts (maxEvidenceSize).
const gpuEvidenceCap = 1 << 20

// TestWorstShapeParseEvidence: GPU evidence is read before anything in it is
// authenticated. Whatever its shape, a document at the size cap costs
// ParseEvidence a bounded multiple of its size, and is refused or parsed
// without panicking.
func TestWorstShapeParseEvidence(t *testing.T) {
	if testing.Short() {
		t.Skip("megabyte inputs")
	}
	positions := []struct {
		name string
		wrap func(v string) string
	}{
		{"document", func(v string) string { return v }},
		{"device list", func(v string) string { return `{"device_evidence_list":` + v + `}` }},
		{"device element", func(v string) string { return `{"device_evidence_list":[` + v + `]}` }},
		{"array element", func(v string) string { return `[` + v + `]` }},
		{"arch", func(v string) string { return `[{"arch":` + v + `,"nonce":"","evidence":"AA==","certificate":"AA=="}]` }},
		{"evidence", func(v string) string {
			return `{"device_evidence_list":[{"arch":"HOPPER","evidence":` + v + `,"certificate":"AA=="}]}`
		}},
	}
	for _, p := range positions {
		for _, s := range allocbudget.JSONValues(allocbudget.Size(gpuEvidenceCap - 128)) {
			t.Run(p.name+"/"+s.Name, func(t *testing.T) {
				doc := []byte(p.wrap(string(s.Value)))
				allocbudget.Within(t, len(doc), 12, 64<<10, func() { _, _ = gpu.ParseEvidence(doc) })
			})
		}
	}
	// Base64 of the largest report: decoded once, into a buffer of its size.
	b64 := base64.StdEncoding.EncodeToString(make([]byte, (gpuEvidenceCap-256)*3/4))
	for name, doc := range map[string]string{
		"serialized": `[{"arch":"HOPPER","nonce":"","evidence":"` + b64 + `","certificate":"AA=="}]`,
		"trustee":    `{"device_evidence_list":[{"arch":"HOPPER","evidence":"` + b64 + `","certificate":"AA=="}]}`,
		"raw":        strings.Repeat("\x11", 1<<19) + "-----BEGIN CERTIFICATE-----\n" + b64[:1<<18],
	} {
		t.Run("base64/"+name, func(t *testing.T) {
			allocbudget.Within(t, len(doc), 8, 64<<10, func() { _, _ = gpu.ParseEvidence([]byte(doc)) })
		})
	}
}

// TestDeviceListCapKeepsStrictness: the cap on a Trustee list's length holds,
// and capping does not turn a member of the wrong type, given before or
// after a good one, into one that is skipped.
func TestDeviceListCapKeepsStrictness(t *testing.T) {
	dev := `{"arch":"HOPPER","evidence":"AA==","certificate":"QQ=="}`
	long := "[" + strings.Repeat(dev+",", 16) + dev + "]"
	for doc, kind := range map[string]error{
		`{"device_evidence_list":5,"device_evidence_list":[` + dev + `]}`:    verify.ErrMalformed,
		`{"device_evidence_list":[` + dev + `],"device_evidence_list":5}`:    verify.ErrMalformed,
		`{"device_evidence_list":` + long + `}`:                              verify.ErrLimit,
		`{"device_evidence_list":["",` + strings.Repeat(`"",`, 100) + `""]}`: verify.ErrLimit,
	} {
		_, err := gpu.ParseEvidence([]byte(doc))
		require.ErrorIs(t, err, kind, "%.80s", doc)
	}
}
