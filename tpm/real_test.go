package tpm_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-eventlog/extract"
	gepb "github.com/google/go-eventlog/proto/state"
	"github.com/google/go-eventlog/register"
	eltestdata "github.com/google/go-eventlog/testdata"
	"github.com/google/go-eventlog/tpmeventlog"
	pb "github.com/google/go-tpm-tools/proto/attest"
	"github.com/google/go-tpm-tools/server"
	"github.com/google/go-tpm/legacy/tpm2"
	"google.golang.org/protobuf/proto"

	"github.com/trustfactory/attest/tpm"
	"github.com/trustfactory/attest/tpm/tpmtest"
	"github.com/trustfactory/attest/verify"
)

const td = "../testdata/tpm/"

// gceTime lies inside the GCE AK certificate's validity (2021-08-31..2051-08-24).
var gceTime = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

var gceNonce = []byte{0x90, 0x09}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(td + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gceCert(t testing.TB, name string) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(readFile(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func gceVerifier(t testing.TB, opts ...tpm.Option) *tpm.Verifier {
	t.Helper()
	opts = append([]tpm.Option{tpm.WithAKRoots(gceCert(t, "tpm_ek_root_1.cer")), tpm.WithAKIntermediates(gceCert(t, "tpm_ek_intermediate_2.crt"))}, opts...)
	v, err := tpm.NewVerifier(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func gceExpect() verify.Expectations {
	return verify.Expectations{ReportData: gceNonce, Now: gceTime}
}

// upstreamState runs go-tpm-tools on the same attestation, for comparison.
func upstreamState(t testing.TB, b []byte, nonce []byte, hash tpm2.Algorithm) *pb.MachineState {
	t.Helper()
	var a pb.Attestation
	if err := proto.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	ms, err := server.VerifyAttestation(&a, server.VerifyOpts{Nonce: nonce, TrustedRootCerts: server.GceEKRoots,
		IntermediateCerts: server.GceEKIntermediates, Loader: server.GRUB, HashAlgo: hash})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestRealGCEAttestation(t *testing.T) {
	raw := readFile(t, "gce-cos-85-nonce9009.pb")
	for _, bank := range []crypto.Hash{crypto.SHA384, crypto.SHA256} {
		t.Run(bank.String(), func(t *testing.T) {
			v := gceVerifier(t, tpm.WithHashAlgs(bank), tpm.WithRequiredPCRs(0, 4, 7, 8, 9), tpm.WithRequireEventLog())
			vc, err := v.Verify(context.Background(), raw, gceExpect())
			if err != nil {
				t.Fatal(err)
			}
			c := vc.(*tpm.Claims)
			alg := tpm2.AlgSHA384
			if bank == crypto.SHA256 {
				alg = tpm2.AlgSHA256
			}
			ms := upstreamState(t, raw, gceNonce, alg)
			if c.Bank != bank || len(c.PCRs) != 24 || c.AK.Trust != "certificate" || !c.AK.AttributesChecked {
				t.Fatalf("bank %v, %d PCRs, AK %+v", c.Bank, len(c.PCRs), c.AK)
			}
			if !bytes.Equal(c.ExtraData, gceNonce) || c.FirmwareVersion != 0x2016051100162800 || c.Clock.ResetCount != 10 || !c.Clock.Safe {
				t.Fatalf("quote claims: extra %x fw %x clock %+v", c.ExtraData, c.FirmwareVersion, c.Clock)
			}
			l := c.Log
			if l == nil || l.SecureBoot == nil {
				t.Fatal("no event-log claims")
			}
			if l.SecureBoot.Enabled != ms.GetSecureBoot().GetEnabled() || !l.SecureBoot.Enabled {
				t.Errorf("secure boot %v, upstream %v", l.SecureBoot.Enabled, ms.GetSecureBoot().GetEnabled())
			}
			if l.KernelCmdline == nil || *l.KernelCmdline+"\x00" != ms.GetLinuxKernel().GetCommandLine() {
				t.Errorf("kernel cmdline %q, upstream %q", deref(l.KernelCmdline), ms.GetLinuxKernel().GetCommandLine())
			}
			var upCmds []string
			for _, s := range ms.GetGrub().GetCommands() {
				upCmds = append(upCmds, string(bytes.TrimSuffix([]byte(s), []byte{0})))
			}
			if l.GRUB == nil || !slices.Equal(l.GRUB.Commands, upCmds) || len(l.GRUB.Files) != len(ms.GetGrub().GetFiles()) {
				t.Errorf("grub: %d commands %d files; upstream %d, %d", len(l.GRUB.Commands), len(l.GRUB.Files), len(upCmds), len(ms.GetGrub().GetFiles()))
			}
			var upApps []string
			for _, a := range ms.GetEfi().GetApps() {
				upApps = append(upApps, hex.EncodeToString(a.GetDigest()))
			}
			if len(upApps) == 0 || !slices.Equal(l.BootApps, upApps) {
				t.Errorf("boot apps %v, upstream %v", l.BootApps, upApps)
			}
			if l.GCEFirmware == nil || *l.GCEFirmware != ms.GetPlatform().GetGceVersion() {
				t.Errorf("GCE firmware %v, upstream %v", l.GCEFirmware, ms.GetPlatform().GetGceVersion())
			}
			if l.GCETechnology == nil || *l.GCETechnology != ms.GetPlatform().GetTechnology().String() {
				t.Errorf("GCE technology %v, upstream %v", l.GCETechnology, ms.GetPlatform().GetTechnology())
			}
			if got, want := len(l.SecureBoot.DB.Certs), len(ms.GetSecureBoot().GetDb().GetCerts()); got != want {
				t.Errorf("db certs %d, upstream %d", got, want)
			}
			if got, want := len(l.SecureBoot.DBX.Hashes)+len(l.SecureBoot.DBX.Certs), len(ms.GetSecureBoot().GetDbx().GetHashes())+len(ms.GetSecureBoot().GetDbx().GetCerts()); got != want {
				t.Errorf("dbx entries %d, upstream %d", got, want)
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func TestRealGCEPinnedAK(t *testing.T) {
	raw := readFile(t, "gce-cos-85-nonce9009.pb")
	ev, enc, err := tpm.Decode(raw)
	if err != nil || enc != tpm.EncodingProto {
		t.Fatal(enc, err)
	}
	pub, err := tpm.ParsePublic(ev.AKPublicArea)
	if err != nil {
		t.Fatal(err)
	}
	v, err := tpm.NewVerifier(tpm.WithTrustedAKs(pub.Key))
	if err != nil {
		t.Fatal(err)
	}
	c, err := verifyEv(t, v, ev, gceExpect())
	if err != nil {
		t.Fatal(err)
	}
	if c.AK.Trust != "pinned-key" {
		t.Fatalf("trust %q", c.AK.Trust)
	}
	// A different pinned key is not trusted, whatever the evidence carries.
	rsaKey, _, _ := keys(t)
	c, err = verifyEv(t, pinned(t, rsaKey), ev, gceExpect())
	mustFail(t, c, err, verify.ErrChain)
}

func TestRealGCENoNonce(t *testing.T) {
	raw := readFile(t, "gce-cos-85-no-nonce.pb")
	v := gceVerifier(t)
	// No expected report data is a configuration error, never a skipped check.
	c, err := v.Verify(context.Background(), raw, verify.Expectations{Now: gceTime})
	if err == nil || !errors_Is(err, verify.ErrConfig) || c != nil {
		t.Fatalf("no expectation: %v", err)
	}
	c, err = v.Verify(context.Background(), raw, verify.Expectations{Now: gceTime, AllowMissingReportDataUnsafe: true})
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := c.Map()[verify.ClaimUnsafe].([]string); !slices.Contains(u, string(verify.UnsafeMissingReportData)) {
		t.Fatal("unsafe switch not recorded in claims")
	}
}

func TestRealGCENegatives(t *testing.T) {
	raw := readFile(t, "gce-cos-85-nonce9009.pb")
	v := gceVerifier(t)
	ctx := context.Background()
	t.Run("wrong nonce", func(t *testing.T) {
		exp := gceExpect()
		exp.ReportData = []byte{0x90, 0x0a}
		c, err := v.Verify(ctx, raw, exp)
		mustFailVC(t, c, err, verify.ErrFreshness)
	})
	t.Run("tampered log digest", func(t *testing.T) {
		ev, _, err := tpm.Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		// The event's SHA-384 digest: the default (SHA-384) verification fails.
		log := ev.EventLog
		ev.EventLog = flipInLog(t, log, []byte("grub_cmd: set timeout=0"), -20)
		c, err := verifyEv(t, v, ev, gceExpect())
		mustFail(t, c, err, verify.ErrBinding)
		// Its SHA-256 digest: only the SHA-256 bank sees it.
		ev.EventLog = flipInLog(t, log, []byte("grub_cmd: set timeout=0"), -60)
		if _, err := verifyEv(t, v, ev, gceExpect()); err != nil {
			t.Fatalf("SHA-384 verification must not read SHA-256 digests: %v", err)
		}
		c, err = verifyEv(t, gceVerifier(t, tpm.WithHashAlgs(crypto.SHA256)), ev, gceExpect())
		mustFail(t, c, err, verify.ErrBinding)
	})
	t.Run("tampered grub command", func(t *testing.T) {
		ev, _, err := tpm.Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		ev.EventLog = bytes.Replace(bytes.Clone(ev.EventLog), []byte("grub_cmd: set timeout=0"), []byte("grub_cmd: set timeout=9"), 1)
		c, err := verifyEv(t, v, ev, gceExpect())
		mustFail(t, c, err, verify.ErrBinding)
	})
	t.Run("tampered secure boot variable", func(t *testing.T) {
		ev, _, err := tpm.Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		log := bytes.Clone(ev.EventLog)
		i := bytes.Index(log, []byte("S\x00e\x00c\x00u\x00r\x00e\x00B\x00o\x00o\x00t\x00"))
		log[i+20] ^= 1 // SecureBoot = 1 → 0
		ev.EventLog = log
		c, err := verifyEv(t, v, ev, gceExpect())
		mustFail(t, c, err, verify.ErrBinding)
	})
	t.Run("PCR value changed", func(t *testing.T) {
		ev, _, err := tpm.Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		q := ev.Quotes[2]
		q.PCRs = mapsClone(q.PCRs)
		q.PCRs[9] = make([]byte, 48)
		ev.Quotes = []tpm.Quote{q}
		c, err := verifyEv(t, v, ev, gceExpect())
		mustFail(t, c, err, verify.ErrBinding)
	})
	t.Run("wrong root", func(t *testing.T) {
		_, _, ca := keys(t)
		w, err := tpm.NewVerifier(tpm.WithAKRoots(ca.Cert))
		if err != nil {
			t.Fatal(err)
		}
		c, err := w.Verify(ctx, raw, gceExpect())
		mustFailVC(t, c, err, verify.ErrChain)
	})
	t.Run("truncated", func(t *testing.T) {
		for _, n := range []int{1, 100, len(raw) / 2, len(raw) - 1} {
			c, err := v.Verify(ctx, raw[:n], gceExpect())
			if c != nil || !errors.Is(err, verify.ErrMalformed) {
				t.Fatalf("truncated to %d: want ErrMalformed, got %v", n, err)
			}
		}
	})
}

// TestRealGCEPCROutsideSelection re-quotes the real GCE PCRs with a test AK
// over a selection that leaves out PCR 9, which the real log extends.
func TestRealGCEPCROutsideSelection(t *testing.T) {
	raw := readFile(t, "gce-cos-85-nonce9009.pb")
	ev, _, err := tpm.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	real := ev.Quotes[1] // SHA-256
	rsaKey, _, _ := keys(t)
	vals := mapsClone(real.PCRs)
	delete(vals, 9)
	q, err := rsaKey.Quote(crypto.SHA256, vals, gceNonce)
	if err != nil {
		t.Fatal(err)
	}
	mine := &tpm.Evidence{AKPublicArea: rsaKey.PublicArea(), Quotes: []tpm.Quote{q}, EventLog: ev.EventLog}
	v := pinned(t, rsaKey)
	// The quote alone verifies; with the real log, an event in PCR 9 is unauthenticated.
	if _, err := verifyEv(t, v, &tpm.Evidence{AKPublicArea: rsaKey.PublicArea(), Quotes: []tpm.Quote{q}}, gceExpect()); err != nil {
		t.Fatal(err)
	}
	c, err := verifyEv(t, v, mine, gceExpect())
	mustFail(t, c, err, verify.ErrBinding)
	// Supplying the PCR 9 value beside the quote does not help: it is not covered.
	q.PCRs = mapsClone(real.PCRs)
	mine.Quotes = []tpm.Quote{q}
	c, err = verifyEv(t, v, mine, gceExpect())
	mustFail(t, c, err, verify.ErrBinding)
}

// TestGoEventlogRealLogs parses go-eventlog's real logs and replays them
// against their published PCR values (SHA-256), via a quote from a test AK.
func TestGoEventlogRealLogs(t *testing.T) {
	var pcrs map[string]map[string]map[string]string
	if err := json.Unmarshal(readFile(t, "eventlog-pcrs.json"), &pcrs); err != nil {
		t.Fatal(err)
	}
	rsaKey, _, _ := keys(t)
	v := pinned(t, rsaKey, tpm.WithHashAlgs(crypto.SHA256))
	want := map[string]struct {
		secureBoot bool
		grub       bool
		apps       int
	}{
		"eventlog-rhel8-uefi.bin":                 {true, true, 3},
		"eventlog-ubuntu-2404-amd-sevsnp.bin":     {false, true, 2},
		"eventlog-ubuntu-2104-no-secure-boot.bin": {false, true, 2},
		"eventlog-arch-linux-workstation.bin":     {false, false, 2},
	}
	for name, banks := range pcrs {
		t.Run(name, func(t *testing.T) {
			raw := readFile(t, name)
			log, err := tpm.ParseEventLog(raw, tpm.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			vals := map[int][]byte{}
			for k, h := range banks["sha256"] {
				i, _ := strconv.Atoi(k)
				vals[i], _ = hex.DecodeString(h)
			}
			if err := tpm.Replay(log, crypto.SHA256, vals); err != nil {
				t.Fatal(err)
			}
			q, err := rsaKey.Quote(crypto.SHA256, vals, testNonce)
			if err != nil {
				t.Fatal(err)
			}
			c, err := verifyEv(t, v, &tpm.Evidence{AKPublicArea: rsaKey.PublicArea(), Quotes: []tpm.Quote{q}, EventLog: raw}, expect(testNonce))
			if err != nil {
				t.Fatal(err)
			}
			w := want[name]
			if (c.Log.SecureBoot != nil && c.Log.SecureBoot.Enabled) != w.secureBoot || (c.Log.GRUB != nil) != w.grub || len(c.Log.BootApps) != w.apps {
				t.Errorf("secure boot %+v grub %v apps %d; want %+v", c.Log.SecureBoot != nil && c.Log.SecureBoot.Enabled, c.Log.GRUB != nil, len(c.Log.BootApps), w)
			}
			// go-eventlog on the same log and PCRs agrees on Secure Boot and the boot apps.
			regs := make([]register.PCR, 0, len(vals))
			for i, d := range vals {
				regs = append(regs, register.PCR{Index: i, Digest: d, DigestAlg: crypto.SHA256})
			}
			opts := extract.Opts{Loader: extract.UnsupportedLoader, AllowEFIAppBeforeCallingEvent: true, AllowEmptySBVar: true}
			fs, err := tpmeventlog.ReplayAndExtract(raw, register.PCRBank{TCGHashAlgo: gepb.HashAlgo_SHA256, PCRs: regs}, opts)
			if err != nil {
				t.Logf("go-eventlog extraction (not compared): %v", err)
			} else {
				if fs.GetSecureBoot().GetEnabled() != w.secureBoot {
					t.Errorf("go-eventlog secure boot %v", fs.GetSecureBoot().GetEnabled())
				}
				var apps []string
				for _, a := range fs.GetEfi().GetApps() {
					apps = append(apps, hex.EncodeToString(a.GetDigest()))
				}
				if len(apps) > 0 && !slices.Equal(apps, c.Log.BootApps) { // go-eventlog omits apps of logs without a "Calling EFI Application" event
					t.Errorf("boot apps %v, go-eventlog %v", c.Log.BootApps, apps)
				}
			}
			// A quote for a log whose PCR 7 was changed does not replay.
			vals[7] = bytes.Repeat([]byte{1}, 32)
			q, err = rsaKey.Quote(crypto.SHA256, vals, testNonce)
			if err != nil {
				t.Fatal(err)
			}
			c, err = verifyEv(t, v, &tpm.Evidence{AKPublicArea: rsaKey.PublicArea(), Quotes: []tpm.Quote{q}, EventLog: raw}, expect(testNonce))
			mustFail(t, c, err, verify.ErrBinding)
			var re *tpm.ReplayError
			if !errorsAs(err, &re) || !slices.Equal(re.PCRs, []int{7}) {
				t.Fatalf("replay error %v, want PCR 7 listed", err)
			}
		})
	}
}

// TestRealLogsAllParse parses every go-eventlog TPM log we copied, and checks
// that the GCE attestation's log is the COS-85 log of go-eventlog.
func TestRealLogsAllParse(t *testing.T) {
	entries, err := os.ReadDir(td)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if len(e.Name()) > 9 && e.Name()[:9] == "eventlog-" && e.Name()[len(e.Name())-4:] == ".bin" {
			if _, err := tpm.ParseEventLog(readFile(t, e.Name()), tpm.Limits{}); err != nil {
				t.Errorf("%s: %v", e.Name(), err)
			}
			n++
		}
	}
	if n < 5 {
		t.Fatalf("parsed %d logs, want at least 5", n)
	}
	ev, _, err := tpm.Decode(readFile(t, "gce-cos-85-nonce9009.pb"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ev.EventLog, readFile(t, "eventlog-cos-85-amd-sev.bin")) {
		t.Log("the GCE attestation's log differs from go-eventlog's cos-85-amd-sev.bin")
	}
}

// flipInLog flips a byte at off relative to the first occurrence of marker.
func flipInLog(t testing.TB, log, marker []byte, off int) []byte {
	t.Helper()
	i := bytes.Index(log, marker)
	if i < 0 {
		t.Fatalf("marker %q not in log", marker)
	}
	out := bytes.Clone(log)
	out[i+off] ^= 0x55
	return out
}

func mapsClone(m map[int][]byte) map[int][]byte {
	out := make(map[int][]byte, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

var _ = tpmtest.AKAttributes

// TestGoEventlogTestdataParses parses every TPM log that go-eventlog's
// importable testdata package embeds. Debian 10's log is SHA-1-only (no Spec
// ID event) and is refused as unsupported; every other log parses, replays
// to the SHA-256 PCRs computed independently here (StartupLocality included)
// and extracts without error.
func TestGoEventlogTestdataParses(t *testing.T) {
	logs := map[string][]byte{
		"arch-linux-workstation":        eltestdata.ArchLinuxWorkstationEventLog,
		"debian-10":                     eltestdata.Debian10EventLog,
		"glinux-alex":                   eltestdata.GlinuxAlexEventLog,
		"rhel8-uefi":                    eltestdata.Rhel8EventLog,
		"ubuntu-1804-amd-sev":           eltestdata.Ubuntu1804AmdSevEventLog,
		"ubuntu-2104-no-dbx":            eltestdata.Ubuntu2104NoDbxEventLog,
		"ubuntu-2104-no-secure-boot":    eltestdata.Ubuntu2104NoSecureBootEventLog,
		"ubuntu-2404-amd-sevsnp":        eltestdata.Ubuntu2404AmdSevSnpEventLog,
		"cos-85-amd-sev":                eltestdata.Cos85AmdSevEventLog,
		"cos-93-amd-sev":                eltestdata.Cos93AmdSevEventLog,
		"cos-101-amd-sev":               eltestdata.Cos101AmdSevEventLog,
		"cos-121-amd-sev":               eltestdata.Cos121AmdSevEventLog,
		"gdc-host":                      eltestdata.GdcHost,
		"ubuntu-2404-intel-tdx":         eltestdata.Ubuntu2404IntelTdxA4HighGpu8GEventLog,
		"cos-125-intel-tdx-secure-boot": eltestdata.Cos125IntelTdxSecureBootA4HighGpu8GEventLog,
		"host-gmes":                     eltestdata.HostGMESEventLog,
	}
	for name, raw := range logs {
		t.Run(name, func(t *testing.T) {
			log, err := tpm.ParseEventLog(raw, tpm.Limits{})
			if name == "debian-10" {
				mustFail(t, nil, err, verify.ErrUnsupported)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// Compute the SHA-256 PCRs the log describes and replay against them.
			vals := map[int][]byte{}
			for _, ev := range log.Events {
				if ev.Type == tpm.EvNoAction {
					if loc, ok := bytes.CutPrefix(ev.Data, []byte("StartupLocality\x00")); ok && len(loc) == 1 {
						vals[0] = append(make([]byte, 31), loc[0])
					}
					continue
				}
				cur, ok := vals[ev.PCR]
				if !ok {
					cur = make([]byte, 32)
				}
				h := crypto.SHA256.New()
				h.Write(cur)
				h.Write(ev.Digest(crypto.SHA256))
				vals[ev.PCR] = h.Sum(nil)
			}
			if err := tpm.Replay(log, crypto.SHA256, vals); err != nil {
				t.Fatalf("replay with independently computed PCRs: %v", err)
			}
			c, err := tpm.Extract(log, crypto.SHA256)
			if err != nil {
				t.Fatalf("extract: %v", err)
			}
			t.Logf("%d events, secure boot %v, %d boot apps, GRUB %v", c.Events, c.SecureBoot != nil && c.SecureBoot.Enabled, len(c.BootApps), c.GRUB != nil)
		})
	}
}

// TestRealGCEInTrusteeEncoding re-encodes the real GCE SHA-256 quote as
// Trustee's TPM JSON (DER SPKI AK, TPMS_ATTEST, TPMT_SIGNATURE, 24 hex PCRs)
// and verifies it with the AK pinned, as a Trustee deployment trusts AKs.
func TestRealGCEInTrusteeEncoding(t *testing.T) {
	ev, _, err := tpm.Decode(readFile(t, "gce-cos-85-nonce9009.pb"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := tpm.ParsePublic(ev.AKPublicArea)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(pub.Key)
	if err != nil {
		t.Fatal(err)
	}
	q := ev.Quotes[1]
	if q.Bank != crypto.SHA256 {
		t.Fatalf("quote 1 bank %v", q.Bank)
	}
	raw, err := json.Marshal(map[string]any{
		"ak_public": base64.StdEncoding.EncodeToString(spki),
		"tpm_quote": map[string]any{
			"message":   base64.StdEncoding.EncodeToString(q.Attest),
			"signature": base64.StdEncoding.EncodeToString(q.Signature),
			"pcrs":      trusteePCRs(q.PCRs),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := tpm.NewVerifier(tpm.WithTrustedAKs(pub.Key))
	if err != nil {
		t.Fatal(err)
	}
	if !v.Detect(raw) {
		t.Fatal("Trustee JSON not detected")
	}
	vc, err := v.Verify(context.Background(), raw, gceExpect())
	if err != nil {
		t.Fatal(err)
	}
	c := vc.(*tpm.Claims)
	if c.AK.AttributesChecked || c.Log != nil || !bytes.Equal(c.PCRs[7], q.PCRs[7]) {
		t.Fatalf("claims: attributes checked %v, log %v", c.AK.AttributesChecked, c.Log)
	}
	// One PCR changed in the JSON: the digest no longer matches.
	var j map[string]any
	_ = json.Unmarshal(raw, &j)
	pcrs := j["tpm_quote"].(map[string]any)["pcrs"].([]any)
	pcrs[4] = hex.EncodeToString(make([]byte, 32))
	bad, _ := json.Marshal(j)
	vc, err = v.Verify(context.Background(), bad, gceExpect())
	mustFailVC(t, vc, err, verify.ErrBinding)
}
