package azure

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/verify"
)

// decoded is what either decoder found, for comparison.
type decoded struct {
	Version                        int
	HCL, Message, Signature, Extra []byte
	PCRs                           [][]byte
	AAEventLog                     []byte
}

// ours runs DecodeEvidence (tdx false) or DecodeTDXEvidence.
func ours(b []byte, tdx bool) (*decoded, error) {
	if tdx {
		ev, err := DecodeTDXEvidence(b)
		if err != nil {
			if ev != nil {
				return nil, fmt.Errorf("evidence with error %w", err)
			}
			return nil, err
		}
		return &decoded{ev.Version, ev.HCLReport, ev.Quote.Message, ev.Quote.Signature, ev.TDQuote, ev.Quote.PCRs, ev.AAEventLog}, nil
	}
	ev, err := DecodeEvidence(b)
	if err != nil {
		if ev != nil {
			return nil, fmt.Errorf("evidence with error %w", err)
		}
		return nil, err
	}
	return &decoded{ev.Version, ev.HCLReport, ev.Quote.Message, ev.Quote.Signature, ev.VCEK, ev.Quote.PCRs, ev.AAEventLog}, nil
}

// reference decodes the same evidence with encoding/json, the way the
// package did before it had its own scanner: json.Unmarshal into a struct,
// then the same checks in the same order.
func reference(b []byte, tdx bool) (*decoded, error) {
	if len(b) > MaxEvidenceSize {
		return nil, verify.Errorf(verify.ErrLimit, "too large")
	}
	var raw struct {
		Version   *int            `json:"version"`
		HCLReport json.RawMessage `json:"hcl_report"`
		TPMQuote  *struct {
			Signature json.RawMessage `json:"signature"`
			Message   json.RawMessage `json:"message"`
			PCRs      json.RawMessage `json:"pcrs"`
		} `json:"tpm_quote"`
		VCEK       string          `json:"vcek"`
		TDQuote    json.RawMessage `json:"td_quote"`
		AAEventLog string          `json:"aa_eventlog"`
		Quote      json.RawMessage `json:"quote"`  // az-snp-vtpm version 0
		Report     json.RawMessage `json:"report"` // az-snp-vtpm version 0
	}
	malformed := func(what string) error { return verify.Errorf(verify.ErrMalformed, "%s", what) }
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, malformed(err.Error())
	}
	present := func(r json.RawMessage) bool { return len(r) > 0 && string(r) != "null" }
	isArray := func(r json.RawMessage) bool { return len(r) > 0 && r[0] == '[' }
	arrayOfArrays := func(r json.RawMessage) bool {
		return isArray(r) && len(bytes.TrimLeft(r[1:], " \t\r\n")) > 0 && bytes.TrimLeft(r[1:], " \t\r\n")[0] == '['
	}
	q := raw.TPMQuote
	if isArray(raw.HCLReport) || isArray(raw.TDQuote) || q != nil && (isArray(q.Signature) || isArray(q.Message) || arrayOfArrays(q.PCRs)) {
		if !tdx || raw.Version != nil {
			return nil, malformed("byte arrays outside az-tdx-vtpm version 0")
		}
		return referenceTDXV0(raw.HCLReport, raw.TDQuote, q != nil, func() (s, m, p json.RawMessage) {
			if q != nil {
				s, m, p = q.Signature, q.Message, q.PCRs
			}
			return
		}, raw.VCEK, raw.AAEventLog)
	}
	str := func(r json.RawMessage) (string, error) {
		var v string
		if !present(r) {
			return "", nil
		}
		err := json.Unmarshal(r, &v)
		return v, err
	}
	var j struct {
		Version   *int
		HCLReport string
		TPMQuote  *struct {
			Signature string
			Message   string
			PCRs      []string
		}
		VCEK, TDQuote, AAEventLog string
	}
	j.Version, j.VCEK, j.AAEventLog = raw.Version, raw.VCEK, raw.AAEventLog
	var err error
	if j.HCLReport, err = str(raw.HCLReport); err != nil {
		return nil, malformed("hcl_report type")
	}
	if j.TDQuote, err = str(raw.TDQuote); err != nil {
		return nil, malformed("td_quote type")
	}
	if q != nil {
		j.TPMQuote = &struct {
			Signature string
			Message   string
			PCRs      []string
		}{}
		if j.TPMQuote.Signature, err = str(q.Signature); err != nil {
			return nil, malformed("signature type")
		}
		if j.TPMQuote.Message, err = str(q.Message); err != nil {
			return nil, malformed("message type")
		}
		if present(q.PCRs) {
			if err := json.Unmarshal(q.PCRs, &j.TPMQuote.PCRs); err != nil {
				return nil, malformed("pcrs type")
			}
		}
	}
	if j.Version == nil && !tdx && (present(raw.Quote) || present(raw.Report)) {
		return referenceV0(raw.Quote, raw.Report, j.TPMQuote != nil, j.HCLReport, j.VCEK, j.TDQuote, j.AAEventLog)
	}
	if j.Version == nil {
		return nil, malformed("no version")
	}
	if *j.Version != 1 && *j.Version != 2 {
		return nil, verify.Errorf(verify.ErrUnsupported, "version %d", *j.Version)
	}
	if j.TPMQuote == nil || j.HCLReport == "" {
		return nil, malformed("hcl_report and tpm_quote are required")
	}
	hw, other := j.VCEK, j.TDQuote
	if tdx {
		hw, other = j.TDQuote, j.VCEK
	}
	if other != "" || hw == "" {
		return nil, malformed("hardware part")
	}
	b64 := func(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "=")) }
	hx := func(s string) ([]byte, error) {
		v, err := hex.DecodeString(s)
		if err == nil && len(v) == 0 {
			err = errors.New("empty")
		}
		return v, err
	}
	d := &decoded{Version: *j.Version}
	if d.HCL, err = b64(j.HCLReport); err != nil {
		return nil, malformed("hcl_report")
	}
	if d.Message, err = hx(j.TPMQuote.Message); err != nil {
		return nil, malformed("message")
	}
	if d.Signature, err = hx(j.TPMQuote.Signature); err != nil {
		return nil, malformed("signature")
	}
	if len(j.TPMQuote.PCRs) == 0 || len(j.TPMQuote.PCRs) > 24 {
		return nil, malformed("pcr count")
	}
	for _, p := range j.TPMQuote.PCRs {
		v, err := hx(p)
		if err != nil || len(v) != 32 {
			return nil, malformed("pcr")
		}
		d.PCRs = append(d.PCRs, v)
	}
	if j.AAEventLog != "" {
		if d.AAEventLog, err = base64.StdEncoding.DecodeString(j.AAEventLog); err != nil {
			return nil, malformed("aa_eventlog")
		}
	}
	if d.Extra, err = b64(hw); err != nil {
		return nil, malformed("hardware part")
	}
	return d, nil
}

