package nras

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/verify"
)

// Formats of NRAS attestation results. They are kept apart from the local
// formats (verify.FormatGPU, verify.FormatNVSwitch) because the trust differs
// (NVIDIA appraised the evidence, we check NVIDIA's signature), but their
// claims carry the same names, so the same policy rules apply.
const (
	// FormatGPU is an NRAS detached EAT for GPUs (/v4/attest/gpu).
	FormatGPU = verify.FormatNRASGPU
	// FormatSwitch is an NRAS detached EAT for NVSwitches (/v4/attest/switch).
	FormatSwitch = verify.FormatNRASSwitch
)

// NRAS base URLs: the issuer of its tokens and the root of its JWKS URL.
const (
	ProductionURL = "https://nras.attestation.nvidia.com"
	StagingURL    = "https://nras.attestation-stg.nvidia.com"
	// JWKSPath is appended to the base URL to fetch the signing keys.
	JWKSPath = "/.well-known/jwks.json"
	// Subject is the sub claim of every overall token.
	Subject = "NVIDIA-PLATFORM-ATTESTATION"
)

// Defaults for zero options.
const (
	// DefaultJWKSTTL is how long a fetched JWKS is used before it is fetched
	// again (NVIDIA's C++ SDK uses 15 minutes).
	DefaultJWKSTTL = 15 * time.Minute
	// DefaultMinRefetch is the least time between two fetches caused by an
	// unknown kid.
	DefaultMinRefetch = time.Minute
	// DefaultClockSkew is how far in the future nbf and iat may be: NRAS
	// sets both to its own clock when it signs.
	DefaultClockSkew = time.Minute
)

// NonceSize is the size of the GPU nonce that Expectations.ReportData carries.
const NonceSize = 32

// Option configures a Verifier at construction.
type Option func(*config) error

type config struct {
	baseURL    string
	jwks       []byte
	jwksSet    bool
	fetcher    collateral.Fetcher
	store      collateral.Store
	ttl        time.Duration
	minRefetch time.Duration
	skew       time.Duration
	skewSet    bool
	versions   []string
}

// WithBaseURL sets the NRAS base URL (default ProductionURL): tokens must
// carry it as iss, and an online JWKS is fetched from it + JWKSPath.
func WithBaseURL(u string) Option {
	return func(c *config) error {
		u = strings.TrimRight(u, "/")
		if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			return verify.Errorf(verify.ErrConfig, "nras: base URL: expected an http(s) URL, got %q", u)
		}
		c.baseURL = u
		return nil
	}
}

// WithJWKS gives NVIDIA's JWKS document offline (as captured from
// BaseURL + JWKSPath when the tokens were issued). It excludes WithFetcher.
func WithJWKS(doc []byte) Option {
	return func(c *config) error {
		if len(doc) == 0 {
			return verify.Errorf(verify.ErrConfig, "nras: WithJWKS: empty document")
		}
		c.jwks, c.jwksSet = bytes.Clone(doc), true
		return nil
	}
}

// WithFetcher fetches the JWKS online from BaseURL + JWKSPath with f
// (collateral.HTTPFetcher in production). It excludes WithJWKS.
func WithFetcher(f collateral.Fetcher) Option {
	return func(c *config) error {
		if f == nil {
			return verify.Errorf(verify.ErrConfig, "nras: WithFetcher: nil fetcher")
		}
		c.fetcher = f
		return nil
	}
}

// WithStore keeps fetched JWKS documents in s (default: a small memory
// store). The store must implement collateral.Deleter, so that a document
// without a new kid can be replaced. Only with WithFetcher.
func WithStore(s collateral.Store) Option {
	return func(c *config) error {
		if s == nil {
			return verify.Errorf(verify.ErrConfig, "nras: WithStore: nil store")
		}
		if _, ok := s.(collateral.Deleter); !ok {
			return verify.Errorf(verify.ErrConfig, "nras: WithStore: %T cannot delete entries (collateral.Deleter)", s)
		}
		c.store = s
		return nil
	}
}

// WithJWKSTTL sets how long a fetched JWKS is used (default DefaultJWKSTTL).
func WithJWKSTTL(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return verify.Errorf(verify.ErrConfig, "nras: WithJWKSTTL: expected > 0, got %s", d)
		}
		c.ttl = d
		return nil
	}
}

// WithClockSkew sets how far in the future a token's nbf and iat may be
// (default DefaultClockSkew). exp is never extended.
func WithClockSkew(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return verify.Errorf(verify.ErrConfig, "nras: WithClockSkew: expected ≥ 0, got %s", d)
		}
		c.skew, c.skewSet = d, true
		return nil
	}
}

