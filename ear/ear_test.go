package ear

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func vec(pairs ...int) TrustVector {
	var v TrustVector
	for i := 0; i+1 < len(pairs); i += 2 {
		v[pairs[i]] = TrustClaim(pairs[i+1])
	}
	return v
}

func validResult() *Result {
	r := NewResult(VerifierID{Developer: "https://trustfactory.example", Build: "attest test"}, t0)
	r.ExpiresAt = t0.Add(5 * time.Minute)
	r.Nonce = []byte("12345678")
	a := &Appraisal{TrustVector: vec(int(InstanceIdentity), 2, int(Hardware), 2)}
	a.StatusFromVector()
	r.Submods["cpu0"] = a
	return r
}

func TestLeastTrusted(t *testing.T) {
	order := []Status{StatusAffirming, StatusNone, StatusWarning, StatusContraindicated}
	for i, a := range order {
		for j, b := range order {
			want := a
			if j > i {
				want = b
			}
			if got := LeastTrusted(a, b); got != want {
				t.Errorf("LeastTrusted(%s, %s): expected %s, got %s", a, b, want, got)
			}
			if got, want := a.NoMoreTrustedThan(b), i >= j; got != want {
				t.Errorf("%s.NoMoreTrustedThan(%s): expected %v, got %v", a, b, want, got)
			}
		}
	}
}

func TestAppraisalStatus(t *testing.T) {
	for _, tc := range []struct {
		start Status
		v     TrustVector
		want  Status
	}{
		{StatusNone, TrustVector{}, StatusNone},
		{StatusAffirming, TrustVector{}, StatusNone}, // affirming needs claims
		{StatusNone, vec(0, 2, 4, 2), StatusNone},    // UpdateStatus never raises trust
		{StatusAffirming, vec(0, 2, 4, 2), StatusAffirming},
		{StatusAffirming, vec(0, 2, 4, 32), StatusWarning},
		{StatusAffirming, vec(0, 99), StatusContraindicated},
		{StatusAffirming, vec(0, -1), StatusNone}, // verifier malfunction is tier none
		{StatusWarning, vec(0, 2), StatusWarning},
		{StatusAffirming, vec(2, -100), StatusContraindicated},
	} {
		a := &Appraisal{Status: tc.start, TrustVector: tc.v}
		if got := a.UpdateStatus(); got != tc.want {
			t.Errorf("UpdateStatus(%s, %v): expected %s, got %s", tc.start, tc.v, tc.want, got)
		}
		if err := a.validate("x"); err != nil {
			t.Errorf("after UpdateStatus(%s, %v) the appraisal is invalid: %v", tc.start, tc.v, err)
		}
	}
	a := &Appraisal{TrustVector: vec(0, 2, 1, 3)}
	if got := a.StatusFromVector(); got != StatusAffirming {
		t.Errorf("StatusFromVector: expected affirming, got %s", got)
	}
}

func TestResultStatus(t *testing.T) {
	r := validResult()
	gpu := &Appraisal{Status: StatusAffirming, TrustVector: vec(int(Hardware), 97)}
	r.Submods["gpu0"] = gpu
	if got := r.UpdateStatus(); got != StatusContraindicated {
		t.Fatalf("UpdateStatus: expected contraindicated, got %s", got)
	}
	if gpu.Status != StatusContraindicated {
		t.Errorf("submod status not updated: %s", gpu.Status)
	}
	// a none submod keeps the overall status from being affirming
	r = validResult()
	r.Submods["tpm0"] = &Appraisal{Status: StatusNone}
	if got := r.UpdateStatus(); got != StatusNone {
		t.Errorf("UpdateStatus with a none submod: expected none, got %s", got)
	}
	if err := r.Validate(); err != nil {
		t.Errorf("Validate after UpdateStatus: %v", err)
	}
	// OverallStatus never exceeds the worst submod even if Status was forged
	aff := StatusAffirming
	r.Status = &aff
	if got := r.OverallStatus(); got != StatusNone {
		t.Errorf("OverallStatus: expected none, got %s", got)
	}
	if (&Result{}).WorstSubmodStatus() != StatusContraindicated {
		t.Error("a result without submods must be contraindicated")
	}
}

