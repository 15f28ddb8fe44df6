package tdx

import (
	"crypto/x509"
	"encoding/json"
	"time"

	"github.com/trustfactory/attest/internal/pck"
	"github.com/trustfactory/attest/verify"
)

// CollateralInfo describes a collateral set that VerifyCollateral accepted.
type CollateralInfo struct {
	// TEE is the id of the TCB info ("TDX" or "SGX").
	TEE string
	// FMSPC is the platform the TCB info is for.
	FMSPC [6]byte
	// CA is the PCK CA whose CRL the set holds: "platform" or "processor".
	CA string
	// TCBEvaluationDataNumber is the TCB info's evaluation data number.
	TCBEvaluationDataNumber int
	// NotBefore and NotAfter bound the validity of the whole set: every
	// item and every certificate of its issuer chains.
	NotBefore, NotAfter time.Time
	// LimitedBy names the item or certificate that ends the window
	// ("PCK CRL (nextUpdate)").
	LimitedBy string
}

// CollateralNeed reads the collateral a quote needs (its FMSPC and PCK CA)
// from the PCK chain it carries. Nothing is authenticated: the answer only
// says what to fetch; verification checks the chain.
func CollateralNeed(evidence []byte) (CollateralRequest, error) {
	dec, err := decodeEvidence(evidence)
	if err != nil {
		return CollateralRequest{}, err
	}
	q, err := ParseQuote(dec.quote)
	if err != nil {
		return CollateralRequest{}, err
	}
	certs, err := parsePEMChain(q.PCKChainPEM, 3, "PCK certificate chain")
	if err != nil {
		return CollateralRequest{}, err
	}
	var req CollateralRequest
	switch cn := certs[1].Subject.CommonName; cn {
	case "Intel SGX PCK Platform CA":
		req.CA = "platform"
	case "Intel SGX PCK Processor CA":
		req.CA = "processor"
	default:
		return CollateralRequest{}, verify.Errorf(verify.ErrChain, "PCK issuer: expected Intel SGX PCK Platform CA or Processor CA, got %q", cn)
	}
	ext, err := ParsePCKExtensions(certs[0])
	if err != nil {
		return CollateralRequest{}, err
	}
	req.FMSPC = ext.FMSPC
	return req, nil
}

// VerifyCollateral verifies a collateral set on its own, TDX's or SGX's (by
// its TCB info's id), as the verifiers do before using it for a quote: the TCB info and QE identity signatures
// and issuer chains, both CRLs' signatures, everything chaining to roots
// (none: the pinned Intel SGX Root CA), and every item and certificate valid
// at now. A failure has the kind ErrCollateral besides its own.
func VerifyCollateral(c *Collateral, now time.Time, roots ...*x509.Certificate) (*CollateralInfo, error) {
	if c == nil {
		return nil, verify.Errorf(verify.ErrCollateral, "tdx: VerifyCollateral: no collateral")
	}
	if now.IsZero() {
		return nil, verify.Errorf(verify.ErrConfig, "tdx: VerifyCollateral: zero verification time")
	}
	if len(roots) == 0 {
		roots = []*x509.Certificate{IntelSGXRootCA()}
	}
	// The TCB info's id says whose collateral this is (TDX or SGX); the
	// verification below refuses any other and checks the QE identity's id
	// against it.
	var head struct {
		TCBInfo struct {
			ID string `json:"id"`
		} `json:"tcbInfo"`
	}
	flavor := pck.FlavorTDX
	if json.Unmarshal(c.TCBInfo, &head) == nil && head.TCBInfo.ID == "SGX" {
		flavor = pck.FlavorSGX
	}
	v, err := pck.NewTrust(roots).VerifyCollateral(c.items(), flavor, now, false)
	if err != nil {
		return nil, pck.AsCollateral(err)
	}
	if err := v.CheckValidity(now); err != nil {
		return nil, pck.AsCollateral(err)
	}
	notBefore, notAfter, limitedBy := v.Window()
	info := &CollateralInfo{
		TEE:                     v.TCB.ID,
		TCBEvaluationDataNumber: v.TCB.TCBEvaluationDataNumber,
		NotBefore:               notBefore,
		NotAfter:                notAfter,
		LimitedBy:               limitedBy,
	}
	if len(v.TCB.FMSPC) != len(info.FMSPC) {
		return nil, verify.Errorf(verify.ErrCollateral, "TCB info: fmspc of %d bytes, expected %d", len(v.TCB.FMSPC), len(info.FMSPC))
	}
	copy(info.FMSPC[:], v.TCB.FMSPC)
	switch cn := v.PCKCRLCA.Subject.CommonName; cn {
	case "Intel SGX PCK Platform CA":
		info.CA = "platform"
	case "Intel SGX PCK Processor CA":
		info.CA = "processor"
	default:
		return nil, verify.Errorf(verify.ErrCollateral, "PCK CRL issuer: expected Intel SGX PCK Platform CA or Processor CA, got %q", cn)
	}
	return info, nil
}
