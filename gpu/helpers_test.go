package gpu

import (
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const td = "../testdata/gpu"

var (
	v1Time    = time.Date(2025, 10, 24, 12, 0, 0, 0, time.UTC)
	v4Time    = time.Date(2025, 8, 21, 12, 0, 0, 0, time.UTC)
	v2Time    = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	v3Time    = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	v1Nonce   = mustHex("931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb")
	v2Nonce   = mustHex("4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e")
	ppcieTime = time.Date(2025, 10, 24, 12, 0, 0, 0, time.UTC)
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func readFile(t testing.TB, p ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{td}, p...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readHex(t testing.TB, p ...string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.TrimSpace(string(readFile(t, p...))))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawEvidence is the raw encoding: report ‖ PEM chain.
func rawEvidence(report, chain []byte) []byte {
	return append(append([]byte(nil), report...), chain...)
}

func v1Evidence(t testing.TB) []byte {
	return rawEvidence(readHex(t, "v1", "hopperAttestationReport.txt"), readFile(t, "v1", "hopperCertChain.txt"))
}

func v2Evidence(t testing.TB) []byte {
	return rawEvidence(readHex(t, "v2", "attestationReport.txt"), readFile(t, "v2", "gpuAkCertChain.txt"))
}

func isKind(err, kind error) bool { return err != nil && errors.Is(err, kind) }
