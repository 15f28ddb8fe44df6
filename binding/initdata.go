package binding

import (
	"bytes"
	"crypto/sha256"

	"github.com/BurntSushi/toml"

	"github.com/trustfactory/attest/verify"
)

// MaxInitData caps the init-data TOML document.
const MaxInitData = 1 << 20

// InitData is a parsed init-data document (Confidential Containers initdata
// TOML): version, digest algorithm and the data files it carries.
type InitData struct {
	Version   string            `toml:"version"`
	Algorithm string            `toml:"algorithm"`
	Data      map[string]string `toml:"data"`

	raw []byte
}

// ParseInitData parses an init-data TOML document, keeping the raw bytes its
// digest is taken over.
func ParseInitData(raw []byte) (*InitData, error) {
	if len(raw) > MaxInitData {
		return nil, verify.Errorf(verify.ErrLimit, "init data: %d bytes, limit %d", len(raw), MaxInitData)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, verify.Errorf(verify.ErrConfig, "init data: empty document")
	}
	var d InitData
	md, err := toml.Decode(string(raw), &d)
	if err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "init data: %w", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "init data: unknown key %q", und[0].String())
	}
	if d.Version == "" {
		return nil, verify.Errorf(verify.ErrMalformed, "init data: no version")
	}
	if _, err := newHash(d.Algorithm); err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "init data: algorithm %q: %w", d.Algorithm, err)
	}
	d.raw = bytes.Clone(raw)
	return &d, nil
}

// Digest returns the digest of the raw document with its own algorithm.
func (d *InitData) Digest() []byte {
	h, _ := newHash(d.Algorithm) // checked by ParseInitData
	h.Write(d.raw)
	return h.Sum(nil)
}

// Init-data field sizes.
const (
	mrConfigIDSize = 48 // TDX MRCONFIGID
	hostDataSize   = 32 // SNP HOST_DATA
)

// InitDataField returns the value the init-data field of evidence of format f
// must hold for the init-data digest: MRCONFIGID (TDX) is the digest padded
// or truncated to 48 bytes, HOST_DATA (SNP) the digest padded or truncated to
// 32 bytes, PCR 8 (TPM, Azure vTPM) SHA-256(0³² ‖ digest) for a 32-byte digest. The result
// is ready for verify.Expectations.InitDataDigest.
func InitDataField(f verify.Format, digest []byte) ([]byte, error) {
	if len(digest) == 0 {
		return nil, verify.Errorf(verify.ErrConfig, "init-data field for %s: empty digest", f)
	}
	switch f {
	case verify.FormatTDX:
		return fit(digest, mrConfigIDSize), nil
	case verify.FormatSNP:
		return fit(digest, hostDataSize), nil
	case verify.FormatTPM, verify.FormatAzureSNP:
		if len(digest) != sha256.Size {
			return nil, verify.Errorf(verify.ErrConfig, "init-data for TPM PCR 8: digest of %d bytes, expected %d (algorithm sha256)", len(digest), sha256.Size)
		}
		h := sha256.New()
		h.Write(make([]byte, sha256.Size))
		h.Write(digest)
		return h.Sum(nil), nil
	}
	return nil, verify.Errorf(verify.ErrUnsupported, "init-data placement for format %q", f)
}

// fit pads b with zeros or truncates it to n bytes, as Trustee places digests.
func fit(b []byte, n int) []byte {
	out := make([]byte, n)
	copy(out, b)
	return out
}
