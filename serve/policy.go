package serve

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"

	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/verify"
)

// PolicyEngine runs policies uploaded as text (POST /policy), stored by id
// and compiled against the reference values in force. Package policy/rego's
// Engine runs Trustee's Rego policies; the service never links OPA itself.
// Implementations are safe for concurrent use.
type PolicyEngine interface {
	// Name names the engine in answers and logs ("rego").
	Name() string
	// Defaults are the policies by id the service stores at start, when
	// Config.Policies is nil and the store has none of that id.
	Defaults() map[string][]byte
	// Compile compiles the policy text stored under id against rv. A text
	// that does not compile is an error carrying the compiler's message.
	Compile(ctx context.Context, id string, text []byte, rv *policy.ReferenceValues) (verify.Policy, error)
	// Select returns the policy an attestation naming requestID (its
	// policy_ids) appraises with, from the compiled policies by stored
	// id; false when requestID names none of them.
	Select(requestID string, compiled map[string]verify.Policy) (verify.Policy, bool)
}

// Store documents of the policies and bounds of an upload.
const (
	// PolicyIndexDocument lists the stored policy ids (a JSON array).
	PolicyIndexDocument = "policies"
	// PolicyDocumentPrefix prefixes the document of each policy's text:
	// "policy/default_cpu".
	PolicyDocumentPrefix = "policy/"
	// MaxPolicies bounds the number of stored policies.
	MaxPolicies = 256
	// MaxPolicyIDSize bounds a policy id, in bytes.
	MaxPolicyIDSize = 128
	// DefaultPolicyID is the policy an attestation with empty policy_ids
	// appraises with, as in Trustee.
	DefaultPolicyID = "default"
)

// indexTries bounds the compare-and-set loop that adds an id to the
// index. A write loses only to another writer's write, which added an id
// (nothing removes ids), so MaxPolicies such losses fill the index: past
// that, the store keeps changing under us for another reason (a reset
// racing the upload).
const indexTries = MaxPolicies + 8

// maxIndexSize bounds the policy index document read, in bytes: room for
// four times MaxPolicies ids of the longest size, quoted. An index over
// MaxPolicies ids (written by an older build, whose uploads raced) still
// loads, its first MaxPolicies ids.
const maxIndexSize = 4 * MaxPolicies * (MaxPolicyIDSize + 3)

// validPolicyID checks a policy id: Trustee's storage key characters
// (letters, digits, '-', '_', '.'), not starting with '.', at most
// MaxPolicyIDSize bytes.
func validPolicyID(id string) error {
	if id == "" {
		return errors.New("missing")
	}
	if len(id) > MaxPolicyIDSize {
		return fmt.Errorf("%d bytes, limit %d", len(id), MaxPolicyIDSize)
	}
	if id[0] == '.' {
		return fmt.Errorf("%q starts with '.'", id)
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("%q: only letters, digits, '-', '_' and '.' are allowed", id)
		}
	}
	return nil
}

// storedPolicy is one policy id as this replica last read and compiled it.
type storedPolicy struct {
	seen Document                // the latest version read from the store
	good Document                // the version in force (compiled)
	p    verify.Policy           // nil: no version of this id compiles
	rv   *policy.ReferenceValues // the values p was compiled against
}

// policyState is the server's view of the stored policies; under applyMu,
// except putMu.
type policyState struct {
	compiled map[string]storedPolicy
	// putMu serialises this replica's uploads, so that two of its uploads
	// never race on the index document.
	putMu sync.Mutex
}

// inForce returns the texts last read, to recompile them against new
// reference values when the store's index is missing.
func (ps *policyState) inForce() map[string]Document {
	out := make(map[string]Document, len(ps.compiled))
	for id, sp := range ps.compiled {
		out[id] = sp.seen
	}
	return out
}

// policyCatalog is the policy in force: every compiled policy by id, and
// the one an appraisal uses chosen by the request's policy id
// (withPolicyID). It is immutable; the server swaps whole catalogs.
type policyCatalog struct {
	engine PolicyEngine             // nil: the Go policy (or NewPolicy's) as "default"
	byID   map[string]verify.Policy // compiled policies by stored id
	docs   map[string]Document      // their texts (engine only)
}

