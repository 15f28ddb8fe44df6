// Package readme_test keeps the module's README honest.
package readme_test

// The Go blocks of the module's README.md are the bodies of functions in
// this file, word for word: TestREADMEBlocks compares them, the compiler
// checks them, and the tests below run them, so the documented API cannot
// drift. A block is marked
// by the HTML comment <!-- readme-test: name --> on the line before its
// ```go fence, name being the function whose body it is. Unmarked Go blocks
// are not checked; the blocks named in marked below must stay marked.

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/binding"
	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/ear/token"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/setup"
	"github.com/trustfactory/attest/testbed"
	"github.com/trustfactory/attest/verify"
)

// fiveMinutes is README's "The API in five minutes".
func fiveMinutes(sessionNonce string, teeKeyJWK json.RawMessage, quote, gpuEvidenceJSON, privateJWK []byte) ([]byte, error) {
	ctx := context.Background()

	// 1. Once: the verifier of every format (pinned vendor roots embedded), collateral
	// from an offline bundle, the default policy over reference values, 8 GPUs required.
	bundle, _ := os.OpenRoot("bundle") // reads stay inside the directory
	rv, _ := policy.LoadReferenceValues("reference-values.yaml")
	appraiser, _ := setup.NewAppraiser(setup.Config{
		Bundle:           bundle.FS(),
		ReferenceValues:  rv,
		AppraiserOptions: []verify.AppraiserOption{verify.WithRequired(verify.FormatGPU, 8)},
	})
	signer, _ := token.NewSignerFromJWK(privateJWK) // publish signer.KeySet().JWKS() as your JWKS

	// 2. Per request: appraise the evidence as answers to this KBS session. Each component
	// is bound to the runtime data where its verifier says (TDX report data, GPU nonce),
	// and the result carries the session nonce (eat_nonce) and the TEE key.
	rd := binding.RuntimeData{Nonce: sessionNonce, TEEPubKey: teeKeyJWK}
	out, err := appraiser.AppraiseRuntimeData(ctx, rd,
		verify.Component{Format: verify.FormatTDX, Evidence: quote},
		verify.Component{Format: verify.FormatGPU, Evidence: gpuEvidenceJSON}, // one submod per GPU
	)
	if err != nil {
		return nil, err // only for a request that cannot be appraised at all
	}
	fmt.Println(out.Status()) // affirming only if every submodule is

	// 3. Sign the EAR.
	return signer.SignJWT(out.Result)
}

// relyingParty is README's relying party: it checks a token for its
// session and key before a secret is wrapped to teeKey.
func relyingParty(ctx context.Context, jwksJSON, jwt []byte, sessionNonce string, teeKey crypto.PublicKey) error {
	keys, _ := token.ParseJWKS(jwksJSON)
	v, _ := token.NewVerifier(keys) // algorithm pinned per key; none/HMAC/jku/header jwk never trusted
	eatNonce, _ := verify.SessionNonce(sessionNonce)
	res, err := v.Verify(ctx, jwt, token.Expectations{Now: time.Now(), Nonce: eatNonce})
	if err != nil {
		return err // forged, expired, or another session's token
	}
	return token.CheckKeyBinding(res, "cpu0", teeKey) // wrap secrets only to the key the token vouches for
}

var marker = regexp.MustCompile(`^<!-- readme-test: ([A-Za-z_][A-Za-z0-9_]*) -->$`)

// marked are the README blocks that must stay marked (and so checked).
var marked = []string{"fiveMinutes", "relyingParty", "adopt"}

// TestREADMEBlocks checks that every marked Go block of the README equals
// the body of the function its marker names.
func TestREADMEBlocks(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	bodies := functionBodies(t)
	blocks := readmeBlocks(t, string(readme))
	for _, name := range marked {
		require.Contains(t, blocks, name, "README block %s lost its <!-- readme-test: %s --> marker", name, name)
	}
	for name, block := range blocks {
		body, ok := bodies[name]
		if !ok {
			t.Errorf("README block %q: no function %s in readme_test.go", name, name)
			continue
		}
		if body != block {
			t.Errorf("README block %q differs from the body of %s:\n--- README\n%s\n--- %s\n%s", name, name, block, name, body)
		}
	}
}

// readmeBlocks returns the marked Go blocks of doc by the name of their
// marker, failing on a marker without block or a name used twice.
func readmeBlocks(t *testing.T, doc string) map[string]string {
	t.Helper()
	out := map[string]string{}
	lines := strings.Split(doc, "\n")
	for i := 0; i < len(lines); i++ {
		m := marker.FindStringSubmatch(strings.TrimSpace(lines[i]))
		if strings.TrimSpace(lines[i]) == "```go" {
			t.Logf("README line %d: an unmarked Go block, not checked", i+1)
			continue
		}
		if m == nil {
			continue
		}
		if i+1 >= len(lines) || strings.TrimSpace(lines[i+1]) != "```go" {
			t.Errorf("README line %d: marker %q is not followed by a ```go fence", i+1, m[1])
			continue
		}
		end := i + 2
		for end < len(lines) && strings.TrimSpace(lines[end]) != "```" {
			end++
		}
		if end == len(lines) {
			t.Fatalf("README line %d: block %q is not closed", i+2, m[1])
		}
		if _, dup := out[m[1]]; dup {
			t.Errorf("README: two blocks named %q", m[1])
		}
		out[m[1]] = strings.Join(lines[i+2:end], "\n")
		i = end
	}
	return out
}

