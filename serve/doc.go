// Package serve is attest's attestation service, an http.Handler that
// speaks the REST API of Trustee's attestation service, so that Trustee's
// clients work unchanged, and owns freshness with one-time nonces.
//
// Endpoints:
//
//	POST /challenge                {"tee": "tdx"} (optional) → a one-time nonce (text; 48 bytes, base64)
//	POST /attestation              Trustee AttestationRequest → the EAR token (application/jwt)
//	GET  /.well-known/jwks.json    the token signing key
//	GET  /policy, GET /policy/{id} admin*; the policies in force by id (the Go policy: "default"); one with its version and text
//	POST /policy                   admin; Trustee's upload {"policy_id", "policy": b64url}; refused (400) by the Go policy
//	GET  /reference-value          admin*; the reference-value document in force and its version
//	POST /reference-value          admin; a new reference-value document (policy package format)
//	GET  /healthz, /readyz, /metrics
//
// An attestation request carries structured runtime data in the shape a
// Trustee KBS sends, {"nonce", "tee-pubkey", "additional-evidence"}: the
// primary (CPU) evidence is bound to all three, each device in
// additional-evidence to the nonce and key (package kbs). Further
// verification requests (a KBS sends one per device) must repeat evidence
// the additional-evidence carries. The nonce must come from POST /challenge
// unless Config.CallerNonces is set. Issued nonces are stateless: a nonce
// is random bytes, its expiry (NonceTTL on Config.NonceClock) and the TEE
// named at POST /challenge under an HMAC with the store's nonce secret
// (Store.NonceSecret, created once and shared by every replica on the
// store), so issuing one stores nothing and a flood of challenges costs
// no state. On use the MAC and the expiry are checked and the nonce is
// recorded as used (set-if-absent, until it expires) before anything is
// verified, so a replayed or concurrent second use fails (409, problem
// type urn:attest:problem:nonce-used); a nonce whose MAC does not verify
// (forged, altered, issued for another TEE or by a replica on another
// store) is 400 nonce-invalid, an expired one 400 nonce-expired, one the
// service never issued 400 nonce-unknown. A store that loses its state
// loses the secret with the used nonces, so every nonce issued before is
// refused; serve/redisstore binds the secret to the Redis server run that
// stored it (run_id), so a restart or failover that keeps the secret but
// may lose used markers (RDB snapshots, appendfsync everysec, a replica
// behind its primary) replaces the secret too, with the same effect. A caller's own nonce (CallerNonces) is recorded as used only
// once its appraisal affirms or warns (a made-up nonce whose evidence does
// not bind it stores nothing), then remembered for CallerNonceTTL; after
// that a captured request can be replayed. The
// token's eat_nonce is the nonce string's bytes (verify.SessionNonce).
//
// Errors are RFC 9457 problem documents (application/problem+json) naming
// the field: 4xx for caller faults (malformed JSON, bad base64, unknown
// TEE, oversized body, unknown or used nonce, unauthenticated or refused
// management writes), 503 with Retry-After (Config.RetryAfter, whole
// seconds rounded up) when the concurrency limit is reached, a request
// times out, or the store or a vendor service does not answer, other 5xx
// only for the service's own faults. A 5xx from the store or the
// service's own fault says so without the error's text (it names the
// store's address): the log has it under the request id the answer
// carries. Evidence that fails verification is not an error: its token
// says contraindicated. A request's JSON is bounded before it is decoded
// (nesting 32 deep, 4096 values: the evidence strings count one each). A
// bad request changes nothing: every check of the
// request's shape runs before the nonce is consumed (the evidence inside
// is parsed by the appraisal, after).
//
// Management writes need Config.AdminToken as a bearer token, and so do
// the reads marked admin* when a token is configured (Trustee exposes
// policies to its admins only, and no Trustee client reads them); without
// a token the service is read-only and those reads are open. Every
// management request, a policy compile included, runs within
// Config.Timeout (503 timeout past it). Reference
// values are versioned in the Store: an upload is compiled first (refused
// with the parser's message, the old version staying in force), stored as
// the next version, and every replica watching the store switches to it
// atomically (verify.PolicyRef); replicas also poll, since notifications
// can be lost.
//
// With Config.PolicyEngine (package policy/rego's Engine: Trustee's Rego
// policies) policies are uploaded as text the same way: each is compiled
// against the reference values in force before it is stored (refused with
// the compiler's message, its old version staying), stored as the next
// version of the document "policy/<id>" (PolicyDocumentPrefix) and listed
// in PolicyIndexDocument, and recompiled on every reference-value change.
// An attestation's policy_ids names the policy: [] means "default", the
// engine resolves it (Trustee's "<id>_cpu", "<id>_gpu", ...), and an id
// not in force is a 400 before the nonce is consumed. The engine's
// default policies (or Config.Policies) are stored at start when the
// store has none of their ids, so uploads survive restarts;
// Config.PolicyOverrides (attest serve --policy) are stored as a new
// version whenever the stored text differs, so a changed file is in force
// after a restart. The index is updated by compare-and-set
// (Store.PutDocumentIf): concurrent uploads on any number of replicas lose
// no id and never push it past MaxPolicies; an index past the bound (an
// older build's) loads its first MaxPolicies ids and refuses only uploads
// of new ones (400), and a stored index or policy that cannot be read
// leaves the policies in force without holding back the reference values.
//
// Serve bounds the connections as well as the attestations: headers
// within 10 s (64 KiB at most), a request within Config.Timeout, idle
// connections closed after 2 minutes, and at most Config.MaxConnections
// open at once (one more is answered 503 with Retry-After and closed). An
// attestation's body is read before it takes a MaxInFlight slot, into a
// buffer that grows as bytes arrive (a Content-Length is not allocated on
// trust), so slow senders hold neither slots nor memory they did not send.
//
// State lives behind Store: MemoryStore for one node (used nonces expire
// from a min-heap, so a use costs O(log n) at its bound of
// MaxMemoryNonces, where it answers 503 while that many are unexpired),
// package
// serve/redisstore for replicas sharing Redis or Valkey. Metrics are in a
// Prometheus registry per Server (Metrics); the collateral fetch and cache
// counters come from a CollateralMetrics that observes the registry's
// online sources (Config.CollateralMetrics). Label values come from closed
// sets: a request method outside RFC 9110's is counted as "other". Collateral itself is the
// registry's business: serve/redisstore's Collateral lets the replicas
// share it and fetch each item once. Logs are slog records with a
// request id (X-Request-Id, echoed when the caller sends a plain one).
package serve