func TestValidate(t *testing.T) {
	if err := validResult().Validate(); err != nil {
		t.Fatalf("valid result: %v", err)
	}
	aff := StatusAffirming
	for _, tc := range []struct {
		name string
		mut  func(*Result)
		kind error
		msg  string
	}{
		{"unknown profile", func(r *Result) { r.Profile = "tag:example.com,2026:other" }, ErrInvalid, "eat_profile"},
		{"no profile", func(r *Result) { r.Profile = "" }, ErrInvalid, "eat_profile"},
		{"no iat", func(r *Result) { r.IssuedAt = time.Time{} }, ErrInvalid, "iat"},
		{"exp before iat", func(r *Result) { r.ExpiresAt = t0.Add(-time.Second) }, ErrInvalid, "exp"},
		{"no developer", func(r *Result) { r.VerifierID.Developer = "" }, ErrInvalid, "ear_verifier_id"},
		{"no build", func(r *Result) { r.VerifierID.Build = "" }, ErrInvalid, "ear_verifier_id"},
		{"nonce 7 bytes", func(r *Result) { r.Nonce = make([]byte, 7) }, ErrNonceSize, "eat_nonce"},
		{"nonce 65 bytes", func(r *Result) { r.Nonce = make([]byte, 65) }, ErrNonceSize, "eat_nonce"},
		{"empty nonce", func(r *Result) { r.Nonce = []byte{} }, ErrNonceSize, "eat_nonce"},
		{"no submods", func(r *Result) { r.Submods = nil }, ErrInvalid, "submods"},
		{"nil submod", func(r *Result) { r.Submods["x"] = nil }, ErrInvalid, "missing appraisal"},
		{"empty submod name", func(r *Result) { r.Submods[""] = &Appraisal{} }, ErrInvalid, "empty submod name"},
		{"unknown status", func(r *Result) { r.Submods["cpu0"].Status = 7 }, ErrInvalid, "unknown status"},
		{"TOK-14 affirming with 96", func(r *Result) { r.Submods["cpu0"].TrustVector[Executables] = 96 }, ErrInvalid, "more trusted"},
		{"TOK-14 affirming with 99", func(r *Result) { r.Submods["cpu0"].TrustVector[InstanceIdentity] = 99 }, ErrInvalid, "more trusted"},
		{"warning with 96", func(r *Result) {
			r.Submods["cpu0"].Status = StatusWarning
			r.Submods["cpu0"].TrustVector[Hardware] = 96
		}, ErrInvalid, "more trusted"},
		{"none hiding a warning", func(r *Result) {
			r.Submods["cpu0"].Status = StatusNone
			r.Submods["cpu0"].TrustVector[Hardware] = 32
		}, ErrInvalid, "more trusted"},
		{"TOK-15 affirming all-zero vector", func(r *Result) { r.Submods["cpu0"].TrustVector = TrustVector{} }, ErrInvalid, "all-zero"},
		{"overall better than submod", func(r *Result) {
			r.Submods["gpu0"] = &Appraisal{Status: StatusWarning, TrustVector: vec(4, 32)}
			r.Status = &aff
		}, ErrInvalid, "overall status"},
		{"appraisal nonce size", func(r *Result) { r.Submods["cpu0"].Nonce = []byte{1} }, ErrNonceSize, "eat_nonce"},
		{"empty policy id", func(r *Result) { r.Submods["cpu0"].PolicyIDs = []string{""} }, ErrInvalid, "policy_ids"},
		{"key attestation without akpub", func(r *Result) { r.Submods["cpu0"].KeyAttestation = &KeyAttestation{} }, ErrInvalid, "akpub"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := validResult()
			tc.mut(r)
			err := r.Validate()
			if !errors.Is(err, tc.kind) {
				t.Fatalf("expected %v, got %v", tc.kind, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not name %q", err, tc.msg)
			}
		})
	}
	var nilRes *Result
	if err := nilRes.Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil result: %v", err)
	}
}

func TestCapExpiry(t *testing.T) {
	r := validResult()
	r.CapExpiry(t0.Add(time.Hour))
	if !r.ExpiresAt.Equal(t0.Add(5 * time.Minute)) {
		t.Errorf("a later cap must not extend exp: %s", r.ExpiresAt)
	}
	r.CapExpiry(t0.Add(time.Minute + 500*time.Millisecond))
	if !r.ExpiresAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("cap: expected %s, got %s", t0.Add(time.Minute), r.ExpiresAt)
	}
	r.ExpiresAt = time.Time{}
	r.CapExpiry(t0.Add(time.Minute))
	if !r.ExpiresAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("cap on missing exp: got %s", r.ExpiresAt)
	}
}

func TestGeneration(t *testing.T) {
	for p, want := range map[string]Generation{ProfileIETF03: GenerationIETF, ProfileVeraison: GenerationLegacy, ProfileTrustee: GenerationLegacy} {
		g, ok := ProfileGeneration(p)
		if !ok || g != want {
			t.Errorf("%s: expected %s, got %s %v", p, want, g, ok)
		}
	}
	if _, ok := ProfileGeneration("x"); ok {
		t.Error("unknown profile accepted")
	}
}

