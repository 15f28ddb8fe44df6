package serve

import (
	"cmp"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/trustfactory/attest/ear/token"
	"github.com/trustfactory/attest/kbs"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/verify"
)

// Defaults and bounds of a Config.
const (
	DefaultMaxBody         = 2 << 20 // Trustee's payload limit
	DefaultTimeout         = 30 * time.Second
	DefaultMaxInFlight     = 64
	DefaultMaxConnections  = 1024
	DefaultRetryAfter      = time.Second
	DefaultNonceTTL        = 5 * time.Minute
	DefaultCallerNonceTTL  = time.Hour
	DefaultPollInterval    = 10 * time.Second
	DefaultShutdownTimeout = 30 * time.Second
	// MinAdminTokenSize is the shortest admin bearer token accepted.
	MinAdminTokenSize = 16
	// MaxNonceSize bounds the nonce string of a request.
	MaxNonceSize = 512
)

// ReferenceValuesDocument is the Store document name of the reference values.
const ReferenceValuesDocument = "reference-values"

// Config is everything a Server needs. Registry, Signer and Store are
// required; zero durations and counts take the defaults above.
type Config struct {
	// Registry holds the verifiers the service appraises with.
	Registry *verify.Registry
	// Signer signs the EAR tokens; its public key is served as the JWKS.
	Signer *token.Signer
	// Store holds nonces, reference values and policies (NewMemoryStore
	// for one node).
	Store Store
	// ReferenceValues is the reference-value document (policy package
	// format) written to the store when it holds none yet; nil: none, and
	// the default policy then affirms no CPU evidence until some are uploaded
	// (NVIDIA devices are still appraised against their signed RIMs).
	ReferenceValues []byte
	// PolicyOptions configure the Go policy built from the reference values.
	PolicyOptions []policy.Option
	// NewPolicy, when set, builds the policy in force from the reference
	// values instead of the Go policy: at start (with no values), and
	// again on every reference-value change. Setting it together with
	// PolicyOptions is an ErrConfig error.
	NewPolicy func(rv *policy.ReferenceValues) (verify.Policy, error)
	// PolicyEngine, when set, runs policies uploaded at POST /policy
	// (Trustee's Rego policies: rego.Engine) instead of the Go policy; it
	// contradicts NewPolicy and PolicyOptions (ErrConfig).
	PolicyEngine PolicyEngine
	// Policies are the policy texts by id stored at start for the engine
	// when the store has none of that id (Trustee's overwrite=false: an
	// uploaded version survives restarts); nil: the engine's Defaults.
	// Without PolicyEngine they are an ErrConfig error.
	Policies map[string][]byte
	// PolicyOverrides are policy texts by id put in force at every start
	// (attest serve --policy): each is stored as the next version of its
	// id whenever the stored text differs from it, replacing an earlier
	// upload, and added to Policies (or the Defaults), replacing the one
	// of the same id. Without PolicyEngine they are an ErrConfig error.
	PolicyOverrides map[string][]byte
	// AdminToken is the bearer token of the management endpoints (policy
	// and reference-value writes and reads), at least MinAdminTokenSize
	// bytes; empty: every write is refused and the reads are open.
	AdminToken string
	// CallerNonces accepts runtime-data nonces the service did not issue
	// (a Trustee KBS in front owns freshness). Each is recorded as used
	// once its appraisal affirms or warns (before that nothing vouches for
	// it: recording made-up nonces on arrival would let anyone fill the
	// store), remembered for CallerNonceTTL and refused again within it; after that a
	// captured request can be replayed for a fresh token (bound to the
	// same nonce and TEE key). Operators who need a longer window set a
	// longer CallerNonceTTL (each remembered nonce costs store memory).
	// Off, every attestation must use a nonce from POST /challenge.
	CallerNonces bool
	// Logger receives one structured record per request; nil: none.
	Logger *slog.Logger
	// Now is the clock evidence is verified at; nil: time.Now.
	Now func() time.Time
	// CollateralMetrics, served on /metrics, counts the collateral fetches
	// and cache lookups of the Registry's online sources when it is also
	// their fetcher's and store's observer (see CollateralMetrics); nil:
	// those counters stay at zero.
	CollateralMetrics *CollateralMetrics
	// NonceClock is the clock issued nonces expire on; nil: time.Now. It
	// must run with the Store's TTLs (real time for Redis), never pinned:
	// a used nonce is remembered until its expiry by this clock.
	NonceClock func() time.Time
	// TLS, when set, makes Serve speak HTTPS with it (its Certificates or
	// GetCertificate); nil: plain HTTP, for a TLS-terminating proxy in
	// front. The admin token is a bearer token: never send it over plain
	// HTTP outside the host. A MinVersion below TLS 1.2 is an ErrConfig
	// error; unset, it is TLS 1.2.
	TLS *tls.Config

	MaxBody         int64         // bytes of a request body
	Timeout         time.Duration // per request
	MaxInFlight     int           // concurrent attestations; more are answered 503
	MaxConnections  int           // connections Serve holds open at once; more are answered 503 and closed
	RetryAfter      time.Duration // advised to callers turned away
	NonceTTL        time.Duration // lifetime of an issued nonce
	CallerNonceTTL  time.Duration // how long a caller's own nonce is remembered as used (CallerNonces)
	PollInterval    time.Duration // how often the store is polled for changed documents
	ShutdownTimeout time.Duration // how long Serve waits for in-flight requests
}

