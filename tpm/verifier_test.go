package tpm_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/trustfactory/attest/binding"
	"github.com/trustfactory/attest/tpm"
	"github.com/trustfactory/attest/tpm/tpmtest"
	"github.com/trustfactory/attest/verify"
)

func TestMintedVerifies(t *testing.T) {
	rsaKey, eccKey, _ := keys(t)
	p384, err := tpmtest.NewECCAK(elliptic.P384())
	if err != nil {
		t.Fatal(err)
	}
	pss, err := tpmtest.NewRSAAK(2048)
	if err != nil {
		t.Fatal(err)
	}
	pss.Scheme = tpmtest.AlgRSAPSS
	for _, tc := range []struct {
		name string
		ak   *tpmtest.AK
		bank crypto.Hash
	}{
		{"rsa-sha256", rsaKey, crypto.SHA256},
		{"rsa-sha384", rsaKey, crypto.SHA384},
		{"rsapss-sha256", pss, crypto.SHA256},
		{"ecc-p256-sha256", eccKey, crypto.SHA256},
		{"ecc-p384-sha384", p384, crypto.SHA384},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mint(t, tc.ak, tc.bank, testNonce)
			c, err := verifyEv(t, pinned(t, tc.ak), m.ev, expect(testNonce))
			if err != nil {
				t.Fatal(err)
			}
			if c.Bank != tc.bank || !c.AK.AttributesChecked || c.AK.Trust != "pinned-key" {
				t.Fatalf("claims bank %v attributes %v trust %q", c.Bank, c.AK.AttributesChecked, c.AK.Trust)
			}
			checkStandardBootClaims(t, c, m, tc.bank)
		})
	}
}

func checkStandardBootClaims(t *testing.T, c *tpm.Claims, m *minted, bank crypto.Hash) {
	t.Helper()
	want := m.log.PCRs(bank)
	for i, v := range want {
		if !bytes.Equal(c.PCRs[i], v) {
			t.Errorf("PCR %d: claim %x, want %x", i, c.PCRs[i], v)
		}
	}
	if c.Log == nil || c.Log.SecureBoot == nil || !c.Log.SecureBoot.Enabled {
		t.Fatalf("secure boot claim missing or disabled: %+v", c.Log)
	}
	if len(c.Log.SecureBoot.DB.Certs) != 2 || len(c.Log.SecureBoot.Authority) != 1 {
		t.Errorf("db certs %v authority %v", c.Log.SecureBoot.DB.Certs, c.Log.SecureBoot.Authority)
	}
	if len(c.Log.BootApps) != 2 {
		t.Errorf("boot apps %v, want 2", c.Log.BootApps)
	}
	h := bank.New()
	h.Write([]byte("shimx64.efi image"))
	if c.Log.BootApps[0] != hex.EncodeToString(h.Sum(nil)) {
		t.Errorf("boot app 0 %s", c.Log.BootApps[0])
	}
	if c.Log.KernelCmdline == nil || *c.Log.KernelCmdline != tpmtest.KernelCmdline {
		t.Errorf("kernel cmdline %v, want %q", c.Log.KernelCmdline, tpmtest.KernelCmdline)
	}
	if c.Log.GRUB == nil || len(c.Log.GRUB.Commands) != 3 || len(c.Log.GRUB.Files) != 1 {
		t.Errorf("grub %+v", c.Log.GRUB)
	}
	m2 := c.Map()
	for _, k := range []string{"pcr00", "pcr07", "ak.fingerprint", "secure_boot.enabled", "boot_apps", "kernel_cmdline", "grub.commands", "quote.clock", "quote.firmware_version"} {
		if _, ok := m2[k]; !ok {
			t.Errorf("claim %q missing from Map", k)
		}
	}
	if m2["report_data"] != hex.EncodeToString(testNonce) {
		t.Errorf("report_data %v", m2["report_data"])
	}
	if _, ok := m2[verify.ClaimUnsafe]; ok {
		t.Error("unsafe claim set for a SHA-2 bank")
	}
}

