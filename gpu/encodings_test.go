package gpu

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/verify"
)

// h590Parts returns the report and PEM chain of NVIDIA's driver 590.12 H100
// sample.
func h590Parts(t *testing.T) (report, chain []byte) {
	t.Helper()
	var list []struct {
		Evidence, Certificate string
	}
	require.NoError(t, json.Unmarshal(readFile(t, "hopper590", "evidence_hopper_590_12.json"), &list))
	require.Len(t, list, 1)
	report, err := base64.StdEncoding.DecodeString(list[0].Evidence)
	require.NoError(t, err)
	chain, err = base64.StdEncoding.DecodeString(list[0].Certificate)
	require.NoError(t, err)
	return report, chain
}

// nrasBody is the NRAS request body NVIDIA's verifiers post (and tools keep
// as their "gpu evidence"), around the devices given as [report, chain].
func nrasBody(nonce string, devs ...[2][]byte) []byte {
	var b strings.Builder
	b.WriteString(`{"nonce": "` + nonce + `", "arch": "HOPPER", "claims_version": "3.0", "evidence_list": [`)
	for i, d := range devs {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"certificate": "` + base64.StdEncoding.EncodeToString(d[1]) + `", "evidence": "` + base64.StdEncoding.EncodeToString(d[0]) + `"}`)
	}
	b.WriteString("]}")
	return []byte(b.String())
}

// TestNRASRequestEncoding: the NRAS request body was refused as "no
// device" (a public capture of an Azure H100 NVL kept in that shape showed
// it). It is now read like the other encodings; its one nonce is the
// declared nonce of every device, checked against each signed request.
func TestNRASRequestEncoding(t *testing.T) {
	report, chain := h590Parts(t)
	body := nrasBody(h590Nonce, [2][]byte{report, chain})
	v := noNetVerifier(t, verify.FormatGPU)
	require.True(t, v.Detect(body))
	exp := verify.Expectations{ReportData: mustHex(h590Nonce), Now: realPublicTime}
	c, err := v.VerifyDevices(context.Background(), body, exp)
	require.NoError(t, err)
	require.Len(t, c.Devices, 1)
	assert.Equal(t, "590.12", c.Devices[0].Decoded.DriverVersion)
	parts, err := v.Split(body)
	require.NoError(t, err)
	assert.Len(t, parts, 1)

	// A declared nonce other than the signed one.
	bad := nrasBody(rtxNonce, [2][]byte{report, chain})
	cl, err := v.Verify(context.Background(), bad, exp)
	mustFail(t, cl, err, verify.ErrMalformed)
	// The declared architecture is checked against the chain.
	ls := []byte(strings.Replace(string(body), `"HOPPER"`, `"BLACKWELL"`, 1))
	cl, err = v.Verify(context.Background(), ls, exp)
	mustFail(t, cl, err, verify.ErrBinding)
	// Two devices split into two parts that re-encode the declared values.
	two := nrasBody(h590Nonce, [2][]byte{report, chain}, [2][]byte{report, chain})
	parts, err = v.Split(two)
	require.NoError(t, err)
	assert.Len(t, parts, 2)
	_, err = v.VerifyDevices(context.Background(), two, exp)
	assert.ErrorIs(t, err, verify.ErrMalformed, "the same device twice")
	// No device, a device without its chain, too many devices.
	for _, doc := range []string{
		`{"nonce":"` + h590Nonce + `","arch":"HOPPER","evidence_list":[]}`,
		`{"nonce":"` + h590Nonce + `","arch":"HOPPER","evidence_list":[{"evidence":"EeA="}]}`,
		`{"nonce":"` + h590Nonce + `","arch":"HOPPER","evidence_list":5}`,
	} {
		_, err := ParseEvidence([]byte(doc))
		assert.ErrorIs(t, err, verify.ErrMalformed, doc)
	}
	many := make([][2][]byte, maxDevices+1)
	for i := range many {
		many[i] = [2][]byte{report, chain}
	}
	_, err = ParseEvidence(nrasBody(h590Nonce, many...))
	assert.ErrorIs(t, err, verify.ErrLimit)
}

// TestCMWEncoding reads NVIDIA's CMW collections: the Blackwell FSP and
// Rubin samples reach the checks that refuse them as unsupported (before,
// the encoding itself was refused as malformed), and the H100 sample
// wrapped the same way verifies.
func TestCMWEncoding(t *testing.T) {
	v := noNetVerifier(t, verify.FormatGPU)
	for _, tc := range []struct {
		dir, file, nonce, want string
	}{
		{"blackwell-fsp", "blackwell_fsp_evidence.cmw.json", fspNonce, "FSP FMC LF"},
		{"rubin", "rubin_evidence.cmw.json", rubinNonce, "GR100"},
	} {
		ev := readFile(t, tc.dir, tc.file)
		assert.True(t, DetectEncoding(ev), tc.file)
		devs, err := ParseEvidence(ev)
		require.NoError(t, err, tc.file)
		require.Len(t, devs, 1)
		assert.Empty(t, devs[0].Arch, "the chain, not the collection, names the architecture")
		c, err := v.Verify(context.Background(), ev, verify.Expectations{ReportData: mustHex(tc.nonce), Now: realPublicTime})
		mustFail(t, c, err, verify.ErrUnsupported)
		assert.Contains(t, err.Error(), tc.want)
	}
	// The FSP collection carries the same transcript and chain as the two
	// files it was published beside.
	devs, err := ParseEvidence(readFile(t, "blackwell-fsp", "blackwell_fsp_evidence.cmw.json"))
	require.NoError(t, err)
	assert.Equal(t, readHex(t, "blackwell-fsp", "blackwellFspAttestationReport.txt"), devs[0].Report)
	assert.Equal(t, readFile(t, "blackwell-fsp", "blackwellFspCertChain.txt"), devs[0].Certificate)

	// NVIDIA's Blackwell GSP sample as a CMW collection verifies, with the
	// claims of the raw encoding.
	bw, err := v.VerifyDevices(context.Background(), readFile(t, "blackwell", "blackwell_evidence.cmw.json"), verify.Expectations{ReportData: v1Nonce, Now: v1Time})
	require.NoError(t, err)
	raw, err := v.VerifyDevices(context.Background(), rawEvidence(readHex(t, "blackwell", "blackwellAttestationReport.txt"), readFile(t, "blackwell", "blackwellCertChain.txt")),
		verify.Expectations{ReportData: v1Nonce, Now: v1Time})
	require.NoError(t, err)
	assert.Equal(t, ArchBlackwell, bw.Devices[0].Arch)
	assert.True(t, bw.Devices[0].FWIDMatched)
	assert.Equal(t, raw.Devices[0].Map(), bw.Devices[0].Map())

	report, chain := h590Parts(t)
	enc := base64.RawURLEncoding.EncodeToString
	item := func(extra string) string {
		return `{"__cmwc_t":"tag:nvidia.com,2026:evidence-item/v1","evidence":["` + cmwMediaTranscript + `","` + enc(report) +
			`"],"certificate":["` + cmwMediaPEMChain + `","` + enc(chain) + `"]` + extra + `}`
	}
	nonceRec := func(n string) string { return `["application/octet-stream","` + enc(mustHex(n)) + `"]` }
	coll := func(items ...string) []byte {
		return []byte(`{"__cmwc_t":"tag:nvidia.com,2026:verifier-input/profiles/base/pre-1.0.0",` + strings.Join(items, ",") + `}`)
	}
	exp := verify.Expectations{ReportData: mustHex(h590Nonce), Now: realPublicTime}
	good := coll(`"gpu_0":`+item(`,"nonce":`+nonceRec(h590Nonce)), `"nonce":`+nonceRec(h590Nonce))
	c, err := v.VerifyDevices(context.Background(), good, exp)
	require.NoError(t, err)
	assert.Equal(t, "96.00.A5.00.01", c.Devices[0].Decoded.VBIOSVersion)

	for name, tc := range map[string]struct {
		doc  []byte
		kind error
	}{
		"item nonce differs from the signed one": {coll(`"gpu_0":` + item(`,"nonce":`+nonceRec(rtxNonce))), verify.ErrMalformed},
		"collection nonce differs from item's":   {coll(`"gpu_0":`+item(`,"nonce":`+nonceRec(h590Nonce)), `"nonce":`+nonceRec(rtxNonce)), verify.ErrMalformed},
		"item given twice":                       {coll(`"gpu_0":`+item(""), `"gpu_0":`+item("")), verify.ErrMalformed},
		"member given twice inside an item":      {coll(`"gpu_0":` + item(`,"evidence":["`+cmwMediaTranscript+`","AA"]`)), verify.ErrMalformed},
		"no item":                                {coll(`"nonce":` + nonceRec(h590Nonce)), verify.ErrMalformed},
		"item without a chain": {coll(`"gpu_0":{"evidence":["` + cmwMediaTranscript + `","` + enc(report) + `"]}`),
			verify.ErrMalformed},
		"evidence of another media type": {[]byte(strings.Replace(string(coll(`"gpu_0":`+item(""))), `"`+cmwMediaTranscript+`"`, `"application/eat+cwt"`, 1)),
			verify.ErrUnsupported},
		"chain of another media type": {[]byte(strings.Replace(string(coll(`"gpu_0":`+item(""))), cmwMediaPEMChain, "application/pkix-cert", 1)),
			verify.ErrUnsupported},
		"record of three values": {coll(`"gpu_0":{"evidence":["` + cmwMediaTranscript + `","` + enc(report) + `",1],"certificate":["` + cmwMediaPEMChain + `","` + enc(chain) + `"]}`),
			verify.ErrMalformed},
		"value not base64url": {coll(`"gpu_0":{"evidence":["` + cmwMediaTranscript + `","+/+/"],"certificate":["` + cmwMediaPEMChain + `","` + enc(chain) + `"]}`),
			verify.ErrMalformed},
		"short nonce": {coll(`"gpu_0":`+item(""), `"nonce":["application/octet-stream","AAAA"]`), verify.ErrMalformed},
		"more items than devices allowed": {coll(func() []string {
			var items []string
			for i := 0; i <= maxDevices; i++ {
				items = append(items, `"gpu_`+strings.Repeat("x", i)+`":`+item(""))
			}
			return items
		}()...), verify.ErrLimit},
	} {
		cl, err := v.Verify(context.Background(), tc.doc, exp)
		assert.Nil(t, cl, name)
		assert.ErrorIs(t, err, tc.kind, name)
	}
}

// TestDuplicateMemberNames: a member name twice in any object of the JSON
// evidence is refused. encoding/json keeps the last value, so a reader in
// front of this verifier (a policy, a log) that keeps the first would see
// other evidence than the one verified.
func TestDuplicateMemberNames(t *testing.T) {
	report, chain := h590Parts(t)
	ev := base64.StdEncoding.EncodeToString(report)
	ch := base64.StdEncoding.EncodeToString(chain)
	dev := `{"arch":"HOPPER","nonce":"` + h590Nonce + `","evidence":"` + ev + `","certificate":"` + ch + `"`
	exp := verify.Expectations{ReportData: mustHex(h590Nonce), Now: realPublicTime}
	v := noNetVerifier(t, verify.FormatGPU)
	c, err := v.Verify(context.Background(), []byte(`[`+dev+`}]`), exp)
	require.NoError(t, err)
	require.NotNil(t, c)
	for name, doc := range map[string]string{
		"array, evidence twice":          `[` + dev + `,"evidence":"AA=="}]`,
		"array, arch twice":              `[` + dev + `,"arch":"LS10"}]`,
		"array, nested object":           `[` + dev + `,"x":{"a":1,"a":2}}]`,
		"lone device, certificate twice": dev + `,"certificate":"QQ=="}`,
		"Trustee wrapper twice":          `{"device_evidence_list":[` + dev + `}],"device_evidence_list":[]}`,
		"Trustee device, uuid twice":     `{"device_evidence_list":[` + dev + `,"uuid":"a","uuid":"b"}]}`,
		"array, arch twice, escaped":     `[` + dev + `,"\u0061rch":"HOPPER"}]`,
		"NRAS request, nonce twice":      `{"nonce":"` + h590Nonce + `","evidence_list":[{"evidence":"` + ev + `","certificate":"` + ch + `"}],"nonce":"00"}`,
	} {
		cl, err := v.Verify(context.Background(), []byte(doc), exp)
		assert.Nil(t, cl, name)
		assert.ErrorIs(t, err, verify.ErrMalformed, name)
		assert.Contains(t, err.Error(), "twice", name)
	}
}

// TestHugeJSONEvidence: arrays and objects far beyond any device count are
// refused by their size, without decoding them first.
func TestHugeJSONEvidence(t *testing.T) {
	for name, doc := range map[string]string{
		"array of nulls":             "[" + strings.Repeat("null,", 200_000) + "null]",
		"NRAS list of empty objects": `{"nonce":"00","arch":"HOPPER","evidence_list":[` + strings.Repeat("{},", 100_000) + `{}]}`,
		"CMW with deep nesting":      `{"__cmwc_t":"t","a":"` + cmwMediaTranscript + `","b":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`,
	} {
		allocs := testing.AllocsPerRun(1, func() {
			_, err := ParseEvidence([]byte(doc))
			assert.Error(t, err, name)
			assert.True(t, isKind(err, verify.ErrLimit) || isKind(err, verify.ErrMalformed), "%s: %v", name, err)
		})
		assert.Less(t, allocs, 100_000.0, name)
	}
}

// The duplicate-member scan keeps bookkeeping per nesting level: past
// maxEvidenceDepth it refuses instead of following a megabyte of brackets.
func TestDuplicateScanDepthBounded(t *testing.T) {
	deep := []byte(strings.Repeat("[", maxEvidenceDepth+1) + strings.Repeat("]", maxEvidenceDepth+1))
	if err := checkDuplicateNames(deep, "test"); !errors.Is(err, verify.ErrLimit) {
		t.Fatalf("depth %d: %v, want ErrLimit", maxEvidenceDepth+1, err)
	}
	ok := []byte(strings.Repeat("[", maxEvidenceDepth) + strings.Repeat("]", maxEvidenceDepth))
	if err := checkDuplicateNames(ok, "test"); err != nil {
		t.Fatalf("depth %d: %v", maxEvidenceDepth, err)
	}
}
