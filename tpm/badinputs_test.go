package tpm_test

// One test per TPM-* case of the bad-input catalogue (badinputs.md §F). Each
// asserts the error kind with errors.Is and that no claims are returned.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/trustfactory/attest/tpm"
	"github.com/trustfactory/attest/tpm/tpmtest"
	"github.com/trustfactory/attest/verify"
)

// attestFor returns the Attest a genuine quote over vals would carry.
func attestFor(bank crypto.Hash, vals map[int][]byte, nonce []byte) tpmtest.Attest {
	sel := make([]int, 0, len(vals))
	for i := range vals {
		sel = append(sel, i)
	}
	return tpmtest.Attest{ExtraData: nonce, Safe: true, Bank: bank, Select: sel, PCRDigest: tpmtest.PCRDigest(crypto.SHA256, sel, vals)}
}

func TestTPM01FlippedAttestByte(t *testing.T) {
	rsaKey, _, _ := keys(t)
	m := mint(t, rsaKey, crypto.SHA256, testNonce)
	q := &m.ev.Quotes[0]
	q.Attest = bytes.Clone(q.Attest)
	q.Attest[len(q.Attest)-1] ^= 1 // last byte of pcrDigest
	c, err := verifyEv(t, pinned(t, rsaKey), m.ev, expect(testNonce))
	mustFail(t, c, err, verify.ErrSignature)

	// The same on the real GCE attestation.
	ev, _, err := tpm.Decode(readFile(t, "gce-cos-85-nonce9009.pb"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range ev.Quotes {
		ev.Quotes[i].Attest = bytes.Clone(ev.Quotes[i].Attest)
		ev.Quotes[i].Attest[len(ev.Quotes[i].Attest)-1] ^= 1
	}
	c, err = verifyEv(t, gceVerifier(t), ev, gceExpect())
	mustFail(t, c, err, verify.ErrSignature)
}

func TestTPM02ForgedMagicWithUnrestrictedKey(t *testing.T) {
	// An unrestricted signing key can TPM2_Sign anything, including a
	// structure that claims to be TPM-generated.
	key, err := tpmtest.NewRSAAK(2048)
	if err != nil {
		t.Fatal(err)
	}
	key.Attributes &^= 1 << 16 // not restricted
	vals := map[int][]byte{0: make([]byte, 32)}
	a := attestFor(crypto.SHA256, vals, testNonce)
	q, err := key.SignAttest(a, crypto.SHA256, vals)
	if err != nil {
		t.Fatal(err)
	}
	ev := &tpm.Evidence{AKPublicArea: key.PublicArea(), Quotes: []tpm.Quote{q}}
	c, err := verifyEv(t, pinned(t, key), ev, expect(testNonce))
	mustFail(t, c, err, verify.ErrSignature)

	// With only the SPKI (no attributes to check), a wrong magic is malformed.
	a.Magic = 0xff544348
	q, err = key.SignAttest(a, crypto.SHA256, vals)
	if err != nil {
		t.Fatal(err)
	}
	ev = &tpm.Evidence{AKPublicKey: key.SPKI(), Quotes: []tpm.Quote{q}}
	c, err = verifyEv(t, pinned(t, key), ev, expect(testNonce))
	mustFail(t, c, err, verify.ErrMalformed)
}

func TestTPM03CertifyPresentedAsQuote(t *testing.T) {
	rsaKey, _, _ := keys(t)
	vals := map[int][]byte{0: make([]byte, 32)}
	a := attestFor(crypto.SHA256, vals, testNonce)
	a.Type = tpmtest.STAttestCertify
	q, err := rsaKey.SignAttest(a, crypto.SHA256, vals)
	if err != nil {
		t.Fatal(err)
	}
	c, err := verifyEv(t, pinned(t, rsaKey), &tpm.Evidence{AKPublicArea: rsaKey.PublicArea(), Quotes: []tpm.Quote{q}}, expect(testNonce))
	mustFail(t, c, err, verify.ErrMalformed)
}

func TestTPM04Nonce(t *testing.T) {
	rsaKey, _, _ := keys(t)
	m := mint(t, rsaKey, crypto.SHA256, testNonce)
	v := pinned(t, rsaKey)
	t.Run("extraData differs", func(t *testing.T) {
		c, err := verifyEv(t, v, m.ev, expect([]byte("another session nonce")))
		mustFail(t, c, err, verify.ErrFreshness)
	})
	t.Run("expected prefix, extra bytes in extraData", func(t *testing.T) {
		c, err := verifyEv(t, v, m.ev, expect(testNonce[:16]))
		mustFail(t, c, err, verify.ErrFreshness)
	})
	t.Run("nonce nil", func(t *testing.T) {
		c, err := verifyEv(t, v, m.ev, verify.Expectations{Now: testNow})
		mustFail(t, c, err, verify.ErrConfig)
	})
	t.Run("zero quotes", func(t *testing.T) {
		ev := *m.ev
		ev.Quotes = nil
		c, err := verifyEv(t, v, &ev, expect(testNonce))
		mustFail(t, c, err, verify.ErrFreshness)
	})
	t.Run("empty extraData", func(t *testing.T) {
		e := mint(t, rsaKey, crypto.SHA256, nil)
		c, err := verifyEv(t, v, e.ev, expect(testNonce))
		mustFail(t, c, err, verify.ErrFreshness)
	})
}

func TestTPM05PCRCoverage(t *testing.T) {
	rsaKey, _, _ := keys(t)
	v := pinned(t, rsaKey)
	vals := map[int][]byte{0: bytes.Repeat([]byte{1}, 32), 7: bytes.Repeat([]byte{7}, 32)}
	t.Run("empty selection", func(t *testing.T) {
		a := tpmtest.Attest{ExtraData: testNonce, PCRDigest: tpmtest.PCRDigest(crypto.SHA256, nil, nil)}
		q, err := rsaKey.SignAttest(a, crypto.SHA256, vals)
		if err != nil {
			t.Fatal(err)
		}
		c, err := verifyEv(t, v, &tpm.Evidence{AKPublicArea: rsaKey.PublicArea(), Quotes: []tpm.Quote{q}}, expect(testNonce))
		mustFail(t, c, err, verify.ErrBinding)
	})
	t.Run("partial selection", func(t *testing.T) {
		a := attestFor(crypto.SHA256, map[int][]byte{0: vals[0]}, testNonce)
		q, err := rsaKey.SignAttest(a, crypto.SHA256, vals) // PCR 7 supplied but not quoted
		if err != nil {
			t.Fatal(err)
		}
		c, err := verifyEv(t, v, &tpm.Evidence{AKPublicArea: rsaKey.PublicArea(), Quotes: []tpm.Quote{q}}, expect(testNonce))
		mustFail(t, c, err, verify.ErrBinding)
	})
	t.Run("log event outside selection", func(t *testing.T) {
		m := mint(t, rsaKey, crypto.SHA256, testNonce)
		vals := mapsClone(m.ev.Quotes[0].PCRs)
		delete(vals, 7)
		q, err := rsaKey.Quote(crypto.SHA256, vals, testNonce)
		if err != nil {
			t.Fatal(err)
		}
		m.ev.Quotes = []tpm.Quote{q}
		c, err := verifyEv(t, v, m.ev, expect(testNonce))
		mustFail(t, c, err, verify.ErrBinding)
	})
	t.Run("bank label differs from selection", func(t *testing.T) {
		m := mint(t, rsaKey, crypto.SHA256, testNonce)
		m.ev.Quotes[0].Bank = crypto.SHA384
		c, err := verifyEv(t, v, m.ev, expect(testNonce))
		mustFail(t, c, err, verify.ErrBinding)
	})
}

func TestTPM06PCRDigestMismatch(t *testing.T) {
	rsaKey, _, _ := keys(t)
	m := mint(t, rsaKey, crypto.SHA256, testNonce)
	m.ev.Quotes[0].PCRs = mapsClone(m.ev.Quotes[0].PCRs)
	m.ev.Quotes[0].PCRs[10] = bytes.Repeat([]byte{0xee}, 32)
	c, err := verifyEv(t, pinned(t, rsaKey), m.ev, expect(testNonce))
	mustFail(t, c, err, verify.ErrBinding)
}

func TestTPM07SignatureAlgorithmTag(t *testing.T) {
	rsaKey, eccKey, _ := keys(t)
	vals := map[int][]byte{0: make([]byte, 32)}
	msg := attestFor(crypto.SHA256, vals, testNonce).Marshal()
	t.Run("RSA AK, ECDSA-tagged signature", func(t *testing.T) {
		sig := tpmtest.ECDSASignature(crypto.SHA256, bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32))
		q := tpm.Quote{Attest: msg, Signature: sig, Bank: crypto.SHA256, PCRs: vals}
		for _, ev := range []*tpm.Evidence{
			{AKPublicArea: rsaKey.PublicArea(), Quotes: []tpm.Quote{q}},
			{AKPublicKey: rsaKey.SPKI(), Quotes: []tpm.Quote{q}},
		} {
			c, err := verifyEv(t, pinned(t, rsaKey), ev, expect(testNonce))
			mustFail(t, c, err, verify.ErrSignature)
		}
	})
	t.Run("ECC AK, RSASSA-tagged signature", func(t *testing.T) {
		sig := tpmtest.RSASignature(tpmtest.AlgRSASSA, crypto.SHA256, bytes.Repeat([]byte{1}, 64))
		q := tpm.Quote{Attest: msg, Signature: sig, Bank: crypto.SHA256, PCRs: vals}
		for _, ev := range []*tpm.Evidence{
			{AKPublicArea: eccKey.PublicArea(), Quotes: []tpm.Quote{q}},
			{AKPublicKey: eccKey.SPKI(), Quotes: []tpm.Quote{q}},
		} {
			c, err := verifyEv(t, pinned(t, eccKey), ev, expect(testNonce))
			mustFail(t, c, err, verify.ErrSignature)
		}
	})
}

func TestTPM08BadCurve(t *testing.T) {
	_, eccKey, _ := keys(t)
	vals := map[int][]byte{0: make([]byte, 32)}
	t.Run("BN-P256 curve ID", func(t *testing.T) {
		bn := *eccKey
		bn.Curve = tpmtest.CurveBNP256
		q, err := bn.Quote(crypto.SHA256, vals, testNonce)
		if err != nil {
			t.Fatal(err)
		}
		c, err := verifyEv(t, pinned(t, eccKey), &tpm.Evidence{AKPublicArea: bn.PublicArea(), Quotes: []tpm.Quote{q}}, expect(testNonce))
		mustFail(t, c, err, verify.ErrSignature)
	})
	t.Run("P-224 key", func(t *testing.T) {
		k, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		ak := &tpmtest.AK{Signer: k, Attributes: tpmtest.AKAttributes, Scheme: tpmtest.AlgECDSA, SchemeHash: tpmtest.AlgSHA256}
		q, err := ak.Quote(crypto.SHA256, vals, testNonce)
		if err != nil {
			t.Fatal(err)
		}
		spki, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tpm.NewVerifier(tpm.WithTrustedAKs(&k.PublicKey))
		if err != nil {
			t.Fatal(err)
		}
		v := pinned(t, eccKey)
		c, err := verifyEv(t, v, &tpm.Evidence{AKPublicKey: spki, Quotes: []tpm.Quote{q}}, expect(testNonce))
		mustFail(t, c, err, verify.ErrSignature)
	})
	t.Run("point not on curve", func(t *testing.T) {
		pa := eccKey.PublicArea()
		pa[len(pa)-1] ^= 1 // last byte of Y
		_, err := tpm.ParsePublic(pa)
		mustFail(t, nil, err, verify.ErrSignature)
	})
}

func TestTPM09WeakCrypto(t *testing.T) {
	t.Run("RSA-1024 AK", func(t *testing.T) {
		weak, err := tpmtest.NewRSAAK(1024)
		if err != nil {
			t.Fatal(err)
		}
		m := mint(t, weak, crypto.SHA256, testNonce)
		c, err := verifyEv(t, pinned(t, weak), m.ev, expect(testNonce))
		mustFail(t, c, err, verify.ErrPolicy)
	})
	t.Run("SHA-1 PCR bank", func(t *testing.T) {
		rsaKey, _, _ := keys(t)
		m := mintLog(t, rsaKey, crypto.SHA1, testNonce, tpmtest.StandardBoot(crypto.SHA1))
		c, err := verifyEv(t, pinned(t, rsaKey), m.ev, expect(testNonce))
		mustFail(t, c, err, verify.ErrPolicy)
	})
	t.Run("SHA-1 signature hash", func(t *testing.T) {
		rsaKey, _, _ := keys(t)
		open := *rsaKey
		open.Scheme = tpmtest.AlgNull
		vals := map[int][]byte{0: make([]byte, 32)}
		a := attestFor(crypto.SHA256, vals, testNonce)
		a.PCRDigest = tpmtest.PCRDigest(crypto.SHA1, []int{0}, vals)
		msg := a.Marshal()
		sig, err := open.Sign(msg, tpmtest.AlgRSASSA, crypto.SHA1)
		if err != nil {
			t.Fatal(err)
		}
		ev := &tpm.Evidence{AKPublicArea: open.PublicArea(), Quotes: []tpm.Quote{{Attest: msg, Signature: sig, Bank: crypto.SHA256, PCRs: vals}}}
		c, err := verifyEv(t, pinned(t, rsaKey), ev, expect(testNonce))
		mustFail(t, c, err, verify.ErrPolicy)
	})
}

func TestTPM10AKTrust(t *testing.T) {
	rsaKey, eccKey, ca := keys(t)
	m := mint(t, rsaKey, crypto.SHA256, testNonce)
	roots, err := tpm.NewVerifier(tpm.WithAKRoots(ca.Cert))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("no AK certificate", func(t *testing.T) {
		c, err := verifyEv(t, roots, m.ev, expect(testNonce))
		mustFail(t, c, err, verify.ErrChain)
	})
	t.Run("certificate from another CA", func(t *testing.T) {
		other, err := tpmtest.NewCA("attacker CA", testNow.AddDate(-1, 0, 0), testNow.AddDate(1, 0, 0))
		if err != nil {
			t.Fatal(err)
		}
		cert, err := other.CertifyAK(rsaKey, testNow.AddDate(0, -1, 0), testNow.AddDate(1, 0, 0))
		if err != nil {
			t.Fatal(err)
		}
		ev := *m.ev
		ev.AKCert = cert
		ev.Intermediates = [][]byte{other.Cert.Raw} // a self-signed "intermediate" is no root
		c, err := verifyEv(t, roots, &ev, expect(testNonce))
		mustFail(t, c, err, verify.ErrChain)
	})
	t.Run("key not pinned", func(t *testing.T) {
		c, err := verifyEv(t, pinned(t, eccKey), m.ev, expect(testNonce))
		mustFail(t, c, err, verify.ErrChain)
	})
	t.Run("certificate for another key", func(t *testing.T) {
		cert, err := ca.CertifyAK(eccKey, testNow.AddDate(0, -1, 0), testNow.AddDate(1, 0, 0))
		if err != nil {
			t.Fatal(err)
		}
		ev := *m.ev
		ev.AKCert = cert
		c, err := verifyEv(t, roots, &ev, expect(testNonce))
		mustFail(t, c, err, verify.ErrBinding)
	})
	t.Run("expired AK certificate", func(t *testing.T) {
		cert, err := ca.CertifyAK(rsaKey, testNow.AddDate(0, -2, 0), testNow.Add(-time.Second))
		if err != nil {
			t.Fatal(err)
		}
		ev := *m.ev
		ev.AKCert = cert
		c, err := verifyEv(t, roots, &ev, expect(testNonce))
		mustFail(t, c, err, verify.ErrExpired)
	})
}

func TestTPM11ReplayMismatch(t *testing.T) {
	rsaKey, _, _ := keys(t)
	v := pinned(t, rsaKey)
	for _, tc := range []struct {
		name   string
		tamper func(l *tpmtest.EventLog)
		pcrs   []int
	}{
		{"modified digest", func(l *tpmtest.EventLog) {
			ev := &l.Events[len(l.Events)-1]
			ev.Digests[crypto.SHA256] = bytes.Repeat([]byte{9}, 32)
		}, []int{8}},
		{"dropped event", func(l *tpmtest.EventLog) {
			i := slices.IndexFunc(l.Events, func(e tpmtest.Event) bool { return e.PCR == 4 && e.Type == tpmtest.EvEFIBootServicesApp })
			l.Events = slices.Delete(l.Events, i, i+1)
		}, []int{4}},
		{"reordered events of one PCR", func(l *tpmtest.EventLog) {
			var idx []int
			for i, e := range l.Events {
				if e.PCR == 8 {
					idx = append(idx, i)
				}
			}
			l.Events[idx[0]], l.Events[idx[1]] = l.Events[idx[1]], l.Events[idx[0]]
		}, []int{8}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mint(t, rsaKey, crypto.SHA256, testNonce)
			tc.tamper(m.log)
			m.ev.EventLog = m.log.Bytes()
			c, err := verifyEv(t, v, m.ev, expect(testNonce))
			mustFail(t, c, err, verify.ErrBinding)
			var re *tpm.ReplayError
			if !errorsAs(err, &re) || !slices.Equal(re.PCRs, tc.pcrs) {
				t.Fatalf("replay error %v: want PCRs %v", err, tc.pcrs)
			}
		})
	}
}

