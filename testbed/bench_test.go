package testbed_test

import (
	"testing"

	"github.com/trustfactory/attest/testbed"
)

// BenchmarkRegistry builds the bed's registry (TDX, SNP, TPM and GPU
// verifiers), as a caller that builds one per appraisal does
// (examples/offline-test BenchmarkCompositeCold): the cost of construction
// alone, before any evidence is seen.
func BenchmarkRegistry(b *testing.B) {
	bed, err := testbed.New(testbed.Options{GPUs: 8, SharedGPUCAs: true})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := bed.Registry(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSNPVerifier builds the bed's SEV-SNP verifier alone: with the
// bed's snp.RootCache, the test AMD roots' signatures are checked by the
// first one only.
func BenchmarkSNPVerifier(b *testing.B) {
	bed, err := testbed.New(testbed.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := bed.SNPVerifier(); err != nil {
			b.Fatal(err)
		}
	}
}
