package verify_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/verify"
)

// namedVerifier is a verifier from outside attest: it states its TEE name
// and class, and detects its evidence by a prefix.
type namedVerifier struct {
	f           verify.Format
	tee, class  string
	evidencePfx string
}

func (v namedVerifier) Format() verify.Format { return v.f }
func (v namedVerifier) TEEName() string       { return v.tee }
func (v namedVerifier) SubmodClass() string   { return v.class }
func (v namedVerifier) Detect(b []byte) bool  { return strings.HasPrefix(string(b), v.evidencePfx) }
func (v namedVerifier) Verify(context.Context, []byte, verify.Expectations) (verify.Claims, error) {
	return nil, verify.Errorf(verify.ErrUnsupported, "not for verifying")
}

// A new TEE is its own verifier plus one registration: the registry routes
// KBS TEE names, names submodules and tells verifiers that share a TEE name
// apart by their evidence.
func TestRegistryPerFormatFacts(t *testing.T) {
	gpu := namedVerifier{f: "acme-gpu", tee: "acme", class: "gpu", evidencePfx: "GPU"}
	sw := namedVerifier{f: "acme-switch", tee: "acme", class: "switch", evidencePfx: "SW"}
	cpu := namedVerifier{f: "acme-cpu", tee: "acme-cvm", class: "cpu", evidencePfx: "CPU"}
	reg, err := verify.NewRegistry(gpu, sw, cpu, &fakeVerifier{f: verify.FormatSNP})
	require.NoError(t, err)

	f, err := reg.ForTEE("acme-cvm", nil)
	require.NoError(t, err)
	require.Equal(t, verify.Format("acme-cpu"), f)
	f, err = reg.ForTEE("acme", []byte("SW..."))
	require.NoError(t, err)
	require.Equal(t, verify.Format("acme-switch"), f)
	_, err = reg.ForTEE("acme", []byte("???"))
	require.ErrorIs(t, err, verify.ErrMalformed)
	_, err = reg.ForTEE("tdx", nil)
	require.ErrorIs(t, err, verify.ErrUnsupported)
	_, err = reg.ForTEE("", nil)
	require.ErrorIs(t, err, verify.ErrUnsupported)

	require.Equal(t, "switch", reg.SubmodClass("acme-switch"))
	require.Equal(t, verify.ClassDevice, reg.SubmodClass("unknown"))
	require.Equal(t, "acme", reg.TEEName("acme-gpu"))
	require.Equal(t, "snp", reg.TEEName(verify.FormatSNP)) // names none: its format
	require.Len(t, reg.Verifiers(), 4)
}