// TestTPM12SecureBootTypeMasquerade: the attacker's (software) TPM extends
// everything, so the log replays; the retyped Secure Boot variables must not
// let a forged SecureBoot=1 through.
func TestTPM12SecureBootTypeMasquerade(t *testing.T) {
	rsaKey, _, _ := keys(t)
	log := tpmtest.NewEventLog(crypto.SHA256)
	log.Add(7, tpmtest.EvUnused, tpmtest.UEFIVariable(tpmtest.EFIGlobalVariable(), "SecureBoot", []byte{0}))
	log.Add(7, tpmtest.EvUnused, tpmtest.UEFIVariable(tpmtest.EFIImageSecurityDB(), "db", nil))
	log.Add(7, tpmtest.EvEFIVariableDriverConfig, tpmtest.UEFIVariable(tpmtest.EFIGlobalVariable(), "SecureBoot", []byte{1}))
	log.Add(7, tpmtest.EvSeparator, []byte{0, 0, 0, 0})
	m := mintLog(t, rsaKey, crypto.SHA256, testNonce, log)
	c, err := verifyEv(t, pinned(t, rsaKey), m.ev, expect(testNonce))
	mustFail(t, c, err, verify.ErrPolicy)

	// Duplicated Secure Boot variables with honest types are refused too.
	log = tpmtest.NewEventLog(crypto.SHA256)
	log.Add(7, tpmtest.EvEFIVariableDriverConfig, tpmtest.UEFIVariable(tpmtest.EFIGlobalVariable(), "SecureBoot", []byte{0}))
	log.Add(7, tpmtest.EvEFIVariableDriverConfig, tpmtest.UEFIVariable(tpmtest.EFIGlobalVariable(), "SecureBoot", []byte{1}))
	m = mintLog(t, rsaKey, crypto.SHA256, testNonce, log)
	c, err = verifyEv(t, pinned(t, rsaKey), m.ev, expect(testNonce))
	mustFail(t, c, err, verify.ErrPolicy)

	// And a Secure Boot variable after the separator.
	log = tpmtest.NewEventLog(crypto.SHA256)
	log.Add(7, tpmtest.EvSeparator, []byte{0, 0, 0, 0})
	log.Add(7, tpmtest.EvEFIVariableDriverConfig, tpmtest.UEFIVariable(tpmtest.EFIGlobalVariable(), "SecureBoot", []byte{1}))
	m = mintLog(t, rsaKey, crypto.SHA256, testNonce, log)
	c, err = verifyEv(t, pinned(t, rsaKey), m.ev, expect(testNonce))
	mustFail(t, c, err, verify.ErrPolicy)
}