// check fills defaults and refuses contradictions.
func (c *Config) check() error {
	switch {
	case c.Registry == nil:
		return verify.Errorf(verify.ErrConfig, "serve: nil Registry")
	case c.Signer == nil:
		return verify.Errorf(verify.ErrConfig, "serve: nil Signer")
	case c.Store == nil:
		return verify.Errorf(verify.ErrConfig, "serve: nil Store")
	case c.AdminToken != "" && len(c.AdminToken) < MinAdminTokenSize:
		return verify.Errorf(verify.ErrConfig, "serve: AdminToken: %d bytes, expected at least %d", len(c.AdminToken), MinAdminTokenSize)
	case c.MaxBody < 0 || c.MaxBody > kbs.MaxRequestSize:
		return verify.Errorf(verify.ErrConfig, "serve: MaxBody %d: expected 0 (default %d) to %d", c.MaxBody, DefaultMaxBody, kbs.MaxRequestSize)
	case c.NewPolicy != nil && len(c.PolicyOptions) > 0:
		return verify.Errorf(verify.ErrConfig, "serve: NewPolicy and PolicyOptions both set: PolicyOptions configure the Go policy NewPolicy replaces")
	case c.PolicyEngine != nil && (c.NewPolicy != nil || len(c.PolicyOptions) > 0):
		return verify.Errorf(verify.ErrConfig, "serve: PolicyEngine with NewPolicy or PolicyOptions: the engine's policies replace the Go policy")
	case c.PolicyEngine == nil && (c.Policies != nil || c.PolicyOverrides != nil):
		return verify.Errorf(verify.ErrConfig, "serve: Policies or PolicyOverrides without a PolicyEngine: the Go policy takes no policy text")
	case c.TLS != nil && len(c.TLS.Certificates) == 0 && c.TLS.GetCertificate == nil && c.TLS.GetConfigForClient == nil:
		return verify.Errorf(verify.ErrConfig, "serve: TLS without a certificate (Certificates, GetCertificate or GetConfigForClient)")
	case c.TLS != nil && c.TLS.MinVersion != 0 && c.TLS.MinVersion < tls.VersionTLS12:
		return verify.Errorf(verify.ErrConfig, "serve: TLS MinVersion %s: expected TLS 1.2 or later", tls.VersionName(c.TLS.MinVersion))
	case c.MaxConnections < 0:
		return verify.Errorf(verify.ErrConfig, "serve: MaxConnections %d: expected 0 (default %d) or more", c.MaxConnections, DefaultMaxConnections)
	case c.MaxConnections > 0 && c.MaxConnections < cmp.Or(c.MaxInFlight, DefaultMaxInFlight):
		return verify.Errorf(verify.ErrConfig, "serve: MaxConnections %d below MaxInFlight %d: the connection bound would refuse attestations the concurrency limit admits", c.MaxConnections, cmp.Or(c.MaxInFlight, DefaultMaxInFlight))
	case c.Timeout < 0 || c.MaxInFlight < 0 || c.RetryAfter < 0 || c.NonceTTL < 0 || c.CallerNonceTTL < 0 || c.PollInterval < 0 || c.ShutdownTimeout < 0:
		return verify.Errorf(verify.ErrConfig, "serve: negative duration or count")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.Timeout, DefaultTimeout)
	def(&c.RetryAfter, DefaultRetryAfter)
	def(&c.NonceTTL, DefaultNonceTTL)
	def(&c.CallerNonceTTL, DefaultCallerNonceTTL)
	def(&c.PollInterval, DefaultPollInterval)
	def(&c.ShutdownTimeout, DefaultShutdownTimeout)
	if c.MaxBody == 0 {
		c.MaxBody = DefaultMaxBody
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = max(DefaultMaxConnections, c.MaxInFlight)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.NonceClock == nil {
		c.NonceClock = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.TLS != nil {
		// A copy: the caller's config stays the caller's.
		c.TLS = c.TLS.Clone()
		c.TLS.MinVersion = max(c.TLS.MinVersion, tls.VersionTLS12)
	}
	return nil
}

// Server is the attestation service: an http.Handler. Make it with New and
// release it with Close.
type Server struct {
	cfg      Config
	ref      *verify.PolicyRef
	services map[crypto.Hash]*kbs.Service
	jwks     []byte
	mux      *http.ServeMux
	metrics  *metrics
	sem      chan struct{}
	adminSum [sha256.Size]byte

	applyMu   sync.Mutex              // serialises document reads and swaps
	rvVersion atomic.Int64            // version of the reference values in force
	rvSum     [sha256.Size]byte       // their digest; under applyMu
	rvInForce *policy.ReferenceValues // the values in force; under applyMu
	policies  policyState             // policies by id (policy.go); under applyMu
	catalog   atomic.Pointer[policyCatalog]
	draining  atomic.Bool
	secret    atomic.Pointer[[]byte] // the store's nonce secret, cached
	// secretFlight shares one store read among concurrent fresh reads of
	// the nonce secret.
	secretFlight singleflight.Group

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// New returns a server over cfg. It loads the reference values from the
// store (writing cfg.ReferenceValues there first when the store has none)
// and watches the store for new versions until Close.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	jwks, err := cfg.Signer.KeySet().JWKS()
	if err != nil {
		return nil, err
	}
	none, err := policy.FromEntries()
	if err != nil {
		return nil, err
	}
	empty, err := emptyCatalog(&cfg, none)
	if err != nil {
		return nil, err
	}
	ref, err := verify.NewPolicyRef(empty)
	if err != nil {
		return nil, err
	}
	a, err := kbs.NewAppraiser(cfg.Registry, ref)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, ref: ref, jwks: jwks, services: map[crypto.Hash]*kbs.Service{},
		sem: make(chan struct{}, cfg.MaxInFlight), metrics: newMetrics(cfg.CollateralMetrics), rvInForce: none}
	s.catalog.Store(empty)
	for _, h := range []crypto.Hash{crypto.SHA384, crypto.SHA512} {
		if s.services[h], err = kbs.NewService(a, cfg.Signer, kbs.WithHash(h)); err != nil {
			return nil, err
		}
	}
	if cfg.AdminToken != "" {
		s.adminSum = sha256.Sum256([]byte(cfg.AdminToken))
	}
	if err := s.loadInitial(ctx); err != nil {
		return nil, err
	}
	if _, err := s.nonceSecret(ctx, true); err != nil {
		return nil, fmt.Errorf("serve: nonce secret: %w", err)
	}
	s.routes()
	wctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		for wctx.Err() == nil {
			err := cfg.Store.Watch(wctx, func(string) { s.refresh(wctx) })
			if wctx.Err() == nil {
				cfg.Logger.Warn("store watch ended; retrying", "err", err)
				select {
				case <-wctx.Done():
				case <-time.After(time.Second):
				}
			}
		}
	}()
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(cfg.PollInterval)
		defer t.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case <-t.C:
				s.refresh(wctx)
			}
		}
	}()
	return s, nil
}