// referenceTDXV0 decodes az-tdx-vtpm version 0 (version 1's members with
// byte-array values) with encoding/json.
func referenceTDXV0(hcl, td json.RawMessage, tpmQuote bool, quote func() (s, m, p json.RawMessage), vcek, aael string) (*decoded, error) {
	malformed := func(what string) error { return verify.Errorf(verify.ErrMalformed, "%s", what) }
	sig, msg, pcrs := quote()
	isArray := func(r json.RawMessage) bool { return len(r) > 0 && r[0] == '[' }
	if !isArray(hcl) || !isArray(td) || !tpmQuote || !isArray(sig) || !isArray(msg) || !isArray(pcrs) {
		return nil, malformed("version 0 members")
	}
	if vcek != "" {
		return nil, malformed("hardware part")
	}
	toBytes := func(r json.RawMessage, want int) ([]byte, error) {
		var v []int
		if err := json.Unmarshal(r, &v); err != nil {
			return nil, err
		}
		if want >= 0 && len(v) != want || want < 0 && len(v) == 0 {
			return nil, errors.New("length")
		}
		out := make([]byte, len(v))
		for i, n := range v {
			if n < 0 || n > 255 {
				return nil, errors.New("not a byte")
			}
			out[i] = byte(n)
		}
		return out, nil
	}
	d := &decoded{Version: 0}
	var err error
	if d.HCL, err = toBytes(hcl, -1); err != nil {
		return nil, malformed("hcl_report")
	}
	if d.Extra, err = toBytes(td, -1); err != nil {
		return nil, malformed("td_quote")
	}
	if d.Signature, err = toBytes(sig, -1); err != nil {
		return nil, malformed("signature")
	}
	if d.Message, err = toBytes(msg, -1); err != nil {
		return nil, malformed("message")
	}
	var ps []json.RawMessage
	if err := json.Unmarshal(pcrs, &ps); err != nil || len(ps) == 0 || len(ps) > 24 {
		return nil, malformed("pcr count")
	}
	for _, p := range ps {
		v, err := toBytes(p, 32)
		if err != nil {
			return nil, malformed("pcr")
		}
		d.PCRs = append(d.PCRs, v)
	}
	if aael != "" {
		if d.AAEventLog, err = base64.StdEncoding.DecodeString(aael); err != nil {
			return nil, malformed("aa_eventlog")
		}
	}
	return d, nil
}