func TestTPM13BootloaderMasquerade(t *testing.T) {
	rsaKey, _, _ := keys(t)
	log := tpmtest.NewEventLog(crypto.SHA256)
	log.AddMeasured(4, tpmtest.EvEFIPlatformFirmwareBlob, make([]byte, 16), []byte("real bootloader"))
	log.AddMeasured(4, tpmtest.EvEFIBootServicesApp, make([]byte, 40), []byte("attacker bootloader"))
	log.Add(4, tpmtest.EvSeparator, []byte{0, 0, 0, 0})
	m := mintLog(t, rsaKey, crypto.SHA256, testNonce, log)
	c, err := verifyEv(t, pinned(t, rsaKey), m.ev, expect(testNonce))
	mustFail(t, c, err, verify.ErrPolicy)

	// A separator hidden under another type in PCR 4 is refused as well.
	log = tpmtest.NewEventLog(crypto.SHA256)
	log.Add(4, tpmtest.EvEFIAction, []byte{0, 0, 0, 0})
	m = mintLog(t, rsaKey, crypto.SHA256, testNonce, log)
	c, err = verifyEv(t, pinned(t, rsaKey), m.ev, expect(testNonce))
	mustFail(t, c, err, verify.ErrPolicy)
}

// TestTPM13BootAppHiddenUnderUncheckedType: PCR 4 admits EV_IPL,
// EV_COMPACT_HASH and EV_EVENT_TAG, whose data nothing ties to their digest.
// The application the platform really booted, retyped to one of them, would
// vanish from the claims while the attacker appends the expected applications
// from the running OS: the boot-application list must then not be claimed.
func TestTPM13BootAppHiddenUnderUncheckedType(t *testing.T) {
	rsaKey, _, _ := keys(t)
	for _, typ := range []uint32{tpmtest.EvIPL, 0xC /* EV_COMPACT_HASH */, 0x6 /* EV_EVENT_TAG */} {
		t.Run(fmt.Sprintf("type %#x", typ), func(t *testing.T) {
			log := tpmtest.NewEventLog(crypto.SHA256)
			log.Add(4, tpmtest.EvEFIAction, []byte("Calling EFI Application from Boot Option"))
			log.Add(4, tpmtest.EvSeparator, []byte{0, 0, 0, 0})
			log.AddMeasured(4, typ, make([]byte, 40), []byte("attacker bootloader"))
			log.AddMeasured(4, tpmtest.EvEFIBootServicesApp, make([]byte, 40), []byte("shimx64.efi image"))
			log.AddMeasured(4, tpmtest.EvEFIBootServicesApp, make([]byte, 40), []byte("grubx64.efi image"))
			m := mintLog(t, rsaKey, crypto.SHA256, testNonce, log)
			c, err := verifyEv(t, pinned(t, rsaKey), m.ev, expect(testNonce))
			if err != nil {
				if !errors_Is(err, verify.ErrPolicy) || c != nil {
					t.Fatalf("error %v (claims %v): want ErrPolicy or an incomplete boot-application list", err, c)
				}
				return
			}
			if c.Log.BootApps != nil || !c.Log.BootAppsIncomplete {
				t.Fatalf("boot applications %v claimed (incomplete=%v) although an unchecked PCR 4 event could hide one", c.Log.BootApps, c.Log.BootAppsIncomplete)
			}
			mm := c.Map()
			if _, ok := mm["boot_apps"]; ok || mm["boot_apps_incomplete"] != true {
				t.Fatalf("claim map: boot_apps %v, boot_apps_incomplete %v", mm["boot_apps"], mm["boot_apps_incomplete"])
			}
		})
	}
	// The honest log still yields its list.
	m := mint(t, rsaKey, crypto.SHA256, testNonce)
	c, err := verifyEv(t, pinned(t, rsaKey), m.ev, expect(testNonce))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Log.BootApps) != 2 || c.Log.BootAppsIncomplete {
		t.Fatalf("standard boot: boot applications %v, incomplete %v", c.Log.BootApps, c.Log.BootAppsIncomplete)
	}
}

