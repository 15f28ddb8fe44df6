package serve

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/internal/jsonbound"
	"github.com/trustfactory/attest/kbs"
	"github.com/trustfactory/attest/verify"
)

// AttestationRequest is the body of POST /attestation, Trustee's
// attestation-service shape. Unknown fields are ignored, as Trustee does.
type AttestationRequest struct {
	VerificationRequests []VerificationRequest `json:"verification_requests"`
	// PolicyIDs is required (Trustee); empty means ["default"].
	PolicyIDs *[]string `json:"policy_ids"`
}

// VerificationRequest is one piece of evidence of an AttestationRequest.
type VerificationRequest struct {
	TEE string `json:"tee"`
	// Evidence is the base64url (no padding) of the evidence JSON text.
	Evidence string `json:"evidence"`
	// RuntimeData is {"structured": {...}} or {"raw": "<b64url>"}.
	RuntimeData *struct {
		Structured json.RawMessage `json:"structured"`
		Raw        *string         `json:"raw"`
	} `json:"runtime_data"`
	// InitData is {"init_data_toml": "..."} or {"init_data_digest": "..."}.
	InitData *struct {
		TOML   *string `json:"init_data_toml"`
		Digest *string `json:"init_data_digest"`
	} `json:"init_data"`
	// RuntimeDataHashAlgorithm is sha384 (default) or sha512.
	RuntimeDataHashAlgorithm string `json:"runtime_data_hash_algorithm"`
}

// clientError is a caller fault: the status and a message naming the field.
type clientError struct {
	code   int
	typ    string // problem type URI; empty: about:blank
	title  string
	detail string
}

func (e *clientError) Error() string { return e.detail }

func badRequest(format string, args ...any) *clientError {
	return &clientError{code: http.StatusBadRequest, title: "bad request", detail: clipDetail(fmt.Sprintf(format, args...))}
}

// maxDetail caps the detail of a problem answer: the messages quote the
// request (a TEE name, a number encoding/json cannot hold), which may be
// megabytes that the client sent and that the answer and the log should not
// carry back (TestWorstShapeParseAttestation).
const maxDetail = 512

