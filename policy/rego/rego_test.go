package rego

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/verify"
)

// now is the appraisal time of every test.
var now = time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return string(b)
}

// trusteeTDXInput is Trustee's golden parse of tdx_quote_4.dat with the
// collateral claims its verifier adds (spec/service.md §2.3), as attest's
// TDX claims reach a policy.
func trusteeTDXInput(t *testing.T) verify.PolicyInput {
	t.Helper()
	var claims map[string]any
	d := json.NewDecoder(strings.NewReader(readFile(t, "parse_tdx_claims_expected.json")))
	d.UseNumber()
	require.NoError(t, d.Decode(&claims))
	claims["tcb_status"] = "UpToDate"
	claims["collateral_expiration_status"] = "0"
	return verify.PolicyInput{Submod: "cpu0", Format: verify.FormatTDX, Claims: claims, Now: now}
}

func quoteBody(t *testing.T, in verify.PolicyInput, field string) string {
	t.Helper()
	body := in.Claims["quote"].(map[string]any)["body"].(map[string]any)
	s, ok := body[field].(string)
	require.True(t, ok, field)
	return s
}

func vector(m map[ear.Category]ear.TrustClaim) ear.TrustVector {
	var tv ear.TrustVector
	for c, v := range m {
		tv[c] = v
	}
	return tv
}

func TestTrusteeDefaultCPUPolicy(t *testing.T) {
	module := readFile(t, "ear_default_policy_cpu.rego")
	in := trusteeTDXInput(t)
	pinned := func(exp *time.Time) *policy.ReferenceValues {
		var entries []policy.Entry
		for _, name := range []string{"mr_td", "xfam", "rtmr_1", "rtmr_2"} {
			entries = append(entries, policy.Entry{Name: name, Value: []any{quoteBody(t, in, name)}, Expiration: exp})
		}
		rv, err := policy.FromEntries(entries...)
		require.NoError(t, err)
		return rv
	}
	past := now.Add(-time.Hour)
	other, err := policy.FromEntries(policy.Entry{Name: "mr_td", Value: []any{"00"}}, policy.Entry{Name: "xfam", Value: []any{"00"}})
	require.NoError(t, err)

	tests := []struct {
		name string
		rv   *policy.ReferenceValues
		want ear.TrustVector
	}{
		// No reference values: Trustee's defaults (§2.3).
		{"no reference values", nil, vector(map[ear.Category]ear.TrustClaim{
			ear.Executables: 33, ear.Hardware: 97, ear.Configuration: 36})},
		// The quote's own values pinned: executables 4 (no tdvfkernel
		// values), hardware 2, configuration 36 (the sample's TD has the
		// debug bit).
		{"quote values pinned", pinned(nil), vector(map[ear.Category]ear.TrustClaim{
			ear.Executables: 4, ear.Hardware: 2, ear.Configuration: 36})},
		{"pinned values expired", pinned(&past), vector(map[ear.Category]ear.TrustClaim{
			ear.Executables: 33, ear.Hardware: 97, ear.Configuration: 36})},
		{"other values pinned", other, vector(map[ear.Category]ear.TrustClaim{
			ear.Executables: 33, ear.Hardware: 97, ear.Configuration: 36})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []Option
			if tt.rv != nil {
				opts = append(opts, WithReferenceValues(tt.rv))
			}
			p, err := New(context.Background(), module, append(opts, WithID("default_cpu"))...)
			require.NoError(t, err)
			res, err := p.Appraise(context.Background(), in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, res.TrustVector)
			assert.Equal(t, "default_cpu", res.PolicyID)
			assert.NotEqual(t, ear.StatusAffirming, res.Status())
		})
	}
}

func TestTrusteeDefaultCPUPolicyExplainsLookups(t *testing.T) {
	in := trusteeTDXInput(t)
	past := now.Add(-time.Hour)
	rv, err := policy.FromEntries(
		policy.Entry{Name: "rtmr_1", Value: []any{quoteBody(t, in, "rtmr_1")}},
		policy.Entry{Name: "rtmr_2", Value: []any{quoteBody(t, in, "rtmr_2")}, Expiration: &past},
	)
	require.NoError(t, err)
	p, err := New(context.Background(), readFile(t, "ear_default_policy_cpu.rego"), WithReferenceValues(rv))
	require.NoError(t, err)
	res, err := p.Appraise(context.Background(), in)
	require.NoError(t, err)
	byID := map[string]verify.Check{}
	for _, c := range res.Checks {
		byID[c.ID] = c
	}
	require.Contains(t, byID, "rego.reference_value.rtmr_1")
	assert.True(t, byID["rego.reference_value.rtmr_1"].OK)
	require.Contains(t, byID, "rego.reference_value.rtmr_2")
	assert.False(t, byID["rego.reference_value.rtmr_2"].OK)
	assert.Contains(t, byID["rego.reference_value.rtmr_2"].Reason, "expired")
	require.Contains(t, byID, "rego.reference_value.mr_td")
	assert.Contains(t, byID["rego.reference_value.mr_td"].Reason, "no such reference value")
	assert.Equal(t, ear.TrustClaim(33), res.TrustVector[ear.Executables])
}