// TestTPM13GRUBMeasurementHiddenAsEventTag: EV_EVENT_TAG data is not tied
// to its digest. In PCR 8 a real GRUB command (the kernel command line)
// retyped to it would vanish while the OS appends the expected commands; in
// PCR 9 a real kernel file would vanish the same way. Neither the command
// list nor the file list may then be claimed.
func TestTPM13GRUBMeasurementHiddenAsEventTag(t *testing.T) {
	rsaKey, _, _ := keys(t)
	t.Run("PCR 8", func(t *testing.T) {
		log := tpmtest.NewEventLog(crypto.SHA256)
		log.AddMeasured(8, 0x6 /* EV_EVENT_TAG */, []byte("tag"), []byte("/boot/vmlinuz init=/bin/evil"))
		log.AddMeasured(8, tpmtest.EvIPL, []byte("grub_cmd: linux /boot/vmlinuz ro"), []byte("linux /boot/vmlinuz ro"))
		log.AddMeasured(8, tpmtest.EvIPL, []byte("kernel_cmdline: /boot/vmlinuz ro\x00"), []byte("/boot/vmlinuz ro"))
		m := mintLog(t, rsaKey, crypto.SHA256, testNonce, log)
		c, err := verifyEv(t, pinned(t, rsaKey), m.ev, expect(testNonce))
		if err != nil {
			t.Fatal(err)
		}
		if c.Log.GRUB != nil || c.Log.KernelCmdline != nil {
			t.Fatalf("GRUB %+v and kernel command line %v claimed beside an unchecked PCR 8 event", c.Log.GRUB, c.Log.KernelCmdline)
		}
	})
	t.Run("PCR 9", func(t *testing.T) {
		log := tpmtest.NewEventLog(crypto.SHA256)
		log.AddMeasured(8, tpmtest.EvIPL, []byte("grub_cmd: linux /boot/vmlinuz ro"), []byte("linux /boot/vmlinuz ro"))
		log.AddMeasured(9, 0x6 /* EV_EVENT_TAG */, []byte("Linux initrd"), []byte("evil kernel"))
		log.AddMeasured(9, tpmtest.EvIPL, []byte("/boot/vmlinuz\x00"), []byte("good kernel"))
		m := mintLog(t, rsaKey, crypto.SHA256, testNonce, log)
		c, err := verifyEv(t, pinned(t, rsaKey), m.ev, expect(testNonce))
		if err != nil {
			t.Fatal(err)
		}
		if c.Log.GRUB == nil || len(c.Log.GRUB.Commands) != 1 {
			t.Fatalf("GRUB commands: %+v, want the one authenticated command", c.Log.GRUB)
		}
		if c.Log.GRUB.Files != nil || !c.Log.GRUB.FilesIncomplete {
			t.Fatalf("GRUB files %v claimed (incomplete=%v) beside an unchecked PCR 9 event", c.Log.GRUB.Files, c.Log.GRUB.FilesIncomplete)
		}
		mm := c.Map()
		if _, ok := mm["grub.files"]; ok || mm["grub.files_incomplete"] != true {
			t.Fatalf("claim map: grub.files %v, grub.files_incomplete %v", mm["grub.files"], mm["grub.files_incomplete"])
		}
	})
}

