package setup

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"

	"github.com/trustfactory/attest/internal/pemchain"
	"github.com/trustfactory/attest/verify"
)

// maxTestRoots bounds the certificates read from one roots file.
const maxTestRoots = 64

// ReadTestRoots reads the replacement roots a test bundle carries, in the
// files testbed.Bed.WriteCollateral writes: tdx/roots.pem (Intel),
// gpu/roots.pem (NVIDIA device identity) and gpu/rim-roots.pem (NVIDIA RIM
// signing), each PEM certificates only. An absent file leaves its field
// empty, which keeps the pinned root.
//
// It is for tests and samples only: NewRegistry never takes a root from a
// bundle, and a caller who passes these to Config.Roots trusts whoever wrote
// the bundle. A file that is unreadable or holds anything but certificates is
// an ErrConfig error naming it.
func ReadTestRoots(fsys fs.FS) (Roots, error) {
	var r Roots
	if fsys == nil {
		return r, verify.Errorf(verify.ErrConfig, "setup: test roots: nil file system")
	}
	for name, dst := range map[string]*[]*x509.Certificate{
		"tdx/roots.pem":     &r.TDX,
		"gpu/roots.pem":     &r.GPU,
		"gpu/rim-roots.pem": &r.RIM,
	} {
		b, err := fs.ReadFile(fsys, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return Roots{}, verify.Wrap(verify.ErrConfig, fmt.Errorf("setup: test roots %s: %w", name, err))
		}
		if *dst, err = pemchain.Parse(b, maxTestRoots); err != nil {
			return Roots{}, verify.Errorf(verify.ErrConfig, "setup: test roots %s: %v", name, err)
		}
	}
	return r, nil
}