func TestOlderPolicyReadsDataReference(t *testing.T) {
	const module = `package policy
default hardware := 97
hardware := 2 if input.tdx.quote.body.mr_td in data.reference.mr_td
trust_claims := {"hardware": hardware}
`
	in := trusteeTDXInput(t)
	future := now.Add(time.Hour)
	tests := []struct {
		name  string
		entry policy.Entry
		want  ear.TrustClaim
	}{
		{"pinned", policy.Entry{Name: "mr_td", Value: []any{quoteBody(t, in, "mr_td")}}, 2},
		{"other value", policy.Entry{Name: "mr_td", Value: []any{"00"}}, 97},
		// A value with an expiry is only served by the builtin, which
		// checks it.
		{"value with expiry", policy.Entry{Name: "mr_td", Value: []any{quoteBody(t, in, "mr_td")}, Expiration: &future}, 97},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rv, err := policy.FromEntries(tt.entry)
			require.NoError(t, err)
			p, err := New(context.Background(), module, WithReferenceValues(rv))
			require.NoError(t, err)
			res, err := p.Appraise(context.Background(), in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, res.TrustVector[ear.Hardware])
		})
	}
}

func TestNewRefusesBadPolicies(t *testing.T) {
	tests := []struct {
		name, module, want string
	}{
		{"syntax", "package policy\ntrust_claims := {", "rego_parse_error"},
		{"undefined function", "package policy\ntrust_claims := {\"hardware\": no_such_fn(1)}", "rego_type_error"},
		{"builtin argument type", "package policy\ntrust_claims := {\"hardware\": count(query_reference_value(5))}", "rego_type_error"},
		{"network builtin", "package policy\nx := http.send({\"method\": \"get\", \"url\": \"http://a\"})\ntrust_claims := {}", "http.send"},
		{"other package", "package other\ntrust_claims := {}", "package other"},
		{"no trust_claims", "package policy\nhardware := 2", "no trust_claims"},
		{"empty", "", "empty policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(context.Background(), tt.module)
			require.ErrorIs(t, err, verify.ErrConfig)
			t.Log(err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestOptionsRefused(t *testing.T) {
	rv, err := policy.FromEntries()
	require.NoError(t, err)
	const module = "package policy\ntrust_claims := {}"
	for name, opts := range map[string][]Option{
		"nil option":       {nil},
		"empty id":         {WithID(" ")},
		"nil rv":           {WithReferenceValues(nil)},
		"rv twice":         {WithReferenceValues(rv), WithReferenceValues(rv)},
		"zero timeout":     {WithTimeout(0)},
		"negative timeout": {WithTimeout(-time.Second)},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New(context.Background(), module, opts...)
			require.ErrorIs(t, err, verify.ErrConfig)
		})
	}
	big := make([]byte, MaxPolicySize+1)
	_, err = New(context.Background(), string(big))
	require.ErrorIs(t, err, verify.ErrLimit)
}

func TestTrustClaimsValidated(t *testing.T) {
	tests := []struct {
		name, claims string
		want         ear.TrustVector
		err          error
	}{
		{"all eight", `{"instance-identity": 2, "configuration": 2, "executables": 3, "file-system": 0, "hardware": 2, "runtime-opaque": 2, "storage-opaque": 0, "sourced-data": 0}`,
			vector(map[ear.Category]ear.TrustClaim{ear.InstanceIdentity: 2, ear.Configuration: 2, ear.Executables: 3, ear.Hardware: 2, ear.RuntimeOpaque: 2}), nil},
		{"negative", `{"hardware": -1}`, vector(map[ear.Category]ear.TrustClaim{ear.Hardware: -1}), nil},
		{"unknown key", `{"hardwar": 2}`, ear.TrustVector{}, verify.ErrPolicy},
		{"out of range", `{"hardware": 200}`, ear.TrustVector{}, verify.ErrPolicy},
		{"fraction", `{"hardware": 2.5}`, ear.TrustVector{}, verify.ErrPolicy},
		{"string", `{"hardware": "2"}`, ear.TrustVector{}, verify.ErrPolicy},
		{"not an object", `[2]`, ear.TrustVector{}, verify.ErrPolicy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(context.Background(), "package policy\ntrust_claims := "+tt.claims)
			require.NoError(t, err)
			res, err := p.Appraise(context.Background(), trusteeTDXInput(t))
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, res.TrustVector)
		})
	}
}