// TestTPM12AuthorityHiddenAsSPDMEvent: PCR 7 admits the SPDM device policy
// and authority types, which the verifier does not interpret. A real
// EV_EFI_VARIABLE_AUTHORITY (the certificate that let an attacker's loader
// run) retyped to one of them must not vanish silently from the authority
// claims while the OS appends the expected authority.
func TestTPM12AuthorityHiddenAsSPDMEvent(t *testing.T) {
	rsaKey, _, _ := keys(t)
	evil := tpmtest.UEFIVariable(tpmtest.EFIImageSecurityDB(), "db", append(make([]byte, 16), []byte("attacker-cert")...))
	good := tpmtest.UEFIVariable(tpmtest.EFIImageSecurityDB(), "db", append(make([]byte, 16), []byte("vendor-cert")...))
	for _, typ := range []uint32{tpm.EvEFISPDMDeviceAuthority, tpm.EvEFISPDMDevicePolicy} {
		t.Run(fmt.Sprintf("type %#x", typ), func(t *testing.T) {
			log := tpmtest.NewEventLog(crypto.SHA256)
			log.Add(7, tpmtest.EvEFIVariableDriverConfig, tpmtest.UEFIVariable(tpmtest.EFIGlobalVariable(), "SecureBoot", []byte{1}))
			log.Add(7, tpmtest.EvSeparator, []byte{0, 0, 0, 0})
			log.Add(7, typ, evil)
			log.Add(7, tpmtest.EvEFIVariableAuthority, good)
			m := mintLog(t, rsaKey, crypto.SHA256, testNonce, log)
			c, err := verifyEv(t, pinned(t, rsaKey), m.ev, expect(testNonce))
			if err != nil {
				if !errors_Is(err, verify.ErrPolicy) || c != nil {
					t.Fatalf("error %v (claims %v): want ErrPolicy or a counted unverified authority", err, c)
				}
				return
			}
			sb := c.Log.SecureBoot
			if sb == nil || len(sb.Authority) != 1 || sb.AuthorityUnverified != 1 {
				t.Fatalf("secure boot claims %+v: want the appended authority and one unverified authority-like event", sb)
			}
			if got := c.Map()["secure_boot.authority_unverified"]; got != 1 {
				t.Fatalf("claim secure_boot.authority_unverified = %v, want 1", got)
			}
		})
	}
}