// Close stops watching the store. It does not close the store.
func (s *Server) Close() error {
	s.stop()
	s.wg.Wait()
	return nil
}

// loadInitial seeds the store with cfg.ReferenceValues and the initial
// policies (each only when the store has none yet, so that uploads survive
// restarts) and puts what the store holds in force.
func (s *Server) loadInitial(ctx context.Context) error {
	if s.cfg.ReferenceValues != nil {
		_, err := s.cfg.Store.Document(ctx, ReferenceValuesDocument)
		if errors.Is(err, ErrNotFound) {
			if err := s.checkReferenceValues(s.cfg.ReferenceValues); err != nil {
				return fmt.Errorf("serve: initial reference values: %w", err)
			}
			if _, err = s.cfg.Store.PutDocument(ctx, ReferenceValuesDocument, s.cfg.ReferenceValues); err != nil {
				return err
			}
		} else if err != nil {
			return fmt.Errorf("serve: loading reference values: %w", err)
		}
	}
	if err := s.seedPolicies(ctx); err != nil {
		return err
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	return s.load(ctx)
}

// checkReferenceValues parses a reference-value document and, for the Go
// policy or NewPolicy, builds the policy it makes.
func (s *Server) checkReferenceValues(doc []byte) error {
	rv, err := policy.ParseReferenceValues(doc)
	if err != nil {
		return err
	}
	if s.cfg.PolicyEngine != nil {
		return nil // policies compile against any values
	}
	_, err = buildPolicy(&s.cfg, rv)
	return err
}

// buildPolicy builds the policy of reference values: cfg.NewPolicy's, or
// the Go policy.
func buildPolicy(cfg *Config, rv *policy.ReferenceValues) (verify.Policy, error) {
	if cfg.NewPolicy == nil {
		return policy.New(rv, cfg.PolicyOptions...)
	}
	p, err := cfg.NewPolicy(rv)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, verify.Errorf(verify.ErrConfig, "serve: NewPolicy returned no policy")
	}
	return p, nil
}