// functionBodies returns the body of every function of this file, without
// its braces and with one level of indentation removed.
func functionBodies(t *testing.T) map[string]string {
	t.Helper()
	src, err := os.ReadFile("readme_test.go")
	require.NoError(t, err)
	fset := gotoken.NewFileSet()
	f, err := parser.ParseFile(fset, "readme_test.go", src, parser.ParseComments)
	require.NoError(t, err)
	out := map[string]string{}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		body := src[fset.Position(fd.Body.Lbrace).Offset+1 : fset.Position(fd.Body.Rbrace).Offset]
		lines := strings.Split(strings.Trim(string(body), "\n"), "\n")
		for i, l := range lines {
			lines[i] = strings.TrimPrefix(l, "\t")
		}
		out[fd.Name.Name] = strings.Join(lines, "\n")
	}
	return out
}

// teeKey returns a TEE key and its public JWK.
func teeKey(t *testing.T) (*ecdsa.PrivateKey, json.RawMessage) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	jk, err := jwk.FromRaw(&k.PublicKey)
	require.NoError(t, err)
	b, err := json.Marshal(jk)
	require.NoError(t, err)
	return k, b
}

// TestREADMEFiveMinutes runs the five-minute block in a directory laid out
// as it says: every constructor must succeed (the block elides errors, so a
// failing one would panic), and evidence that is no evidence gives a token
// whose submodules are contraindicated, not an error.
func TestREADMEFiveMinutes(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"bundle/tdx", "bundle/gpu/rims", "bundle/gpu/ocsp"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, d), 0o755))
	}
	rv, err := os.ReadFile("../../cmd/attest/samples/composite/reference-values.yaml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "reference-values.yaml"), rv, 0o600))
	priv, jwks, err := token.GenerateKey(token.ES256, "k1")
	require.NoError(t, err)
	_, keyJWK := teeKey(t)
	const nonce = "cmVhZG1lLXNlc3Npb24tbm9uY2UtMzItYnl0ZXMhIQ=="
	t.Chdir(dir)

	jwt, err := fiveMinutes(nonce, keyJWK, []byte("not a quote"), []byte(`{"device_evidence_list":[]}`), priv)
	require.NoError(t, err)
	ks, err := token.ParseJWKS(jwks)
	require.NoError(t, err)
	v, err := token.NewVerifier(ks)
	require.NoError(t, err)
	res, err := v.Verify(context.Background(), jwt, token.Expectations{Nonce: []byte(nonce)})
	require.NoError(t, err)
	require.Equal(t, ear.StatusContraindicated, res.OverallStatus())
	require.Contains(t, res.Submods, "cpu0")
}

// TestREADMERelyingParty runs the relying-party block on a token from the
// five-minute path (setup.NewAppraiser, AppraiseRuntimeData) over a test
// bed's TD and GPU: it accepts the session's nonce and key with nothing
// filled in by hand, and refuses another session's nonce or key.
func TestREADMERelyingParty(t *testing.T) {
	ctx := context.Background()
	bed, err := testbed.New(testbed.Options{GPUs: 2})
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, bed.WriteCollateral(dir))
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	defer root.Close()
	rv, err := bed.ReferenceValues()
	require.NoError(t, err)
	a, err := setup.NewAppraiser(setup.Config{
		Bundle:           root.FS(),
		Roots:            setup.Roots{TDX: []*x509.Certificate{bed.TDX.Root.Cert}, GPU: bed.GPURoots, RIM: []*x509.Certificate{bed.RIM.Root}},
		ReferenceValues:  rv,
		AppraiserOptions: []verify.AppraiserOption{verify.WithRequired(verify.FormatGPU, 2)},
	})
	require.NoError(t, err)
	s, err := testbed.NewSession()
	require.NoError(t, err)
	comps, err := bed.TDXComponents(s) // bound by binding.Expect; the report data is dropped below
	require.NoError(t, err)
	quote, gpus := comps[0].Evidence, comps[1].Evidence
	out, err := a.AppraiseRuntimeData(ctx, s.RuntimeData,
		verify.Component{Format: verify.FormatTDX, Evidence: quote},
		verify.Component{Format: verify.FormatGPU, Evidence: gpus})
	require.NoError(t, err)
	require.Equal(t, ear.StatusAffirming, out.Status())

	priv, jwks, err := token.GenerateKey(token.ES256, "k1")
	require.NoError(t, err)
	signer, err := token.NewSignerFromJWK(priv)
	require.NoError(t, err)
	jwt, err := signer.SignJWT(out.Result)
	require.NoError(t, err)

	nonce, key := s.RuntimeData.Nonce, &s.TEEKey.PublicKey
	require.NoError(t, relyingParty(ctx, jwks, jwt, nonce, key))
	require.ErrorIs(t, relyingParty(ctx, jwks, jwt, "another session's nonce", key), verify.ErrFreshness)
	other, _ := teeKey(t)
	require.ErrorIs(t, relyingParty(ctx, jwks, jwt, nonce, &other.PublicKey), verify.ErrBinding)
}

// adopt is README's test-bed block: the whole world a user's own tests
// appraise, in five calls.
func adopt(ctx context.Context) (ear.Status, error) {
	bed, _ := testbed.New(testbed.Options{GPUs: 8}) // Now: time.Now()
	appraiser, _ := bed.Appraiser()                 // default policy + the bed's reference values
	session, _ := testbed.NewSession()              // nonce + TEE key, as a KBS client sends them
	comps, _ := bed.TDXComponents(session)          // a TD quote and 8 GPUs bound to the session
	outcome, err := appraiser.AppraiseOutcome(ctx, comps)
	if err != nil {
		return ear.StatusNone, err
	}
	return outcome.Status(), nil // affirming
}

// TestREADMEAdopt runs the test-bed block: it affirms at the real clock, as
// the README says, with nothing configured by hand.
func TestREADMEAdopt(t *testing.T) {
	status, err := adopt(context.Background())
	require.NoError(t, err)
	require.Equal(t, ear.StatusAffirming, status)
}