// clipDetail cuts detail to maxDetail bytes, on a rune boundary, saying how
// long it was.
func clipDetail(detail string) string {
	if len(detail) <= maxDetail {
		return detail
	}
	cut := maxDetail
	for cut > 0 && !utf8.RuneStart(detail[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", detail[:cut], len(detail))
}

// plan is a checked attestation request, ready to appraise.
type plan struct {
	tee      string
	nonce    string
	hash     crypto.Hash
	req      *kbs.Request // the KBS request it maps to
	policyID string       // the policy it appraises with (selectPolicy)
}

// asRequest is AttestationRequest as this package decodes it: the
// structured runtime data straight into its members, so that one pass over
// the body yields what the appraisal needs (the evidence is the bulk of a
// request, and every extra pass over it costs).
type asRequest struct {
	VerificationRequests []asVerification `json:"verification_requests"`
	PolicyIDs            *[]string        `json:"policy_ids"`
}

// asVerification is VerificationRequest as this package decodes it.
type asVerification struct {
	TEE         string `json:"tee"`
	Evidence    string `json:"evidence"`
	RuntimeData *struct {
		// Structured is decoded as a generic value: encoding/json then
		// reads the long additional-evidence string in place, where a
		// json.RawMessage or an Unmarshaler member would cost two more
		// scans of it, and the member names come with it.
		Structured any     `json:"structured"`
		Raw        *string `json:"raw"`
	} `json:"runtime_data"`
	InitData *struct {
		TOML   *string `json:"init_data_toml"`
		Digest *string `json:"init_data_digest"`
	} `json:"init_data"`
	RuntimeDataHashAlgorithm string `json:"runtime_data_hash_algorithm"`
}

// Bounds of the JSON structure of an attestation request. A request has
// at most 1+kbs.MaxAdditionalDevices verification requests of a dozen
// members each, a JWK of a dozen more, and a few policy ids: the evidence
// and the additional evidence are strings, each one value.
const (
	maxRequestDepth  = 32
	maxRequestValues = 4096
)

// parseAttestation checks a request completely (nothing is consumed before
// it passes) and maps it to the KBS request the kbs package appraises.
func (s *Server) parseAttestation(body []byte) (*plan, *clientError) {
	// The structured runtime data is decoded as generic values, before any
	// nonce is checked: bound the values and the nesting of the whole body
	// first (one scan that allocates nothing), or MaxBody bytes of
	// [{},{},...] there decode into some 45 times their size.
	if err := jsonbound.Check(body, "request", maxRequestDepth, maxRequestValues); err != nil {
		return nil, badRequest("%v", err)
	}
	if cerr := checkMemberNames(body); cerr != nil {
		return nil, cerr
	}
	var req asRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, badRequest("malformed JSON: %v", err)
	}
	if len(req.VerificationRequests) == 0 {
		return nil, badRequest("verification_requests: no verification requests provided")
	}
	if req.PolicyIDs == nil {
		return nil, badRequest("policy_ids: missing (use [] or [\"default\"])")
	}
	policyID, cerr := s.selectPolicy(*req.PolicyIDs)
	if cerr != nil {
		return nil, cerr
	}
	if len(req.VerificationRequests) > 1+kbs.MaxAdditionalDevices {
		return nil, badRequest("verification_requests: %d, limit %d", len(req.VerificationRequests), 1+kbs.MaxAdditionalDevices)
	}
	vr := &req.VerificationRequests[0]
	p := &plan{tee: vr.TEE, policyID: policyID}
	switch vr.RuntimeDataHashAlgorithm {
	case "", "sha384":
		p.hash = crypto.SHA384
	case "sha512":
		p.hash = crypto.SHA512
	default:
		return nil, badRequest("verification_requests[0].runtime_data_hash_algorithm: %q, expected sha384 or sha512", vr.RuntimeDataHashAlgorithm)
	}
	evidence, cerr := decodeEvidence(0, vr.Evidence)
	if cerr != nil {
		return nil, cerr
	}
	if _, err := s.cfg.Registry.ForTEE(vr.TEE, evidence); err != nil {
		if errors.Is(err, verify.ErrUnsupported) {
			return nil, badRequest("verification_requests[0].tee: %v", err)
		}
		return nil, badRequest("verification_requests[0].evidence: %v", err)
	}
	switch {
	case vr.RuntimeData == nil || (vr.RuntimeData.Structured == nil && vr.RuntimeData.Raw == nil):
		return nil, badRequest("verification_requests[0].runtime_data: missing; evidence must be bound to a nonce (structured runtime data with the nonce from POST /challenge)")
	case vr.RuntimeData.Structured == nil:
		return nil, badRequest("verification_requests[0].runtime_data: raw runtime data is not supported; send structured {nonce, tee-pubkey, additional-evidence}")
	}
	rd, cerr := structuredRuntimeData(vr.RuntimeData.Structured)
	if cerr != nil {
		return nil, cerr
	}
	if _, err := verify.SessionNonce(rd.Nonce); err != nil {
		return nil, badRequest("verification_requests[0].runtime_data.structured.nonce: %v", err)
	}
	p.nonce = rd.Nonce
	if cerr := checkAdditional(req.VerificationRequests[1:], rd.AdditionalEvidence); cerr != nil {
		return nil, cerr
	}
	p.req = &kbs.Request{
		RuntimeData: kbs.RuntimeData{Nonce: rd.Nonce, TEEPubKey: rd.TEEPubKey},
		TEEEvidence: kbs.TEEEvidence{Primary: evidence, Additional: rd.AdditionalEvidence},
	}
	if id := vr.InitData; id != nil {
		switch {
		case id.Digest != nil:
			return nil, badRequest("verification_requests[0].init_data.init_data_digest: not supported; send init_data_toml")
		case id.TOML != nil:
			p.req.InitData = &kbs.InitData{Format: "toml", Body: *id.TOML}
		}
	}
	return p, nil
}

// runtimeData is the structured runtime data a KBS binds: exactly the
// members nonce, tee-pubkey and additional-evidence.
type runtimeData struct {
	Nonce              string
	TEEPubKey          json.RawMessage
	AdditionalEvidence string
}

// structuredRuntimeData checks the decoded structured runtime data of the
// primary request: an object of exactly the three members a KBS binds
// (member names exact, as Trustee's serde reads them), the nonce and the
// additional evidence strings, the key a JWK object.
func structuredRuntimeData(v any) (*runtimeData, *clientError) {
	const field = "verification_requests[0].runtime_data.structured"
	m, ok := v.(map[string]any)
	if !ok {
		return nil, badRequest("%s: expected an object {nonce, tee-pubkey, additional-evidence}, got %s", field, jsonKind(v))
	}
	for k := range m {
		if k != "nonce" && k != "tee-pubkey" && k != "additional-evidence" {
			return nil, badRequest("%s: unknown member %q: expected exactly {nonce, tee-pubkey, additional-evidence}", field, k)
		}
	}
	rd := &runtimeData{}
	switch n := m["nonce"].(type) {
	case nil:
		return nil, badRequest("%s.nonce: missing", field)
	case string:
		if n == "" {
			return nil, badRequest("%s.nonce: missing", field)
		}
		if len(n) > MaxNonceSize {
			return nil, badRequest("%s.nonce: %d bytes, limit %d", field, len(n), MaxNonceSize)
		}
		rd.Nonce = n
	default:
		return nil, badRequest("%s.nonce: expected a string, got %s", field, jsonKind(n))
	}
	switch a := m["additional-evidence"].(type) {
	case nil:
		// The KBS binds the primary evidence to all three members; without
		// this one the digest would be computed over other bytes.
		return nil, badRequest("%s.additional-evidence: missing (\"\" when there is none)", field)
	case string:
		rd.AdditionalEvidence = a
	default:
		return nil, badRequest("%s.additional-evidence: expected a string (JSON text), got %s", field, jsonKind(a))
	}
	key, ok := m["tee-pubkey"].(map[string]any)
	if !ok || key["kty"] == nil {
		return nil, badRequest("%s.tee-pubkey: expected a JWK object (with \"kty\"), got %s", field, jsonKind(m["tee-pubkey"]))
	}
	b, err := json.Marshal(key)
	if err != nil {
		return nil, badRequest("%s.tee-pubkey: %v", field, err)
	}
	if len(b) > kbs.MaxTEEPubKey {
		return nil, badRequest("%s.tee-pubkey: %d bytes, limit %d", field, len(b), kbs.MaxTEEPubKey)
	}
	rd.TEEPubKey = b
	return rd, nil
}

// jsonKind names the JSON type of a decoded value.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null or nothing"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

// decodeEvidence decodes the base64url (no padding) evidence of request i,
// which must be JSON text.
func decodeEvidence(i int, s string) ([]byte, *clientError) {
	b, cerr := decodeBase64(i, s)
	if cerr != nil {
		return nil, cerr
	}
	if !json.Valid(b) {
		return nil, badRequest("verification_requests[%d].evidence: the decoded evidence is not JSON text", i)
	}
	return b, nil
}

// decodeBase64 decodes the base64url (no padding) evidence of request i.
func decodeBase64(i int, s string) ([]byte, *clientError) {
	if s == "" {
		return nil, badRequest("verification_requests[%d].evidence: missing", i)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, badRequest("verification_requests[%d].evidence: expected base64url without padding: %v", i, err)
	}
	return b, nil
}

// checkAdditional accepts further verification requests (a Trustee KBS
// sends one per device) only when each repeats evidence the primary's
// additional-evidence already carries under its TEE name: the appraisal
// reads the devices from there, bound to the primary.
func checkAdditional(extra []asVerification, additional string) *clientError {
	if len(extra) == 0 {
		return nil
	}
	if len(extra) == 1 && plainName(extra[0].TEE) {
		// The usual case, one device TEE: additional-evidence is
		// {"<tee>":<its evidence>}, byte for byte, when one serialiser
		// wrote both. Then comparing bytes is the whole check, done
		// without decoding the repeated copy. (Whether the evidence is
		// JSON the appraisal finds, as when no copy is repeated.)
		pre := `{"` + extra[0].TEE + `":`
		if strings.HasPrefix(additional, pre) && strings.HasSuffix(additional, "}") && len(additional) > len(pre) &&
			equalBase64URL(extra[0].Evidence, additional[len(pre):len(additional)-1]) {
			return nil
		}
	}
	// Bounded while it is read (see kbs.MaxAdditionalDevices).
	devices, err := jsonbound.Object([]byte(additional), "additional-evidence", kbs.MaxAdditionalDevices)
	if errors.Is(err, verify.ErrLimit) {
		return badRequest("verification_requests[1:]: the primary's %v", err)
	} else if err != nil {
		return badRequest("verification_requests[1:]: the primary's additional-evidence is not a JSON object of TEE evidence")
	}
	for i, vr := range extra {
		ev, cerr := decodeEvidence(i+1, vr.Evidence)
		if cerr != nil {
			return cerr
		}
		want, ok := devices[vr.TEE]
		if !ok || !sameJSON(want, ev) {
			return badRequest("verification_requests[%d]: %q evidence that the primary's additional-evidence does not carry", i+1, vr.TEE)
		}
	}
	return nil
}

// equalBase64URL reports whether enc is the base64url encoding, without
// padding, of raw: raw is encoded a block at a time and compared, so that
// a large value needs no decoded copy.
func equalBase64URL(enc, raw string) bool {
	if len(enc) != base64.RawURLEncoding.EncodedLen(len(raw)) {
		return false
	}
	const block = 3 << 10 // raw bytes per step: whole base64 quanta
	var in [block]byte
	var out [block / 3 * 4]byte
	for len(raw) > 0 {
		n := copy(in[:], raw)
		m := base64.RawURLEncoding.EncodedLen(n)
		base64.RawURLEncoding.Encode(out[:m], in[:n])
		if string(out[:m]) != enc[:m] {
			return false
		}
		raw, enc = raw[n:], enc[m:]
	}
	return true
}

// plainName reports whether a TEE name needs no JSON escaping.
func plainName(s string) bool {
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return s != ""
}

// sameJSON reports whether two JSON texts hold the same value: equal bytes
// (the usual case, one serialiser), else equal decoded values.
func sameJSON(a, b []byte) bool {
	if bytes.Equal(bytes.TrimSpace(a), bytes.TrimSpace(b)) {
		return true
	}
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// NonceKey is the name under which a Store records a used nonce: its
// SHA-256 in hex, so that a caller's string never becomes a key as is.
func NonceKey(nonce string) string {
	d := sha256.Sum256([]byte(nonce))
	return hex.EncodeToString(d[:])
}

// storeError is a failure of the Store: the service's fault, and maybe
// passing (503).
type storeError struct{ err error }

func (e *storeError) Error() string { return "store: " + e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

func (s *Server) handleAttestation(w http.ResponseWriter, r *http.Request) {
	// The body is read before a slot is taken: a client that sends it
	// slowly (or not at all) must not hold one of the MaxInFlight slots,
	// or a few such clients turn every attestation away for as long as
	// the server waits for their bytes. Reading holds no more memory than
	// the bytes that came (readGrowing) and no more connections than
	// MaxConnections.
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	if !s.acquire(w, r) {
		return
	}
	defer s.release()
	p, cerr := s.parseAttestation(body)
	if cerr != nil {
		typedProblem(w, r, cerr.code, cerr.typ, cerr.title, cerr.detail)
		return
	}
	deferred, err := s.consumeNonce(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	start := time.Now()
	a, err := s.services[p.hash].AttestRequest(withPolicyID(r.Context(), p.policyID), p.tee, p.nonce, p.req, s.cfg.Now())
	if err != nil {
		s.metrics.appraisal(p.tee, "error", time.Since(start))
		s.fail(w, r, err)
		return
	}
	s.metrics.appraisal(p.tee, a.Outcome.Status().String(), time.Since(start))
	if st := a.Outcome.Status(); deferred && (st == ear.StatusAffirming || st == ear.StatusWarning) {
		if err := s.useCallerNonce(r.Context(), p); err != nil {
			s.fail(w, r, err) // the token is discarded
			return
		}
	}
	loggerFrom(r.Context()).Info("attested", "tee", p.tee, "status", a.Outcome.Status().String(), "submods", len(a.Outcome.Submods))
	w.Header().Set("Content-Type", "application/jwt")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(a.Token)
}

// fail answers an error: caller faults 4xx, the rest 5xx.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ce *clientError
	var se *storeError
	switch {
	case errors.As(err, &ce):
		typedProblem(w, r, ce.code, ce.typ, ce.title, ce.detail)
	case errors.As(err, &se):
		// The store's error names its address and its replies: internal
		// detail an unauthenticated caller has no use for. The log has it,
		// under the request id the answer carries.
		loggerFrom(r.Context()).Error("store failed", "err", err)
		s.setRetryAfter(w)
		problem(w, r, http.StatusServiceUnavailable, "store unavailable", "the service's state store did not answer; retry later")
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, verify.ErrCanceled) && r.Context().Err() != nil:
		s.metrics.rejected("timeout")
		s.setRetryAfter(w)
		problem(w, r, http.StatusServiceUnavailable, "timeout", "the request did not finish within its time limit")
	case verify.IsOperational(err):
		s.setRetryAfter(w)
		problem(w, r, http.StatusServiceUnavailable, "unavailable", err.Error())
	case errors.Is(err, verify.ErrMalformed), errors.Is(err, verify.ErrUnsupported), errors.Is(err, verify.ErrLimit),
		errors.Is(err, verify.ErrFreshness), errors.Is(err, verify.ErrConfig), errors.Is(err, verify.ErrBinding):
		problem(w, r, http.StatusBadRequest, "bad request", err.Error())
	default:
		loggerFrom(r.Context()).Error("internal error", "err", err)
		problem(w, r, http.StatusInternalServerError, "internal error", "the service failed; its log has the details under this request id")
	}
}

// MaxChallengeParams bounds the body of POST /challenge.
const MaxChallengeParams = 4 << 10

func (s *Server) handleChallenge(w http.ResponseWriter, r *http.Request) {
	// No more than the parameters can need: the endpoint takes no
	// credentials, so a caller must not make it read megabytes.
	body, ok := s.readBodyLimit(w, r, MaxChallengeParams)
	if !ok {
		return
	}
	var req map[string]string
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			problem(w, r, http.StatusBadRequest, "bad request", "malformed JSON: expected {\"tee\": \"<name>\"}: "+err.Error())
			return
		}
	}
	tee := req["tee"]
	if tee != "" {
		if _, err := s.cfg.Registry.ForTEE(tee, nil); errors.Is(err, verify.ErrUnsupported) {
			problem(w, r, http.StatusBadRequest, "bad request", "tee: "+err.Error())
			return
		}
	}
	// The store's current secret, not the cached one: a replica must not
	// go on issuing nonces under a secret the store has replaced.
	secret, err := s.nonceSecret(r.Context(), true)
	if err != nil {
		s.fail(w, r, &storeError{err})
		return
	}
	nonce := issueNonce(secret, tee, s.cfg.NonceClock().Add(s.cfg.NonceTTL))
	s.metrics.nonceIssued()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(nonce))
}

func (s *Server) handleRVGet(w http.ResponseWriter, r *http.Request) {
	d, err := s.cfg.Store.Document(r.Context(), ReferenceValuesDocument)
	if errors.Is(err, ErrNotFound) {
		problem(w, r, http.StatusNotFound, "no reference values", "no reference values have been uploaded")
		return
	} else if err != nil {
		s.fail(w, r, &storeError{err})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"version": d.Version, "document": string(d.Body)})
}

// handleRVSet stores a new version of the reference values: compiled first,
// so a document that does not compile is refused and the old one stays.
func (s *Server) handleRVSet(w http.ResponseWriter, r *http.Request) {
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	if err := s.checkReferenceValues(body); err != nil {
		problem(w, r, http.StatusBadRequest, "reference values refused", fmt.Sprintf("%v (version %d stays in force)", err, s.rvVersion.Load()))
		return
	}
	v, err := s.cfg.Store.PutDocument(r.Context(), ReferenceValuesDocument, body)
	if err != nil {
		s.fail(w, r, &storeError{err})
		return
	}
	s.refresh(r.Context())
	loggerFrom(r.Context()).Info("reference values stored", "version", v)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"version": v})
}