// referenceV0 decodes version 0 (byte arrays, PEM VCEK) with encoding/json.
func referenceV0(quote, report json.RawMessage, tpmQuote bool, hcl, vcek, tdQuote, aael string) (*decoded, error) {
	malformed := func(what string) error { return verify.Errorf(verify.ErrMalformed, "%s", what) }
	present := func(r json.RawMessage) bool { return len(r) > 0 && string(r) != "null" }
	if !present(quote) || !present(report) || tpmQuote || hcl != "" {
		return nil, malformed("version 0 mix")
	}
	if tdQuote != "" || vcek == "" {
		return nil, malformed("hardware part")
	}
	toBytes := func(v []int, want int) ([]byte, error) {
		if want >= 0 && len(v) != want || want < 0 && len(v) == 0 {
			return nil, errors.New("length")
		}
		out := make([]byte, len(v))
		for i, n := range v {
			if n < 0 || n > 255 {
				return nil, errors.New("not a byte")
			}
			out[i] = byte(n)
		}
		return out, nil
	}
	var rep []int
	if err := json.Unmarshal(report, &rep); err != nil {
		return nil, malformed("report")
	}
	d := &decoded{Version: 0}
	var err error
	if d.HCL, err = toBytes(rep, -1); err != nil {
		return nil, malformed("report")
	}
	var q struct {
		Signature []int   `json:"signature"`
		Message   []int   `json:"message"`
		PCRs      [][]int `json:"pcrs"`
	}
	if err := json.Unmarshal(quote, &q); err != nil {
		return nil, malformed("quote")
	}
	if d.Signature, err = toBytes(q.Signature, -1); err != nil {
		return nil, malformed("signature")
	}
	if d.Message, err = toBytes(q.Message, -1); err != nil {
		return nil, malformed("message")
	}
	if len(q.PCRs) == 0 || len(q.PCRs) > 24 {
		return nil, malformed("pcr count")
	}
	for _, p := range q.PCRs {
		v, err := toBytes(p, 32)
		if err != nil {
			return nil, malformed("pcr")
		}
		d.PCRs = append(d.PCRs, v)
	}
	if aael != "" {
		if d.AAEventLog, err = base64.StdEncoding.DecodeString(aael); err != nil {
			return nil, malformed("aa_eventlog")
		}
	}
	blk, rest := pem.Decode([]byte(vcek))
	if blk == nil || blk.Type != "CERTIFICATE" || len(blk.Headers) != 0 || len(bytes.TrimSpace(rest)) != 0 {
		return nil, malformed("vcek")
	}
	d.Extra = blk.Bytes
	return d, nil
}