func TestEncodings(t *testing.T) {
	rsaKey, _, ca := keys(t)
	m := mint(t, rsaKey, crypto.SHA256, testNonce)
	v := pinned(t, rsaKey)
	ctx := context.Background()

	pbBytes, err := tpmtest.MarshalProto(m.ev)
	if err != nil {
		t.Fatal(err)
	}
	jsonBytes, err := json.Marshal(m.ev)
	if err != nil {
		t.Fatal(err)
	}
	q := m.ev.Quotes[0]
	trustee := map[string]any{
		"ak_public": base64.StdEncoding.EncodeToString(rsaKey.SPKI()),
		"tpm_quote": map[string]any{
			"message":   base64.StdEncoding.EncodeToString(q.Attest),
			"signature": base64.StdEncoding.EncodeToString(q.Signature),
			"pcrs":      trusteePCRs(q.PCRs),
		},
	}
	// Trustee quotes cover all 24 SHA-256 PCRs.
	full := map[int][]byte{}
	for i := range 24 {
		full[i] = make([]byte, 32)
		if p, ok := q.PCRs[i]; ok {
			full[i] = p
		}
	}
	tq, err := rsaKey.Quote(crypto.SHA256, full, testNonce)
	if err != nil {
		t.Fatal(err)
	}
	trustee["tpm_quote"] = map[string]any{
		"message":   base64.StdEncoding.EncodeToString(tq.Attest),
		"signature": base64.StdEncoding.EncodeToString(tq.Signature),
		"pcrs":      trusteePCRs(full),
	}
	trusteeBytes, _ := json.Marshal(trustee)

	for _, tc := range []struct {
		name string
		b    []byte
		enc  tpm.Encoding
		log  bool
	}{
		{"proto", pbBytes, tpm.EncodingProto, true},
		{"evidence-json", jsonBytes, tpm.EncodingEvidence, true},
		{"trustee-json", trusteeBytes, tpm.EncodingTrustee, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !v.Detect(tc.b) {
				t.Fatal("Detect: false")
			}
			if _, enc, err := tpm.Decode(tc.b); err != nil || enc != tc.enc {
				t.Fatalf("Decode: %v, %v; want %v", enc, err, tc.enc)
			}
			c, err := v.Verify(ctx, tc.b, expect(testNonce))
			if err != nil {
				t.Fatal(err)
			}
			tc2 := c.(*tpm.Claims)
			if (tc2.Log != nil) != tc.log {
				t.Fatalf("event log claims present = %v, want %v", tc2.Log != nil, tc.log)
			}
		})
	}

	// With an AK certificate and roots instead of a pinned key.
	cert, err := ca.CertifyAK(rsaKey, testNow.AddDate(0, -1, 0), testNow.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	ev := *m.ev
	ev.AKCert = cert
	rv, err := tpm.NewVerifier(tpm.WithAKRoots(ca.Cert))
	if err != nil {
		t.Fatal(err)
	}
	c, err := rv.VerifyEvidence(ctx, &ev, expect(testNonce))
	if err != nil {
		t.Fatal(err)
	}
	if c.AK.Trust != "certificate" || c.AK.CertSubject == "" {
		t.Fatalf("AK claims %+v", c.AK)
	}
	// The second call hits the chain cache and must give the same claims.
	c2, err := rv.VerifyEvidence(ctx, &ev, expect(testNonce))
	if err != nil || c2.AK.CertSubject != c.AK.CertSubject {
		t.Fatalf("cached verification: %v, %+v", err, c2)
	}
}

func trusteePCRs(p map[int][]byte) []string {
	out := make([]string, 24)
	for i := range out {
		out[i] = hex.EncodeToString(p[i])
	}
	return out
}

func TestDetectRejectsOtherFormats(t *testing.T) {
	rsaKey, _, _ := keys(t)
	v := pinned(t, rsaKey)
	for _, b := range [][]byte{
		nil, {}, []byte("{}"), []byte(`{"quote":"AAAA","cc_eventlog":null}`),
		{4, 0, 2, 0, 0x81, 0, 0, 0}, // TDX quote header
		bytes.Repeat([]byte{0xff}, 64),
	} {
		if v.Detect(b) {
			t.Errorf("Detect(%q) = true", b)
		}
	}
}

