// Package kbs makes attest a drop-in attestation service for a Trustee Key
// Broker Service: it accepts the body of a KBS /kbs/v0/attest request (RCAR
// protocol 0.4.0) with the TEE name from /kbs/v0/auth, binds every piece of
// evidence to the session as Trustee does (package binding), appraises the
// CPU evidence and any additional device evidence in one composite
// appraisal, and issues an EAR token in the Trustee profile. The TEE key sits
// where Trustee's KBS looks for it:
//
//	/submods/cpu0/ear.veraison.annotated-evidence/runtime_data_claims/tee-pubkey
//
// so a Trustee KBS configured with the service's JWKS accepts the token.
// The key and the init data's claims are there only when cpu0 verified
// against them; a token whose cpu0 failed carries neither.
// The token's eat_nonce is the session nonce by verify.SessionNonce (a
// Trustee nonce, 44 characters of base64, as its bytes), so a relying party
// checks it with token.Expectations{Nonce: []byte(nonce)}.
//
// Decide is the release rule a key broker applies to a verified result: every
// submodule and the overall status affirming, no unsafe switch.
//
// Wiring: the registry of every verifier comes from setup.NewRegistry (one
// setup.Config: bundle, online sources, roots); NewAppraiser puts it under a
// policy (policy.New over your reference values) with the Trustee profile;
// NewService signs with a token.Signer:
//
//	reg, err := setup.NewRegistry(cfg)
//	a, err := kbs.NewAppraiser(reg, pol)
//	svc, err := kbs.NewService(a, signer)
//	att, err := svc.Attest(ctx, tee, nonce, body, time.Now())
package kbs

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/trustfactory/attest/binding"
	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/ear/token"
	"github.com/trustfactory/attest/internal/jsonbound"
	"github.com/trustfactory/attest/verify"
)

// ProtocolVersion is the KBS RCAR protocol version this package speaks.
const ProtocolVersion = "0.4.0"

// Bounds of one request.
const (
	MaxRequestSize       = 16 << 20 // bytes of the request body
	MaxAdditionalDevices = 8        // entries of additional_evidence
	// MaxTEEPubKey caps the JWK in runtime-data.tee-pubkey. The largest real
	// key, an RSA-16384 public JWK, is under 3 KB; decoding a 16 MiB array
	// there into a map allocated 1 GB for 9 s of CPU before this cap.
	MaxTEEPubKey = 16 << 10
)

// Structure caps of a request body, checked before it is decoded. The
// decoder allocates per member it refuses (an unknown field's error) and per
// element, so 4 MiB of "a":0 members cost 15 times their size, which at
// MaxRequestSize is 240 MB for one request (TestWorstShapeParseRequest).
// The largest real structure is SNP JSON evidence, whose certificates are
// arrays of integers (snp caps those near 68 000 values); the verifiers
// nest evidence at most 32 deep (Azure's skipped members).
const (
	maxRequestDepth  = 64
	maxRequestValues = 1 << 18
)

// Request is the body of POST /kbs/v0/attest.
type Request struct {
	InitData    *InitData   `json:"init-data,omitempty"`
	RuntimeData RuntimeData `json:"runtime-data"`
	TEEEvidence TEEEvidence `json:"tee-evidence"`
}

// InitData is the init data the TEE was launched with, as received.
type InitData struct {
	Format string `json:"format"` // "toml"
	Body   string `json:"body"`
}

// RuntimeData is the session nonce and the key the TEE wants secrets wrapped to.
type RuntimeData struct {
	Nonce     string          `json:"nonce"`
	TEEPubKey json.RawMessage `json:"tee-pubkey"`
}

// TEEEvidence is the composite evidence of a request: the primary (CPU)
// evidence in its TEE's JSON shape, and a JSON string mapping further TEE
// names to their evidence ("" when there is none).
type TEEEvidence struct {
	Primary    json.RawMessage `json:"primary_evidence"`
	Additional string          `json:"additional_evidence"`
}