// WithClaimsVersions restricts the accepted x-nvidia-ver values (default
// "2.0", "3.0" and "4.0"; others are not supported).
func WithClaimsVersions(versions ...string) Option {
	return func(c *config) error {
		if len(versions) == 0 {
			return verify.Errorf(verify.ErrConfig, "nras: WithClaimsVersions: none given")
		}
		for _, v := range versions {
			if !slices.Contains(supportedVersions, v) {
				return verify.Errorf(verify.ErrConfig, "nras: WithClaimsVersions: expected some of %v, got %q", supportedVersions, v)
			}
		}
		c.versions = slices.Clone(versions)
		return nil
	}
}

var supportedVersions = []string{"2.0", "3.0", "4.0"}

// Verifier verifies NRAS attestation results (detached EATs) for GPUs
// (FormatGPU) or switches (FormatSwitch). It is immutable after
// construction and safe for concurrent use.
type Verifier struct {
	format   verify.Format
	kind     string // "gpu" or "switch"
	issuer   string
	keys     keySource
	skew     time.Duration
	versions []string
}

// NewVerifier returns a verifier for format (FormatGPU or FormatSwitch).
// Exactly one key source is required: WithJWKS or WithFetcher.
func NewVerifier(format verify.Format, opts ...Option) (*Verifier, error) {
	v := &Verifier{format: format}
	switch format {
	case FormatGPU:
		v.kind = "gpu"
	case FormatSwitch:
		v.kind = "switch"
	default:
		return nil, verify.Errorf(verify.ErrConfig, "nras: format expected %q or %q, got %q", FormatGPU, FormatSwitch, format)
	}
	c := config{baseURL: ProductionURL, ttl: DefaultJWKSTTL, minRefetch: DefaultMinRefetch, skew: DefaultClockSkew, versions: supportedVersions}
	for _, o := range opts {
		if o == nil {
			return nil, verify.Errorf(verify.ErrConfig, "nras: nil option")
		}
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	switch {
	case c.jwksSet && c.fetcher != nil:
		return nil, verify.Errorf(verify.ErrConfig, "nras: WithJWKS and WithFetcher both given: choose the offline or the online key source")
	case c.jwksSet:
		if c.store != nil {
			return nil, verify.Errorf(verify.ErrConfig, "nras: WithStore needs WithFetcher")
		}
		ks, err := ParseJWKS(c.jwks)
		if err != nil {
			return nil, verify.Errorf(verify.ErrConfig, "nras: WithJWKS: %w", err)
		}
		v.keys = staticKeys{set: ks}
	case c.fetcher != nil:
		if c.store == nil {
			c.store = collateral.NewMemoryStore(4, 4*MaxJWKSSize)
		}
		v.keys = &onlineKeys{
			url: c.baseURL + JWKSPath, fetcher: c.fetcher, ttl: c.ttl, minRefetch: c.minRefetch,
			cache: collateral.NewCache(collateral.CacheOptions{Store: c.store}),
		}
	default:
		return nil, verify.Errorf(verify.ErrConfig, "nras: no signing keys: use WithJWKS (offline) or WithFetcher (online)")
	}
	v.issuer, v.skew, v.versions = c.baseURL, c.skew, c.versions
	return v, nil
}

// Format returns the evidence format of this verifier.
func (v *Verifier) Format() verify.Format { return v.format }

// Detect reports whether evidence is a detached EAT (or a Split part of one)
// whose device tokens are all of this verifier's kind. It verifies nothing.
func (v *Verifier) Detect(evidence []byte) bool {
	t := trimSpace(evidence)
	if len(t) == 0 || (t[0] != '[' && t[0] != '{') {
		return false
	}
	d, err := parseEvidence(evidence)
	if err != nil {
		return false
	}
	for _, dt := range d.devices {
		if k, ok := deviceKind(dt.name); !ok || k != v.kind {
			return false
		}
	}
	return true
}

// Split returns one part per device token: evidence itself when it holds one
// device, else for each device {"nras-device": name, "detached-eat": EAT}.
// Verifying a part checks the overall token and every digest it lists, and
// the selected device's token, and yields that device's claims. Split
// verifies nothing. Devices are judged as a set by CheckSet.
func (v *Verifier) Split(evidence []byte) ([][]byte, error) {
	d, err := parseEvidence(evidence)
	if err != nil {
		return nil, err
	}
	if d.selected != "" || len(d.devices) == 1 {
		return [][]byte{evidence}, nil
	}
	eat := d.marshalEAT()
	parts := make([][]byte, 0, len(d.devices))
	for _, dt := range d.devices {
		name, _ := json.Marshal(dt.name)
		p := make([]byte, 0, len(eat)+len(name)+40)
		p = append(p, `{"nras-device":`...)
		p = append(p, name...)
		p = append(p, `,"detached-eat":`...)
		p = append(p, eat...)
		p = append(p, '}')
		parts = append(parts, p)
	}
	return parts, nil
}

// CheckSet judges verified devices as one system: the same device (ueid)
// twice is ErrMalformed. claims are results of this verifier's Verify.
func (v *Verifier) CheckSet(claims []verify.Claims) error {
	seen := map[string]string{}
	for i, c := range claims {
		nc, ok := c.(*Claims)
		if !ok || nc == nil {
			return verify.Errorf(verify.ErrConfig, "device set: claims %d are %T, not *nras.Claims", i, c)
		}
		if nc.format != v.format {
			return verify.Errorf(verify.ErrConfig, "device set: claims %d are %s claims, this verifier's are %s", i, nc.format, v.format)
		}
		for _, d := range nc.Devices {
			if prev, dup := seen[d.UEID]; dup {
				return verify.Errorf(verify.ErrMalformed, "device set: the same device (ueid %s) as %s and %s", d.UEID, prev, d.Name)
			}
			seen[d.UEID] = fmt.Sprintf("claims %d %s", i, d.Name)
		}
	}
	return nil
}

// Verify verifies a detached EAT, or one Split part of it, against exp and
// returns the claims of its devices. exp.ReportData is the 32-byte nonce
// sent to NRAS; exp.InitDataDigest must be nil.
func (v *Verifier) Verify(ctx context.Context, evidence []byte, exp verify.Expectations) (verify.Claims, error) {
	c, err := v.VerifyEAT(ctx, evidence, exp)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// VerifyEAT is Verify with the concrete claims type.
func (v *Verifier) VerifyEAT(ctx context.Context, evidence []byte, exp verify.Expectations) (*Claims, error) {
	if len(exp.ReportData) != 0 && len(exp.ReportData) != NonceSize {
		return nil, verify.Errorf(verify.ErrConfig, "expected nonce: %d bytes, must be %d", len(exp.ReportData), NonceSize)
	}
	if exp.InitDataDigest != nil {
		return nil, verify.Errorf(verify.ErrConfig, "expected init-data digest %x: NRAS results have no init-data field; bind init data through the CPU evidence", exp.InitDataDigest)
	}
	d, err := parseEvidence(evidence)
	if err != nil {
		return nil, err
	}
	now := exp.Time()
	ov, err := v.verifyOverall(ctx, d, exp, now)
	if err != nil {
		return nil, err
	}
	out := &Claims{format: v.format}
	for _, dt := range d.devices {
		kind, ok := deviceKind(dt.name)
		if !ok {
			return nil, verify.Errorf(verify.ErrMalformed, "device token name %q: expected GPU-<n> or SWITCH-<n>", dt.name)
		}
		if kind != v.kind {
			return nil, verify.Errorf(verify.ErrUnsupported, "device %s given to the %s verifier", dt.name, v.format)
		}
		if d.selected != "" && dt.name != d.selected {
			// Bound to the overall token by its digest (checked); its own
			// signature and claims are checked in its own part.
			continue
		}
		dc, err := v.verifyDevice(ctx, dt, ov, exp, now)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", dt.name, err)
		}
		out.Devices = append(out.Devices, dc)
	}
	if err := v.CheckSet([]verify.Claims{out}); err != nil {
		return nil, err
	}
	return out, nil
}

// overall is what the verified overall token established.
type overall struct {
	version string
	nonce   []byte
	nonceHx string
	checked bool // nonce compared with exp.ReportData
	kid     string
	jti     string
	digests map[string][]byte
}

func (v *Verifier) verifyJWS(ctx context.Context, what, tok string, now time.Time) (*parsedJWS, payload, error) {
	p, err := splitJWS(what, tok)
	if err != nil {
		return nil, nil, err
	}
	if err := checkAlg(what, p.hdr.Alg); err != nil {
		return nil, nil, err
	}
	key, err := v.keys.key(ctx, p.hdr.Kid, now)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := verifyES384(what, p, key); err != nil {
		return nil, nil, err
	}
	// Everything below reads signed bytes.
	raw, err := decodePayload(what, p)
	if err != nil {
		return nil, nil, err
	}
	claims, err := decodeClaims(what, raw)
	if err != nil {
		return nil, nil, err
	}
	if err := v.checkIssuerAndTime(what, claims, now); err != nil {
		return nil, nil, err
	}
	return p, claims, nil
}

func (v *Verifier) checkIssuerAndTime(what string, c payload, now time.Time) error {
	iss, err := c.requiredStr(what, "iss")
	if err != nil {
		return err
	}
	if iss != v.issuer {
		// Signed by a trusted key but for another NRAS instance (staging
		// against production): not the authority this verifier is bound to.
		return verify.Errorf(verify.ErrBinding, "%s iss: expected %q, got %q", what, v.issuer, iss)
	}
	expT, ok, err := c.numericDate(what, "exp")
	if err != nil {
		return err
	}
	if !ok {
		return verify.Errorf(verify.ErrMalformed, "%s claim exp: missing (NRAS tokens expire)", what)
	}
	if !now.Before(expT) {
		return verify.Errorf(verify.ErrExpired, "%s exp: token expired at %s, verification time %s", what, expT.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	for _, k := range []string{"nbf", "iat"} {
		t, ok, err := c.numericDate(what, k)
		if err != nil {
			return err
		}
		if ok && now.Add(v.skew).Before(t) {
			return verify.Errorf(verify.ErrExpired, "%s %s: token not valid before %s, verification time %s (skew %s)", what, k, t.Format(time.RFC3339), now.UTC().Format(time.RFC3339), v.skew)
		}
	}
	return nil
}

// parseNonce reads an eat_nonce: 64 hex digits.
func parseNonce(what string, c payload) ([]byte, string, error) {
	s, err := c.requiredStr(what, "eat_nonce")
	if err != nil {
		return nil, "", err
	}
	if len(s) != 2*NonceSize {
		return nil, "", verify.Errorf(verify.ErrMalformed, "%s eat_nonce: expected %d hex digits, got %d", what, 2*NonceSize, len(s))
	}
	n, err := hex.DecodeString(s)
	if err != nil {
		return nil, "", verify.Errorf(verify.ErrMalformed, "%s eat_nonce: %v", what, err)
	}
	return n, strings.ToLower(s), nil
}

func (v *Verifier) verifyOverall(ctx context.Context, d *detachedEAT, exp verify.Expectations, now time.Time) (*overall, error) {
	const what = "overall token"
	p, c, err := v.verifyJWS(ctx, what, d.overall, now)
	if err != nil {
		return nil, err
	}
	ov := &overall{kid: p.hdr.Kid}
	sub, _, err := c.str(what, "sub")
	if err != nil {
		return nil, err
	}
	if sub != Subject {
		return nil, verify.Errorf(verify.ErrUnsupported, "%s sub: expected %q, got %q", what, Subject, sub)
	}
	if ov.version, err = c.requiredStr(what, "x-nvidia-ver"); err != nil {
		return nil, err
	}
	if !slices.Contains(v.versions, ov.version) {
		return nil, verify.Errorf(verify.ErrUnsupported, "%s x-nvidia-ver: expected one of %v, got %q", what, v.versions, ov.version)
	}
	if ov.nonce, ov.nonceHx, err = parseNonce(what, c); err != nil {
		return nil, err
	}
	if err := exp.CheckReportData("eat_nonce", ov.nonce); err != nil {
		return nil, err
	}
	ov.checked = len(exp.ReportData) != 0
	ov.jti, _, err = c.str(what, "jti")
	if err != nil {
		return nil, err
	}
	res, present, err := c.boolean(what, "x-nvidia-overall-att-result")
	if err != nil {
		return nil, err
	}
	if !present || !res {
		return nil, verify.Errorf(verify.ErrPolicy, "%s x-nvidia-overall-att-result: expected true, got %v (NRAS did not accept the evidence; the device tokens say why)", what, c["x-nvidia-overall-att-result"])
	}
	if ov.digests, err = parseSubmods(what, c); err != nil {
		return nil, err
	}
	// The device map must be exactly the set the signed token lists.
	if len(ov.digests) != len(d.devices) {
		return nil, verify.Errorf(verify.ErrBinding, "%s submods: lists %d devices, the detached EAT carries %d", what, len(ov.digests), len(d.devices))
	}
	for _, dt := range d.devices {
		want, ok := ov.digests[dt.name]
		if !ok {
			return nil, verify.Errorf(verify.ErrBinding, "%s submods: device %q of the detached EAT is not listed", what, dt.name)
		}
		got := sha256.Sum256([]byte(dt.jws))
		if d.selected != "" && dt.name != d.selected && subtle.ConstantTimeCompare(got[:], want) != 1 {
			return nil, verify.Errorf(verify.ErrBinding, "%s submods %s digest: expected %x, got %x", what, dt.name, want, got)
		}
	}
	return ov, nil
}

// parseSubmods reads submods {name: ["DIGEST", ["SHA-256", hex]]}.
func parseSubmods(what string, c payload) (map[string][]byte, error) {
	raw, ok := c["submods"].(map[string]any)
	if !ok || len(raw) == 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "%s submods: expected a non-empty object, got %T", what, c["submods"])
	}
	if len(raw) > MaxDevices {
		return nil, verify.Errorf(verify.ErrLimit, "%s submods: expected at most %d, got %d", what, MaxDevices, len(raw))
	}
	out := make(map[string][]byte, len(raw))
	for name, v := range raw {
		bad := func(format string, args ...any) error {
			return verify.Errorf(verify.ErrMalformed, "%s submods %s: "+format, append([]any{what, name}, args...)...)
		}
		outer, ok := v.([]any)
		if !ok || len(outer) != 2 || outer[0] != "DIGEST" {
			return nil, bad("expected [\"DIGEST\", [alg, hex]], got %v", v)
		}
		inner, ok := outer[1].([]any)
		if !ok || len(inner) != 2 {
			return nil, bad("expected [alg, hex], got %v", outer[1])
		}
		alg, _ := inner[0].(string)
		hx, _ := inner[1].(string)
		if alg != "SHA-256" {
			return nil, verify.Errorf(verify.ErrUnsupported, "%s submods %s: digest algorithm: expected SHA-256, got %v", what, name, inner[0])
		}
		dg, err := hex.DecodeString(hx)
		if err != nil || len(dg) != sha256.Size {
			return nil, bad("expected %d bytes of hex, got %q", sha256.Size, hx)
		}
		out[name] = dg
	}
	return out, nil
}

func (v *Verifier) verifyDevice(ctx context.Context, dt deviceToken, ov *overall, exp verify.Expectations, now time.Time) (*DeviceClaims, error) {
	what := dt.name + " token"
	// The signature first, so that a changed token is a signature failure;
	// then its digest, so that a genuine token of another result is a
	// binding failure.
	p, c, err := v.verifyJWS(ctx, what, dt.jws, now)
	if err != nil {
		return nil, err
	}
	got := sha256.Sum256([]byte(dt.jws))
	if want := ov.digests[dt.name]; subtle.ConstantTimeCompare(got[:], want) != 1 {
		return nil, verify.Errorf(verify.ErrBinding, "overall token submods %s digest: expected %x, got %x", dt.name, want, got)
	}
	nonce, nonceHx, err := parseNonce(what, c)
	if err != nil {
		return nil, err
	}
	if nonceHx != ov.nonceHx {
		return nil, verify.Errorf(verify.ErrBinding, "%s eat_nonce: expected %s (overall token), got %s", what, ov.nonceHx, nonceHx)
	}
	ueid, err := c.requiredStr(what, "ueid")
	if err != nil {
		return nil, err
	}
	iat, _, _ := c.numericDate(what, "iat")
	expT, _, _ := c.numericDate(what, "exp")
	jti, _, err := c.str(what, "jti")
	if err != nil {
		return nil, err
	}
	m, err := deviceClaimsMap(what, v.kind, ov.version, c, ov.checked)
	if err != nil {
		return nil, err
	}
	m["eat_nonce"] = nonceHx
	extras := map[string]any{
		"x-attest-nras-issuer":         v.issuer,
		"x-attest-nras-submod":         dt.name,
		"x-attest-nras-kid":            p.hdr.Kid,
		"x-attest-nras-overall-kid":    ov.kid,
		"x-attest-nras-claims-version": ov.version,
		"x-attest-nras-expires":        expT.Format(time.RFC3339),
	}
	if jti != "" {
		extras["x-attest-nras-jti"] = jti
	}
	if ov.jti != "" {
		extras["x-attest-nras-overall-jti"] = ov.jti
	}
	if !iat.IsZero() {
		extras["x-attest-nras-issued-at"] = iat.Format(time.RFC3339)
	}
	var unsafe []verify.UnsafeSwitch
	if !ov.checked {
		unsafe = append(unsafe, verify.UnsafeMissingReportData)
		verify.PutUnsafeClaim(extras, unsafe)
	}
	maps.Copy(m, extras)
	return &DeviceClaims{
		Name: dt.name, Kind: v.kind, Version: ov.version, UEID: ueid, Nonce: nonce,
		IssuedAt: iat, ExpiresAt: expT, Unsafe: unsafe, claims: m,
	}, nil
}
