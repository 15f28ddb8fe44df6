package binding

import (
	"bytes"
	"crypto/sha256"

	"github.com/BurntSushi/toml"

	"github.com/trustfactory/attest/verify"
)

// MaxInitData caps the init-data TOML document. A Confidential Containers
// init-data document carries a few files as strings: the agent policy
// (policy.rego; the Trustee sample is 62 KB, and generated policies grow with
// the pod's containers), aa.toml and cdh.toml (a few hundred bytes). 1 MiB
// leaves room for large pods; once the structure caps below hold, the decoder
// costs about 5–7 bytes of allocation per input byte (measured: 7.5 MB for a
// 1 MiB multi-line string), so the size cap alone bounds the work.
const MaxInitData = 1 << 20

// Structure caps of an init-data document, enforced by a linear scan before the
// TOML decoder runs. The decoder's time and memory grow with the square of the
// nesting of inline tables and arrays, of the segments of a dotted key and of a
// table header's depth (measured: 18 KB of "{a=" held a core for seconds and a
// gigabyte; a 4 KB dotted key allocated 170 MB), and about 60–120 bytes per
// key, header or array element. A real document needs nesting 0 (every value
// is a string), one-segment keys ("policy.rego" is one quoted segment), the
// one header [data] and a handful of entries; the caps leave room beyond that
// and still hold the decoder to a few hundred kilobytes of structure
// (measured: 541 KB for a document at every cap at once).
const (
	// maxInitDataDepth caps the nesting of [ and { (a [[header]] is depth 2).
	maxInitDataDepth = 4
	// maxInitDataKeySegments caps the dot-separated segments of one key or header.
	maxInitDataKeySegments = 8
	// maxInitDataKeyBytes caps one key or header, quotes included (a file name
	// is at most 255 bytes on Linux).
	maxInitDataKeyBytes = 256
	// maxInitDataEntries caps keys, table headers and array or inline-table
	// separators together.
	maxInitDataEntries = 128
)

// InitData is a parsed init-data document (Confidential Containers initdata
// TOML): version, digest algorithm and the data files it carries.
type InitData struct {
	Version   string            `toml:"version"`
	Algorithm string            `toml:"algorithm"`
	Data      map[string]string `toml:"data"`

	raw []byte
}

