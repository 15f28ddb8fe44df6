package azure_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/azure/aztest"
	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/verify"
)

// aaEventLog returns an AA event log as Trustee's attestation agent writes
// it on Azure's vTPM, whose PCRs 17..22 refuse its extends: a Spec ID
// event with an all-zero signature declaring SHA-256, one EV_EVENT_TAG
// "AAEL" event per line on PCR 23, 8 bytes of 0xFF; and the value PCR 23
// replays to from zero.
func aaEventLog(lines ...string) (log, pcr23 []byte) {
	spec := make([]byte, 16)
	spec = append(spec, 0, 0, 0, 0, 0, 2, 0, 2)
	spec = binary.LittleEndian.AppendUint32(spec, 1)
	spec = binary.LittleEndian.AppendUint16(spec, 0x000b) // SHA-256
	spec = binary.LittleEndian.AppendUint16(spec, 32)
	spec = append(spec, 0)
	log = binary.LittleEndian.AppendUint32(nil, 0)
	log = binary.LittleEndian.AppendUint32(log, 3) // EV_NO_ACTION
	log = append(log, make([]byte, 20)...)
	log = binary.LittleEndian.AppendUint32(log, uint32(len(spec)))
	log = append(log, spec...)
	pcr23 = make([]byte, 32)
	for _, line := range lines {
		data := binary.LittleEndian.AppendUint32(nil, 0x4141454c) // "AAEL"
		data = binary.LittleEndian.AppendUint32(data, uint32(len(line)))
		data = append(data, line...)
		d := sha256.Sum256(data)
		log = binary.LittleEndian.AppendUint32(log, 23)
		log = binary.LittleEndian.AppendUint32(log, 6) // EV_EVENT_TAG
		log = binary.LittleEndian.AppendUint32(log, 1)
		log = binary.LittleEndian.AppendUint16(log, 0x000b)
		log = append(log, d[:]...)
		log = binary.LittleEndian.AppendUint32(log, uint32(len(data)))
		log = append(log, data...)
		next := sha256.Sum256(append(pcr23, d[:]...))
		pcr23 = next[:]
	}
	return append(log, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), pcr23
}

// vtpmPCRs are the PCR values of a minted vTPM quote: PCR i filled with i,
// PCR 16 zero and 17..22 all ones (their reset values: nothing extended
// them), PCR 23 the AA event log's.
func vtpmPCRs(pcr23 []byte) [24][]byte {
	var pcrs [24][]byte
	for i := range pcrs {
		pcrs[i] = bytes.Repeat([]byte{byte(i)}, 32)
	}
	pcrs[16] = make([]byte, 32)
	for i := 17; i <= 22; i++ {
		pcrs[i] = bytes.Repeat([]byte{0xff}, 32)
	}
	pcrs[23] = pcr23
	return pcrs
}

// withAAEL adds an aa_eventlog member to minted evidence.
func withAAEL(t *testing.T, ev, log []byte) []byte {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(ev, &m))
	m["aa_eventlog"] = base64.StdEncoding.EncodeToString(log)
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}

