// Package buildid says which build of attest is running: the module version,
// the VCS commit and the Go version, read from the binary's build information.
// The CLI prints it (attest version) and tokens carry it in their verifier id,
// so a relying party can tell which verifier appraised the evidence.
package buildid

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// ModulePath is attest's module path.
const ModulePath = "github.com/trustfactory/attest"

// Info is the identity of the running build.
type Info struct {
	Version   string // module version: a tag, a pseudo-version, or "(devel)"
	Commit    string // VCS revision, with "+dirty" when the tree was modified; empty when unknown
	GoVersion string // Go toolchain that built the binary
}

// Read returns the build identity of attest in the running binary, whether
// attest is the main module (the CLI) or a dependency of it (a user's
// service). Fields that the build does not record stay empty or "(devel)".
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "(devel)", GoVersion: runtime.Version()}
	}
	return fromBuildInfo(bi)
}

func fromBuildInfo(bi *debug.BuildInfo) Info {
	info := Info{Version: "(devel)", GoVersion: bi.GoVersion}
	mod := &bi.Main
	if mod.Path != ModulePath {
		mod = nil
		for _, d := range bi.Deps {
			if d.Path == ModulePath {
				mod = d
				if d.Replace != nil {
					mod = d.Replace
				}
				break
			}
		}
	}
	if mod != nil && mod.Version != "" {
		info.Version = mod.Version
	}
	// VCS settings describe the main module only.
	if bi.Main.Path == ModulePath {
		var dirty bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Commit = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if info.Commit != "" && dirty {
			info.Commit += "+dirty"
		}
	}
	return info
}

// String is "attest VERSION (COMMIT, GOVERSION)", with the commit left out
// when unknown; it is the build name tokens carry.
func (i Info) String() string {
	var b strings.Builder
	b.WriteString("attest ")
	b.WriteString(i.Version)
	b.WriteString(" (")
	if i.Commit != "" {
		c := i.Commit
		if len(c) > 12 && !strings.HasSuffix(c, "+dirty") {
			c = c[:12]
		}
		b.WriteString(c)
		b.WriteString(", ")
	}
	b.WriteString(i.GoVersion)
	b.WriteString(")")
	return b.String()
}