// emptyCatalog is the catalog before the store is read: the Go policy of
// no reference values, or no policy at all for an engine.
func emptyCatalog(cfg *Config, none *policy.ReferenceValues) (*policyCatalog, error) {
	if cfg.PolicyEngine != nil {
		return &policyCatalog{engine: cfg.PolicyEngine, byID: map[string]verify.Policy{}, docs: map[string]Document{}}, nil
	}
	p, err := buildPolicy(cfg, none)
	if err != nil {
		return nil, err
	}
	return &policyCatalog{byID: map[string]verify.Policy{DefaultPolicyID: p}}, nil
}

// lookup returns the policy a request naming id appraises with.
func (c *policyCatalog) lookup(id string) (verify.Policy, bool) {
	if c.engine == nil {
		p, ok := c.byID[id]
		return p, ok
	}
	return c.engine.Select(id, c.byID)
}

// Appraise appraises in with the policy of the request's policy id.
func (c *policyCatalog) Appraise(ctx context.Context, in verify.PolicyInput) (*verify.PolicyResult, error) {
	id := policyIDFrom(ctx)
	p, ok := c.lookup(id)
	if !ok {
		// The request was checked against an earlier catalog; fail
		// closed rather than appraise with another policy.
		return nil, verify.Errorf(verify.ErrPolicy, "serve: policy %q is not in force", id)
	}
	return p.Appraise(ctx, in)
}

type policyIDKey struct{}

// withPolicyID carries the request's policy id to the catalog.
func withPolicyID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, policyIDKey{}, id)
}

func policyIDFrom(ctx context.Context) string {
	if id, ok := ctx.Value(policyIDKey{}).(string); ok && id != "" {
		return id
	}
	return DefaultPolicyID
}

// selectPolicy checks an attestation's policy_ids and returns the policy id
// it appraises with: [] means DefaultPolicyID; one id must be in force.
// Trustee uses the first of several and ignores the rest: here more than
// one is refused rather than silently ignored.
func (s *Server) selectPolicy(ids []string) (string, *clientError) {
	switch len(ids) {
	case 0:
		return DefaultPolicyID, nil
	case 1:
	default:
		return "", badRequest("policy_ids: %d ids, expected at most one (Trustee uses only the first)", len(ids))
	}
	id := ids[0]
	if _, ok := s.catalog.Load().lookup(id); !ok {
		return "", &clientError{code: http.StatusBadRequest, title: "unknown policy",
			detail: clipDetail(fmt.Sprintf("policy_ids: %q is not in force (GET /policy lists the policies)", id))}
	}
	return id, nil
}

// readPolicies reads the stored policy texts by id: nil without an engine
// or when the store has no index (never seeded, or lost by a reset: what
// is in force stays). Of an index over MaxPolicies ids only the first
// MaxPolicies (sorted) are read, and the excess is logged: an index
// pushed past the bound refuses further ids at upload, never the loading
// of the others.
func (s *Server) readPolicies(ctx context.Context) (map[string]Document, error) {
	if s.cfg.PolicyEngine == nil {
		return nil, nil
	}
	ids, version, err := s.policyIndex(ctx)
	if err != nil {
		return nil, err
	}
	if version == 0 {
		return nil, nil
	}
	if len(ids) > MaxPolicies {
		s.cfg.Logger.Error("policy index over its bound: only the first ids are loaded; uploads of new ids are refused",
			"index_version", version, "ids", len(ids), "limit", MaxPolicies, "ignored_from", ids[MaxPolicies])
		ids = ids[:MaxPolicies]
	}
	out := make(map[string]Document, len(ids))
	for _, id := range ids {
		d, err := s.cfg.Store.Document(ctx, PolicyDocumentPrefix+id)
		switch {
		case errors.Is(err, ErrNotFound):
			continue // indexed before its text was written: not yet
		case err != nil:
			return nil, fmt.Errorf("reading policy %s: %w", id, err)
		}
		out[id] = d
	}
	return out, nil
}