// strictOnly reports whether b is valid JSON that only the scanner's
// strictness refuses: a member it reads given twice or under a name that
// differs only in case, at the top or in tpm_quote, or nesting deeper than
// maxEvidenceDepth. It reads b with encoding/json's tokenizer, independently
// of the scanner.
func strictOnly(b []byte) bool {
	read := map[int][]string{
		1: {"version", "hcl_report", "tpm_quote", "vcek", "td_quote", "aa_eventlog", "quote", "report"},
		2: {"signature", "message", "pcrs"},
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		object, inQuote bool
		keys            map[string]bool
		expectKey       bool
	}
	var stack []*frame
	strict, lastKey := false, ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return strict
		}
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.expectKey {
			if k, ok := tok.(string); ok {
				top.expectKey = false
				lastKey = k
				level := 0
				switch {
				case len(stack) == 1:
					level = 1
				case len(stack) == 2 && stack[1].inQuote:
					level = 2
				}
				for _, n := range read[level] {
					if k == n && top.keys[n] || k != n && strings.EqualFold(k, n) {
						strict = true
					}
				}
				top.keys[k] = true
				continue
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			f := &frame{object: tok == json.Delim('{'), keys: map[string]bool{}, expectKey: tok == json.Delim('{')}
			f.inQuote = len(stack) == 1 && (lastKey == "tpm_quote" || lastKey == "quote") && f.object
			stack = append(stack, f)
			if len(stack) > maxEvidenceDepth {
				strict = true
			}
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].object {
				stack[len(stack)-1].expectKey = true
			}
			continue
		}
		if top != nil && top.object && tok != json.Delim('{') && tok != json.Delim('[') {
			top.expectKey = true
		}
	}
}

// differential checks the scanner against encoding/json on b, for both
// formats: the same evidence, or both refuse; only the documented
// strictness refuses what encoding/json accepts. Every error has a kind.
func differential(t *testing.T, b []byte) {
	t.Helper()
	for _, tdx := range []bool{false, true} {
		o, oerr := ours(b, tdx)
		r, rerr := reference(b, tdx)
		if oerr != nil && verify.KindOf(oerr) == nil {
			t.Fatalf("tdx=%v: error without a kind: %v", tdx, oerr)
		}
		switch {
		case oerr == nil && rerr == nil:
			if !equalDecoded(o, r) {
				t.Fatalf("tdx=%v: decoders disagree on %q:\nours %+v\nref  %+v", tdx, b, o, r)
			}
		case oerr == nil:
			t.Fatalf("tdx=%v: the scanner accepts what encoding/json refuses (%v): %q", tdx, rerr, b)
		case rerr == nil && !strictOnly(b):
			t.Fatalf("tdx=%v: the scanner refuses (%v) what encoding/json accepts: %q", tdx, oerr, b)
		}
	}
}

func equalDecoded(a, b *decoded) bool {
	if a.Version != b.Version || len(a.PCRs) != len(b.PCRs) {
		return false
	}
	for i := range a.PCRs {
		if !bytes.Equal(a.PCRs[i], b.PCRs[i]) {
			return false
		}
	}
	return bytes.Equal(a.HCL, b.HCL) && bytes.Equal(a.Message, b.Message) && bytes.Equal(a.Signature, b.Signature) &&
		bytes.Equal(a.Extra, b.Extra) && bytes.Equal(a.AAEventLog, b.AAEventLog)
}