// load reads the stored documents (reference values, and the policies when
// an engine runs) and puts them in force when they changed. The store is
// the source of truth: a version lower than the one in force means the
// store was reset (a Redis restart without persistence) and its documents
// win. Called with applyMu held.
func (s *Server) load(ctx context.Context) error {
	// A document the store lacks (never written, or lost by a reset)
	// leaves what is in force unchanged.
	d, err := s.cfg.Store.Document(ctx, ReferenceValuesDocument)
	found := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("reading reference values: %w", err)
	}
	texts, err := s.readPolicies(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		// The policies in force stay; the reference values still load.
		s.cfg.Logger.Error("stored policies refused; those in force stay", "err", err)
		texts = nil
	}
	sum := sha256.Sum256(d.Body)
	rvChanged := found && (d.Version != s.rvVersion.Load() || sum != s.rvSum)
	if !rvChanged && !s.policiesChanged(texts) {
		return nil
	}
	rv := s.rvInForce
	if rvChanged {
		// Uploads are checked before they are stored, so a document that
		// fails here was written by another build or by hand: keep the old.
		if rv, err = policy.ParseReferenceValues(d.Body); err != nil {
			return fmt.Errorf("reference values version %d: %w", d.Version, err)
		}
	}
	if texts == nil {
		texts = s.policies.inForce()
	}
	cat, err := s.buildCatalog(ctx, rv, texts)
	if err != nil {
		return fmt.Errorf("reference values version %d: %w", d.Version, err)
	}
	if err := s.ref.Store(cat); err != nil {
		return err
	}
	s.catalog.Store(cat)
	s.rvInForce = rv
	if rvChanged {
		s.rvVersion.Store(d.Version)
		s.rvSum = sum
		s.cfg.Logger.Info("reference values in force", "version", d.Version)
	}
	return nil
}

// refresh reads the stored documents and applies them when they changed.
// Reads and swaps are serialised, so that a slow read of an old version
// never replaces a newer one.
func (s *Server) refresh(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if err := s.load(ctx); err != nil && ctx.Err() == nil {
		s.cfg.Logger.Error("stored documents refused; the previous ones stay in force", "err", err)
	}
}

// ReferenceValuesVersion returns the version of the reference values in
// force (0: none loaded).
func (s *Server) ReferenceValuesVersion() int64 { return s.rvVersion.Load() }

// Serve serves HTTP (HTTPS with Config.TLS) on ln until ctx is done, then
// stops accepting, reports not ready, and waits up to ShutdownTimeout for
// in-flight requests. It holds at most MaxConnections connections open;
// one more is answered 503 with Retry-After and closed (with TLS, closed
// before any handshake: a refused connection costs none).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ln = newLimitListener(ln, s.cfg.MaxConnections, s.cfg.RetryAfter, s.cfg.TLS != nil, func() { s.metrics.rejected("connections") })
	if s.cfg.TLS != nil {
		ln = tls.NewListener(ln, s.cfg.TLS)
	}
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       s.cfg.Timeout,
		WriteTimeout:      s.cfg.Timeout + 5*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.draining.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// ServeHTTP implements http.Handler: it gives the request an id, logs it,