func TestTPM14DataNotDigest(t *testing.T) {
	rsaKey, _, _ := keys(t)
	v := pinned(t, rsaKey)
	for _, tc := range []struct {
		name string
		ev   func(l *tpmtest.EventLog)
		kind error
	}{
		{"variable data differs from digest", func(l *tpmtest.EventLog) {
			l.AddMeasured(7, tpmtest.EvEFIVariableDriverConfig, tpmtest.UEFIVariable(tpmtest.EFIGlobalVariable(), "SecureBoot", []byte{1}),
				tpmtest.UEFIVariable(tpmtest.EFIGlobalVariable(), "SecureBoot", []byte{0}))
		}, verify.ErrBinding},
		{"separator data not 0 or ~0", func(l *tpmtest.EventLog) {
			l.Add(7, tpmtest.EvSeparator, []byte{1, 0, 0, 0})
		}, verify.ErrMalformed},
		{"separator digest not of its data", func(l *tpmtest.EventLog) {
			l.AddMeasured(7, tpmtest.EvSeparator, []byte{0, 0, 0, 0}, []byte("something else"))
		}, verify.ErrBinding},
		{"EFI action digest not of its data", func(l *tpmtest.EventLog) {
			l.AddMeasured(4, tpmtest.EvEFIAction, []byte("Calling EFI Application from Boot Option"), []byte("other"))
		}, verify.ErrBinding},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := tpmtest.NewEventLog(crypto.SHA256)
			tc.ev(log)
			m := mintLog(t, rsaKey, crypto.SHA256, testNonce, log)
			c, err := verifyEv(t, v, m.ev, expect(testNonce))
			mustFail(t, c, err, tc.kind)
		})
	}
}

// TestTPM14UnverifiedVersionNotClaimed: an S-CRTM version whose data does not
// hash to its digest (real firmware does this) is not claimed.
func TestTPM14UnverifiedVersionNotClaimed(t *testing.T) {
	rsaKey, _, _ := keys(t)
	log := tpmtest.NewEventLog(crypto.SHA256)
	log.AddMeasured(0, tpmtest.EvSCRTMVersion, []byte("v1"), []byte("v2"))
	m := mintLog(t, rsaKey, crypto.SHA256, testNonce, log)
	c, err := verifyEv(t, pinned(t, rsaKey), m.ev, expect(testNonce))
	if err != nil {
		t.Fatal(err)
	}
	if c.Log.SCRTMVersion != nil || !c.Log.SCRTMVersionUnverified || c.Map()["platform.scrtm_version"] != nil {
		t.Fatalf("unverified S-CRTM version claimed: %+v", c.Log)
	}
}

func TestTPM15BankMix(t *testing.T) {
	rsaKey, _, _ := keys(t)
	v := pinned(t, rsaKey, tpm.WithHashAlgs(crypto.SHA256))
	// SHA-256 consistent, SHA-1 garbage: only the quoted bank is read.
	log := tpmtest.StandardBoot(crypto.SHA1, crypto.SHA256)
	for i := range log.Events {
		log.Events[i].Digests[crypto.SHA1] = bytes.Repeat([]byte{0xaa}, 20)
	}
	m := mintLog(t, rsaKey, crypto.SHA256, testNonce, log)
	c, err := verifyEv(t, v, m.ev, expect(testNonce))
	if err != nil {
		t.Fatalf("garbage in an unquoted bank must not matter: %v", err)
	}
	if c.Log.SecureBoot == nil || !c.Log.SecureBoot.Enabled {
		t.Fatal("claims not from the SHA-256 bank")
	}
	// A log without the quoted bank cannot be replayed.
	other := mintLog(t, rsaKey, crypto.SHA256, testNonce, tpmtest.StandardBoot(crypto.SHA256))
	other.ev.EventLog = tpmtest.StandardBoot(crypto.SHA384).Bytes()
	c, err = verifyEv(t, v, other.ev, expect(testNonce))
	mustFail(t, c, err, verify.ErrMalformed)
}

func TestTPM16LocalityAndNoAction(t *testing.T) {
	rsaKey, _, _ := keys(t)
	v := pinned(t, rsaKey)
	t.Run("locality 3 initialises PCR 0", func(t *testing.T) {
		log := tpmtest.StandardBoot(crypto.SHA256)
		log.Locality = 3
		m := mintLog(t, rsaKey, crypto.SHA256, testNonce, log)
		if _, err := verifyEv(t, v, m.ev, expect(testNonce)); err != nil {
			t.Fatal(err)
		}
		// The same log quoted by a TPM that started PCR 0 at locality 0 does not replay.
		log.Locality = 0
		q, err := rsaKey.Quote(crypto.SHA256, mapsCloneAdd(log.PCRs(crypto.SHA256)), testNonce)
		if err != nil {
			t.Fatal(err)
		}
		log.Locality = 3
		ev := &tpm.Evidence{AKPublicArea: rsaKey.PublicArea(), Quotes: []tpm.Quote{q}, EventLog: log.Bytes()}
		c, err := verifyEv(t, v, ev, expect(testNonce))
		mustFail(t, c, err, verify.ErrBinding)
	})
	for _, tc := range []struct {
		name string
		ev   tpmtest.Event
	}{
		{"StartupLocality for PCR 5", tpmtest.Event{PCR: 5, Type: tpmtest.EvNoAction, Data: []byte("StartupLocality\x00\x03")}},
		{"StartupLocality 2", tpmtest.Event{PCR: 0, Type: tpmtest.EvNoAction, Data: []byte("StartupLocality\x00\x02")}},
		{"short StartupLocality", tpmtest.Event{PCR: 0, Type: tpmtest.EvNoAction, Data: []byte("StartupLocality\x00")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := tpmtest.StandardBoot(crypto.SHA256)
			tc.ev.Digests = map[crypto.Hash][]byte{}
			log.Events = append([]tpmtest.Event{tc.ev}, log.Events...)
			m := mintLog(t, rsaKey, crypto.SHA256, testNonce, log)
			c, err := verifyEv(t, v, m.ev, expect(testNonce))
			mustFail(t, c, err, verify.ErrMalformed)
		})
	}
	t.Run("StartupLocality after PCR 0 extend", func(t *testing.T) {
		log := tpmtest.StandardBoot(crypto.SHA256)
		log.Events = append(log.Events, tpmtest.Event{PCR: 0, Type: tpmtest.EvNoAction, Data: []byte("StartupLocality\x00\x03"), Digests: map[crypto.Hash][]byte{}})
		m := mintLog(t, rsaKey, crypto.SHA256, testNonce, log)
		c, err := verifyEv(t, v, m.ev, expect(testNonce))
		mustFail(t, c, err, verify.ErrMalformed)
	})
	t.Run("extended EV_NO_ACTION", func(t *testing.T) {
		log := tpmtest.StandardBoot(crypto.SHA256)
		// The attacker's TPM extends a NO_ACTION event: as type EV_UNUSED while
		// quoting, then the log presents it as EV_NO_ACTION.
		log.AddMeasured(12, tpmtest.EvUnused, []byte("hidden"), []byte("hidden"))
		m := mintLog(t, rsaKey, crypto.SHA256, testNonce, log)
		log.Events[len(log.Events)-1].Type = tpmtest.EvNoAction
		m.ev.EventLog = log.Bytes()
		c, err := verifyEv(t, v, m.ev, expect(testNonce))
		mustFail(t, c, err, verify.ErrBinding)
	})
}

