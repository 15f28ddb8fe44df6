package tpm_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-eventlog/extract"
	gepb "github.com/google/go-eventlog/proto/state"
	"github.com/google/go-eventlog/register"
	"github.com/google/go-eventlog/tpmeventlog"

	"github.com/trustfactory/attest/tpm"
	"github.com/trustfactory/attest/tpm/tpmtest"
	"github.com/trustfactory/attest/verify"
)

// replayedValues computes, independently of package tpm, the PCR values
// a log extends in bank h (StartupLocality included).
func replayedValues(t *testing.T, log *tpm.EventLog, h crypto.Hash) map[int][]byte {
	t.Helper()
	vals := map[int][]byte{}
	for _, ev := range log.Events {
		if ev.Type == tpm.EvNoAction {
			if loc, ok := bytes.CutPrefix(ev.Data, []byte("StartupLocality\x00")); ok && len(loc) == 1 {
				vals[0] = append(make([]byte, h.Size()-1), loc[0])
			}
			continue
		}
		cur, ok := vals[ev.PCR]
		if !ok {
			cur = make([]byte, h.Size())
		}
		d := ev.Digest(h)
		if d == nil {
			t.Fatalf("event %d has no %v digest", ev.Seq, h)
		}
		w := h.New()
		w.Write(cur)
		w.Write(d)
		vals[ev.PCR] = w.Sum(nil)
	}
	return vals
}

// TestRealPublicEventLogs runs real TPM event logs not in go-eventlog's
// importable set (a Confidential GKE debug node, a GCE log with an
// SP 800-155 EV_NO_ACTION event, a Confidential Space node, and two
// go-attestation logs: a Secure Boot certificate log and a crypto-agile
// one) through the verifier: each is quoted with a test AK over the PCRs
// it replays to and must verify, with the claims go-eventlog extracts
// from the same bytes; a quote over a PCR 4 the log does not produce, or
// one that selects fewer PCRs than the log extends, is refused.
func TestRealPublicEventLogs(t *testing.T) {
	type want struct {
		events     int
		secureBoot bool
		grub       bool
		apps       int
		cmdline    string // a substring of the kernel command line; "" for none
	}
	logs := map[string]want{
		"eventlog-confidential-gke-debug-251000.bin": {52, true, true, 3, "confidential-gke.hardened=false"},
		"eventlog-sp800155.bin":                      {51, true, true, 3, "confidential-gke.hardened=false"},
		"eventlog-cs251200.bin":                      {49, false, true, 2, "confidential-space.hardened=false"},
		"eventlog-sb-cert.bin":                       {14, true, false, 3, ""},
		"eventlog-crypto-agile.bin":                  {26, false, false, 2, ""},
	}
	rsaKey, _, _ := keys(t)
	v := pinned(t, rsaKey, tpm.WithHashAlgs(crypto.SHA256), tpm.WithRequireEventLog())
	for name, w := range logs {
		t.Run(name, func(t *testing.T) {
			raw := readFile(t, name)
			log, err := tpm.ParseEventLog(raw, tpm.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			vals := replayedValues(t, log, crypto.SHA256)
			q, err := rsaKey.Quote(crypto.SHA256, vals, testNonce)
			if err != nil {
				t.Fatal(err)
			}
			c, err := verifyEv(t, v, &tpm.Evidence{AKPublicArea: rsaKey.PublicArea(), Quotes: []tpm.Quote{q}, EventLog: raw}, expect(testNonce))
			if err != nil {
				t.Fatal(err)
			}
			l := c.Log
			if l.Events != w.events || (l.SecureBoot != nil && l.SecureBoot.Enabled) != w.secureBoot || (l.GRUB != nil) != w.grub || len(l.BootApps) != w.apps {
				t.Errorf("events %d, secure boot %v, GRUB %v, %d apps; want %+v", l.Events, l.SecureBoot != nil && l.SecureBoot.Enabled, l.GRUB != nil, len(l.BootApps), w)
			}
			if (w.cmdline == "") != (l.KernelCmdline == nil) || (l.KernelCmdline != nil && !strings.Contains(*l.KernelCmdline, w.cmdline)) {
				t.Errorf("kernel command line %q, want one containing %q", deref(l.KernelCmdline), w.cmdline)
			}

			// go-eventlog on the same bytes and PCRs agrees.
			regs := make([]register.PCR, 0, len(vals))
			for i, d := range vals {
				regs = append(regs, register.PCR{Index: i, Digest: d, DigestAlg: crypto.SHA256})
			}
			loader := extract.UnsupportedLoader
			if w.grub {
				loader = extract.GRUB
			}
			fs, err := tpmeventlog.ReplayAndExtract(raw, register.PCRBank{TCGHashAlgo: gepb.HashAlgo_SHA256, PCRs: regs},
				extract.Opts{Loader: loader, AllowEFIAppBeforeCallingEvent: true, AllowEmptySBVar: true})
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
				if len(apps) > 0 && !slices.Equal(apps, l.BootApps) {
					t.Errorf("boot apps %v, go-eventlog %v", l.BootApps, apps)
				}
				if up := fs.GetLinuxKernel().GetCommandLine(); up != "" && l.KernelCmdline != nil && strings.TrimRight(up, "\x00") != *l.KernelCmdline {
					t.Errorf("kernel command line %q, go-eventlog %q", *l.KernelCmdline, up)
				}
			}

			// A boot application the log does not record: PCR 4 differs.
			bad := mapsClone(vals)
			bad[4] = bytes.Repeat([]byte{4}, 32)
			q, err = rsaKey.Quote(crypto.SHA256, bad, testNonce)
			if err != nil {
				t.Fatal(err)
			}
			c, err = verifyEv(t, v, &tpm.Evidence{AKPublicArea: rsaKey.PublicArea(), Quotes: []tpm.Quote{q}, EventLog: raw}, expect(testNonce))
			mustFail(t, c, err, verify.ErrBinding)

			// A quote that selects only PCR 0 with the log: the log extends
			// PCRs the quote does not cover, so it cannot have been replayed
			// into the quote (ErrBinding), never claims from unquoted PCRs.
			q, err = rsaKey.Quote(crypto.SHA256, map[int][]byte{0: vals[0]}, testNonce)
			if err != nil {
				t.Fatal(err)
			}
			c, err = verifyEv(t, v, &tpm.Evidence{AKPublicArea: rsaKey.PublicArea(), Quotes: []tpm.Quote{q}, EventLog: raw}, expect(testNonce))
			mustFail(t, c, err, verify.ErrBinding)

			// The log cut inside its last event.
			_, err = tpm.ParseEventLog(raw[:len(raw)-3], tpm.Limits{})
			mustFail(t, nil, err, verify.ErrMalformed)
		})
	}
}