func TestRegistry(t *testing.T) {
	rsaKey, _, _ := keys(t)
	v := pinned(t, rsaKey)
	reg, err := verify.NewRegistry(v)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tpmtest.MarshalProto(mint(t, rsaKey, crypto.SHA256, testNonce).ev)
	if err != nil {
		t.Fatal(err)
	}
	c, err := reg.Verify(context.Background(), "", b, expect(testNonce))
	if err != nil || c.Format() != verify.FormatTPM {
		t.Fatalf("registry: %v %v", c, err)
	}
}

func TestNewVerifierConfig(t *testing.T) {
	rsaKey, _, ca := keys(t)
	for _, tc := range []struct {
		name string
		opts []tpm.Option
	}{
		{"no trust", nil},
		{"both trusts", []tpm.Option{tpm.WithTrustedAKs(rsaKey.Public()), tpm.WithAKRoots(ca.Cert)}},
		{"empty keys", []tpm.Option{tpm.WithTrustedAKs()}},
		{"empty roots", []tpm.Option{tpm.WithAKRoots()}},
		{"sha1 without unsafe", []tpm.Option{tpm.WithTrustedAKs(rsaKey.Public()), tpm.WithHashAlgs(crypto.SHA1)}},
		{"bad hash", []tpm.Option{tpm.WithTrustedAKs(rsaKey.Public()), tpm.WithHashAlgs(crypto.MD5)}},
		{"bad pcr", []tpm.Option{tpm.WithTrustedAKs(rsaKey.Public()), tpm.WithRequiredPCRs(24)}},
		{"nil root", []tpm.Option{tpm.WithAKRoots(ca.Cert, nil)}},
		// A nil intermediate would make every chain verification panic.
		{"nil intermediate", []tpm.Option{tpm.WithAKRoots(ca.Cert), tpm.WithAKIntermediates(nil)}},
		{"nil trusted AK", []tpm.Option{tpm.WithTrustedAKs(nil)}},
		{"bound only and pinned", []tpm.Option{tpm.WithBoundAKsOnly(), tpm.WithTrustedAKs(rsaKey.Public())}},
		{"bound only and roots", []tpm.Option{tpm.WithBoundAKsOnly(), tpm.WithAKRoots(ca.Cert)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := tpm.NewVerifier(tc.opts...)
			if !errors.Is(err, verify.ErrConfig) || v != nil {
				t.Fatalf("NewVerifier: %v, %v; want ErrConfig", v, err)
			}
		})
	}
}

func TestSHA1BankOnlyWhenUnsafe(t *testing.T) {
	rsaKey, _, _ := keys(t)
	m := mintLog(t, rsaKey, crypto.SHA1, testNonce, tpmtest.StandardBoot(crypto.SHA1, crypto.SHA256))
	c, err := verifyEv(t, pinned(t, rsaKey), m.ev, expect(testNonce))
	mustFail(t, c, err, verify.ErrPolicy)

	v := pinned(t, rsaKey, tpm.WithHashAlgs(crypto.SHA1), tpm.WithSHA1Unsafe())
	c, err = verifyEv(t, v, m.ev, expect(testNonce))
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := c.Map()[verify.ClaimUnsafe].([]string); !slices.Equal(u, []string{string(tpm.UnsafeSHA1)}) || !slices.Equal(c.UnsafeSwitches(), []verify.UnsafeSwitch{tpm.UnsafeSHA1}) {
		t.Fatalf("SHA-1 bank accepted without its unsafe switch: %v", u)
	}
}

func TestBankPreference(t *testing.T) {
	rsaKey, _, _ := keys(t)
	log := tpmtest.StandardBoot()
	a := mintLog(t, rsaKey, crypto.SHA256, testNonce, log)
	b := mintLog(t, rsaKey, crypto.SHA384, testNonce, log)
	ev := *a.ev
	ev.Quotes = []tpm.Quote{a.ev.Quotes[0], b.ev.Quotes[0]}
	c, err := verifyEv(t, pinned(t, rsaKey), &ev, expect(testNonce))
	if err != nil || c.Bank != crypto.SHA384 {
		t.Fatalf("default preference: bank %v, %v", c, err)
	}
	c, err = verifyEv(t, pinned(t, rsaKey, tpm.WithHashAlgs(crypto.SHA256)), &ev, expect(testNonce))
	if err != nil || c.Bank != crypto.SHA256 {
		t.Fatalf("SHA-256 only: %v, %v", c, err)
	}
}

