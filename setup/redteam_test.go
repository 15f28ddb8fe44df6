package setup_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/setup"
	"github.com/trustfactory/attest/verify"
)

// POL-06 asks for a startup warning when insecure toggles are on. The
// verifiers record their switches in each result, but a service started
// with them logged nothing until a result said so.
func TestRedteamPOL06UnsafeSwitchesWarnAtStartup(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := setup.Config{Logger: logger, Unsafe: setup.Unsafe{TDXWithoutCollateral: true, SNPWithoutRevocation: true, GPUWithoutRIMs: true, GPUWithoutRevocation: true}}
	want := []verify.UnsafeSwitch{"tdx.WithoutCollateralUnsafe", "snp.WithoutRevocationUnsafe", "gpu.WithoutRIMsUnsafe", "gpu.WithoutRevocationUnsafe"}
	assert.Equal(t, want, cfg.UnsafeSwitches())
	_, err := setup.NewRegistry(cfg)
	require.NoError(t, err)
	for _, s := range want {
		assert.Contains(t, logs.String(), "switch="+string(s))
	}
	assert.Equal(t, len(want), strings.Count(logs.String(), "level=WARN"))

	// OCSPAllowMissingUnsafe is one too; a configuration without switches
	// logs nothing.
	logs.Reset()
	_, err = setup.NewAppraiser(setup.Config{Logger: logger, OCSPAllowMissingUnsafe: true})
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(logs.String(), "switch=ocsp.WithMissingAnswersUnsafe"), logs.String())
	logs.Reset()
	_, err = setup.NewAppraiser(setup.Config{Logger: logger})
	require.NoError(t, err)
	assert.Empty(t, logs.String())
	assert.Nil(t, setup.Config{}.UnsafeSwitches())
}