// An Azure VM's Attestation-Agent event log replays into the vTPM's PCR 23
// and its events are the "aael" claim; the default policy holds them to
// aael_allowed as it does a TPM's: a listed event passes, an unlisted one
// contraindicates the executables, and PCR 23 extended with no log to
// vouch for it is not affirming. A log that does not replay to the quoted
// PCR 23 is refused.
func TestAzureAAEventLog(t *testing.T) {
	vm, v := minted(t)
	ctx := context.Background()
	rd := bytes.Repeat([]byte{0x5a}, 48)
	exp := verify.Expectations{ReportData: rd, Now: mintedTime}
	pull := `github.com/confidential-containers PullImage {"image":"busybox","digest":"sha256:0"}`
	log, pcr23 := aaEventLog(pull)
	pcrs := vtpmPCRs(pcr23)
	plain, err := vm.Evidence(aztest.Spec{ReportData: rd, PCRs: pcrs})
	require.NoError(t, err)

	c, err := v.Verify(ctx, withAAEL(t, plain, log), exp)
	require.NoError(t, err)
	m := c.Map()
	assert.Equal(t, map[string]any{"github.com/confidential-containers/PullImage": []any{`{"image":"busybox","digest":"sha256:0"}`}}, m["aael"])

	appraise := func(m map[string]any, allowed ...any) *verify.PolicyResult {
		rvs := []policy.Entry{{Name: "snp_launch_measurement", Value: m["measurement"]}, {Name: "aael_allowed", Value: allowed}}
		for i := 0; i < 24; i++ {
			rvs = append(rvs, policy.Entry{Name: fmt.Sprintf("tpm_pcr%02d", i), Value: m[fmt.Sprintf("pcr%02d", i)]})
		}
		rv, err := policy.FromEntries(rvs...)
		require.NoError(t, err)
		p, err := policy.New(rv)
		require.NoError(t, err)
		r, err := p.Appraise(ctx, verify.PolicyInput{Format: verify.FormatAzureSNP, Claims: m, Now: mintedTime, Unsafe: verify.UnsafeSwitchesOf(c)})
		require.NoError(t, err)
		return r
	}
	aaelCheck := func(r *verify.PolicyResult) verify.Check {
		for _, ch := range r.Checks {
			if ch.ID == "aael.allowed" {
				return ch
			}
		}
		t.Fatalf("no aael.allowed check: %+v", r.Checks)
		return verify.Check{}
	}

	r := appraise(m, `github.com/confidential-containers PullImage {"digest":"sha256:0","image":"busybox"}`)
	assert.True(t, aaelCheck(r).OK, "%+v", aaelCheck(r))
	assert.Equal(t, ear.ApprovedBoot, r.TrustVector[ear.Executables])

	r = appraise(m, "image-rs CreateContainer docker.io/library/alpine")
	assert.False(t, aaelCheck(r).OK)
	assert.Equal(t, ear.ContraindicatedRuntime, r.TrustVector[ear.Executables])
	assert.Equal(t, ear.StatusContraindicated, r.Status())

	// The same evidence without its log: PCR 23 holds runtime events that
	// nothing vouches for.
	c, err = v.Verify(ctx, plain, exp)
	require.NoError(t, err)
	r = appraise(c.Map(), pull)
	assert.False(t, aaelCheck(r).OK)
	assert.Contains(t, aaelCheck(r).Reason, "PCR 23")
	assert.Equal(t, ear.UnrecognizedRuntime, r.TrustVector[ear.Executables])
	assert.NotEqual(t, ear.StatusAffirming, r.Status())

	// A log of another event than PCR 23 holds.
	other, _ := aaEventLog("image-rs CreateContainer docker.io/library/alpine")
	c, err = v.Verify(ctx, withAAEL(t, plain, other), exp)
	assert.Nil(t, c)
	assert.ErrorIs(t, err, verify.ErrBinding)
}

// The Azure TDX rules hold the vTPM's AA events to aael_allowed too (not
// the paravisor's RTMR3): an unlisted event contraindicates.
func TestAzureTDXAAEventLog(t *testing.T) {
	vm, v := mintedTDX(t)
	ctx := context.Background()
	rd := bytes.Repeat([]byte{0x5b}, 48)
	log, pcr23 := aaEventLog("image-rs CreateContainer docker.io/library/alpine")
	pcrs := vtpmPCRs(pcr23)
	ev, err := vm.Evidence(aztest.TDXSpec{ReportData: rd, PCRs: pcrs})
	require.NoError(t, err)
	c, err := v.Verify(ctx, withAAEL(t, ev, log), verify.Expectations{ReportData: rd, Now: tdxtest.VerifyTime()})
	require.NoError(t, err)
	m := c.Map()
	require.Contains(t, m, "aael")
	rvs := tdxPins(m, false, policy.Entry{Name: "aael_allowed", Value: []any{"image-rs CreateContainer docker.io/library/busybox"}})
	rv, err := policy.FromEntries(rvs...)
	require.NoError(t, err)
	p, err := policy.New(rv)
	require.NoError(t, err)
	r, err := p.Appraise(ctx, verify.PolicyInput{Format: verify.FormatAzureTDX, Claims: m, Now: tdxtest.VerifyTime()})
	require.NoError(t, err)
	assert.Equal(t, ear.ContraindicatedRuntime, r.TrustVector[ear.Executables])
	n := 0
	for _, ch := range r.Checks {
		if ch.ID == "aael.allowed" {
			n++
			assert.False(t, ch.OK)
		}
	}
	assert.Equal(t, 1, n, "one aael.allowed check")
}
