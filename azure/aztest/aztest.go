// Package aztest is a test attester for package azure: it mints the
// evidence of an Azure SEV-SNP confidential VM (HCL report with a signed
// SEV-SNP report, vTPM quote, VCEK) under a test AMD hierarchy, so that
// services can be tested end to end without Azure. Verify it with an
// azure.Verifier whose SNP verifier trusts VM.PKI.Roots(). TDXVM mints the
// evidence of an Azure TDX confidential VM (HCL report with a TDREPORT, the
// TD quote of it under a test Intel PKI, vTPM quote) for an
// azure.TDXVerifier.
package aztest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/trustfactory/attest/azure"
	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/snp/snptest"
	"github.com/trustfactory/attest/tpm/tpmtest"
)

// VM is one test confidential VM: its chip's AMD hierarchy and its vTPM AK.
type VM struct {
	PKI *snptest.PKI
	AK  *tpmtest.AK
	// Config is the VM configuration the paravisor states.
	Config azure.VMConfiguration
}

// NewVM returns a VM on product (Milan, Genoa or Turin) with a fresh
// 2048-bit RSA AK.
func NewVM(product snp.Product) (*VM, error) {
	pki, err := snptest.NewPKI(product)
	if err != nil {
		return nil, err
	}
	ak, err := tpmtest.NewRSAAK(2048)
	if err != nil {
		return nil, err
	}
	return &VM{PKI: pki, AK: ak, Config: azure.VMConfiguration{SecureBoot: true, TPMEnabled: true, VMUniqueID: "00000000-0000-4000-8000-000000000001"}}, nil
}

// Spec describes the evidence to mint. Zero fields take defaults.
type Spec struct {
	// Version is the evidence version, 1 or 2 (default 2).
	Version int
	// ReportData is the quote's extraData and, in version 2, the start of
	// the runtime data's user-data.
	ReportData []byte
	// UserData is the runtime data's user-data (default: ReportData, zero
	// padded to 64 bytes, as the Trustee attester asks for it).
	UserData []byte
	// PCRs are the quoted SHA-256 PCR values (default: PCR i filled with i).
	PCRs [24][]byte
	// Report sets the SEV-SNP report's fields (VMPL, measurement, policy…);
	// its ReportData is always the runtime data's digest.
	Report snptest.Report
	// RuntimeData, when set, edits the runtime data JSON after its digest is
	// placed in the SEV-SNP report (a binding attack).
	RuntimeData func([]byte) []byte
	// QuoteSigner, when set, signs the quote instead of the VM's AK (a quote
	// from another vTPM).
	QuoteSigner *rsa.PrivateKey
}

// Evidence mints Trustee az-snp-vtpm JSON for s.
func (vm *VM) Evidence(s Spec) ([]byte, error) {
	if s.Version == 0 {
		s.Version = 2
	}
	rd, digest, err := vmRuntimeData(vm.AK, vm.Config, s.UserData, s.ReportData)
	if err != nil {
		return nil, err
	}
	r := s.Report
	r.ReportData = [64]byte{}
	copy(r.ReportData[:], digest[:])
	report, err := vm.PKI.Sign(r)
	if err != nil {
		return nil, err
	}
	if s.RuntimeData != nil {
		rd = s.RuntimeData(rd)
	}
	hcl := hclReport(1, 2, report, rd)
	q, err := vtpmQuote(vm.AK, s.PCRs, s.ReportData, s.QuoteSigner)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"version":    s.Version,
		"hcl_report": base64.URLEncoding.EncodeToString(hcl),
		"tpm_quote":  quoteJSON(q),
		"vcek":       base64.URLEncoding.EncodeToString(vm.PKI.VCEK.Raw),
	})
}