// ParseRequest parses and checks a request body: unknown fields, missing
// fields, trailing data, and a member of the request's own objects given
// twice, in another case or with an escaped name (which encoding/json would
// read where Trustee's KBS refuses the body) are ErrMalformed; a body over
// MaxRequestSize, or nested or holding values far beyond any evidence, is
// ErrLimit before it is decoded.
func ParseRequest(body []byte) (*Request, error) {
	if len(body) > MaxRequestSize {
		return nil, verify.Errorf(verify.ErrLimit, "KBS request: %d bytes, limit %d", len(body), MaxRequestSize)
	}
	if err := jsonbound.Check(body, "KBS request", maxRequestDepth, maxRequestValues); err != nil {
		return nil, err
	}
	if err := checkMemberNames(body); err != nil {
		return nil, err
	}
	var r Request
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "KBS request: %w", err)
	}
	// Not dec.More(), which reports false before a stray ']' or '}'.
	if len(bytes.TrimLeft(body[dec.InputOffset():], " \t\r\n")) != 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "KBS request: trailing data")
	}
	if err := checkRequest(&r); err != nil {
		return nil, err
	}
	return &r, nil
}

// checkRequest checks the members of a decoded request: what ParseRequest
// checks after decoding, and what AttestRequest checks of a request it is
// handed.
func checkRequest(r *Request) error {
	switch {
	case r.RuntimeData.Nonce == "":
		return verify.Errorf(verify.ErrMalformed, "KBS request: runtime-data.nonce missing")
	case absent(r.RuntimeData.TEEPubKey):
		return verify.Errorf(verify.ErrMalformed, "KBS request: runtime-data.tee-pubkey missing")
	case absent(r.TEEEvidence.Primary):
		return verify.Errorf(verify.ErrMalformed, "KBS request: tee-evidence.primary_evidence missing")
	}
	if n := len(r.RuntimeData.TEEPubKey); n > MaxTEEPubKey {
		return verify.Errorf(verify.ErrLimit, "KBS request: runtime-data.tee-pubkey: %d bytes, limit %d", n, MaxTEEPubKey)
	}
	var key map[string]any
	if err := json.Unmarshal(r.RuntimeData.TEEPubKey, &key); err != nil || key["kty"] == nil {
		return verify.Errorf(verify.ErrMalformed, "KBS request: tee-pubkey is not a JWK object")
	}
	if r.InitData != nil && r.InitData.Format != "toml" {
		return verify.Errorf(verify.ErrUnsupported, "KBS request: init-data format %q, expected toml", r.InitData.Format)
	}
	return nil
}