// TestRealPublicTrusteeTPMEvidence verifies Trustee's TPM verifier fixture
// (a software TPM: firmware 2019102300163636, PCRs 17-22 all ones): the
// quote is signed by the fixture's ak_public, pinned here as a Trustee
// deployment pins its AKs, and carries a 48-byte digest zero-padded to 64
// bytes in extraData, from before Trustee shortened it to 32 bytes.
func TestRealPublicTrusteeTPMEvidence(t *testing.T) {
	raw := readFile(t, "trustee-tpm-evidence.json")
	var j struct {
		AK string `json:"ak_public"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		t.Fatal(err)
	}
	der, err := base64.StdEncoding.DecodeString(j.AK)
	if err != nil {
		t.Fatal(err)
	}
	ak, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		t.Fatal(err)
	}
	v, err := tpm.NewVerifier(tpm.WithTrustedAKs(ak))
	if err != nil {
		t.Fatal(err)
	}
	if !v.Detect(raw) {
		t.Fatal("Trustee TPM JSON not detected")
	}
	digest, _ := hex.DecodeString("a04182b506878d4f29b91ee606a71a0d3361ccf1b22db20c98adcaa537bea393ef0e41a18b3569ab678f1497fbc5c120")
	vc, err := v.Verify(context.Background(), raw, verify.Expectations{ReportData: digest, Now: gceTime})
	if err != nil {
		t.Fatal(err)
	}
	c := vc.(*tpm.Claims)
	m := c.Map()
	if c.Bank != crypto.SHA256 || len(c.PCRs) != 24 || c.AK.Trust != "pinned-key" || c.Log != nil {
		t.Fatalf("bank %v, %d PCRs, AK %+v, log %v", c.Bank, len(c.PCRs), c.AK, c.Log)
	}
	if c.FirmwareVersion != 0x2019102300163636 || c.Clock.ResetCount != 2 || !c.Clock.Safe || len(c.ExtraData) != 64 {
		t.Fatalf("firmware %x clock %+v extraData %d bytes", c.FirmwareVersion, c.Clock, len(c.ExtraData))
	}
	for i := 0; i < 24; i++ {
		want := strings.Repeat("00", 32)
		if i >= 17 && i <= 22 {
			want = strings.Repeat("ff", 32)
		}
		if got := m[pcrKey(i)]; got != want {
			t.Errorf("pcr%02d = %v, want %s", i, got, want)
		}
	}

	// The 64 bytes as the report data also bind; a digest differing in its
	// last byte, or one with a non-zero byte where extraData has zeros, not.
	if _, err := v.Verify(context.Background(), raw, verify.Expectations{ReportData: c.ExtraData, Now: gceTime}); err != nil {
		t.Fatal(err)
	}
	other := append([]byte(nil), digest...)
	other[47] ^= 1
	vc, err = v.Verify(context.Background(), raw, verify.Expectations{ReportData: other, Now: gceTime})
	mustFailVC(t, vc, err, verify.ErrFreshness)
	vc, err = v.Verify(context.Background(), raw, verify.Expectations{ReportData: append(append([]byte(nil), digest...), 1), Now: gceTime})
	mustFailVC(t, vc, err, verify.ErrFreshness)

	// Any other AK: the quote's signature does not verify under it.
	rsaKey, _, _ := keys(t)
	v2, err := tpm.NewVerifier(tpm.WithTrustedAKs(rsaKey.Public()))
	if err != nil {
		t.Fatal(err)
	}
	vc, err = v2.Verify(context.Background(), raw, verify.Expectations{ReportData: digest, Now: gceTime})
	if vc != nil || err == nil {
		t.Fatalf("verified under another AK: %v", err)
	}
}

func pcrKey(i int) string { return "pcr" + string(rune('0'+i/10)) + string(rune('0'+i%10)) }

// appendEvent appends to a real log an event measured in every bank the
// log declares, in its order, digest = H(data).
func appendEvent(raw []byte, log *tpm.EventLog, pcr int, typ uint32, data []byte) []byte {
	b := bytes.Clone(raw)
	b = binary.LittleEndian.AppendUint32(b, uint32(pcr))
	b = binary.LittleEndian.AppendUint32(b, typ)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(log.Algs)))
	for _, h := range log.Algs {
		b = binary.LittleEndian.AppendUint16(b, tpmtest.HashAlg(h))
		w := h.New()
		w.Write(data)
		b = w.Sum(b)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	return append(b, data...)
}

// TestRealPublicEventLogTampering: a reviewer's edits of a real Secure Boot
// log, each quoted over the PCRs the edited log replays to so that only the
// log's content is judged.
func TestRealPublicEventLogTampering(t *testing.T) {
	raw := readFile(t, "eventlog-sb-cert.bin")
	log, err := tpm.ParseEventLog(raw, tpm.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, _, _ := keys(t)
	v := pinned(t, rsaKey, tpm.WithHashAlgs(crypto.SHA256), tpm.WithRequireEventLog())
	quoted := func(t *testing.T, b []byte) (*tpm.Claims, error) {
		t.Helper()
		l, err := tpm.ParseEventLog(b, tpm.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		q, err := rsaKey.Quote(crypto.SHA256, replayedValues(t, l, crypto.SHA256), testNonce)
		if err != nil {
			t.Fatal(err)
		}
		return verifyEv(t, v, &tpm.Evidence{AKPublicArea: rsaKey.PublicArea(), Quotes: []tpm.Quote{q}, EventLog: b}, expect(testNonce))
	}

	// A Secure Boot variable (db) measured into PCR 7 after its separator:
	// the firmware would not, an attacker extending PCR 7 from the OS would.
	db := tpmtest.UEFIVariable(tpmtest.EFIImageSecurityDB(), "db", tpmtest.SignatureList(tpmtest.EFICertX509(), [16]byte{}, []byte("attacker")))
	c, err := quoted(t, appendEvent(raw, log, 7, tpm.EvEFIVariableDriverConfig, db))
	mustFail(t, c, err, verify.ErrPolicy)

	// A boot application after the PCR 4 separator is what shim and GRUB
	// measure: it verifies, and is claimed as one more boot application.
	app := bytes.Repeat([]byte{0xa5}, 64)
	c, err = quoted(t, appendEvent(raw, log, 4, tpm.EvEFIBootServicesApp, app))
	if err != nil {
		t.Fatal(err)
	}
	if base, err := quoted(t, raw); err != nil || len(c.Log.BootApps) != len(base.Log.BootApps)+1 {
		t.Fatalf("boot apps %d after appending one (base: %v)", len(c.Log.BootApps), err)
	}

	// The Spec ID event declaring 0xFFFF algorithms: refused before any
	// allocation for them.
	huge := bytes.Clone(raw)
	specCount := 32 + len("Spec ID Event03\x00") + 4 + 4 // header, signature, platformClass, versions
	if binary.LittleEndian.Uint32(huge[specCount:]) != uint32(len(log.Algs)) {
		t.Fatalf("numberOfAlgorithms not at %d", specCount)
	}
	binary.LittleEndian.PutUint32(huge[specCount:], 0xffff)
	_, err = tpm.ParseEventLog(huge, tpm.Limits{})
	mustFail(t, nil, err, verify.ErrMalformed)

	// An event whose data length runs past the end of the log.
	trunc := appendEvent(raw, log, 8, tpm.EvIPL, []byte("grub_cmd linux /vmlinuz"))
	_, err = tpm.ParseEventLog(trunc[:len(trunc)-5], tpm.Limits{})
	mustFail(t, nil, err, verify.ErrMalformed)
}
