package tpm_test

import (
	"context"
	"crypto"
	"crypto/elliptic"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/trustfactory/attest/tpm"
	"github.com/trustfactory/attest/tpm/tpmtest"
	"github.com/trustfactory/attest/verify"
)

var (
	testNow   = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	testNonce = []byte("0123456789abcdef0123456789abcdef")

	akOnce       sync.Once
	rsaAK, eccAK *tpmtest.AK
	testCA       *tpmtest.CA
)

// keys generates the test AKs and CA once per test binary.
func keys(t testing.TB) (*tpmtest.AK, *tpmtest.AK, *tpmtest.CA) {
	t.Helper()
	akOnce.Do(func() {
		var err error
		if rsaAK, err = tpmtest.NewRSAAK(2048); err != nil {
			panic(err)
		}
		if eccAK, err = tpmtest.NewECCAK(elliptic.P256()); err != nil {
			panic(err)
		}
		if testCA, err = tpmtest.NewCA("test AK CA", testNow.AddDate(-1, 0, 0), testNow.AddDate(5, 0, 0)); err != nil {
			panic(err)
		}
	})
	return rsaAK, eccAK, testCA
}

// minted is a test attestation and the verifier that trusts its AK.
type minted struct {
	ak  *tpmtest.AK
	log *tpmtest.EventLog
	ev  *tpm.Evidence
}

// mint returns evidence from ak: a StandardBoot log in bank, a quote over
// every PCR the log touches plus PCRs 10..15 (zero), extraData nonce.
func mint(t testing.TB, ak *tpmtest.AK, bank crypto.Hash, nonce []byte) *minted {
	t.Helper()
	log := tpmtest.StandardBoot()
	return mintLog(t, ak, bank, nonce, log)
}

func mintLog(t testing.TB, ak *tpmtest.AK, bank crypto.Hash, nonce []byte, log *tpmtest.EventLog) *minted {
	t.Helper()
	pcrs := log.PCRs(bank)
	for i := 10; i < 16; i++ {
		if _, ok := pcrs[i]; !ok {
			pcrs[i] = make([]byte, bank.Size())
		}
	}
	q, err := ak.Quote(bank, pcrs, nonce)
	if err != nil {
		t.Fatal(err)
	}
	ev := &tpm.Evidence{AKPublicArea: ak.PublicArea(), Quotes: []tpm.Quote{q}, EventLog: log.Bytes()}
	return &minted{ak: ak, log: log, ev: ev}
}

func pinned(t testing.TB, ak *tpmtest.AK, opts ...tpm.Option) *tpm.Verifier {
	t.Helper()
	v, err := tpm.NewVerifier(append([]tpm.Option{tpm.WithTrustedAKs(ak.Public())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func expect(nonce []byte) verify.Expectations {
	return verify.Expectations{ReportData: nonce, Now: testNow}
}

// mustFail asserts err has kind and the claims are nil.
func mustFail(t testing.TB, c *tpm.Claims, err error, kind error) {
	t.Helper()
	if err == nil {
		t.Fatalf("verification passed; want %v", kind)
	}
	if !errors.Is(err, kind) {
		t.Fatalf("error %q: want kind %v, got %v", err, kind, verify.KindOf(err))
	}
	if c != nil {
		t.Fatalf("claims returned with error %v", err)
	}
}

func verifyEv(t testing.TB, v *tpm.Verifier, ev *tpm.Evidence, exp verify.Expectations) (*tpm.Claims, error) {
	t.Helper()
	return v.VerifyEvidence(context.Background(), ev, exp)
}

func mustFailVC(t testing.TB, c verify.Claims, err error, kind error) {
	t.Helper()
	if c != nil {
		t.Fatalf("claims returned with error %v", err)
	}
	mustFail(t, nil, err, kind)
}

func errors_Is(err, kind error) bool { return errors.Is(err, kind) } //nolint:revive // short alias for tests

func errorsAs(err error, target any) bool { return errors.As(err, target) }