// absent reports whether a JSON member is missing, empty or null.
func absent(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

// Format maps a KBS TEE name (kbs-types) to the format of the verifier that
// ships with attest for it. TEEs attest has no verifier for, the test TEEs
// "sample" and "sampledevice" included, are ErrUnsupported. A Service asks
// its registry instead (verify.Registry.ForTEE), so that a verifier outside
// attest answers to its own name.
//
// The bad-input catalogue (POL-05) asks for ErrConfig here. attest keeps
// ErrUnsupported on purpose: there is no configuration under which attest
// accepts test evidence (it has no "sample" verifier at all), so nothing is
// misconfigured; the input is a TEE attest does not support. ErrConfig would
// also misreport it: verify.IsOperational holds for ErrConfig (a retry may
// succeed, the verifier is at fault) and verify.FailureVector gives it −1
// (verifier malfunction), whereas test evidence offered to a production
// service is unexpected evidence (instance-identity 1) from the attester.
//
// Trustee's older TEE names ("azsnpvtpm") are read as the current ones
// (verify.CanonicalTEEName).
func Format(tee string) (verify.Format, error) {
	switch verify.CanonicalTEEName(tee) {
	case "tdx":
		return verify.FormatTDX, nil
	case "sgx":
		return verify.FormatSGX, nil
	case "snp":
		return verify.FormatSNP, nil
	case "tpm":
		return verify.FormatTPM, nil
	case "az-snp-vtpm":
		return verify.FormatAzureSNP, nil
	case "az-tdx-vtpm":
		return verify.FormatAzureTDX, nil
	case "nvidia":
		return verify.FormatGPU, nil
	}
	return "", verify.Errorf(verify.ErrUnsupported, "TEE %q: attest verifies tdx, sgx, snp, tpm, az-snp-vtpm, az-tdx-vtpm and nvidia", tee)
}

// Service appraises KBS attestation requests and issues Trustee-profile EAR
// tokens. It is immutable after NewService and safe for concurrent use.
type Service struct {
	appraiser *verify.Appraiser
	signer    *token.Signer
	hash      crypto.Hash
	verbose   bool
}

// Option configures a Service.
type Option func(*Service) error

// WithHash sets the runtime-data hash: crypto.SHA384 (default, every TEE in
// Trustee but IBM SE) or crypto.SHA512.
func WithHash(h crypto.Hash) Option {
	return func(s *Service) error {
		if h != crypto.SHA384 && h != crypto.SHA512 {
			return verify.Errorf(verify.ErrConfig, "runtime-data hash %v: expected SHA-384 or SHA-512", h)
		}
		s.hash = h
		return nil
	}
}

// WithVerbose puts the verified claims, report data, init data and the
// additional evidence into the token, as Trustee's verbose_token does (the
// default). Off, the token keeps only the statuses, trust vectors and the
// runtime data's nonce and TEE key: a token for eight GPUs stays small.
func WithVerbose(on bool) Option {
	return func(s *Service) error { s.verbose = on; return nil }
}

// NewService returns a service that appraises with a (whose profile should be
// ear.ProfileTrustee, see NewAppraiser) and signs with signer.
func NewService(a *verify.Appraiser, signer *token.Signer, opts ...Option) (*Service, error) {
	if a == nil || signer == nil {
		return nil, verify.Errorf(verify.ErrConfig, "kbs: nil appraiser or signer")
	}
	s := &Service{appraiser: a, signer: signer, hash: crypto.SHA384, verbose: true}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// NewAppraiser is verify.NewAppraiser with the options a Trustee KBS needs:
// the Trustee profile. The appraiser writes no annotated evidence: Service
// writes it, in Trustee's shape, from each submodule's claims.
func NewAppraiser(reg *verify.Registry, p verify.Policy, opts ...verify.AppraiserOption) (*verify.Appraiser, error) {
	base := []verify.AppraiserOption{verify.WithProfile(ear.ProfileTrustee), verify.WithAnnotatedEvidence(false),
		verify.WithVerifierID(kbsVerifierID())}
	return verify.NewAppraiser(reg, p, append(base, opts...)...)
}

// Attestation is the outcome of one request.
type Attestation struct {
	Token     []byte          // the signed EAR (JWT)
	Outcome   *verify.Outcome // the appraisal behind it
	TEEPubKey json.RawMessage // the key bound into the evidence
}

// Attest appraises the request body of a session whose /auth named tee and
// whose challenge was nonce, at time now (zero: the current time). A request
// for another session (nonce mismatch) is ErrFreshness and gets no token, as
// does a TEE the service has no verifier for (ErrUnsupported); evidence that
// fails verification gets a token whose submodule is contraindicated.
func (s *Service) Attest(ctx context.Context, tee, nonce string, body []byte, now time.Time) (*Attestation, error) {
	if nonce == "" {
		return nil, verify.Errorf(verify.ErrConfig, "kbs: empty session nonce")
	}
	req, err := ParseRequest(body)
	if err != nil {
		return nil, err
	}
	return s.attest(ctx, tee, nonce, req, now)
}

// AttestRequest is Attest for a request already decoded: by ParseRequest,
// or from another wire shape by a caller that maps it (package serve
// decodes Trustee's attestation-service request), so that the evidence is
// not encoded and parsed again. The request is checked as ParseRequest
// checks a body, its size included, and is not modified.
func (s *Service) AttestRequest(ctx context.Context, tee, nonce string, req *Request, now time.Time) (*Attestation, error) {
	if req == nil {
		return nil, verify.Errorf(verify.ErrConfig, "kbs: nil request")
	}
	size := len(req.RuntimeData.Nonce) + len(req.RuntimeData.TEEPubKey) + len(req.TEEEvidence.Primary) + len(req.TEEEvidence.Additional)
	if req.InitData != nil {
		size += len(req.InitData.Format) + len(req.InitData.Body)
	}
	if size > MaxRequestSize {
		return nil, verify.Errorf(verify.ErrLimit, "KBS request: %d bytes of members, limit %d", size, MaxRequestSize)
	}
	if err := checkRequest(req); err != nil {
		return nil, err
	}
	// ParseRequest's decoder holds primary_evidence to one JSON value;
	// a request handed over decoded gets the same check, or a verifier
	// would read bytes no body could carry (trailing data included).
	if !json.Valid(req.TEEEvidence.Primary) {
		return nil, verify.Errorf(verify.ErrMalformed, "KBS request: tee-evidence.primary_evidence is not JSON")
	}
	return s.attest(ctx, tee, nonce, req, now)
}

// attest appraises a checked request.
func (s *Service) attest(ctx context.Context, tee, nonce string, req *Request, now time.Time) (*Attestation, error) {
	if nonce == "" {
		return nil, verify.Errorf(verify.ErrConfig, "kbs: empty session nonce")
	}
	if req.RuntimeData.Nonce != nonce {
		return nil, verify.Errorf(verify.ErrFreshness, "runtime-data.nonce: expected the session's %q, got %q", nonce, req.RuntimeData.Nonce)
	}
	reg := s.appraiser.Registry()
	primary, err := reg.ForTEE(tee, req.TEEEvidence.Primary)
	if err != nil {
		return nil, err
	}
	if now.IsZero() {
		now = time.Now()
	}
	comps, initData, err := components(req, primary, s.hash, now, registryRouter{reg})
	if err != nil {
		return nil, err
	}
	sess, err := verify.NewSession(req.RuntimeData.Nonce, req.RuntimeData.TEEPubKey)
	if err != nil {
		return nil, err
	}
	out, err := s.appraiser.AppraiseSession(ctx, sess, comps)
	if err != nil {
		return nil, err
	}
	s.trusteeShape(out, reg, s.runtimeDataClaims(req), initData)
	var opts []token.SignOption
	if na, ok := out.NotAfter(); ok {
		opts = append(opts, token.CapExpiry(na))
	}
	tok, err := s.signer.SignJWT(out.Result, opts...)
	if err != nil {
		return nil, err
	}
	return &Attestation{Token: tok, Outcome: out, TEEPubKey: bytes.Clone(req.RuntimeData.TEEPubKey)}, nil
}

// runtimeDataClaims returns the runtime data claims of cpu0.
func (s *Service) runtimeDataClaims(req *Request) map[string]any {
	var key any
	_ = json.Unmarshal(req.RuntimeData.TEEPubKey, &key) // checked by ParseRequest
	rt := map[string]any{"nonce": req.RuntimeData.Nonce, "tee-pubkey": key}
	if s.verbose {
		rt["additional-evidence"] = req.TEEEvidence.Additional
	}
	return rt
}

// Components returns the composite a request describes, each piece bound as
// Trustee binds it: cpu0 (the primary evidence, of format primary) to
// H(JCS({nonce, tee-pubkey, additional-evidence})) and its init data to the
// init-data field, every additional device to H(JCS({nonce, tee-pubkey})).
// h is crypto.SHA384 (or SHA512); now is the verification time.
//
// Components knows the TEEs that ship with attest (Format, binding.Expect);
// a Service asks its registry's verifiers.
func Components(req *Request, primary verify.Format, h crypto.Hash, now time.Time) ([]verify.Component, error) {
	comps, _, err := components(req, primary, h, now, builtinRouter{})
	return comps, err
}

// router resolves the TEE names of a request and binds evidence to runtime
// data: from the verifiers of a registry, or from the built-in tables.
type router interface {
	// format returns the format of the evidence of a TEE name.
	format(tee string, evidence json.RawMessage) (verify.Format, error)
	// primary reports whether evidence of format f can be the primary
	// evidence (a CPU TEE; a GPU attests beside one).
	primary(f verify.Format) bool
	// expect binds evidence of format f to rd.
	expect(f verify.Format, rd binding.RuntimeData, h crypto.Hash) (verify.Expectations, error)
}

// builtinRouter knows the TEEs that ship with attest.
type builtinRouter struct{}

func (builtinRouter) format(tee string, _ json.RawMessage) (verify.Format, error) { return Format(tee) }
func (builtinRouter) primary(f verify.Format) bool {
	return f != verify.FormatGPU && f != verify.FormatNVSwitch
}
func (builtinRouter) expect(f verify.Format, rd binding.RuntimeData, h crypto.Hash) (verify.Expectations, error) {
	return binding.Expect(f, rd, h)
}

// registryRouter asks the verifiers of a registry.
type registryRouter struct{ reg *verify.Registry }

func (r registryRouter) format(tee string, evidence json.RawMessage) (verify.Format, error) {
	return r.reg.ForTEE(tee, evidence)
}
func (r registryRouter) primary(f verify.Format) bool { return r.reg.SubmodClass(f) == verify.ClassCPU }
func (r registryRouter) expect(f verify.Format, rd binding.RuntimeData, h crypto.Hash) (verify.Expectations, error) {
	v, ok := r.reg.Lookup(f)
	if !ok {
		return verify.Expectations{}, verify.Errorf(verify.ErrUnsupported, "no verifier for format %q", f)
	}
	return binding.ExpectFor(v, rd, h)
}

// components is Components that also returns the parsed init data (nil when
// the request has none).
func components(req *Request, primary verify.Format, h crypto.Hash, now time.Time, rt router) ([]verify.Component, *binding.InitData, error) {
	if req == nil {
		return nil, nil, verify.Errorf(verify.ErrConfig, "kbs: nil request")
	}
	if !rt.primary(primary) {
		return nil, nil, verify.Errorf(verify.ErrUnsupported, "TEE %q cannot be the primary evidence: only a CPU TEE can (a GPU attests beside one)", primary)
	}
	additional := req.TEEEvidence.Additional
	rd := binding.RuntimeData{Nonce: req.RuntimeData.Nonce, TEEPubKey: req.RuntimeData.TEEPubKey, AdditionalEvidence: &additional}
	cpu, err := rt.expect(primary, rd, h)
	if err != nil {
		return nil, nil, err
	}
	cpu.Now = now
	var initData *binding.InitData
	if req.InitData != nil {
		if initData, err = binding.ParseInitData([]byte(req.InitData.Body)); err != nil {
			return nil, nil, err
		}
		if cpu.InitDataDigest, err = binding.InitDataField(primary, initData.Digest()); err != nil {
			return nil, nil, err
		}
	}
	comps := []verify.Component{{Name: "cpu0", Format: primary, Evidence: req.TEEEvidence.Primary, Expect: cpu}}
	if strings.TrimSpace(additional) == "" {
		return comps, initData, nil
	}
	// Bounded while it is read: a map of every member of megabytes of
	// short members would cost about ten times their text.
	extra, err := jsonbound.Object([]byte(additional), "additional_evidence (TEE evidence by name)", MaxAdditionalDevices)
	if err != nil {
		return nil, nil, err
	}
	names := make([]string, 0, len(extra))
	for n := range extra {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f, err := rt.format(n, extra[n])
		if err != nil {
			return nil, nil, err
		}
		// Additional evidence binds the runtime data without the additional
		// evidence, whatever its TEE (Trustee's kbs_evidence_runtime_data).
		exp, err := rt.expect(f, rd.Device(), h)
		if err != nil {
			return nil, nil, err
		}
		exp.Now = now
		comps = append(comps, verify.Component{Format: f, Evidence: extra[n], Expect: exp})
	}
	return comps, initData, nil
}

// trusteeShape rewrites the result into Trustee's shape: the claims under
// the TEE's KBS name, the runtime data claims (with the TEE key) in cpu0, and
// only the claims Trustee's own tokens carry.
func (s *Service) trusteeShape(out *verify.Outcome, reg *verify.Registry, rt map[string]any, initData *binding.InitData) {
	for _, so := range out.Submods {
		a := so.Appraisal
		if a == nil {
			continue
		}
		if !s.verbose || so.Claims == nil {
			a.AnnotatedEvidence = nil
		} else {
			a.AnnotatedEvidence = verify.PolicyInput{Format: verify.Format(reg.TEEName(so.Format)), Claims: so.ClaimMap()}.Map()
		}
		// The runtime data (the TEE key a broker wraps secrets to) and the
		// init data are claims of cpu0 only when its evidence verified
		// against them: claims only from verified bytes, even in a token
		// whose status already says no.
		if so.Name != "cpu0" || so.Err != nil {
			continue
		}
		if a.AnnotatedEvidence == nil {
			a.AnnotatedEvidence = map[string]any{}
		}
		a.AnnotatedEvidence["runtime_data_claims"] = rt
		if s.verbose && initData != nil {
			a.AnnotatedEvidence["init_data_claims"] = initData.Data
		}
	}
	// Trustee's tokens carry no other appraisal claims and no overall
	// status; parsers of that profile need not know attest's extensions, so
	// their content moves into the annotated evidence, under "attest".
	for _, so := range out.Submods {
		a := so.Appraisal
		if a == nil || len(a.Extensions) == 0 {
			continue
		}
		info := map[string]any{}
		for name, key := range map[string]string{ear.ExtReasonName: "reason", ear.ExtUnsafeName: "unsafe", ear.ExtChecksName: "checks"} {
			if v, ok := a.Extensions[name]; ok {
				info[key] = v
			}
		}
		if len(info) > 0 {
			if a.AnnotatedEvidence == nil {
				a.AnnotatedEvidence = map[string]any{}
			}
			a.AnnotatedEvidence["attest"] = info
		}
		a.Extensions = nil
	}
	out.Result.Status = nil
	out.Result.Extensions = nil
}

// TEEPubKeyPointer is the JSON pointer, in a Trustee-profile token's claims,
// of the key the TEE bound into its evidence.
const TEEPubKeyPointer = "/submods/cpu0/ear.veraison.annotated-evidence/runtime_data_claims/tee-pubkey"

// TEEPubKey returns the TEE key of a verified result, as JSON.
func TEEPubKey(r *ear.Result) (json.RawMessage, error) {
	if r == nil {
		return nil, verify.Errorf(verify.ErrToken, "nil result")
	}
	cpu, ok := r.Submods["cpu0"]
	if !ok || cpu == nil {
		return nil, verify.Errorf(verify.ErrToken, "no cpu0 submodule")
	}
	rt, ok := cpu.AnnotatedEvidence["runtime_data_claims"].(map[string]any)
	if !ok {
		return nil, verify.Errorf(verify.ErrToken, "cpu0: no runtime_data_claims")
	}
	k, ok := rt["tee-pubkey"]
	if !ok || k == nil {
		return nil, verify.Errorf(verify.ErrToken, "cpu0: no tee-pubkey")
	}
	b, err := json.Marshal(k)
	if err != nil {
		return nil, verify.Errorf(verify.ErrToken, "tee-pubkey: %w", err)
	}
	return b, nil
}

// AppraisalNotes returns the reason and the unsafe switches attest recorded
// for an appraisal: from its extensions or, in a Trustee-profile token, from
// its annotated evidence under "attest". Both are zero when there are none.
func AppraisalNotes(a *ear.Appraisal) (reason string, unsafe any) {
	if a == nil {
		return "", nil
	}
	info, _ := a.AnnotatedEvidence["attest"].(map[string]any)
	if s, ok := a.Extensions[ear.ExtReasonName].(string); ok {
		reason = s
	} else if s, ok := info["reason"].(string); ok {
		reason = s
	}
	if u, ok := a.Extensions[ear.ExtUnsafeName]; ok && u != nil {
		unsafe = u
	} else if u, ok := info["unsafe"]; ok && u != nil {
		unsafe = u
	}
	return reason, unsafe
}

// Decide is the release rule for a verified result: at least one
// submodule, every submodule and the overall status affirming, and no unsafe
// switch recorded. Anything else is an ErrPolicy error naming the culprit.
func Decide(r *ear.Result) error {
	if r == nil || len(r.Submods) == 0 {
		return verify.Errorf(verify.ErrPolicy, "no submodules: nothing was appraised")
	}
	for _, n := range r.SubmodNames() {
		a := r.Submods[n]
		if a == nil || a.Status != ear.StatusAffirming || a.TrustVector.Status() != ear.StatusAffirming {
			st := "missing"
			if a != nil {
				st = a.Status.String()
			}
			reason := ""
			if s, _ := AppraisalNotes(a); s != "" {
				reason = ": " + s
			}
			return verify.Errorf(verify.ErrPolicy, "submodule %s is %s%s", n, st, reason)
		}
		if _, u := AppraisalNotes(a); u != nil {
			return verify.Errorf(verify.ErrPolicy, "submodule %s was appraised with unsafe switches %v", n, u)
		}
	}
	if st := r.OverallStatus(); st != ear.StatusAffirming {
		return verify.Errorf(verify.ErrPolicy, "overall status %s", st)
	}
	if u, ok := r.Extensions[ear.ExtUnsafeName]; ok && u != nil {
		return verify.Errorf(verify.ErrPolicy, "result produced with unsafe switches %v", u)
	}
	return nil
}

// String renders a short description of an attestation for logs.
func (a *Attestation) String() string {
	return fmt.Sprintf("%s, %d submodules, %d-byte token", a.Outcome.Status(), len(a.Outcome.Submods), len(a.Token))
}

// kbsVerifierID is attest's build identity with the KBS protocol version
// the service speaks.
func kbsVerifierID() ear.VerifierID {
	id := verify.DefaultVerifierID()
	id.Build += ", kbs protocol " + ProtocolVersion
	return id
}