// realEvidence is the real az-snp-vtpm evidence (v1, v2) and az-tdx-vtpm
// evidence assembled from the real HCL report and vTPM quote (its TD quote
// is a stand-in: the decoders do not read it).
func realEvidence(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for _, f := range []string{"../testdata/azure/trustee-evidence-v1.json", "../testdata/azure/trustee-evidence-v2.json"} {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		out = append(out, b)
	}
	hcl, err := os.ReadFile("../testdata/azure/tdx/hcl-report.bin")
	require.NoError(t, err)
	q, err := os.ReadFile("../testdata/azure/tdx/tpm-quote-v1.json")
	require.NoError(t, err)
	tdx := fmt.Sprintf(`{"version": 1, "hcl_report": %q, "tpm_quote": %s, "td_quote": %q}`,
		base64.URLEncoding.EncodeToString(hcl), q, base64.URLEncoding.EncodeToString([]byte("a TD quote stands here")))
	out = append(out, []byte(tdx))
	v0, err := os.ReadFile("../testdata/azure/trustee-evidence-genoa.json")
	require.NoError(t, err)
	out = append(out, v0)
	// az-tdx-vtpm version 0: the real parts as byte arrays.
	var tq struct {
		Signature, Message string
		PCRs               []string
	}
	require.NoError(t, json.Unmarshal(q, &tq))
	arr := func(b []byte) string {
		parts := make([]string, len(b))
		for i, x := range b {
			parts[i] = fmt.Sprint(x)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	hx := func(s string) []byte {
		b, err := hex.DecodeString(s)
		require.NoError(t, err)
		return b
	}
	pcrs := make([]string, len(tq.PCRs))
	for i, p := range tq.PCRs {
		pcrs[i] = arr(hx(p))
	}
	td, err := os.ReadFile("../testdata/azure/tdx/td-quote.bin")
	require.NoError(t, err)
	tdxV0 := fmt.Sprintf(`{"tpm_quote":{"signature":%s,"message":%s,"pcrs":[%s]},"hcl_report":%s,"td_quote":%s}`,
		arr(hx(tq.Signature)), arr(hx(tq.Message)), strings.Join(pcrs, ","), arr(hcl), arr(td))
	return append(out, []byte(tdxV0))
}

// The scanner and encoding/json agree on the real evidence and on edits of
// it that probe the JSON grammar, the members' types and the strictness.
func TestEvidenceDecoderDifferential(t *testing.T) {
	samples := realEvidence(t)
	for _, s := range samples {
		differential(t, s)
	}
	v1, tdx, v0, tdxV0 := string(samples[0]), string(samples[2]), string(samples[3]), string(samples[4])
	_, err := DecodeEvidence(samples[0])
	require.NoError(t, err)
	_, err = DecodeTDXEvidence(samples[2])
	require.NoError(t, err)
	ev0, err := DecodeEvidence(samples[3])
	require.NoError(t, err)
	require.Equal(t, 0, ev0.Version)
	tev0, err := DecodeTDXEvidence(samples[4])
	require.NoError(t, err)
	require.Equal(t, 0, tev0.Version)
	edits := []struct {
		name, doc string
		ok        bool // the scanner accepts it
		kind      error
	}{
		{"unknown members Trustee ignores", strings.Replace(v1, `"version": 1`, `"version": 1, "extra": {"a": [1, -2.5e3, true, null, "\u00e9\"\\"]}, "n": null`, 1), true, nil},
		{"unknown member in tpm_quote", strings.Replace(v1, `"tpm_quote": {`, `"tpm_quote": {"algorithm": "sha256",`, 1), true, nil},
		{"null td_quote", strings.Replace(v1, `"version": 1`, `"version": 1, "td_quote": null`, 1), true, nil},
		{"escaped member name", strings.Replace(v1, `"version"`, `"vers\u0069on"`, 1), true, nil},
		{"escaped slash in base64", strings.Replace(tdx, `"td_quote": "YS`, `"td_quote": "\u0059S`, 1), true, nil},
		{"aa_eventlog", strings.Replace(v1, `"version": 1`, `"version": 1, "aa_eventlog": "AAECAw=="`, 1), true, nil},
		{"aa_eventlog not base64", strings.Replace(v1, `"version": 1`, `"version": 1, "aa_eventlog": "%%"`, 1), false, verify.ErrMalformed},
		{"duplicate version", strings.Replace(v1, `"version": 1`, `"version": 1, "version": 2`, 1), false, verify.ErrMalformed},
		{"duplicate version, escaped", strings.Replace(v1, `"version": 1`, `"version": 1, "ver\u0073ion": 2`, 1), false, verify.ErrMalformed},
		{"duplicate vcek, escaped", strings.Replace(v1, `"version": 1`, `"version": 1, "\u0076cek": "AA"`, 1), false, verify.ErrMalformed},
		{"case variant, escaped", strings.Replace(v1, `"version": 1`, `"version": 1, "\u0056CEK": "AA"`, 1), false, verify.ErrMalformed},
		{"case variant, long s", strings.Replace(v1, `"version": 1`, `"version": 1, "ver\u017Fion": 2`, 1), false, verify.ErrMalformed},
		{"duplicate pcrs", strings.Replace(v1, `"tpm_quote": {`, `"tpm_quote": {"pcrs": [],`, 1), false, verify.ErrMalformed},
		{"case variant", strings.Replace(v1, `"version": 1`, `"version": 1, "VCEK": "AA"`, 1), false, verify.ErrMalformed},
		{"case variant only", strings.Replace(v1, `"version"`, `"Version"`, 1), false, verify.ErrMalformed},
		{"deep unknown member", strings.Replace(v1, `"version": 1`, `"version": 1, "x": `+strings.Repeat("[", 40)+strings.Repeat("]", 40), 1), false, verify.ErrLimit},
		{"trailing data", v1 + " {}", false, verify.ErrMalformed},
		{"trailing bracket", v1 + "]", false, verify.ErrMalformed},
		{"version 3", strings.Replace(v1, `"version": 1`, `"version": 3`, 1), false, verify.ErrUnsupported},
		{"version 1.0", strings.Replace(v1, `"version": 1`, `"version": 1.0`, 1), false, verify.ErrMalformed},
		{"version string", strings.Replace(v1, `"version": 1`, `"version": "1"`, 1), false, verify.ErrMalformed},
		{"version null", strings.Replace(v1, `"version": 1`, `"version": null`, 1), false, verify.ErrMalformed},
		{"version overflow", strings.Replace(v1, `"version": 1`, `"version": 18446744073709551617`, 1), false, verify.ErrMalformed},
		{"tpm_quote null", strings.Replace(tdx, `"tpm_quote": {`, `"tpm_quote": null, "x": {`, 1), false, verify.ErrMalformed},
		{"control character", strings.Replace(v1, `"hcl_report": "S`, "\"hcl_report\": \"\tS", 1), false, verify.ErrMalformed},
		{"raw line break in base64", strings.Replace(v1, `"hcl_report": "S`, "\"hcl_report\": \"\nS", 1), false, verify.ErrMalformed},
		{"raw carriage return in hex", strings.Replace(v1, `"message": "`, "\"message\": \"\r", 1), false, verify.ErrMalformed},
		{"escaped line break in base64", strings.Replace(v1, `"hcl_report": "S`, `"hcl_report": "\nS`, 1), true, nil},
		{"bad escape", strings.Replace(v1, `"hcl_report": "S`, `"hcl_report": "\xS`, 1), false, verify.ErrMalformed},
		{"unterminated", v1[:len(v1)/2], false, verify.ErrMalformed},
		{"25 PCRs", strings.Replace(v1, `"pcrs": [`, `"pcrs": ["`+strings.Repeat("00", 32)+`",`, 1), false, verify.ErrMalformed},
		{"too large", v1 + strings.Repeat(" ", MaxEvidenceSize), false, verify.ErrLimit},
		// Version 0: byte arrays and a PEM VCEK, no version.
		{"v0 spaced", strings.ReplaceAll(strings.ReplaceAll(v0, ",", ",\n  "), "[", "[ "), true, nil},
		{"v0 unknown member", strings.Replace(v0, `{"quote":`, `{"x":[1,{"y":null}],"quote":`, 1), true, nil},
		{"v0 with aa_eventlog", strings.Replace(v0, `{"quote":`, `{"aa_eventlog":"AAECAw==","quote":`, 1), true, nil},
		{"v0 with version 1", strings.Replace(v0, `{"quote":`, `{"version":1,"quote":`, 1), false, verify.ErrMalformed},
		{"v0 with version 0", strings.Replace(v0, `{"quote":`, `{"version":0,"quote":`, 1), false, verify.ErrUnsupported},
		{"v0 with tpm_quote", strings.Replace(v0, `{"quote":`, `{"tpm_quote":{},"quote":`, 1), false, verify.ErrMalformed},
		{"v0 with hcl_report", strings.Replace(v0, `{"quote":`, `{"hcl_report":"SENMQQ","quote":`, 1), false, verify.ErrMalformed},
		{"v0 without report", strings.Replace(v0, `"report":`, `"rep0rt":`, 1), false, verify.ErrMalformed},
		{"v0 report null", strings.Replace(v0, `"report":[`, `"report":null,"r":[`, 1), false, verify.ErrMalformed},
		{"v0 duplicate report", strings.Replace(v0, `{"quote":`, `{"report":[1],"quote":`, 1), false, verify.ErrMalformed},
		{"v0 case variant", strings.Replace(v0, `{"quote":`, `{"Report":[1],"quote":`, 1), false, verify.ErrMalformed},
		{"v0 byte 256", strings.Replace(v0, `"report":[72,`, `"report":[256,`, 1), false, verify.ErrMalformed},
		{"v0 byte -1", strings.Replace(v0, `"report":[72,`, `"report":[-1,`, 1), false, verify.ErrMalformed},
		{"v0 byte 7.0", strings.Replace(v0, `"report":[72,`, `"report":[7.0,`, 1), false, verify.ErrMalformed},
		{"v0 byte 1e1", strings.Replace(v0, `"report":[72,`, `"report":[1e1,`, 1), false, verify.ErrMalformed},
		{"v0 byte as string", strings.Replace(v0, `"report":[72,`, `"report":["72",`, 1), false, verify.ErrMalformed},
		{"v0 report as base64", strings.Replace(v0, `"report":[72,`, `"report":"SENMQQ","r":[72,`, 1), false, verify.ErrMalformed},
		{"v0 empty signature", strings.Replace(v0, `"signature":[`, `"signature":[],"s":[`, 1), false, verify.ErrMalformed},
		{"v0 PCR of 33 bytes", strings.Replace(v0, `"pcrs":[[`, `"pcrs":[[0,`, 1), false, verify.ErrMalformed},
		{"v0 25 PCRs", strings.Replace(v0, `"pcrs":[`, `"pcrs":[[`+strings.Repeat("0,", 31)+`0],`, 1), false, verify.ErrMalformed},
		{"v0 duplicate signature", strings.Replace(v0, `"signature":[`, `"signature":[1],"signature":[`, 1), false, verify.ErrMalformed},
		{"v0 vcek base64", strings.Replace(v0, `"vcek":"-----BEGIN CERTIFICATE-----`, `"vcek":"MIIF","x":"`, 1), false, verify.ErrMalformed},
		{"v0 vcek two PEM blocks", strings.Replace(v0, `-----END CERTIFICATE-----\n"`, `-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n"`, 1), false, verify.ErrMalformed},
		{"v0 with td_quote", strings.Replace(v0, `{"quote":`, `{"td_quote":"AA","quote":`, 1), false, verify.ErrMalformed},
		// az-tdx-vtpm version 0: version 1's members with byte-array values.
		{"tdx v0 spaced", strings.ReplaceAll(tdxV0, ",", " , "), true, nil},
		{"tdx v0 with aa_eventlog", strings.Replace(tdxV0, `{"tpm_quote":`, `{"aa_eventlog":"AAECAw==","tpm_quote":`, 1), true, nil},
		{"tdx v0 unknown member in tpm_quote", strings.Replace(tdxV0, `{"signature":`, `{"x":[[1]],"signature":`, 1), true, nil},
		{"tdx v0 with version 1", strings.Replace(tdxV0, `{"tpm_quote":`, `{"version":1,"tpm_quote":`, 1), false, verify.ErrMalformed},
		{"tdx v0 base64 td_quote", strings.Replace(tdxV0, `"td_quote":[`, `"td_quote":"BAACAA","x":[`, 1), false, verify.ErrMalformed},
		{"tdx v0 hex message", strings.Replace(tdxV0, `"message":[`, `"message":"ff","m":[`, 1), false, verify.ErrMalformed},
		{"tdx v0 hex PCRs", strings.Replace(tdxV0, `"pcrs":[[`, `"pcrs":["`+strings.Repeat("00", 32)+`"],"p":[[`, 1), false, verify.ErrMalformed},
		{"tdx v0 no pcrs", strings.Replace(tdxV0, `"pcrs":[[`, `"p":[[`, 1), false, verify.ErrMalformed},
		{"tdx v0 empty pcrs", strings.Replace(tdxV0, `"pcrs":[[`, `"pcrs":[],"p":[[`, 1), false, verify.ErrMalformed},
		{"tdx v0 byte 256", strings.Replace(tdxV0, `"hcl_report":[72,`, `"hcl_report":[256,`, 1), false, verify.ErrMalformed},
		{"tdx v0 duplicate hcl_report", strings.Replace(tdxV0, `{"tpm_quote":`, `{"hcl_report":[1],"tpm_quote":`, 1), false, verify.ErrMalformed},
		{"tdx v0 tpm_quote null", strings.Replace(tdxV0, `{"tpm_quote":{`, `{"tpm_quote":null,"x":{`, 1), false, verify.ErrMalformed},
		{"tdx v0 with vcek", strings.Replace(tdxV0, `{"tpm_quote":`, `{"vcek":"AA","tpm_quote":`, 1), false, verify.ErrMalformed},
		{"snp v1 with a td_quote array", strings.Replace(v1, `"version": 1`, `"version": 1, "td_quote": [1]`, 1), false, verify.ErrMalformed},
	}
	for _, e := range edits {
		t.Run(e.name, func(t *testing.T) {
			differential(t, []byte(e.doc))
			tdxEvidence := strings.Contains(e.doc, `"td_quote": "`) || strings.Contains(e.doc, `"td_quote":[`)
			_, err := ours([]byte(e.doc), tdxEvidence)
			if e.ok {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, e.kind)
		})
	}
}

// Nothing the decoders are given panics; whatever the scanner accepts
// encoding/json accepts with the same result, and what only encoding/json
// accepts is one of the scanner's documented refusals.
func FuzzDecodeEvidenceJSON(f *testing.F) {
	for _, s := range realEvidence(f) {
		f.Add(s)
	}
	f.Add([]byte(`{"version":2,"hcl_report":"SENMQQ","tpm_quote":{"signature":"00","message":"00","pcrs":["` + strings.Repeat("00", 32) + `"]},"vcek":"AA","aa_eventlog":"AA=="}`))
	f.Add([]byte(`{"version":1,"VERSION":2,"tpm_quote":{"Pcrs":null},"x":[[{"\u0076":-0.1e+2}]]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		differential(t, b)
	})
}
