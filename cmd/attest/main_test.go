package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/ear/token"
)

var now = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

type result struct {
	code           int
	stdout, stderr string
}

func attest(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

// genKeys generates a key pair with the CLI and returns the private JWK path,
// the JWKS path and a directory for tokens.
func genKeys(t *testing.T, args ...string) (keyPath, jwksPath, dir string) {
	t.Helper()
	dir = t.TempDir()
	keyPath, jwksPath = filepath.Join(dir, "key.jwk"), filepath.Join(dir, "jwks.json")
	r := attest(t, "", append([]string{"keys", "generate", "--kid", "test-key", "--out", keyPath, "--jwks", jwksPath}, args...)...)
	if r.code != exitOK {
		t.Fatalf("keys generate: exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, `"test-key"`) {
		t.Errorf("keys generate output: %s", r.stdout)
	}
	return keyPath, jwksPath, dir
}

func result1(status ear.Status) *ear.Result {
	r := ear.NewResult(ear.VerifierID{Developer: "https://trustfactory.example", Build: "attest cli test"}, now)
	r.Nonce = []byte("cli-nonce-012345")
	a := &ear.Appraisal{PolicyIDs: []string{"policy://cpu"}}
	a.TrustVector[ear.InstanceIdentity] = ear.TrustworthyInstance
	a.TrustVector[ear.Hardware] = ear.GenuineHardware
	if status == ear.StatusContraindicated {
		a.TrustVector[ear.Executables] = ear.ContraindicatedRuntime
	}
	a.StatusFromVector()
	r.Submods["cpu0"] = a
	r.UpdateStatus()
	return r
}

func signFile(t *testing.T, keyPath, dir, name string, r *ear.Result, cwt bool) string {
	t.Helper()
	priv, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	s, err := token.NewSignerFromJWK(priv)
	if err != nil {
		t.Fatal(err)
	}
	var tok []byte
	if cwt {
		tok, err = s.SignCWT(r)
	} else {
		tok, err = s.SignJWT(r)
	}
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, tok, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestKeysGenerate(t *testing.T) {
	keyPath, jwksPath, _ := genKeys(t, "--alg", "ES384")
	st, err := os.Stat(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v, expected 0600", st.Mode().Perm())
	}
	b, _ := os.ReadFile(jwksPath)
	ks, err := token.ParseJWKS(b)
	if err != nil || ks.Keys()[0].Algorithm != token.ES384 || ks.Keys()[0].ID != "test-key" {
		t.Fatalf("JWKS: %v %s", err, b)
	}
	if strings.Contains(string(b), `"d"`) {
		t.Error("the JWKS contains private key material")
	}
	// refuses to overwrite, unless --force
	r := attest(t, "", "keys", "generate", "--out", keyPath, "--jwks", jwksPath)
	if r.code != exitUsage || !strings.Contains(r.stderr, "exists") {
		t.Errorf("overwrite: exit %d: %s", r.code, r.stderr)
	}
	if r := attest(t, "", "keys", "generate", "--out", keyPath, "--jwks", jwksPath, "--force"); r.code != exitOK {
		t.Errorf("--force: exit %d: %s", r.code, r.stderr)
	}
	for _, args := range [][]string{
		{"keys", "generate", "--jwks", jwksPath},
		{"keys", "generate", "--out", keyPath, "--jwks", jwksPath, "--alg", "HS256", "--force"},
		{"keys", "generate", "--bogus"},
		{"keys"},
		{"keys", "rotate"},
	} {
		if r := attest(t, "", args...); r.code != exitUsage || r.stderr == "" {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
}

func TestTokenVerify(t *testing.T) {
	keyPath, jwksPath, dir := genKeys(t)
	for _, cwt := range []bool{false, true} {
		path := signFile(t, keyPath, dir, "ok.tok", result1(ear.StatusAffirming), cwt)
		r := attest(t, "", "token", "verify", "--jwks", jwksPath, "--now", now.Add(time.Minute).Format(time.RFC3339), "--nonce", "636c692d6e6f6e63652d303132333435", path)
		if r.code != exitOK {
			t.Fatalf("cwt=%v: exit %d: %s", cwt, r.code, r.stderr)
		}
		for _, want := range []string{"token verified", "AFFIRMING", "cpu0", "affirming", "policy://cpu", "INST"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("cwt=%v: output lacks %q:\n%s", cwt, want, r.stdout)
			}
		}
		// from stdin, with --json and the public key alone
		pub := filepath.Join(dir, "pub.jwk")
		var set struct {
			Keys []json.RawMessage `json:"keys"`
		}
		b, _ := os.ReadFile(jwksPath)
		_ = json.Unmarshal(b, &set)
		_ = os.WriteFile(pub, set.Keys[0], 0o644)
		tok, _ := os.ReadFile(path)
		in := string(tok)
		if !cwt {
			in += "\n" // text tokens may end in a newline
		}
		r = attest(t, in, "token", "verify", "--key", pub, "--now", now.Add(time.Minute).Format(time.RFC3339), "--json", "-")
		if r.code != exitOK {
			t.Fatalf("stdin: exit %d: %s", r.code, r.stderr)
		}
		var out struct {
			Verified bool            `json:"verified"`
			Status   string          `json:"status"`
			Claims   json.RawMessage `json:"claims"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || !out.Verified || out.Status != "affirming" {
			t.Fatalf("--json output %q: %v", r.stdout, err)
		}
		var claims ear.Result
		if err := claims.UnmarshalJSON(out.Claims); err != nil || claims.Submods["cpu0"] == nil {
			t.Errorf("--json claims: %v", err)
		}
	}
}

func TestTokenVerifyFailures(t *testing.T) {
	keyPath, jwksPath, dir := genKeys(t)
	at := now.Add(time.Minute).Format(time.RFC3339)
	path := signFile(t, keyPath, dir, "ok.jwt", result1(ear.StatusAffirming), false)
	tok, _ := os.ReadFile(path)
	// tampered payload: exit 1, a clear message naming the signature
	parts := strings.Split(string(tok), ".")
	tampered := parts[0] + "." + parts[1][:10] + flip(parts[1][10]) + parts[1][11:] + "." + parts[2]
	bad := filepath.Join(dir, "bad.jwt")
	_ = os.WriteFile(bad, []byte(tampered), 0o644)
	r := attest(t, "", "token", "verify", "--jwks", jwksPath, "--now", at, bad)
	if r.code != exitFail || !strings.Contains(r.stderr, "NOT verified") || !strings.Contains(r.stderr, "signature") {
		t.Errorf("tampered: exit %d: %s", r.code, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("tampered token printed claims: %s", r.stdout)
	}
	r = attest(t, "", "token", "verify", "--jwks", jwksPath, "--now", at, "--json", bad)
	if r.code != exitFail || !strings.Contains(r.stdout, `"verified": false`) {
		t.Errorf("tampered --json: exit %d: %s", r.code, r.stdout)
	}
	// expired
	if r := attest(t, "", "token", "verify", "--jwks", jwksPath, "--now", now.Add(time.Hour).Format(time.RFC3339), path); r.code != exitFail || !strings.Contains(r.stderr, "exp") {
		t.Errorf("expired: exit %d: %s", r.code, r.stderr)
	}
	// wrong nonce
	if r := attest(t, "", "token", "verify", "--jwks", jwksPath, "--now", at, "--nonce", "00112233445566778899", path); r.code != exitFail || !strings.Contains(r.stderr, "freshness") {
		t.Errorf("nonce: exit %d: %s", r.code, r.stderr)
	}
	// a different trusted key
	_, otherJWKS, _ := genKeys(t)
	if r := attest(t, "", "token", "verify", "--jwks", otherJWKS, "--now", at, path); r.code != exitFail {
		t.Errorf("other key: exit %d: %s", r.code, r.stderr)
	}
	// verified but contraindicated: exit 1
	cpath := signFile(t, keyPath, dir, "contra.jwt", result1(ear.StatusContraindicated), false)
	r = attest(t, "", "token", "verify", "--jwks", jwksPath, "--now", at, cpath)
	if r.code != exitFail || !strings.Contains(r.stderr, "contraindicated") || !strings.Contains(r.stdout, "CONTRAINDICATED") {
		t.Errorf("contraindicated: exit %d: %s / %s", r.code, r.stderr, r.stdout)
	}
	// usage and input errors: exit 2
	for name, args := range map[string][]string{
		"no key":        {"token", "verify", path},
		"missing file":  {"token", "verify", "--jwks", jwksPath, filepath.Join(dir, "nope")},
		"bad jwks":      {"token", "verify", "--jwks", path, path},
		"bad now":       {"token", "verify", "--jwks", jwksPath, "--now", "yesterday", path},
		"bad nonce":     {"token", "verify", "--jwks", jwksPath, "--nonce", "zz", path},
		"short nonce":   {"token", "verify", "--jwks", jwksPath, "--nonce", "0011", path},
		"two files":     {"token", "verify", "--jwks", jwksPath, path, path},
		"private key":   {"token", "verify", "--jwks", keyPath, path},
		"unknown flag":  {"token", "verify", "--frobnicate", path},
		"no subcommand": {"token"},
	} {
		if r := attest(t, "", args...); r.code != exitUsage || r.stderr == "" {
			t.Errorf("%s: exit %d, stderr %q", name, r.code, r.stderr)
		}
	}
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func TestTokenInspect(t *testing.T) {
	keyPath, _, dir := genKeys(t)
	for _, cwt := range []bool{false, true} {
		path := signFile(t, keyPath, dir, "t.tok", result1(ear.StatusAffirming), cwt)
		r := attest(t, "", "token", "inspect", path)
		if r.code != exitOK {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		for _, s := range []string{r.stdout, r.stderr} {
			if !strings.Contains(s, "UNVERIFIED") || !strings.Contains(s, "NOT checked") {
				t.Errorf("no loud warning: %s", s)
			}
		}
		if !strings.Contains(r.stdout, "test-key") || !strings.Contains(r.stdout, "cpu0") {
			t.Errorf("inspect output: %s", r.stdout)
		}
		r = attest(t, "", "token", "inspect", "--json", path)
		var out map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out["verified"] != false || out["claims"] == nil {
			t.Errorf("inspect --json: %v %s", err, r.stdout)
		}
	}
	if r := attest(t, "garbage", "token", "inspect"); r.code != exitUsage {
		t.Errorf("garbage: exit %d", r.code)
	}
}

// An unverified token is attacker-controlled text: its strings must reach
// the terminal escaped, so that control sequences cannot rewrite the warning.
func TestTokenInspectEscapesControlCharacters(t *testing.T) {
	const esc = "\x1b[2J\x1b[Htoken verified\r"
	r := result1(ear.StatusContraindicated)
	r.VerifierID.Developer = esc
	r.Issuer = esc
	r.Audience = []string{esc}
	r.ID = esc
	a := r.Submods["cpu0"]
	a.PolicyIDs = []string{esc}
	a.Extensions = map[string]any{ear.ExtReason().Name: esc, ear.ExtUnsafe().Name: []any{esc}}
	r.Submods[esc] = a
	r.Extensions = map[string]any{ear.ExtUnsafe().Name: []any{esc}}
	claims, err := r.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","kid":"k"}`))
	tok := hdr + "." + base64.RawURLEncoding.EncodeToString(claims) + ".c2ln"
	out := attest(t, tok, "token", "inspect")
	if out.code != exitOK {
		t.Fatalf("exit %d: %s", out.code, out.stderr)
	}
	for _, s := range []string{out.stdout, out.stderr} {
		if strings.ContainsAny(s, "\x1b\r") {
			t.Errorf("control characters reached the output: %q", s)
		}
	}
	if !strings.Contains(out.stdout, `\x1b[2J`) {
		t.Errorf("escaped strings missing from the output: %q", out.stdout)
	}
}

func TestDispatch(t *testing.T) {
	if r := attest(t, ""); r.code != exitUsage || !strings.Contains(r.stderr, "usage") {
		t.Errorf("no args: %d %s", r.code, r.stderr)
	}
	if r := attest(t, "", "help"); r.code != exitOK {
		t.Errorf("help: %d", r.code)
	}
	if r := attest(t, "", "frobnicate"); r.code != exitUsage || !strings.Contains(r.stderr, "unknown command") {
		t.Errorf("unknown: %d %s", r.code, r.stderr)
	}
	names := map[string]bool{}
	for _, c := range commands {
		names[c.name] = true
	}
	for _, want := range []string{"keys", "token", "verify"} {
		if !names[want] {
			t.Errorf("command %q missing from the table", want)
		}
	}
}

// A legacy token without exp verifies only with the unsafe switch, loudly.
func TestTokenVerifyMissingExpiry(t *testing.T) {
	keyPath, jwksPath, dir := genKeys(t, "--alg", "EdDSA")
	var jk struct {
		D string `json:"d"`
	}
	b, _ := os.ReadFile(keyPath)
	if err := json.Unmarshal(b, &jk); err != nil {
		t.Fatal(err)
	}
	seed, err := base64.RawURLEncoding.DecodeString(jk.D)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := result1(ear.StatusAffirming).MarshalJSON() // no exp: the signer would add one
	if err != nil {
		t.Fatal(err)
	}
	input := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"EdDSA","kid":"test-key"}`)) + "." + base64.RawURLEncoding.EncodeToString(payload)
	sig := ed25519.Sign(ed25519.NewKeyFromSeed(seed), []byte(input))
	path := filepath.Join(dir, "noexp.jwt")
	_ = os.WriteFile(path, []byte(input+"."+base64.RawURLEncoding.EncodeToString(sig)), 0o644)
	at := now.Add(time.Minute).Format(time.RFC3339)
	if r := attest(t, "", "token", "verify", "--jwks", jwksPath, "--now", at, path); r.code != exitFail || !strings.Contains(r.stderr, "exp: missing") {
		t.Errorf("no exp: exit %d: %s", r.code, r.stderr)
	}
	r := attest(t, "", "token", "verify", "--jwks", jwksPath, "--now", at, "--allow-missing-expiry-unsafe", path)
	if r.code != exitOK || !strings.Contains(r.stderr, "WARNING") || !strings.Contains(r.stdout, "UNSAFE") || !strings.Contains(r.stdout, "WithMissingExpiryUnsafe") {
		t.Errorf("unsafe switch: exit %d: %s\n%s", r.code, r.stderr, r.stdout)
	}
}

// A key broker's Trustee-profile token carries attest's reason and unsafe
// switches inside the annotated evidence (package kbs); token verify shows
// them from there.
func TestTokenVerifyShowsKBSNotes(t *testing.T) {
	keyPath, jwksPath, dir := genKeys(t)
	r := result1(ear.StatusContraindicated)
	r.Profile = ear.ProfileTrustee
	r.Status = nil
	r.Submods["cpu0"].AnnotatedEvidence = map[string]any{"attest": map[string]any{
		"reason": "tdx.debug: expected false, got true", "unsafe": []any{"WithoutCollateralUnsafe"}}}
	path := signFile(t, keyPath, dir, "kbs.tok", r, false)
	res := attest(t, "", "token", "verify", "--jwks", jwksPath, "--now", now.Add(time.Minute).Format(time.RFC3339), path)
	if res.code != exitFail {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	for _, want := range []string{"cpu0: tdx.debug: expected false, got true", "cpu0: UNSAFE [WithoutCollateralUnsafe]"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, res.stdout)
		}
	}
}

func TestVersion(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"version"}, nil, &out, &errb); code != exitOK {
		t.Fatalf("version: exit %d, stderr %q", code, errb.String())
	}
	if !strings.HasPrefix(out.String(), "attest ") || !strings.Contains(out.String(), "go1.") {
		t.Fatalf("version printed %q", out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"version", "--json"}, nil, &out, &errb); code != exitOK {
		t.Fatalf("version --json: exit %d", code)
	}
	var m map[string]string
	if err := json.Unmarshal(out.Bytes(), &m); err != nil || m["module"] != "github.com/trustfactory/attest" || m["go"] == "" {
		t.Fatalf("version --json printed %q (%v)", out.String(), err)
	}
	if code := run(context.Background(), []string{"version", "extra"}, nil, &out, &errb); code != exitUsage {
		t.Fatalf("version extra: exit %d, want %d", code, exitUsage)
	}
	errb.Reset()
	run(context.Background(), []string{"--help"}, nil, &out, &errb)
	if !strings.Contains(errb.String(), exitCodeTable) {
		t.Fatalf("attest --help omits exit code 3: %q", errb.String())
	}
}