func TestRegistry(t *testing.T) {
	reg := DefaultRegistry()
	for _, e := range reg.Extensions() {
		if strings.HasPrefix(e.Name, "attest_") && e.Key >= PrivateKeyLimit {
			t.Errorf("%s: attest's own extensions must use private keys below %d, got %d", e.Name, PrivateKeyLimit, e.Key)
		}
		if got, ok := reg.Lookup(e.LegacyName); !ok || got != e {
			t.Errorf("Lookup(%q) = %+v, %v", e.LegacyName, got, ok)
		}
		if got, ok := reg.LookupKey(e.Key); !ok || got != e {
			t.Errorf("LookupKey(%d) = %+v, %v", e.Key, got, ok)
		}
	}
	for _, bad := range []Extension{
		{Name: "x_a", LegacyName: "x.a", Key: ExtReason().Key, Scope: ScopeResult},               // duplicate key
		{Name: ExtReason().Name, LegacyName: "x.b", Key: -70100, Scope: ScopeResult},             // duplicate name
		{Name: "x_c", LegacyName: "x.c", Key: 1000, Scope: ScopeResult},                          // EAR key
		{Name: "ear_status", LegacyName: "x.d", Key: -70101, Scope: ScopeResult},                 // EAR name
		{Name: "x_e", LegacyName: "x.e", Key: -70102},                                            // no scope
		{Name: "", LegacyName: "x.f", Key: -70103, Scope: ScopeAppraisal},                        // no name
		{Name: "x_g", LegacyName: "ear.trustworthiness-vector", Key: -70104, Scope: ScopeResult}, // EAR legacy name
	} {
		if _, err := NewRegistry(bad); err == nil {
			t.Errorf("NewRegistry(%+v): expected an error", bad)
		}
	}
	custom := Extension{Name: "acme_site", LegacyName: "acme.site", Key: -80000, Scope: ScopeResult | ScopeAppraisal}
	reg, err := NewRegistry(custom)
	if err != nil {
		t.Fatal(err)
	}
	c := NewCodec(reg)
	r := validResult()
	r.Extensions = map[string]any{"acme_site": "dc-1"}
	r.Submods["cpu0"].Extensions = map[string]any{"acme_site": map[string]any{"rack": int64(4)}}
	for _, profile := range []string{ProfileIETF03, ProfileTrustee} {
		r.Profile = profile
		j, err := c.EncodeJSON(r)
		if err != nil {
			t.Fatal(err)
		}
		want := "acme_site"
		if profile == ProfileTrustee {
			want = "acme.site"
		}
		if !strings.Contains(string(j), `"`+want+`"`) {
			t.Errorf("%s: JSON lacks %q: %s", profile, want, j)
		}
		gotJ, err := c.DecodeJSON(j)
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.EncodeCBOR(r)
		if err != nil {
			t.Fatal(err)
		}
		gotC, err := c.DecodeCBOR(b)
		if err != nil {
			t.Fatal(err)
		}
		for name, got := range map[string]*Result{"json": gotJ, "cbor": gotC} {
			if !reflect.DeepEqual(got, r) {
				t.Errorf("%s %s: extension round trip:\n got %+v\nwant %+v", profile, name, got, r)
			}
		}
		// the default codec drops the unregistered extension, keeps the rest
		gotD, err := NewCodec(nil).DecodeJSON(j)
		if err != nil {
			t.Fatal(err)
		}
		if gotD.Extensions != nil || gotD.Submods["cpu0"].Extensions != nil {
			t.Errorf("unregistered extensions must be ignored, got %v", gotD.Extensions)
		}
	}
	// encoding an unregistered extension is an error, not a silent drop
	r.Extensions = map[string]any{"nope": 1}
	if _, err := NewCodec(nil).EncodeJSON(r); !errors.Is(err, ErrInvalid) {
		t.Errorf("unregistered extension encoded: %v", err)
	}
	if _, err := NewCodec(nil).EncodeCBOR(r); !errors.Is(err, ErrInvalid) {
		t.Errorf("unregistered extension encoded in CBOR: %v", err)
	}
	// scope is enforced
	r.Extensions = map[string]any{ExtReason().Name: "x"}
	if _, err := NewCodec(nil).EncodeJSON(r); !errors.Is(err, ErrInvalid) {
		t.Errorf("appraisal-scope extension at top level: %v", err)
	}
}

// A zero limit is "no known limit": it must never erase an expiry (a Result
// without exp would otherwise be issued as a token that never expires).
func TestCapExpiryZeroLimitKeepsExpiry(t *testing.T) {
	iat := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := NewResult(VerifierID{Developer: "d", Build: "b"}, iat)
	r.ExpiresAt = iat.Add(time.Hour)
	r.CapExpiry(time.Time{})
	if !r.ExpiresAt.Equal(iat.Add(time.Hour)) {
		t.Fatalf("ExpiresAt = %v after a zero cap, want %v", r.ExpiresAt, iat.Add(time.Hour))
	}
	r.CapExpiry(iat.Add(time.Minute + 500*time.Millisecond))
	if !r.ExpiresAt.Equal(iat.Add(time.Minute)) {
		t.Fatalf("ExpiresAt = %v, want the cap truncated to %v", r.ExpiresAt, iat.Add(time.Minute))
	}
}
