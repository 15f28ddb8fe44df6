package tpm_test

import (
	"context"
	"crypto"
	"reflect"
	"testing"

	"github.com/trustfactory/attest/tpm"
	"github.com/trustfactory/attest/tpm/tpmtest"
	"github.com/trustfactory/attest/verify"
)

// The event-log and evidence seeds are real logs of 15–45 KB; minimising a
// new input that large takes the default minutes, so run those targets with
// a short -fuzzminimizetime, e.g.
//
//	go test -run='^$' -fuzz='^FuzzParseEventLog$' -fuzztime=45s -fuzzminimizetime=2s ./tpm

// realQuotes returns the quotes of the real GCE attestation, for seeds.
func realQuotes(f *testing.F) *tpm.Evidence {
	ev, _, err := tpm.Decode(readFile(f, "gce-cos-85-nonce9009.pb"))
	if err != nil {
		f.Fatal(err)
	}
	return ev
}

// checkKind fails when err carries no verify kind.
func checkKind(t *testing.T, err error) {
	if err != nil && verify.KindOf(err) == nil {
		t.Fatalf("error without a kind: %v", err)
	}
}

func FuzzParseAttest(f *testing.F) {
	for _, q := range realQuotes(f).Quotes {
		f.Add(q.Attest)
	}
	f.Add(tpmtest.Attest{Bank: crypto.SHA256, Select: []int{0, 7, 23}, ExtraData: []byte("nonce")}.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := tpm.ParseAttest(b)
		checkKind(t, err)
		if err == nil && (a == nil || len(a.ExtraData) > 66 || len(a.PCRDigest) > 64) {
			t.Fatalf("accepted out-of-bounds attest %+v", a)
		}
	})
}

func FuzzParseSignature(f *testing.F) {
	for _, q := range realQuotes(f).Quotes {
		f.Add(q.Signature)
	}
	f.Add(tpmtest.ECDSASignature(crypto.SHA256, make([]byte, 32), make([]byte, 32)))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := tpm.ParseSignature(b)
		checkKind(t, err)
		if err == nil && s.Hash == 0 {
			t.Fatal("signature accepted without a hash")
		}
	})
}

func FuzzParsePublic(f *testing.F) {
	f.Add(realQuotes(f).AKPublicArea)
	_, eccKey, _ := keys(f)
	f.Add(eccKey.PublicArea())
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := tpm.ParsePublic(b)
		checkKind(t, err)
		if err == nil && p.Key == nil {
			t.Fatal("public area accepted without a key")
		}
	})
}

func FuzzParseEventLog(f *testing.F) {
	f.Add(realQuotes(f).EventLog)
	for _, name := range []string{"eventlog-rhel8-uefi.bin", "eventlog-arch-linux-workstation.bin", "eventlog-sp800155.bin", "eventlog-sb-cert.bin"} {
		f.Add(readFile(f, name))
	}
	f.Add(tpmtest.StandardBoot().Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		log, err := tpm.ParseEventLog(b, tpm.Limits{})
		checkKind(t, err)
		if err != nil {
			return
		}
		// Neither replay nor extraction may panic on any parsed log.
		for _, bank := range log.Algs {
			pcrs := map[int][]byte{}
			for i := range 24 {
				pcrs[i] = make([]byte, bank.Size())
			}
			checkKind(t, tpm.Replay(log, bank, pcrs))
			_, err := tpm.Extract(log, bank)
			checkKind(t, err)
		}
	})
}

// FuzzVerify runs whole verifications of mutated evidence: nothing may
// panic, an error always has a kind and comes without claims, and a passing
// input can only carry a TPMS_ATTEST that the AK really signed (one of its
// seed's quotes). Each verifier gets the expectations its seed passes with,
// so that mutations reach the event-log replay and the claim extraction.
func FuzzVerify(f *testing.F) {
	raw := readFile(f, "gce-cos-85-nonce9009.pb")
	f.Add(raw)
	rsaKey, _, _ := keys(f)
	m := mint(f, rsaKey, crypto.SHA256, testNonce)
	minted, err := tpmtest.MarshalProto(m.ev)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(minted)
	type target struct {
		v      *tpm.Verifier
		exp    verify.Expectations
		signed map[string]bool // TPMS_ATTEST bytes of the seed's quotes
	}
	targets := []target{
		{v: gceVerifier(f), exp: gceExpect()},
		{v: pinned(f, rsaKey), exp: expect(testNonce)},
	}
	for i, seed := range [][]byte{raw, minted} {
		if _, err := targets[i].v.Verify(context.Background(), seed, targets[i].exp); err != nil {
			f.Fatalf("seed %d does not verify, so no mutation would reach the replay: %v", i, err)
		}
		ev, _, err := tpm.Decode(seed)
		if err != nil {
			f.Fatal(err)
		}
		targets[i].signed = map[string]bool{}
		for _, q := range ev.Quotes {
			targets[i].signed[string(q.Attest)] = true
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, tg := range targets {
			vc, err := tg.v.Verify(context.Background(), b, tg.exp)
			checkKind(t, err)
			if (err == nil) != (vc != nil) {
				t.Fatalf("claims %v with error %v", vc, err)
			}
			if err != nil {
				continue
			}
			c := vc.(*tpm.Claims)
			ev, _, err := tpm.Decode(b)
			if err != nil {
				t.Fatalf("evidence verified but does not decode: %v", err)
			}
			for _, q := range ev.Quotes {
				if q.Bank == c.Bank {
					if !tg.signed[string(q.Attest)] {
						t.Fatalf("verified a %v quote whose TPMS_ATTEST %x is none the AK signed", c.Bank, q.Attest)
					}
					break
				}
			}
		}
	})
}

// FuzzLogCacheMatchesFresh feeds mutated event logs with the real GCE quote
// to one long-lived verifier, whose log cache fills as it goes, and to a new
// verifier each time: both must give the same error text or the same claims.
func FuzzLogCacheMatchesFresh(f *testing.F) {
	raw := readFile(f, "gce-cos-85-nonce9009.pb")
	ev, _, err := tpm.Decode(raw)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ev.EventLog)
	warm := gceVerifier(f)
	f.Fuzz(func(t *testing.T, log []byte) {
		e := *ev
		e.EventLog = log
		for range 2 { // the second round is served by the cache
			got, gotErr := warm.VerifyEvidence(context.Background(), &e, gceExpect())
			want, wantErr := gceVerifier(t).VerifyEvidence(context.Background(), &e, gceExpect())
			if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
				t.Fatalf("cached verifier: %v; fresh verifier: %v", gotErr, wantErr)
			}
			if gotErr == nil && !reflect.DeepEqual(got, want) {
				t.Fatalf("cached verifier's claims differ from a fresh one's")
			}
		}
	})
}

// FuzzParseAAEventLog drives the AA event log parser and its replay. Seeds:
// the real CC event log with AAEL events from Trustee (a TDX log: the same
// TCG2 framing and tagged events) and a minted TPM AA event log.
func FuzzParseAAEventLog(f *testing.F) {
	f.Add(readFile(f, "../tdx/CCEL_AAEL_alibabacloud"))
	good, pcrs := aaLog(aaelEvent{23, tagged("github.com/confidential-containers", "PullImage", `{"image":"a"}`)}, aaelEvent{17, tagged("d", "op", "")})
	f.Add(good)
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := tpm.ParseAAEventLog(b)
		if err != nil {
			checkKind(t, err)
			return
		}
		if err := tpm.VerifyAAEventLog(l, crypto.SHA256, pcrs); err != nil {
			checkKind(t, err)
		}
		_ = l.PCRs()
	})
}