// policyIndex reads the stored policy ids, sorted, and the index's version
// (0: there is no index). It refuses an index over maxIndexSize bytes, one
// that does not parse and one with an invalid id; one over MaxPolicies ids
// is returned whole (readPolicies and indexPolicy apply the bound).
func (s *Server) policyIndex(ctx context.Context) ([]string, int64, error) {
	d, err := s.cfg.Store.Document(ctx, PolicyIndexDocument)
	if errors.Is(err, ErrNotFound) {
		return nil, 0, nil
	} else if err != nil {
		return nil, 0, fmt.Errorf("reading the policy index: %w", err)
	}
	if len(d.Body) > maxIndexSize {
		return nil, 0, verify.Errorf(verify.ErrLimit, "policy index version %d: %d bytes, limit %d", d.Version, len(d.Body), maxIndexSize)
	}
	var ids []string
	if err := json.Unmarshal(d.Body, &ids); err != nil {
		return nil, 0, fmt.Errorf("policy index version %d: %w", d.Version, err)
	}
	if ids == nil {
		ids = []string{}
	}
	for _, id := range ids {
		if err := validPolicyID(id); err != nil {
			return nil, 0, fmt.Errorf("policy index version %d: id %w", d.Version, err)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids), d.Version, nil
}

// tooManyPolicies refuses an upload of a new id to a full index.
func tooManyPolicies(id string, n int) *clientError {
	return &clientError{code: http.StatusBadRequest, title: "too many policies",
		detail: clipDetail(fmt.Sprintf("policy_id %q: %d policies are stored, limit %d", id, n, MaxPolicies))}
}

// indexPolicy adds id to the index with a compare-and-set on the index's
// version, read again after each lost race, so that concurrent uploads on
// any number of replicas neither lose an id nor push the index past
// MaxPolicies (a full index is tooManyPolicies).
func (s *Server) indexPolicy(ctx context.Context, id string) error {
	for range indexTries {
		ids, version, err := s.policyIndex(ctx)
		if err != nil {
			return err
		}
		if slices.Contains(ids, id) {
			return nil
		}
		if len(ids) >= MaxPolicies {
			return tooManyPolicies(id, len(ids))
		}
		ids = append(ids, id)
		slices.Sort(ids)
		b, _ := json.Marshal(ids)
		_, err = s.cfg.Store.PutDocumentIf(ctx, PolicyIndexDocument, b, version)
		if !errors.Is(err, ErrVersionConflict) {
			return err
		}
	}
	return fmt.Errorf("policy %s: the policy index kept changing; not indexed after %d tries", id, indexTries)
}

// policiesChanged reports whether the stored texts differ from those last
// read.
func (s *Server) policiesChanged(texts map[string]Document) bool {
	if s.cfg.PolicyEngine == nil || texts == nil {
		return false
	}
	if len(texts) != len(s.policies.compiled) {
		return true
	}
	for id, d := range texts {
		old, ok := s.policies.compiled[id]
		if !ok || old.seen.Version != d.Version || !bytes.Equal(old.seen.Body, d.Body) {
			return true
		}
	}
	return false
}

// buildCatalog compiles the policies in force against rv: the Go policy
// (or NewPolicy's) without an engine, else every stored text, reusing what
// is compiled already. A stored text that does not compile (uploads are
// compiled before they are stored, so one written by another build or by
// hand) leaves that id's previous version in force. Called with applyMu
// held.
func (s *Server) buildCatalog(ctx context.Context, rv *policy.ReferenceValues, texts map[string]Document) (*policyCatalog, error) {
	e := s.cfg.PolicyEngine
	if e == nil {
		p, err := buildPolicy(&s.cfg, rv)
		if err != nil {
			return nil, err
		}
		return &policyCatalog{byID: map[string]verify.Policy{DefaultPolicyID: p}}, nil
	}
	next := make(map[string]storedPolicy, len(texts))
	for id, d := range texts {
		old, had := s.policies.compiled[id]
		if had && old.rv == rv && old.seen.Version == d.Version && bytes.Equal(old.seen.Body, d.Body) {
			next[id] = old
			continue
		}
		p, err := e.Compile(ctx, id, d.Body, rv)
		if err == nil {
			next[id] = storedPolicy{seen: d, good: d, p: p, rv: rv}
			if !had || old.good.Version != d.Version {
				s.cfg.Logger.Info("policy in force", "policy_id", id, "version", d.Version, "engine", e.Name())
			}
			continue
		}
		s.cfg.Logger.Error("stored policy refused; its previous version stays in force", "policy_id", id, "version", d.Version, "err", err)
		old.seen = d
		if had && old.p != nil && old.rv != rv {
			if p, err := e.Compile(ctx, id, old.good.Body, rv); err == nil {
				old.p, old.rv = p, rv
			}
		}
		next[id] = old
	}
	s.policies.compiled = next
	c := &policyCatalog{engine: e, byID: map[string]verify.Policy{}, docs: map[string]Document{}}
	for id, sp := range next {
		if sp.p != nil {
			c.byID[id], c.docs[id] = sp.p, sp.good
		}
	}
	return c, nil
}

// seedPolicies stores the initial policies, after checking that every
// one compiles: Config.Policies (or the engine's defaults) only when the
// store has no policy of that id (an uploaded version survives restarts,
// as in Trustee), Config.PolicyOverrides whenever the stored text differs
// (an explicit file is in force after every start). It logs which
// happened to each.
func (s *Server) seedPolicies(ctx context.Context) error {
	e := s.cfg.PolicyEngine
	if e == nil {
		return nil
	}
	explicit := s.cfg.Policies != nil
	initial := maps.Clone(s.cfg.Policies)
	if initial == nil {
		initial = e.Defaults()
	}
	maps.Copy(initial, s.cfg.PolicyOverrides)
	none, err := policy.FromEntries()
	if err != nil {
		return err
	}
	ids := slices.Sorted(maps.Keys(initial))
	for _, id := range ids {
		if err := validPolicyID(id); err != nil {
			return verify.Errorf(verify.ErrConfig, "serve: initial policy id %w", err)
		}
		if _, err := e.Compile(ctx, id, initial[id], none); err != nil {
			return fmt.Errorf("serve: initial policy %s: %w", id, err)
		}
	}
	for _, id := range ids {
		_, override := s.cfg.PolicyOverrides[id]
		if err := s.seedPolicy(ctx, id, initial[id], override); err != nil {
			return fmt.Errorf("serve: storing initial policy %s: %w", id, err)
		}
		err := s.indexPolicy(ctx, id)
		var ce *clientError
		if errors.As(err, &ce) && !explicit && !override {
			// A built-in default that no longer fits a full index: the
			// stored policies stay as they are.
			s.cfg.Logger.Error("built-in policy not indexed", "policy_id", id, "err", err)
			continue
		}
		if err != nil {
			return fmt.Errorf("serve: initial policy %s: %w", id, err)
		}
	}
	return nil
}

// seedPolicy stores text as policy id at start: when the store has none
// of that id, or, with override, when the stored text differs (as its
// next version). The write is a compare-and-set on the version read, so
// that replicas starting together with one configuration store it once.
func (s *Server) seedPolicy(ctx context.Context, id string, text []byte, override bool) error {
	name := PolicyDocumentPrefix + id
	for range indexTries {
		var version int64
		d, err := s.cfg.Store.Document(ctx, name)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return err
		case bytes.Equal(d.Body, text):
			s.cfg.Logger.Info("initial policy already stored", "policy_id", id, "version", d.Version)
			return nil
		case !override:
			s.cfg.Logger.Info("stored policy kept: the built-in or configured initial text does not replace it", "policy_id", id, "version", d.Version)
			return nil
		default:
			version = d.Version
		}
		v, err := s.cfg.Store.PutDocumentIf(ctx, name, text, version)
		if errors.Is(err, ErrVersionConflict) {
			continue // another replica wrote it meanwhile: compare again
		}
		if err != nil {
			return err
		}
		if version == 0 {
			s.cfg.Logger.Info("initial policy stored", "policy_id", id, "version", v)
		} else {
			s.cfg.Logger.Warn("policy from the configuration stored: it differs from the stored version", "policy_id", id, "version", v, "replaced_version", version)
		}
		return nil
	}
	return fmt.Errorf("policy %s kept changing; not stored after %d tries", id, indexTries)
}

