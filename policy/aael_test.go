package policy

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/verify"
)

// aael_allowed pins the Attestation-Agent runtime events: every event must
// be listed (JSON contents compared as values, not bytes); an unlisted one
// contraindicates the executables; an unlogged RTMR3 cannot be held to the
// list; without the reference value the events are only recorded.
func TestAAELAllowed(t *testing.T) {
	withEvents := func(unlogged bool) map[string]any {
		c := tdxClaims()
		c["aael"] = map[string]any{
			"github.com/confidential-containers/PullImage": []any{`{"image": "busybox", "digest": "sha256:0"}`},
			"image-rs/CreateContainer":                     []any{"docker.io/library/alpine"},
		}
		c["rtmr3_unlogged"] = unlogged
		return c
	}
	allowed := Entry{Name: "aael_allowed", Value: []any{
		`github.com/confidential-containers PullImage {"digest":"sha256:0","image":"busybox"}`,
		"image-rs CreateContainer docker.io/library/alpine",
	}}

	r := appraise(t, tdxRV(t, allowed), verify.FormatTDX, withEvents(false))
	c := check(t, r, "aael.allowed")
	require.True(t, c.OK, "%+v", c)
	wantVector(t, r, ear.Executables, ear.ApprovedBoot)

	onlyOne := Entry{Name: "aael_allowed", Value: []any{"image-rs CreateContainer docker.io/library/alpine"}}
	r = appraise(t, tdxRV(t, onlyOne), verify.FormatTDX, withEvents(false))
	c = check(t, r, "aael.allowed")
	assert.False(t, c.OK)
	assert.Contains(t, c.Reason, "PullImage")
	wantVector(t, r, ear.Executables, ear.ContraindicatedRuntime)

	r = appraise(t, tdxRV(t, allowed), verify.FormatTDX, withEvents(true))
	wantVector(t, r, ear.Executables, ear.UnrecognizedRuntime)

	r = appraise(t, tdxRV(t), verify.FormatTDX, withEvents(false))
	c = check(t, r, "aael.allowed")
	assert.True(t, c.OK)
	assert.Contains(t, c.Reason, "not pinned")
	wantVector(t, r, ear.Executables, ear.ApprovedBoot)
}

// With aael_allowed pinned, evidence that carries no AA event log at all
// must not pass the list: the runtime register (RTMR3, or the AA's PCR on a
// TPM) holds events nobody checked. Omitting the log is not a way around
// aael_allowed; an empty register still passes.
func TestAAELAllowedWithoutLog(t *testing.T) {
	allowed := Entry{Name: "aael_allowed", Value: []any{"image-rs CreateContainer docker.io/library/alpine"}}

	// TDX: no CC event log (no rtmr3_unlogged), no aa_eventlog, RTMR3 extended.
	c := tdxClaims()
	c["quote.body.rtmr_3"] = strings.Repeat("33", 48)
	r := appraise(t, tdxRV(t, allowed), verify.FormatTDX, c)
	assert.False(t, check(t, r, "aael.allowed").OK)
	wantVector(t, r, ear.Executables, ear.UnrecognizedRuntime)

	// TDX with RTMR3 never extended: nothing ran that the AA logs.
	c["quote.body.rtmr_3"] = strings.Repeat("00", 48)
	r = appraise(t, tdxRV(t, allowed), verify.FormatTDX, c)
	assert.True(t, check(t, r, "aael.allowed").OK)
	wantVector(t, r, ear.Executables, ear.ApprovedBoot)

	// TPM: the AA's PCR (23 on Azure, 17 by default) extended, no AA log.
	tpmRV, err := FromEntries(Entry{Name: "tpm_pcr00", Value: strings.Repeat("00", 32)}, allowed)
	require.NoError(t, err)
	cl := map[string]any{"pcr00": strings.Repeat("00", 32), "pcr17": strings.Repeat("ff", 32), "pcr23": strings.Repeat("23", 32),
		"ak.trust": "pinned-key", "ak.fingerprint": "akfp", "secure_boot.enabled": true}
	r = appraise(t, tpmRV, verify.FormatTPM, cl)
	assert.False(t, check(t, r, "aael.allowed").OK)
	wantVector(t, r, ear.Executables, ear.UnrecognizedRuntime)

	// TPM with the AA PCRs at their reset values: no runtime events.
	cl["pcr23"] = strings.Repeat("00", 32)
	r = appraise(t, tpmRV, verify.FormatTPM, cl)
	assert.True(t, check(t, r, "aael.allowed").OK)
}

// The Azure rules apply aael_allowed to the vTPM's events as the TPM rules
// do, SEV-SNP and TDX VMs alike (once each): an unlisted event
// contraindicates, and PCR 23 extended with no AA event log is not
// affirming.
func TestAAELAllowedAzure(t *testing.T) {
	allowed := Entry{Name: "aael_allowed", Value: []any{"image-rs CreateContainer docker.io/library/alpine"}}
	vtpm := func(c map[string]any) map[string]any {
		c["pcr00"], c["pcr04"], c["pcr11"] = strings.Repeat("00", 32), strings.Repeat("44", 32), strings.Repeat("11", 32)
		c["pcr23"] = strings.Repeat("23", 32)
		c["ak.trust"], c["secure_boot.enabled"], c["hcl_report_session_bound"] = "bound", true, true
		return c
	}
	for _, f := range []verify.Format{verify.FormatAzureSNP, verify.FormatAzureTDX} {
		claims := func() map[string]any {
			if f == verify.FormatAzureTDX {
				return vtpm(tdxClaims())
			}
			return vtpm(snpClaims())
		}
		rv, err := FromEntries(Entry{Name: "tpm_pcr00", Value: strings.Repeat("00", 32)}, allowed)
		require.NoError(t, err)

		c := claims()
		c["aael"] = map[string]any{"image-rs/CreateContainer": []any{"docker.io/library/alpine"}}
		r := appraise(t, rv, f, c)
		assert.True(t, check(t, r, "aael.allowed").OK, f)

		c["aael"] = map[string]any{"image-rs/CreateContainer": []any{"docker.io/library/busybox"}}
		r = appraise(t, rv, f, c)
		assert.False(t, check(t, r, "aael.allowed").OK, f)
		wantVector(t, r, ear.Executables, ear.ContraindicatedRuntime)
		n := 0
		for _, ch := range r.Checks {
			if ch.ID == "aael.allowed" {
				n++
			}
		}
		assert.Equal(t, 1, n, "%s: one aael.allowed check", f)

		r = appraise(t, rv, f, claims())
		assert.False(t, check(t, r, "aael.allowed").OK, f)
		assert.Contains(t, check(t, r, "aael.allowed").Reason, "PCR 23", f)
		wantVector(t, r, ear.Executables, ear.UnrecognizedRuntime)
	}
}