// hclReport lays out an HCL report: header, hardware report of type
// reportType (2 SEV-SNP, 4 TDX) in its 0x4A0-byte field, runtime data
// (SHA-256), zero padding to Azure's 2600 bytes when it fits.
func hclReport(version, reportType uint32, report, rd []byte) []byte {
	const hwField = 0x4a0
	size := 0x20 + hwField + 20 + len(rd)
	b := make([]byte, max(size, 2600))
	le := binary.LittleEndian
	copy(b, "HCLA")
	le.PutUint32(b[4:], version)
	le.PutUint32(b[8:], uint32(size))
	le.PutUint32(b[12:], 2)
	copy(b[0x20:0x20+hwField], report)
	rt := b[0x20+hwField:]
	le.PutUint32(rt, uint32(20+len(rd)))
	le.PutUint32(rt[4:], 1)
	le.PutUint32(rt[8:], reportType)
	le.PutUint32(rt[12:], 1)
	le.PutUint32(rt[16:], uint32(len(rd)))
	copy(rt[20:], rd)
	return b
}

// vmRuntimeData is the runtime data JSON of a VM with AK ak and
// configuration cfg, and its SHA-256 digest (what the hardware report's
// report data holds). userData defaults to reportData zero padded to 64
// bytes, as the Trustee attester asks for it.
func vmRuntimeData(ak *tpmtest.AK, cfg azure.VMConfiguration, userData, reportData []byte) ([]byte, [32]byte, error) {
	pub, ok := ak.Public().(*rsa.PublicKey)
	if !ok {
		return nil, [32]byte{}, fmt.Errorf("aztest: the AK is not RSA")
	}
	if userData == nil {
		userData = make([]byte, 64)
		copy(userData, reportData)
	}
	rd, err := runtimeData(pub, cfg, userData)
	if err != nil {
		return nil, [32]byte{}, err
	}
	return rd, sha256.Sum256(rd), nil
}

// runtimeData is the runtime data JSON of a VM with AK pub, configuration
// cfg and the given user data.
func runtimeData(pub *rsa.PublicKey, cfg azure.VMConfiguration, userData []byte) ([]byte, error) {
	return json.Marshal(map[string]any{
		"keys": []map[string]any{{
			"kid": "HCLAkPub", "key_ops": []string{"sign"}, "kty": "RSA",
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
			"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		}},
		"vm-configuration": cfg,
		"user-data":        hex.EncodeToString(userData),
	})
}

// vtpmQuote has ak quote the PCRs (default: PCR i filled with i) with
// extraData reportData; signer, when set, signs instead of the AK.
func vtpmQuote(ak *tpmtest.AK, pcrVals [24][]byte, reportData []byte, signer *rsa.PrivateKey) (azure.Quote, error) {
	vals := make(map[int][]byte, 24)
	for i := range pcrVals {
		v := pcrVals[i]
		if v == nil {
			v = make([]byte, 32)
			for j := range v {
				v[j] = byte(i)
			}
		}
		vals[i] = v
	}
	q, err := ak.Quote(crypto.SHA256, vals, reportData)
	if err != nil {
		return azure.Quote{}, err
	}
	sig := q.Signature[6:] // TPMT_SIGNATURE: alg, hash, size, then the RSA signature
	if signer != nil {
		h := sha256.Sum256(q.Attest)
		if sig, err = rsa.SignPKCS1v15(rand.Reader, signer, crypto.SHA256, h[:]); err != nil {
			return azure.Quote{}, err
		}
	}
	out := azure.Quote{Message: q.Attest, Signature: sig, PCRs: make([][]byte, 24)}
	for i := range out.PCRs {
		out.PCRs[i] = vals[i]
	}
	return out, nil
}

// quoteJSON is Trustee's tpm_quote member.
func quoteJSON(q azure.Quote) map[string]any {
	pcrs := make([]string, len(q.PCRs))
	for i, p := range q.PCRs {
		pcrs[i] = hex.EncodeToString(p)
	}
	return map[string]any{
		"signature": hex.EncodeToString(q.Signature),
		"message":   hex.EncodeToString(q.Message),
		"pcrs":      pcrs,
	}
}