// and routes it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := requestID(r.Header.Get("X-Request-Id"))
	w.Header().Set("X-Request-Id", id)
	rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
	start := time.Now()
	log := s.cfg.Logger.With("request_id", id)
	r = r.WithContext(withLogger(r.Context(), log))
	s.mux.ServeHTTP(rec, r)
	_, pattern := s.mux.Handler(r)
	route := pattern
	if route == "" {
		route = "unmatched"
	}
	s.metrics.request(route, r.Method, rec.code, time.Since(start))
	log.LogAttrs(r.Context(), slog.LevelInfo, "request", slog.String("method", r.Method), slog.String("route", route),
		slog.Int("status", rec.code), slog.Duration("duration", time.Since(start)), slog.String("remote", r.RemoteAddr))
}

// routes registers the endpoints.
func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /attestation", s.timed(s.handleAttestation))
	m.HandleFunc("POST /challenge", s.handleChallenge)
	m.HandleFunc("GET /.well-known/jwks.json", s.handleJWKS)
	// Management: writes need the admin token, and so do reads when one
	// is configured (Trustee exposes policies to its admins only, and no
	// Trustee client lists them); every one runs within Timeout, a policy
	// compile included.
	m.HandleFunc("GET /policy", s.reader(s.timed(s.handlePolicyList)))
	m.HandleFunc("GET /policy/{id}", s.reader(s.timed(s.handlePolicyGet)))
	m.HandleFunc("POST /policy", s.admin(s.timed(s.handlePolicySet)))
	m.HandleFunc("GET /reference-value", s.reader(s.timed(s.handleRVGet)))
	m.HandleFunc("POST /reference-value", s.admin(s.timed(s.handleRVSet)))
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	m.HandleFunc("GET /readyz", s.handleReady)
	m.Handle("GET /metrics", s.metrics.handler())
	s.mux = m
}

// acquire takes one of the MaxInFlight attestation slots; when none is
// free it has answered 503 and returns false. The caller releases it.
func (s *Server) acquire(w http.ResponseWriter, r *http.Request) bool {
	select {
	case s.sem <- struct{}{}:
		return true
	default:
		s.metrics.rejected("overload")
		s.setRetryAfter(w)
		problem(w, r, http.StatusServiceUnavailable, "overloaded", fmt.Sprintf("%d attestations in flight, limit %d; retry later", s.cfg.MaxInFlight, s.cfg.MaxInFlight))
		return false
	}
}

// release frees the slot acquire took.
func (s *Server) release() { <-s.sem }

// setRetryAfter advises a caller turned away with 503 to come back after
// Config.RetryAfter, in whole seconds rounded up (at least 1: 0 would
// invite an immediate retry storm).
func (s *Server) setRetryAfter(w http.ResponseWriter) {
	w.Header().Set("Retry-After", retryAfterSeconds(s.cfg.RetryAfter))
}

// retryAfterSeconds is d as a Retry-After value: whole seconds, rounded up,
// at least 1.
func retryAfterSeconds(d time.Duration) string {
	return strconv.FormatInt(max(1, int64((d+time.Second-1)/time.Second)), 10)
}

// timed applies the per-request timeout.
func (s *Server) timed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
		defer cancel()
		h(w, r.WithContext(ctx))
	}
}

// admin requires the admin bearer token; without one configured every
// write is refused.
func (s *Server) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.AdminToken == "" {
			problem(w, r, http.StatusForbidden, "management disabled", "no admin token is configured: writes are refused")
			return
		}
		if s.authenticated(w, r) {
			h(w, r)
		}
	}
}

// reader requires the admin bearer token when one is configured; without
// one the service is read-only and its reads are open.
func (s *Server) reader(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.AdminToken == "" || s.authenticated(w, r) {
			h(w, r)
		}
	}
}

// authenticated checks the admin bearer token; on failure it has answered
// 401. The token is read from the Authorization header only (never the
// query string, which proxies and access logs record); the scheme is
// case-insensitive and followed by one or more spaces (RFC 9110 11.1, RFC
// 6750 2.1). The comparison is of SHA-256 digests in constant time, so
// neither the token's bytes nor its length leak through timing.
func (s *Server) authenticated(w http.ResponseWriter, r *http.Request) bool {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimLeft(tok, " ")
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="attest"`)
		problem(w, r, http.StatusUnauthorized, "unauthenticated", "a bearer token is required (Authorization: Bearer <admin token>)")
		return false
	}
	sum := sha256.Sum256([]byte(tok))
	if subtle.ConstantTimeCompare(sum[:], s.adminSum[:]) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="attest", error="invalid_token"`)
		problem(w, r, http.StatusUnauthorized, "unauthenticated", "the bearer token is not the admin token")
		return false
	}
	return true
}

