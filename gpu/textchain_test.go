package gpu

import (
	"bytes"
	"context"
	"encoding/base64"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/verify"
)

// TestCertificateTextCache: a verifier remembers the chain of a base64
// certificate field it verified, so the same field is neither decoded nor
// hashed as PEM again and the claims are the same; any other text (the same
// chain re-wrapped, a corrupted encoding, a chain with a broken signature)
// is decoded and judged as if nothing were remembered.
func TestCertificateTextCache(t *testing.T) {
	v, err := NewVerifier(verify.FormatGPU, WithoutRevocationUnsafe(), WithoutRIMsUnsafe())
	require.NoError(t, err)
	ctx := context.Background()
	exp := verify.Expectations{ReportData: v1Nonce, Now: v1Time}
	r, chain := readHex(t, "v1", "hopperAttestationReport.txt"), readFile(t, "v1", "hopperCertChain.txt")
	text := base64.StdEncoding.EncodeToString(chain)
	device := func(cert string) []byte {
		return []byte(`{"arch":"HOPPER","evidence":"` + base64.StdEncoding.EncodeToString(r) + `","certificate":"` + cert + `"}`)
	}
	devs, err := parseEvidence(device(text), func([]byte) ([32]byte, *DeviceChain) { return [32]byte{}, nil })
	require.NoError(t, err)
	require.NotNil(t, devs[0].Certificate, "nothing remembered yet: the field is decoded")

	first, err := v.VerifyDevices(ctx, device(text), exp)
	require.NoError(t, err)
	require.Equal(t, 1, v.textChains.Len())
	second, err := v.VerifyDevices(ctx, device(text), exp)
	require.NoError(t, err)
	require.Same(t, first.Devices[0].Chain, second.Devices[0].Chain)
	require.True(t, reflect.DeepEqual(first.Map(), second.Map()), "claims differ")

	// The remembered text is found, and then not decoded.
	devs, err = parseEvidence(device(text), func(b []byte) ([32]byte, *DeviceChain) {
		require.Equal(t, text, string(b))
		return [32]byte{}, first.Devices[0].Chain
	})
	require.NoError(t, err)
	require.Nil(t, devs[0].Certificate)

	// The same PEM in other base64 text (wrapped, in an array the fast
	// decoder leaves to encoding/json): found by its PEM.
	wrapped := text[:64] + `\n` + text[64:]
	c, err := v.VerifyDevices(ctx, []byte("["+string(device(wrapped))+"]"), exp)
	require.NoError(t, err)
	require.Same(t, first.Devices[0].Chain, c.Devices[0].Chain)
	remembered := v.textChains.Len()

	// A corrupted encoding of the remembered text is still malformed.
	bad := []byte(text)
	bad[10] = '*'
	_, err = v.VerifyDevices(ctx, device(string(bad)), exp)
	require.ErrorIs(t, err, verify.ErrMalformed)

	// A chain whose leaf signature is broken is refused after the good one
	// was remembered.
	broken := bytes.Clone(chain)
	i := bytes.Index(broken, []byte("-----END CERTIFICATE-----")) - 8
	broken[i] ^= 0x01
	_, err = v.VerifyDevices(ctx, device(base64.StdEncoding.EncodeToString(broken)), exp)
	require.Error(t, err)
	require.Equal(t, remembered, v.textChains.Len(), "a refused chain is not remembered")
}
