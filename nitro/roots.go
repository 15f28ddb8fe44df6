package nitro

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	_ "embed"
	"encoding/hex"

	"github.com/trustfactory/attest/internal/pemchain"
	"github.com/trustfactory/attest/verify"
)

// awsRootG1PEM is AWS Nitro Enclaves Root-G1 (CN=aws.nitro-enclaves,
// 2019-10-28 → 2049-10-28), as published on AWS's root-certificate page.
//
//go:embed roots/aws_nitro_enclaves_root_g1.pem
var awsRootG1PEM []byte

// AWSRootG1SHA256 is the SHA-256 of the DER of AWS Nitro Enclaves Root-G1,
// as AWS publishes it; DefaultRoot checks the embedded copy against it.
const AWSRootG1SHA256 = "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b"

// DefaultRoot returns the embedded AWS Nitro Enclaves Root-G1.
func DefaultRoot() (*x509.Certificate, error) {
	return ParseRoot(awsRootG1PEM, AWSRootG1SHA256)
}

// ParseRoot parses one PEM certificate to pin as the root. When sha256Hex is
// not empty, the SHA-256 of the certificate's DER must equal it. The root
// must be a self-signed CA. Errors are ErrConfig.
func ParseRoot(pemBytes []byte, sha256Hex string) (*x509.Certificate, error) {
	certs, err := pemchain.Parse(pemBytes, 1)
	if err != nil {
		return nil, verify.Errorf(verify.ErrConfig, "nitro root: %w", err)
	}
	root := certs[0]
	if sha256Hex != "" {
		want, err := hex.DecodeString(sha256Hex)
		if err != nil {
			return nil, verify.Errorf(verify.ErrConfig, "nitro root: fingerprint %q is not hex", sha256Hex)
		}
		if got := sha256.Sum256(root.Raw); !bytes.Equal(got[:], want) {
			return nil, verify.Errorf(verify.ErrConfig, "nitro root: SHA-256 %x, expected %s", got, sha256Hex)
		}
	}
	if err := checkRoot(root); err != nil {
		return nil, err
	}
	return root, nil
}

// checkRoot requires a self-signed CA certificate.
func checkRoot(root *x509.Certificate) error {
	if !root.BasicConstraintsValid || !root.IsCA {
		return verify.Errorf(verify.ErrConfig, "nitro root %q is not a CA certificate", root.Subject.CommonName)
	}
	if !bytes.Equal(root.RawSubject, root.RawIssuer) {
		return verify.Errorf(verify.ErrConfig, "nitro root %q is not self-issued (issuer %q)", root.Subject.CommonName, root.Issuer.CommonName)
	}
	if err := root.CheckSignatureFrom(root); err != nil {
		return verify.Errorf(verify.ErrConfig, "nitro root %q does not verify its own signature: %w", root.Subject.CommonName, err)
	}
	return nil
}