// readBody reads a body within MaxBody; on failure it has answered.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	return s.readBodyLimit(w, r, s.cfg.MaxBody)
}

// readBodyLimit reads a body within limit bytes; on failure it has answered.
func (s *Server) readBodyLimit(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	b, err := readGrowing(http.MaxBytesReader(w, r.Body, limit), r.ContentLength, limit)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		s.metrics.rejected("body_too_large")
		problem(w, r, http.StatusRequestEntityTooLarge, "body too large", fmt.Sprintf("request body over the limit of %d bytes", mbe.Limit))
		return nil, false
	case err != nil:
		problem(w, r, http.StatusBadRequest, "unreadable body", err.Error())
		return nil, false
	}
	return b, true
}

// firstBodyChunk is the buffer a body is first read into.
const firstBodyChunk = 64 << 10

// readGrowing reads body, whose Content-Length is announced (-1: none),
// into a buffer that grows, doubling, only as bytes arrive, capped at the
// announced length when there is one (so a body that keeps its word is
// read with no spare room) and at limit+1 (the byte past limit is how
// http.MaxBytesReader reports it). A Content-Length is a claim: allocating
// it whole up front let a client that then sent nothing hold limit bytes
// per connection. A body that ends short of its Content-Length or runs
// past it is an error.
func readGrowing(body io.Reader, announced, limit int64) ([]byte, error) {
	size := int64(firstBodyChunk)
	if announced >= 0 {
		size = min(size, announced)
	}
	b := make([]byte, 0, min(size, limit+1))
	for {
		if len(b) == cap(b) {
			if announced >= 0 && int64(len(b)) >= announced {
				// All that was announced came: only the end may follow.
				var one [1]byte
				k, err := io.ReadFull(body, one[:])
				switch {
				case k > 0:
					return nil, fmt.Errorf("body longer than its Content-Length %d", announced)
				case errors.Is(err, io.EOF):
					return b, nil
				default:
					return nil, err
				}
			}
			next := 2 * max(int64(cap(b)), 512)
			if announced > int64(len(b)) {
				next = min(next, announced)
			}
			b = slices.Grow(b, int(min(next, limit+1))-len(b))
		}
		k, err := body.Read(b[len(b):cap(b)])
		b = b[:len(b)+k]
		switch {
		case err == io.EOF && announced >= 0 && int64(len(b)) < announced:
			return nil, fmt.Errorf("body of %d bytes, shorter than its Content-Length %d: %w", len(b), announced, io.ErrUnexpectedEOF)
		case err == io.EOF:
			return b, nil
		case err != nil:
			return nil, err
		}
	}
}

func (s *Server) handleJWKS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=60")
	_, _ = w.Write(s.jwks)
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	fail := func(check string) {
		problem(w, r, http.StatusServiceUnavailable, "not ready", check)
	}
	if s.draining.Load() {
		fail("draining: the server is shutting down")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	if err := s.cfg.Store.Ping(ctx); err != nil {
		// The error names the store's address: logged, not answered.
		loggerFrom(r.Context()).Warn("readiness: store not answering", "err", err)
		fail("store: not answering")
		return
	}
	if s.cfg.ReferenceValues != nil && s.rvVersion.Load() == 0 {
		fail("policy: no reference values loaded")
		return
	}
	w.WriteHeader(http.StatusOK)
}

// problem writes an RFC 9457 problem document of type about:blank.
func problem(w http.ResponseWriter, r *http.Request, code int, title, detail string) {
	typedProblem(w, r, code, "", title, detail)
}

// typedProblem writes an RFC 9457 problem document of type typ (empty:
// about:blank).
func typedProblem(w http.ResponseWriter, r *http.Request, code int, typ, title, detail string) {
	if typ == "" {
		typ = "about:blank"
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": typ, "title": title, "status": code, "detail": detail,
		"request_id": w.Header().Get("X-Request-Id")})
	if code >= 500 {
		loggerFrom(r.Context()).Warn("request failed", "status", code, "title", title, "detail", detail)
	}
}

// requestID returns the caller's request id when it is short and plain,
// else a fresh one.
func requestID(given string) string {
	if n := len(given); n > 0 && n <= 64 {
		ok := true
		for _, c := range given {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
				ok = false
				break
			}
		}
		if ok {
			return given
		}
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type statusRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.code, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

type loggerKey struct{}

func withLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

func loggerFrom(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.New(slog.DiscardHandler)
}