func TestUndefinedTrustClaimsSetsNothing(t *testing.T) {
	p, err := New(context.Background(), "package policy\ntrust_claims := {\"hardware\": 2} if input.snp")
	require.NoError(t, err)
	res, err := p.Appraise(context.Background(), trusteeTDXInput(t))
	require.NoError(t, err)
	assert.True(t, res.TrustVector.IsZero())
	assert.Equal(t, ear.StatusNone, res.Status())
}

const affirmAll = `package policy
trust_claims := {"instance-identity": 2, "configuration": 2, "executables": 2, "hardware": 2}
`

func TestUnsafeSwitchesNeverAffirm(t *testing.T) {
	p, err := New(context.Background(), affirmAll)
	require.NoError(t, err)
	in := trusteeTDXInput(t)

	res, err := p.Appraise(context.Background(), in)
	require.NoError(t, err)
	require.Equal(t, ear.StatusAffirming, res.Status())

	in.Unsafe = []verify.UnsafeSwitch{verify.UnsafeMissingReportData}
	res, err = p.Appraise(context.Background(), in)
	require.NoError(t, err)
	assert.Equal(t, ear.StatusWarning, res.Status())
	assert.Equal(t, ear.UnsafeConfig, res.TrustVector[ear.Configuration])
	assert.Equal(t, ear.NoClaim, res.TrustVector[ear.InstanceIdentity])
	last := res.Checks[len(res.Checks)-1]
	assert.Equal(t, "unsafe", last.ID)
	assert.False(t, last.OK)
	assert.Contains(t, last.Actual, string(verify.UnsafeMissingReportData))

	// A worse configuration claim stays.
	p, err = New(context.Background(), "package policy\ntrust_claims := {\"configuration\": 96}")
	require.NoError(t, err)
	res, err = p.Appraise(context.Background(), in)
	require.NoError(t, err)
	assert.Equal(t, ear.UnsupportableConfig, res.TrustVector[ear.Configuration])
}

// slow never finishes in practice: it counts 10^12 pairs.
const slow = `package policy
n := count([1 | some a in numbers.range(1, 1000000); some b in numbers.range(1, 1000000)])
trust_claims := {"hardware": n}
`

func TestEvaluationBoundedByDeadline(t *testing.T) {
	p, err := New(context.Background(), slow)
	require.NoError(t, err)
	in := trusteeTDXInput(t)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = p.Appraise(ctx, in)
	require.ErrorIs(t, err, verify.ErrCanceled)

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	_, err = p.Appraise(ctx, in)
	require.ErrorIs(t, err, verify.ErrCanceled)

	// The policy's own bound applies without a context deadline.
	p, err = New(context.Background(), slow, WithTimeout(50*time.Millisecond))
	require.NoError(t, err)
	_, err = p.Appraise(context.Background(), in)
	require.ErrorIs(t, err, verify.ErrCanceled)
}

func TestZeroPolicyRefused(t *testing.T) {
	var p Policy
	_, err := p.Appraise(context.Background(), trusteeTDXInput(t))
	require.ErrorIs(t, err, verify.ErrConfig)
}

func TestAppraiseNeedsTime(t *testing.T) {
	p, err := New(context.Background(), affirmAll)
	require.NoError(t, err)
	in := trusteeTDXInput(t)
	in.Now = time.Time{}
	_, err = p.Appraise(context.Background(), in)
	require.ErrorIs(t, err, verify.ErrConfig)
}

func TestInputRendersBytesAsHex(t *testing.T) {
	const module = `package policy
default hardware := 97
hardware := 2 if {
	input.tdx.quote.body.mr_td == "0a0b"
	input.tdx.svn == 7
	input.report_data == "ff"
}
trust_claims := {"hardware": hardware}
`
	p, err := New(context.Background(), module)
	require.NoError(t, err)
	in := verify.PolicyInput{Format: verify.FormatTDX, Now: now, Claims: map[string]any{
		"quote.body.mr_td": []byte{0x0a, 0x0b},
		"svn":              uint16(7),
		"report_data":      []byte{0xff},
	}}
	res, err := p.Appraise(context.Background(), in)
	require.NoError(t, err)
	assert.Equal(t, ear.GenuineHardware, res.TrustVector[ear.Hardware])
}

