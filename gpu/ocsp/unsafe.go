package ocsp

import "github.com/trustfactory/attest/verify"

// The unsafe switches of a Checker's options, as the claims of a verifier
// that uses the Checker report them.
const (
	UnsafeMissingAnswers     verify.UnsafeSwitch = "ocsp.WithMissingAnswersUnsafe"
	UnsafeRIMCertificateHold verify.UnsafeSwitch = "ocsp.WithRIMCertificateHoldUnsafe"
)