func TestInitDataPCR8(t *testing.T) {
	rsaKey, _, _ := keys(t)
	digest := bytes.Repeat([]byte{0xab}, 32)
	log := tpmtest.NewEventLog(crypto.SHA256)
	log.AddMeasured(8, tpmtest.EvIPL, []byte("init data"), nil)
	log.Events[0].Digests[crypto.SHA256] = digest
	m := mintLog(t, rsaKey, crypto.SHA256, testNonce, log)
	m.ev.EventLog = nil // Trustee-style: PCR 8 alone carries init data
	v := pinned(t, rsaKey)
	exp := expect(testNonce)
	// PCR 8 is the init-data digest extended into a zero PCR, the value
	// binding.InitDataField gives for the expectation.
	pcr8, err := binding.InitDataField(verify.FormatTPM, digest)
	if err != nil {
		t.Fatal(err)
	}
	exp.InitDataDigest = pcr8
	c, err := verifyEv(t, v, m.ev, exp)
	if err != nil {
		t.Fatal(err)
	}
	if c.Map()["init_data"] != hex.EncodeToString(pcr8) {
		t.Fatalf("init_data claim %v", c.Map()["init_data"])
	}
	// The digest itself is not PCR 8's value.
	exp.InitDataDigest = digest
	c, err = verifyEv(t, v, m.ev, exp)
	mustFail(t, c, err, verify.ErrBinding)
	exp.InitDataDigest = bytes.Repeat([]byte{0xcd}, 32)
	c, err = verifyEv(t, v, m.ev, exp)
	mustFail(t, c, err, verify.ErrBinding)
	exp.InitDataDigest = []byte{}
	c, err = verifyEv(t, v, m.ev, exp)
	mustFail(t, c, err, verify.ErrConfig)

	// Quotes of both banks: the verifier prefers SHA-384, but init data
	// (32 bytes) is in the SHA-256 bank's PCR 8, so that quote is used.
	log2 := tpmtest.NewEventLog(crypto.SHA256, crypto.SHA384)
	log2.AddMeasured(8, tpmtest.EvIPL, []byte("init data"), nil)
	log2.Events[0].Digests[crypto.SHA256] = digest
	q256, err := rsaKey.Quote(crypto.SHA256, log2.PCRs(crypto.SHA256), testNonce)
	if err != nil {
		t.Fatal(err)
	}
	q384, err := rsaKey.Quote(crypto.SHA384, log2.PCRs(crypto.SHA384), testNonce)
	if err != nil {
		t.Fatal(err)
	}
	both := &tpm.Evidence{AKPublicArea: rsaKey.PublicArea(), Quotes: []tpm.Quote{q384, q256}}
	exp.InitDataDigest = pcr8
	if c, err = verifyEv(t, v, both, exp); err != nil || c.Bank != crypto.SHA256 {
		t.Fatalf("two banks with init data: %v, %v", c, err)
	}
	exp.InitDataDigest = nil
	if c, err = verifyEv(t, v, both, exp); err != nil || c.Bank != crypto.SHA384 {
		t.Fatalf("two banks without init data: %v, %v", c, err)
	}
}

func TestRequiredPCRsAndLog(t *testing.T) {
	rsaKey, _, _ := keys(t)
	m := mint(t, rsaKey, crypto.SHA256, testNonce)
	c, err := verifyEv(t, pinned(t, rsaKey, tpm.WithRequiredPCRs(0, 7, 23)), m.ev, expect(testNonce))
	mustFail(t, c, err, verify.ErrBinding)
	if _, err := verifyEv(t, pinned(t, rsaKey, tpm.WithRequiredPCRs(0, 7, 15)), m.ev, expect(testNonce)); err != nil {
		t.Fatal(err)
	}
	noLog := *m.ev
	noLog.EventLog = nil
	c, err = verifyEv(t, pinned(t, rsaKey, tpm.WithRequireEventLog()), &noLog, expect(testNonce))
	mustFail(t, c, err, verify.ErrMalformed)
}