// policyRequest is the body of POST /policy (Trustee's shape).
type policyRequest struct {
	PolicyID string `json:"policy_id"`
	// Policy is the policy text, base64url without padding.
	Policy string `json:"policy"`
	// Type is "rego" or absent (Trustee's documentation sends it; its
	// code ignores it).
	Type string `json:"type"`
}

func (s *Server) handlePolicyList(w http.ResponseWriter, _ *http.Request) {
	c := s.catalog.Load()
	ids := slices.Sorted(maps.Keys(c.byID))
	list := make([]map[string]string, 0, len(ids))
	for _, id := range ids {
		list = append(list, map[string]string{"policy-id": id})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(list)
}

func (s *Server) handlePolicyGet(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	c := s.catalog.Load()
	if _, ok := c.byID[id]; !ok {
		problem(w, r, http.StatusNotFound, "unknown policy", fmt.Sprintf("policy %q is not in force (GET /policy lists the policies)", id))
		return
	}
	out := map[string]any{"policy-id": id, "reference_values_version": s.rvVersion.Load()}
	if c.engine == nil {
		out["engine"] = "go"
	} else {
		d := c.docs[id]
		sum := sha512.Sum384(d.Body)
		out["engine"] = c.engine.Name()
		out["version"] = d.Version
		out["sha384"] = hex.EncodeToString(sum[:])
		out["policy"] = base64.RawURLEncoding.EncodeToString(d.Body)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// handlePolicySet stores an uploaded policy as the next version of its
// document, compiled first: a policy that does not compile is refused with
// the compiler's message and the version in force stays. Every replica
// follows the store. The Go policy takes no policy text.
func (s *Server) handlePolicySet(w http.ResponseWriter, r *http.Request) {
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	var req policyRequest
	if err := json.Unmarshal(body, &req); err != nil {
		problem(w, r, http.StatusBadRequest, "bad request", "malformed JSON: expected {\"policy_id\", \"policy\"}: "+err.Error())
		return
	}
	if err := validPolicyID(req.PolicyID); err != nil {
		problem(w, r, http.StatusBadRequest, "bad request", "policy_id: "+err.Error())
		return
	}
	text, err := base64.RawURLEncoding.Strict().DecodeString(req.Policy)
	if err != nil {
		problem(w, r, http.StatusBadRequest, "bad request", "policy: expected base64url without padding: "+err.Error())
		return
	}
	e := s.cfg.PolicyEngine
	if e == nil {
		problem(w, r, http.StatusBadRequest, "policy refused", fmt.Sprintf("policy %q: this service runs attest's Go policy, which takes no policy text; upload reference values at POST /reference-value, or run attest serve --policy-engine rego (the policy in force is unchanged)", req.PolicyID))
		return
	}
	if req.Type != "" && req.Type != e.Name() {
		problem(w, r, http.StatusBadRequest, "bad request", fmt.Sprintf("type: %q, this service runs %q policies", req.Type, e.Name()))
		return
	}
	if len(text) == 0 {
		problem(w, r, http.StatusBadRequest, "bad request", "policy: empty")
		return
	}
	s.policies.putMu.Lock()
	defer s.policies.putMu.Unlock()
	if ids, _, err := s.policyIndex(r.Context()); err != nil {
		s.fail(w, r, &storeError{err})
		return
	} else if !slices.Contains(ids, req.PolicyID) && len(ids) >= MaxPolicies {
		s.fail(w, r, tooManyPolicies(req.PolicyID, len(ids)))
		return
	}
	s.applyMu.Lock()
	rv := s.rvInForce
	s.applyMu.Unlock()
	if _, err := e.Compile(r.Context(), req.PolicyID, text, rv); err != nil {
		if r.Context().Err() != nil {
			s.fail(w, r, err) // the caller left or the request timed out: not the policy's fault
			return
		}
		problem(w, r, http.StatusBadRequest, "policy refused", fmt.Sprintf("%v (%s)", err, s.policyInForce(req.PolicyID)))
		return
	}
	v, err := s.cfg.Store.PutDocument(r.Context(), PolicyDocumentPrefix+req.PolicyID, text)
	if err != nil {
		s.fail(w, r, &storeError{err})
		return
	}
	if err := s.indexPolicy(r.Context(), req.PolicyID); err != nil {
		var ce *clientError
		if !errors.As(err, &ce) {
			err = &storeError{err}
		}
		s.fail(w, r, err)
		return
	}
	s.refresh(r.Context())
	loggerFrom(r.Context()).Info("policy stored", "policy_id", req.PolicyID, "version", v)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"policy-id": req.PolicyID, "version": v})
}

// policyInForce says which version of id stays in force.
func (s *Server) policyInForce(id string) string {
	if d, ok := s.catalog.Load().docs[id]; ok {
		return fmt.Sprintf("version %d of %s stays in force", d.Version, id)
	}
	return fmt.Sprintf("no policy %s is in force", id)
}
