package tdx

import (
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"sync"

	"github.com/trustfactory/attest/internal/pck"
)

// Collateral is Intel's collateral for one platform (one FMSPC and PCK CA)
// and one TEE (package sgx uses this type and the sources of this package),
// in the shapes Intel PCS and PCCS v4 serve it. A Collateral must not be
// modified once it has been handed to a Verifier: verified results are cached
// under a digest of its bytes computed once.
type Collateral struct {
	// TCBInfo is the body of GET /tdx/certification/v4/tcb?fmspc=… (for
	// SGX quotes /sgx/certification/v4/tcb):
	// {"tcbInfo":{…},"signature":"<hex r‖s>"}.
	TCBInfo []byte
	// TCBInfoIssuerChain is the PEM chain of the TCB signing certificate
	// (header TCB-Info-Issuer-Chain): signing certificate, then Root CA.
	TCBInfoIssuerChain []byte
	// QEIdentity is the body of GET /tdx/certification/v4/qe/identity (for
	// SGX quotes /sgx/…, id "QE"):
	// {"enclaveIdentity":{…},"signature":"<hex r‖s>"}.
	QEIdentity []byte
	// QEIdentityIssuerChain is the PEM chain of header SGX-Enclave-Identity-Issuer-Chain.
	QEIdentityIssuerChain []byte
	// PCKCRL is the PCK CRL of the PCK's issuing CA (DER, PEM or hex of DER).
	PCKCRL []byte
	// PCKCRLIssuerChain is the PEM chain of header SGX-PCK-CRL-Issuer-Chain: PCK CA, then Root CA.
	PCKCRLIssuerChain []byte
	// RootCACRL is the Intel SGX Root CA CRL (DER, PEM or hex of DER).
	RootCACRL []byte

	once   sync.Once
	digest [32]byte
}

// Digest is a SHA-256 over every item, length-prefixed; computed once.
func (c *Collateral) Digest() [32]byte {
	c.once.Do(func() {
		h := sha256.New()
		for _, b := range [][]byte{c.TCBInfo, c.TCBInfoIssuerChain, c.QEIdentity, c.QEIdentityIssuerChain, c.PCKCRL, c.PCKCRLIssuerChain, c.RootCACRL} {
			fmt.Fprintf(h, "%d:", len(b))
			h.Write(b)
		}
		h.Sum(c.digest[:0])
	})
	return c.digest
}

// items hands the collateral to the shared DCAP code.
func (c *Collateral) items() *pck.Items {
	return &pck.Items{
		TCBInfo: c.TCBInfo, TCBInfoIssuerChain: c.TCBInfoIssuerChain,
		QEIdentity: c.QEIdentity, QEIdentityIssuerChain: c.QEIdentityIssuerChain,
		PCKCRL: c.PCKCRL, PCKCRLIssuerChain: c.PCKCRLIssuerChain, RootCACRL: c.RootCACRL,
	}
}

// TCBStatus is an Intel TCB status string.
type TCBStatus string

// The TCB statuses Intel defines for TCB info and QE identity levels.
const (
	StatusUpToDate                             TCBStatus = TCBStatus(pck.StatusUpToDate)
	StatusSWHardeningNeeded                    TCBStatus = TCBStatus(pck.StatusSWHardeningNeeded)
	StatusConfigurationNeeded                  TCBStatus = TCBStatus(pck.StatusConfigurationNeeded)
	StatusConfigurationAndSWHardeningNeeded    TCBStatus = TCBStatus(pck.StatusConfigurationAndSWHardeningNeeded)
	StatusOutOfDate                            TCBStatus = TCBStatus(pck.StatusOutOfDate)
	StatusOutOfDateConfigurationNeeded         TCBStatus = TCBStatus(pck.StatusOutOfDateConfigurationNeeded)
	StatusTDRelaunchAdvised                    TCBStatus = TCBStatus(pck.StatusTDRelaunchAdvised)
	StatusTDRelaunchAdvisedConfigurationNeeded TCBStatus = TCBStatus(pck.StatusTDRelaunchAdvisedConfigurationNeeded)
	StatusRevoked                              TCBStatus = TCBStatus(pck.StatusRevoked)
)

// PCKExtensions are the Intel SGX extensions of a PCK certificate.
type PCKExtensions struct {
	PPID               []byte
	CompSVN            [16]byte // SGX TCB component SVNs 1..16
	PCESVN             uint16
	CPUSVN             [16]byte
	PCEID              [2]byte
	FMSPC              [6]byte
	SGXType            int    // 0 Standard, 1 Scalable, 2 Scalable with Integrity
	PlatformInstanceID []byte // Platform CA certificates only
	DynamicPlatform    *bool
	CachedKeys         *bool
	SMTEnabled         *bool
}

// The shared type and this one must stay convertible.
var _ = PCKExtensions(pck.Extensions{})

// ParsePCKExtensions reads the SGX extensions (OID 1.2.840.113741.1.13.1) of a PCK certificate.
func ParsePCKExtensions(cert *x509.Certificate) (*PCKExtensions, error) {
	x, err := pck.ParseExtensions(cert)
	if err != nil {
		return nil, err
	}
	return (*PCKExtensions)(x), nil
}

// parsePEMChain decodes exactly want certificates (see pck.ParsePEMChain).
func parsePEMChain(b []byte, want int, what string) ([]*x509.Certificate, error) {
	return pck.ParsePEMChain(b, want, what)
}