func TestAKCertificateChain(t *testing.T) {
	rsaKey, _, ca := keys(t)
	inter, err := ca.Intermediate("test AK intermediate", testNow.AddDate(-1, 0, 0), testNow.AddDate(2, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := inter.CertifyAK(rsaKey, testNow.AddDate(0, -1, 0), testNow.AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	m := mint(t, rsaKey, crypto.SHA256, testNonce)
	ev := *m.ev
	ev.AKCert = cert
	ev.Intermediates = [][]byte{inter.Cert.Raw}
	v, err := tpm.NewVerifier(tpm.WithAKRoots(ca.Cert))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifyEv(t, v, &ev, expect(testNonce)); err != nil {
		t.Fatal(err)
	}
	// The same bytes split differently (the intermediate, length-prefixed as
	// the cache key writes it, appended to the AK certificate) are not the
	// cached chain: the AK certificate has trailing data.
	spliced := ev
	spliced.AKCert = append(binary.LittleEndian.AppendUint64(bytes.Clone(cert), uint64(len(inter.Cert.Raw))), inter.Cert.Raw...)
	spliced.Intermediates = nil
	c, err := verifyEv(t, v, &spliced, expect(testNonce))
	mustFail(t, c, err, verify.ErrMalformed)
	// Cached chain, but a time past the AK certificate's expiry.
	late := expect(testNonce)
	late.Now = testNow.AddDate(0, 2, 0)
	c, err = verifyEv(t, v, &ev, late)
	mustFail(t, c, err, verify.ErrExpired)
	// Cached chain, but a time before the AK certificate's validity.
	early := expect(testNonce)
	early.Now = testNow.AddDate(0, -2, 0)
	c, err = verifyEv(t, v, &ev, early)
	mustFail(t, c, err, verify.ErrExpired)
	// Without the intermediate the chain does not build.
	ev.Intermediates = nil
	c, err = verifyEv(t, v, &ev, expect(testNonce))
	mustFail(t, c, err, verify.ErrChain)
}

func TestConcurrentVerify(t *testing.T) {
	rsaKey, eccKey, ca := keys(t)
	v, err := tpm.NewVerifier(tpm.WithAKRoots(ca.Cert), tpm.WithCacheSize(1))
	if err != nil {
		t.Fatal(err)
	}
	var evs []*tpm.Evidence
	for _, ak := range []*tpmtest.AK{rsaKey, eccKey} {
		cert, err := ca.CertifyAK(ak, testNow.AddDate(0, -1, 0), testNow.AddDate(1, 0, 0))
		if err != nil {
			t.Fatal(err)
		}
		ev := *mint(t, ak, crypto.SHA256, testNonce).ev
		ev.AKCert = cert
		evs = append(evs, &ev)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := v.VerifyEvidence(context.Background(), evs[i%2], expect(testNonce))
			if err == nil && !slices.Contains([]string{"certificate"}, c.AK.Trust) {
				err = errors.New("wrong trust")
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestContextCanceled(t *testing.T) {
	rsaKey, _, _ := keys(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c, err := pinned(t, rsaKey).VerifyEvidence(ctx, mint(t, rsaKey, crypto.SHA256, testNonce).ev, expect(testNonce))
	if !errors.Is(err, context.Canceled) || !errors.Is(err, verify.ErrCanceled) || c != nil {
		t.Fatalf("canceled: %v", err)
	}
}

// TestExtractionCacheReturnsCopies: claims served from the extraction cache
// equal freshly extracted ones and never alias what an earlier caller got.
func TestExtractionCacheReturnsCopies(t *testing.T) {
	rsaKey, _, _ := keys(t)
	m := mint(t, rsaKey, crypto.SHA256, testNonce)
	v := pinned(t, rsaKey)
	first, err := verifyEv(t, v, m.ev, expect(testNonce))
	if err != nil {
		t.Fatal(err)
	}
	first.Log.BootApps[0] = "tampered"
	first.Log.SecureBoot.DB.Certs[0] = "tampered"
	first.Log.SecureBoot.VarDigests["db"] = "tampered"
	first.Log.GRUB.Commands[0] = "tampered"
	*first.Log.KernelCmdline = "tampered"
	first.Log.SecureBoot.Enabled = false
	cached, err := verifyEv(t, v, m.ev, expect(testNonce))
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := verifyEv(t, pinned(t, rsaKey), m.ev, expect(testNonce))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cached.Log, fresh.Log) {
		t.Fatalf("cached log claims differ from fresh ones:\n%+v\n%+v", cached.Log, fresh.Log)
	}
	// A log that fails replay against another quote is not rescued by the cache.
	other := mint(t, rsaKey, crypto.SHA256, testNonce)
	other.ev.EventLog = m.ev.EventLog
	other.ev.Quotes[0].PCRs = mapsClone(other.ev.Quotes[0].PCRs)
	q, err := rsaKey.Quote(crypto.SHA256, map[int][]byte{0: make([]byte, 32), 4: make([]byte, 32), 7: make([]byte, 32), 8: make([]byte, 32), 9: make([]byte, 32)}, testNonce)
	if err != nil {
		t.Fatal(err)
	}
	other.ev.Quotes = []tpm.Quote{q}
	c, err := verifyEv(t, v, other.ev, expect(testNonce))
	mustFail(t, c, err, verify.ErrBinding)
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		kind error
	}{
		{"not JSON", `{"tpm_quote":`, verify.ErrMalformed},
		{"unknown JSON", `{"foo":1}`, verify.ErrUnsupported},
		{"trustee without ak", `{"tpm_quote":{"message":"","signature":"","pcrs":[]}}`, verify.ErrMalformed},
		{"trustee bad base64", `{"ak_public":"!!","tpm_quote":{"message":"","signature":"","pcrs":[]}}`, verify.ErrMalformed},
		{"trustee bad pcr hex", `{"ak_public":"","tpm_quote":{"message":"","signature":"","pcrs":["zz"]}}`, verify.ErrMalformed},
		{"trustee 25 pcrs", `{"ak_public":"","tpm_quote":{"message":"","signature":"","pcrs":["","","","","","","","","","","","","","","","","","","","","","","","",""]}}`, verify.ErrMalformed},
		{"evidence bad bank", `{"quotes":[{"tpms_attest":"","tpmt_signature":"","pcr_bank":"md5","pcrs":{}}]}`, verify.ErrMalformed},
		{"evidence bad pcr index", `{"quotes":[{"tpms_attest":"","tpmt_signature":"","pcr_bank":"sha256","pcrs":{"024":"00"}}]}`, verify.ErrMalformed},
		{"protobuf garbage", "\x0a\xff\xff\xff\xff\x0f", verify.ErrMalformed},
		{"protobuf group", "\x0b", verify.ErrMalformed},
		{"protobuf repeated ak_pub", "\x0a\x01a\x0a\x01b", verify.ErrMalformed},
		{"protobuf pcr index 24", "\x12\x08\x1a\x06\x12\x04\x08\x18\x12\x00", verify.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, _, err := tpm.Decode([]byte(tc.in))
			if ev != nil {
				t.Fatal("evidence returned with error")
			}
			mustFail(t, nil, err, tc.kind)
		})
	}
}

// TestAKCertificateValidityBoundaries (GEN-04): the AK certificate is valid
// from its notBefore through its notAfter, both inclusive, whether its chain
// is verified afresh or served from the chain cache (warmed at another time).
func TestAKCertificateValidityBoundaries(t *testing.T) {
	rsaKey, _, ca := keys(t)
	notBefore, notAfter := testNow.Add(-time.Hour), testNow.Add(time.Hour)
	cert, err := ca.CertifyAK(rsaKey, notBefore, notAfter)
	if err != nil {
		t.Fatal(err)
	}
	ev := *mint(t, rsaKey, crypto.SHA256, testNonce).ev
	ev.AKCert = cert
	at := func(tm time.Time) verify.Expectations {
		e := expect(testNonce)
		e.Now = tm
		return e
	}
	cases := []struct {
		name string
		now  time.Time
		ok   bool
	}{
		{"at notBefore", notBefore, true},
		{"a second before notBefore", notBefore.Add(-time.Second), false},
		{"at notAfter", notAfter, true},
		{"a second after notAfter", notAfter.Add(time.Second), false},
	}
	for _, warm := range []bool{false, true} {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%s/warm=%v", tc.name, warm), func(t *testing.T) {
				v, err := tpm.NewVerifier(tpm.WithAKRoots(ca.Cert))
				if err != nil {
					t.Fatal(err)
				}
				if warm {
					if _, err := verifyEv(t, v, &ev, at(testNow)); err != nil {
						t.Fatal(err)
					}
				}
				c, err := verifyEv(t, v, &ev, at(tc.now))
				if tc.ok {
					if err != nil || c == nil || c.AK.Trust != "certificate" {
						t.Fatalf("at %v: claims %v, error %v; want certificate trust", tc.now, c, err)
					}
					return
				}
				mustFail(t, c, err, verify.ErrExpired)
			})
		}
	}
}

// VerifyBoundAK trusts the AK the caller bound, refuses a quote another key
// signed and an evidence AK form that is another key; a WithBoundAKsOnly
// verifier has no trust of its own.
func TestVerifyBoundAK(t *testing.T) {
	rsaKey, eccKey, _ := keys(t)
	v, err := tpm.NewVerifier(tpm.WithBoundAKsOnly())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m := mint(t, rsaKey, crypto.SHA256, testNonce)
	c, err := v.VerifyBoundAK(ctx, m.ev, rsaKey.Public(), expect(testNonce))
	if err != nil || c.AK.Trust != "bound" {
		t.Fatalf("bound AK: %v, %v", c, err)
	}
	// The evidence's public area is rsaKey; the caller bound eccKey.
	c, err = v.VerifyBoundAK(ctx, m.ev, eccKey.Public(), expect(testNonce))
	mustFail(t, c, err, verify.ErrBinding)
	// No AK form in the evidence: the quote's signature decides.
	bare := &tpm.Evidence{Quotes: m.ev.Quotes}
	c, err = v.VerifyBoundAK(ctx, bare, eccKey.Public(), expect(testNonce))
	mustFail(t, c, err, verify.ErrSignature)
	if _, err = v.VerifyBoundAK(ctx, bare, rsaKey.Public(), expect(testNonce)); err != nil {
		t.Fatalf("bare evidence, bound AK: %v", err)
	}
	c, err = v.VerifyEvidence(ctx, m.ev, expect(testNonce))
	mustFail(t, c, err, verify.ErrConfig)
	c, err = v.VerifyBoundAK(ctx, m.ev, nil, expect(testNonce))
	mustFail(t, c, err, verify.ErrConfig)
	// The quote's other checks still run: extraData and PCR values.
	c, err = v.VerifyBoundAK(ctx, bare, rsaKey.Public(), expect([]byte("another session's nonce")))
	mustFail(t, c, err, verify.ErrFreshness)
	edited := &tpm.Evidence{Quotes: []tpm.Quote{m.ev.Quotes[0]}}
	edited.Quotes[0].PCRs = maps.Clone(edited.Quotes[0].PCRs)
	edited.Quotes[0].PCRs[0] = bytes.Repeat([]byte{0xee}, 32)
	c, err = v.VerifyBoundAK(ctx, edited, rsaKey.Public(), expect(testNonce))
	mustFail(t, c, err, verify.ErrBinding)
	// A verifier with pinned AKs trusts the bound key without its list, and
	// names the trust "bound".
	pv := pinned(t, eccKey)
	if c, err = pv.VerifyBoundAK(ctx, bare, rsaKey.Public(), expect(testNonce)); err != nil || c.AK.Trust != "bound" || len(c.AK.Fingerprint) != 32 {
		t.Fatalf("pinned verifier, bound AK: %v, %v", c, err)
	}
}
