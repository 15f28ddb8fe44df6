package buildid

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFromBuildInfo(t *testing.T) {
	tests := []struct {
		name string
		bi   debug.BuildInfo
		want Info
	}{
		{
			name: "main module with VCS",
			bi: debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: ModulePath, Version: "v0.3.0"},
				Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "false"}}},
			want: Info{Version: "v0.3.0", Commit: "0123456789abcdef0123", GoVersion: "go1.26.8"},
		},
		{
			name: "dirty tree",
			bi: debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: ModulePath, Version: "(devel)"},
				Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "true"}}},
			want: Info{Version: "(devel)", Commit: "abc+dirty", GoVersion: "go1.26.8"},
		},
		{
			name: "dependency of another module: no commit from the main module's VCS",
			bi: debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "example.com/kbs", Version: "v1.0.0"},
				Deps:     []*debug.Module{{Path: ModulePath, Version: "v0.4.1"}},
				Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "kbs-commit"}}},
			want: Info{Version: "v0.4.1", GoVersion: "go1.26.8"},
		},
		{
			name: "replaced dependency",
			bi: debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "example.com/kbs"},
				Deps: []*debug.Module{{Path: ModulePath, Version: "v0.4.1", Replace: &debug.Module{Path: "../attest"}}}},
			want: Info{Version: "(devel)", GoVersion: "go1.26.8"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bi := tt.bi
			assert.Equal(t, tt.want, fromBuildInfo(&bi))
		})
	}
}

func TestString(t *testing.T) {
	assert.Equal(t, "attest v0.3.0 (0123456789ab, go1.26.8)",
		Info{Version: "v0.3.0", Commit: "0123456789abcdef", GoVersion: "go1.26.8"}.String())
	assert.Equal(t, "attest (devel) (go1.26.8)", Info{Version: "(devel)", GoVersion: "go1.26.8"}.String())
	assert.Equal(t, "attest (devel) (abc+dirty, go1.26.8)", Info{Version: "(devel)", Commit: "abc+dirty", GoVersion: "go1.26.8"}.String())
}

func TestReadInTest(t *testing.T) {
	// A test binary has build info; whatever it says, Read must fill the Go version.
	assert.NotEmpty(t, Read().GoVersion)
}