// ParseInitData parses an init-data TOML document, keeping the raw bytes its
// digest is taken over. A document larger than MaxInitData, or nested,
// dotted or keyed beyond what init data needs, is ErrLimit before it is
// decoded.
func ParseInitData(raw []byte) (*InitData, error) {
	if len(raw) > MaxInitData {
		return nil, verify.Errorf(verify.ErrLimit, "init data: %d bytes, limit %d", len(raw), MaxInitData)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, verify.Errorf(verify.ErrConfig, "init data: empty document")
	}
	if err := boundInitData(raw); err != nil {
		return nil, err
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
	configIDSize   = 64 // SGX CONFIGID
	hostDataSize   = 32 // SNP HOST_DATA
)

// InitDataField returns the value the init-data field of evidence of format f
// must hold for the init-data digest: MRCONFIGID (TDX) is the digest padded
// or truncated to 48 bytes, CONFIGID (SGX) to 64 bytes, HOST_DATA (SNP) the digest padded or truncated to
// 32 bytes, PCR 8 (TPM, Azure vTPM) SHA-256(0³² ‖ digest) for a 32-byte digest. The result
// is ready for verify.Expectations.InitDataDigest.
func InitDataField(f verify.Format, digest []byte) ([]byte, error) {
	if len(digest) == 0 {
		return nil, verify.Errorf(verify.ErrConfig, "init-data field for %s: empty digest", f)
	}
	switch f {
	case verify.FormatTDX:
		return fit(digest, mrConfigIDSize), nil
	case verify.FormatSGX:
		return fit(digest, configIDSize), nil
	case verify.FormatSNP:
		return fit(digest, hostDataSize), nil
	case verify.FormatTPM, verify.FormatAzureSNP, verify.FormatAzureTDX:
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

// boundInitData scans an init-data TOML document once, without allocating,
// and refuses with ErrLimit a document whose structure exceeds the caps above.
// It follows TOML's lexical structure (comments, basic, literal and multi-line
// strings, key and value positions) only as far as needed to count nesting,
// key segments, key bytes and entries; it does not validate: the decoder
// reports malformed documents. Where the document is malformed the scan may
// count more than the decoder would read, never less: the decoder stops at the
// first error, and every position the scan treats as a value is one where the
// decoder reads a value or has already failed.
func boundInitData(doc []byte) error {
	var (
		stack   [maxInitDataDepth]byte // open [ or { brackets
		depth   int
		inKey   = true // at a key (line start, inside a header, after { or an inline-table comma)
		segs    = 1    // segments of the current key
		keyLen  int    // bytes of the current key, white space excluded
		entries int
		line    = 1
	)
	limit := func(what string, got, max int) error {
		return verify.Errorf(verify.ErrLimit, "init data: line %d: %s %d, limit %d", line, what, got, max)
	}
	startKey := func() {
		inKey, segs, keyLen = true, 1, 0
	}
	countEntry := func() error {
		if entries++; entries > maxInitDataEntries {
			return limit("entries (keys, headers, separators)", entries, maxInitDataEntries)
		}
		return nil
	}
	for i := 0; i < len(doc); i++ {
		c := doc[i]
		switch c {
		case '\n':
			line++
			// A new line ends a top-level key/value or header; inside an
			// array (or a TOML 1.1 multi-line inline table) it ends nothing.
			if depth == 0 {
				startKey()
			}
			continue
		case ' ', '\t', '\r':
			continue
		case '#':
			for i < len(doc) && doc[i] != '\n' {
				i++
			}
			i-- // the new line is handled above
			continue
		case '"', '\'':
			start := i
			end, lines := skipString(doc, i)
			line += lines
			i = end - 1
			if inKey {
				keyLen += end - start
				if keyLen > maxInitDataKeyBytes {
					return limit("key bytes", keyLen, maxInitDataKeyBytes)
				}
			}
			continue
		}
		switch {
		case c == '[' || c == '{':
			if depth == maxInitDataDepth {
				return limit("nesting depth of [ and {", depth+1, maxInitDataDepth)
			}
			stack[depth] = c
			depth++
			if inKey {
				// A table header: [a.b] or [[a.b]], counted once.
				if depth == 1 {
					if err := countEntry(); err != nil {
						return err
					}
				}
			} else if c == '{' {
				startKey()
			}
		case c == ']' || c == '}':
			if depth > 0 {
				depth--
			}
			if depth > 0 {
				inKey = false // after a nested value
			}
		case c == ',':
			if err := countEntry(); err != nil {
				return err
			}
			if depth > 0 && stack[depth-1] == '{' {
				startKey()
			}
		case c == '=' && inKey:
			if err := countEntry(); err != nil {
				return err
			}
			inKey = false
		case inKey:
			if c == '.' {
				if segs++; segs > maxInitDataKeySegments {
					return limit("key segments", segs, maxInitDataKeySegments)
				}
			}
			if keyLen++; keyLen > maxInitDataKeyBytes {
				return limit("key bytes", keyLen, maxInitDataKeyBytes)
			}
		}
	}
	return nil
}

// skipString returns the index just past the TOML string that starts at
// doc[i] (a " or '), and how many new lines it spans. A single-line string
// ends at its quote or, unterminated, before the new line; a multi-line string
// ends at its closing triple quote (with up to two more quotes, which TOML
// counts as content) or at the end of the document.
func skipString(doc []byte, i int) (end, lines int) {
	q := doc[i]
	escapes := q == '"'
	if i+2 < len(doc) && doc[i+1] == q && doc[i+2] == q {
		for j := i + 3; j < len(doc); j++ {
			switch {
			case doc[j] == '\n':
				lines++
			case escapes && doc[j] == '\\':
				if j+1 < len(doc) && doc[j+1] == '\n' {
					lines++
				}
				j++
			case doc[j] == q && j+2 < len(doc) && doc[j+1] == q && doc[j+2] == q:
				j += 3
				for k := 0; k < 2 && j < len(doc) && doc[j] == q; k++ {
					j++
				}
				return j, lines
			}
		}
		return len(doc), lines
	}
	for j := i + 1; j < len(doc); j++ {
		switch {
		case doc[j] == '\n':
			return j, lines
		case escapes && doc[j] == '\\':
			if j+1 < len(doc) && doc[j+1] == '\n' {
				return j + 1, lines
			}
			j++
		case doc[j] == q:
			return j + 1, lines
		}
	}
	return len(doc), lines
}
