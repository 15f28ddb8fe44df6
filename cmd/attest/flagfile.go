package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/trustfactory/attest/verify"
)

// Bounds of the files flags name. Each is far above what a real file of
// its kind holds; the bound is what keeps a mistaken path (/dev/zero, a
// disk image) from being read into memory without end.
const (
	maxKeyFile        = 64 << 10 // a private JWK or PEM key
	maxAdminTokenFile = 4 << 10  // a bearer token
	maxJWKSFile       = 1 << 20  // a key set
	maxPEMFile        = 1 << 20  // --tpm-ak keys and roots
	maxRuntimeData    = 16 << 20 // KBS runtime data (kbs.MaxRequestSize)
)

// readFlagFile reads the file named by flag name, at most limit bytes. It
// reads through a limit instead of trusting the size the file system
// reports: a device (/dev/zero reports 0 bytes and never ends) or a growing
// file is stopped at limit+1 bytes, never read whole. A directory or a
// larger file is a verify.ErrConfig error naming the flag.
func readFlagFile(flagName, name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, verify.Errorf(verify.ErrConfig, "--%s: %w", flagName, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil {
		switch {
		case st.IsDir():
			return nil, verify.Errorf(verify.ErrConfig, "--%s %s: a directory, expected a file", flagName, name)
		case st.Mode().IsRegular() && st.Size() > limit:
			return nil, verify.Errorf(verify.ErrConfig, "--%s %s: %d bytes, limit %d", flagName, name, st.Size(), limit)
		}
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, verify.Errorf(verify.ErrConfig, "--%s %s: %w", flagName, name, err)
	}
	if int64(len(b)) > limit {
		return nil, verify.Errorf(verify.ErrConfig, "--%s %s: more than %d bytes", flagName, name, limit)
	}
	return b, nil
}

// warnShared warns on w when the secret file a flag names can be read by
// its group or others (Unix mode bits; elsewhere they say nothing): the
// service's signing key, TLS key and admin token give whoever reads them
// its authority. A warning, not a refusal: mounted secrets (Kubernetes)
// are often 0644 inside a container no one else runs in.
func warnShared(w io.Writer, flagName, name string) {
	if runtime.GOOS == "windows" {
		return
	}
	if st, err := os.Stat(name); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o077 != 0 {
		fmt.Fprintf(w, "attest serve: WARNING: --%s %s is readable by its group or others (mode %#o): chmod 600 it\n", flagName, name, st.Mode().Perm())
	}
}

// readAdminToken reads the --admin-token-file token: the file's text
// without surrounding white space. An empty file is refused rather than
// taken for "no token", which would leave the management reads open to
// anyone while the operator believes them protected; so is a token a
// header cannot carry (a line break or control character inside it).
func readAdminToken(name string, minSize int) (string, error) {
	b, err := readFlagFile("admin-token-file", name, maxAdminTokenFile)
	if err != nil {
		return "", err
	}
	tok := strings.TrimSpace(string(b))
	switch {
	case tok == "":
		return "", verify.Errorf(verify.ErrConfig, "--admin-token-file %s: empty; give a token of at least %d bytes, or omit the flag to refuse every write", name, minSize)
	case len(tok) < minSize:
		return "", verify.Errorf(verify.ErrConfig, "--admin-token-file %s: a token of %d bytes, expected at least %d", name, len(tok), minSize)
	case strings.IndexFunc(tok, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0:
		return "", verify.Errorf(verify.ErrConfig, "--admin-token-file %s: the token holds a line break or control character, which an Authorization header cannot carry: expected one line", name)
	}
	return tok, nil
}