func mapsCloneAdd(m map[int][]byte) map[int][]byte {
	out := mapsClone(m)
	for i := 10; i < 16; i++ {
		out[i] = make([]byte, 32)
	}
	return out
}

func TestTPM17LogFraming(t *testing.T) {
	good := tpmtest.StandardBoot(crypto.SHA256).Bytes()
	specAt := 32 + 16 + 4 + 4 + 4 // legacy header, signature, class, versions, numberOfAlgorithms
	firstEvent := 32 + 16 + 4 + 4 + 4 + 4 + 1
	set32 := func(b []byte, off int, v uint32) []byte {
		out := bytes.Clone(b)
		binary.LittleEndian.PutUint32(out[off:], v)
		return out
	}
	for _, tc := range []struct {
		name string
		log  []byte
		kind error
	}{
		{"spec digestSize wrong", func() []byte { b := bytes.Clone(good); b[specAt+2] = 20; return b }(), verify.ErrMalformed},
		{"spec numberOfAlgorithms huge", set32(good, specAt-4, 0xffffffff), verify.ErrMalformed},
		{"spec algorithm unknown", func() []byte { b := bytes.Clone(good); b[specAt] = 0x99; return b }(), verify.ErrUnsupported},
		{"digestCount 0xFFFF", set32(good, firstEvent+8, 0xffff), verify.ErrMalformed},
		{"eventSize 0xFFFFFFFF", set32(good, firstEvent+12+2+32, 0xffffffff), verify.ErrMalformed},
		{"truncated last event", good[:len(good)-3], verify.ErrMalformed},
		{"truncated header", good[:firstEvent+5], verify.ErrMalformed},
		{"legacy SHA-1 log", set32(good, 4, 8), verify.ErrUnsupported},
		{"PCR index 24", set32(good, firstEvent, 24), verify.ErrMalformed},
		// Sizes and indices with the top bit set must not turn negative
		// where int is 32 bits wide (GOARCH=386, arm).
		{"PCR index 0x80000000", set32(good, firstEvent, 0x80000000), verify.ErrMalformed},
		{"PCR index 0xFFFFFFFF", set32(good, firstEvent, 0xffffffff), verify.ErrMalformed},
		{"spec event size 0x80000000", set32(good, 28, 0x80000000), verify.ErrMalformed},
		{"spec event size 0xFFFFFFFF", set32(good, 28, 0xffffffff), verify.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := tpm.ParseEventLog(tc.log, tpm.Limits{})
			if l != nil {
				t.Fatal("log returned with error")
			}
			mustFail(t, nil, err, tc.kind)
		})
	}
}

func TestTPM18EFISignatureList(t *testing.T) {
	rsaKey, _, _ := keys(t)
	v := pinned(t, rsaKey)
	good := tpmtest.SignatureList(tpmtest.EFICertX509(), [16]byte{1}, []byte("certificate"))
	for _, tc := range []struct {
		name string
		list []byte
	}{
		{"SignatureListSize < 28", func() []byte { b := bytes.Clone(good); binary.LittleEndian.PutUint32(b[16:], 27); return b }()},
		{"SignatureListSize > data", func() []byte { b := bytes.Clone(good); binary.LittleEndian.PutUint32(b[16:], 1<<20); return b }()},
		{"SignatureSize < 16", func() []byte { b := bytes.Clone(good); binary.LittleEndian.PutUint32(b[24:], 15); return b }()},
		{"SignatureSize 0", func() []byte { b := bytes.Clone(good); binary.LittleEndian.PutUint32(b[24:], 0); return b }()},
		{"SignatureHeaderSize huge", func() []byte { b := bytes.Clone(good); binary.LittleEndian.PutUint32(b[20:], 0xffffffff); return b }()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := tpmtest.NewEventLog(crypto.SHA256)
			log.Add(7, tpmtest.EvEFIVariableDriverConfig, tpmtest.UEFIVariable(tpmtest.EFIImageSecurityDB(), "db", tc.list))
			m := mintLog(t, rsaKey, crypto.SHA256, testNonce, log)
			c, err := verifyEv(t, v, m.ev, expect(testNonce))
			mustFail(t, c, err, verify.ErrMalformed)
		})
	}
}

func TestTPM19UEFIVariableLengths(t *testing.T) {
	rsaKey, _, _ := keys(t)
	v := pinned(t, rsaKey)
	good := tpmtest.UEFIVariable(tpmtest.EFIGlobalVariable(), "SecureBoot", []byte{1})
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"NameLength huge", func() []byte { b := bytes.Clone(good); binary.LittleEndian.PutUint64(b[16:], 1<<62); return b }()},
		{"NameLength overflows when doubled", func() []byte { b := bytes.Clone(good); binary.LittleEndian.PutUint64(b[16:], 1<<63+5); return b }()},
		{"DataLength larger than left", func() []byte { b := bytes.Clone(good); binary.LittleEndian.PutUint64(b[24:], 2); return b }()},
		{"DataLength smaller than left", func() []byte { b := bytes.Clone(good); binary.LittleEndian.PutUint64(b[24:], 0); return b }()},
		{"shorter than header", good[:31]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := tpmtest.NewEventLog(crypto.SHA256)
			log.Add(7, tpmtest.EvEFIVariableDriverConfig, tc.data)
			m := mintLog(t, rsaKey, crypto.SHA256, testNonce, log)
			c, err := verifyEv(t, v, m.ev, expect(testNonce))
			mustFail(t, c, err, verify.ErrMalformed)
		})
	}
}

