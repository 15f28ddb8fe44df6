// Package outsidemodule proves that attest's online collateral can be
// configured from outside the module: its test builds and runs, as a module
// of its own that requires attest through a replace directive, the program
// in testdata/prog, which implements collateral.Fetcher, sets a TLS root pool
// and an API key header on a collateral.HTTPFetcher, shares one
// collateral.Store between two sets of verifiers, and verifies TDX, SEV-SNP
// and GPU evidence against the test attesters' vendor services.
package outsidemodule