func TestInputDepthBounded(t *testing.T) {
	p, err := New(context.Background(), affirmAll)
	require.NoError(t, err)
	var deep any = "x"
	for range maxInputDepth + 2 {
		deep = map[string]any{"a": deep}
	}
	_, err = p.Appraise(context.Background(), verify.PolicyInput{Format: verify.FormatTDX, Now: now, Claims: map[string]any{"deep": deep}})
	require.ErrorIs(t, err, verify.ErrMalformed)
}

// TestConcurrentAppraisals shares one prepared policy between goroutines
// appraising at different times: each sees its own reference values' expiry
// and lookups (run with -race).
func TestConcurrentAppraisals(t *testing.T) {
	in := trusteeTDXInput(t)
	expiry := now.Add(time.Hour)
	rv, err := policy.FromEntries(
		policy.Entry{Name: "mr_td", Value: []any{quoteBody(t, in, "mr_td")}, Expiration: &expiry},
	)
	require.NoError(t, err)
	const module = `package policy
default hardware := 97
hardware := 2 if input.tdx.quote.body.mr_td in query_reference_value("mr_td")
trust_claims := {"hardware": hardware}
`
	p, err := New(context.Background(), module, WithReferenceValues(rv))
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := in
			want := ear.GenuineHardware
			if i%2 == 1 {
				in.Now = expiry.Add(time.Duration(i) * time.Second)
				want = ear.UnrecognizedHardware
			}
			res, err := p.Appraise(context.Background(), in)
			if err != nil {
				errs <- err
				return
			}
			if got := res.TrustVector[ear.Hardware]; got != want {
				errs <- fmt.Errorf("appraisal %d: hardware %d, want %d", i, got, want)
			}
			if len(res.Checks) == 0 || res.Checks[0].OK != (i%2 == 0) {
				errs <- fmt.Errorf("appraisal %d: lookup check %+v", i, res.Checks)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestImplementsPolicy(t *testing.T) {
	p, err := New(context.Background(), affirmAll)
	require.NoError(t, err)
	var _ verify.Policy = p
	ref, err := verify.NewPolicyRef(p)
	require.NoError(t, err)
	res, err := ref.Appraise(context.Background(), trusteeTDXInput(t))
	require.NoError(t, err)
	assert.Equal(t, ear.StatusAffirming, res.Status())
}

func TestTimeIsTheAppraisalTime(t *testing.T) {
	const module = `package policy
default hardware := 97
hardware := 2 if time.now_ns() == time.parse_rfc3339_ns("2026-12-07T00:00:00Z")
trust_claims := {"hardware": hardware}
`
	p, err := New(context.Background(), module)
	require.NoError(t, err)
	in := trusteeTDXInput(t)
	res, err := p.Appraise(context.Background(), in)
	require.NoError(t, err)
	assert.Equal(t, ear.GenuineHardware, res.TrustVector[ear.Hardware])
	in.Now = in.Now.Add(time.Second)
	res, err = p.Appraise(context.Background(), in)
	require.NoError(t, err)
	assert.Equal(t, ear.UnrecognizedHardware, res.TrustVector[ear.Hardware])
}

// TestMissingReferenceValueNeverSatisfiesAComparison: with Trustee's null a
// missing minimum would pass, since Rego orders null below every number.
func TestMissingReferenceValueNeverSatisfiesAComparison(t *testing.T) {
	const module = `package policy
default hardware := 97
hardware := 2 if 5 >= query_reference_value("min_svn")
trust_claims := {"hardware": hardware}
`
	p, err := New(context.Background(), module)
	require.NoError(t, err)
	res, err := p.Appraise(context.Background(), trusteeTDXInput(t))
	require.NoError(t, err)
	assert.Equal(t, ear.UnrecognizedHardware, res.TrustVector[ear.Hardware])

	// The same comparison against null holds.
	p, err = New(context.Background(), "package policy\ndefault hardware := 97\nhardware := 2 if 5 >= null\ntrust_claims := {\"hardware\": hardware}")
	require.NoError(t, err)
	res, err = p.Appraise(context.Background(), trusteeTDXInput(t))
	require.NoError(t, err)
	assert.Equal(t, ear.GenuineHardware, res.TrustVector[ear.Hardware])
}