// TestTPM20WindowsSIPA: the verifier never interprets SIPA (Windows boot
// configuration) event data, so deep nesting costs nothing; a SIPA event
// whose size exceeds the log is a framing error.
func TestTPM20WindowsSIPA(t *testing.T) {
	rsaKey, _, _ := keys(t)
	v := pinned(t, rsaKey)
	// 10^5 nested SIPA aggregation headers (type 0x40010001 = SIPAEVENT_TRUSTBOUNDARY | aggregation).
	var nested []byte
	for range 100000 {
		nested = binary.LittleEndian.AppendUint32(nested, 0x40010001)
		nested = binary.LittleEndian.AppendUint32(nested, 0x7fffffff)
	}
	log := tpmtest.NewEventLog(crypto.SHA256)
	log.Add(12, 0x6 /* EV_EVENT_TAG */, nested)
	m := mintLog(t, rsaKey, crypto.SHA256, testNonce, log)
	c, err := verifyEv(t, v, m.ev, expect(testNonce))
	if err != nil {
		t.Fatalf("opaque SIPA data must not be interpreted: %v", err)
	}
	if c.Log.SecureBoot != nil || c.Log.GRUB != nil || c.Log.Events != 1 {
		t.Fatalf("SIPA data produced claims: secure boot %+v, grub %+v, %d events", c.Log.SecureBoot, c.Log.GRUB, c.Log.Events)
	}
	// Header size beyond the bytes left.
	raw := log.Bytes()
	binary.LittleEndian.PutUint32(raw[len(raw)-len(nested)-4:], uint32(len(nested)+1))
	m.ev.EventLog = raw
	c, err = verifyEv(t, v, m.ev, expect(testNonce))
	mustFail(t, c, err, verify.ErrMalformed)
}

func TestTPM21HugeLog(t *testing.T) {
	rsaKey, _, _ := keys(t)
	t.Run("64 MiB", func(t *testing.T) {
		m := mint(t, rsaKey, crypto.SHA256, testNonce)
		m.ev.EventLog = append(bytes.Clone(m.ev.EventLog), make([]byte, 64<<20)...)
		c, err := verifyEv(t, pinned(t, rsaKey), m.ev, expect(testNonce))
		mustFail(t, c, err, verify.ErrLimit)
	})
	t.Run("too many events", func(t *testing.T) {
		log := tpmtest.NewEventLog(crypto.SHA256)
		for range 10000 {
			log.Add(14, tpmtest.EvIPL, nil)
		}
		m := mintLog(t, rsaKey, crypto.SHA256, testNonce, log)
		c, err := verifyEv(t, pinned(t, rsaKey), m.ev, expect(testNonce))
		mustFail(t, c, err, verify.ErrLimit)
		// A tighter configured cap applies as well.
		c, err = verifyEv(t, pinned(t, rsaKey, tpm.WithEventLogLimits(tpm.Limits{MaxEvents: 100})), mint(t, rsaKey, crypto.SHA256, testNonce).ev, expect(testNonce))
		if err != nil {
			t.Fatal(err)
		}
		_ = c
		c, err = verifyEv(t, pinned(t, rsaKey, tpm.WithEventLogLimits(tpm.Limits{MaxEvents: 5})), mint(t, rsaKey, crypto.SHA256, testNonce).ev, expect(testNonce))
		mustFail(t, c, err, verify.ErrLimit)
	})
	t.Run("evidence over 4 MiB", func(t *testing.T) {
		c, err := pinned(t, rsaKey).Verify(t.Context(), make([]byte, 5<<20), expect(testNonce))
		mustFailVC(t, c, err, verify.ErrLimit)
	})
}

// TestTPM22CompositeBinding: a valid quote from another VM (another session)
// fails freshness here; the cross-component binding itself (REPORT_DATA of a
// CPU report covering the AK) belongs to the composite appraiser, for which
// the claims expose the AK fingerprint and the extraData.
func TestTPM22CompositeBinding(t *testing.T) {
	rsaKey, eccKey, _ := keys(t)
	vmA := mint(t, rsaKey, crypto.SHA256, []byte("session of VM A"))
	vmB := mint(t, eccKey, crypto.SHA256, []byte("session of VM B"))
	v, err := tpm.NewVerifier(tpm.WithTrustedAKs(rsaKey.Public(), eccKey.Public()))
	if err != nil {
		t.Fatal(err)
	}
	c, err := verifyEv(t, v, vmA.ev, expect([]byte("session of VM B")))
	mustFail(t, c, err, verify.ErrFreshness)
	a, errA := verifyEv(t, v, vmA.ev, expect([]byte("session of VM A")))
	b, errB := verifyEv(t, v, vmB.ev, expect([]byte("session of VM B")))
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if a.Map()["ak.fingerprint"] == b.Map()["ak.fingerprint"] || a.Map()["ak.fingerprint"] == "" {
		t.Fatal("AK fingerprints must identify the VM's AK for the composite binding")
	}
}

// TestTPM13RetypedSeparatorInPCR0: a PCR 0 event with a separator digest
// under another type (real firmware logs S-CRTM contents like that) ends the
// trusted part of PCR 0: a version measured after it is not claimed.
func TestTPM13RetypedSeparatorInPCR0(t *testing.T) {
	rsaKey, _, _ := keys(t)
	log := tpmtest.NewEventLog(crypto.SHA256)
	log.Add(0, 0x7 /* EV_S_CRTM_CONTENTS */, []byte{0xff, 0xff, 0xff, 0xff})
	log.Add(0, tpmtest.EvSCRTMVersion, []byte("attacker version"))
	m := mintLog(t, rsaKey, crypto.SHA256, testNonce, log)
	c, err := verifyEv(t, pinned(t, rsaKey), m.ev, expect(testNonce))
	if err != nil {
		t.Fatal(err)
	}
	if c.Log.SCRTMVersion != nil {
		t.Fatalf("version after a PCR 0 separator claimed: %q", c.Log.SCRTMVersion)
	}
}
