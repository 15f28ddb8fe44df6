package tdx_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/verify"
)

// TDX-26: a REPORTDATA whose layout differs from the declared one is
// ErrBinding: the expected bytes are there but the bytes after them are not
// zero. It is ErrFreshness as well (TPM-04: the session is not proven
// either). A digest that differs in the compared bytes (a SHA-384 digest
// where a SHA-512 one is expected) cannot be told from another session's
// report data: that is ErrFreshness alone (TDX-24).
func TestTDX26ReportDataLayout(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t)
	pub := bytes.Repeat([]byte{0x07}, 65)
	h256 := sha256.Sum256(append(nonce[:32:32], pub...))
	h384 := sha512.Sum384(append(nonce[:32:32], pub...))
	h512 := sha512.Sum512(append(nonce[:32:32], pub...))
	attacker := bytes.Repeat([]byte{0xa7}, 64)
	cases := []struct {
		name      string
		rd        []byte // the quote's REPORTDATA (64 bytes)
		expect    []byte
		want      []error
		wantNot   error
		wantValid bool
	}{
		{"H(nonce‖pubkey) then zeros", append(h256[:], make([]byte, 32)...), h256[:], nil, nil, true},
		{"H(nonce‖pubkey) then attacker bytes", append(h256[:], attacker[:32]...), h256[:], []error{verify.ErrBinding, verify.ErrFreshness}, nil, false},
		{"SHA-384 layout with attacker bytes after it", append(h384[:], attacker[:16]...), h384[:], []error{verify.ErrBinding, verify.ErrFreshness}, nil, false},
		{"SHA-384 digest where SHA-512 is declared", append(h384[:], make([]byte, 16)...), h512[:], []error{verify.ErrFreshness}, verify.ErrBinding, false},
		{"SHA-512 layout", h512[:], h512[:], nil, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Len(t, c.rd, 64)
			q := f.pki.Quote(f.pki.DefaultQuote(c.rd))
			e := exp()
			e.ReportData = c.expect
			cl, err := verifyQuote(t, v, q, e)
			if c.wantValid {
				require.NoError(t, err)
				return
			}
			assert.Nil(t, cl)
			for _, k := range c.want {
				require.ErrorIs(t, err, k)
			}
			if c.wantNot != nil {
				assert.NotErrorIs(t, err, c.wantNot)
			}
		})
	}
}
