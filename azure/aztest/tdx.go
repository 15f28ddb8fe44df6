package aztest

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/trustfactory/attest/azure"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/tpm/tpmtest"
)

// TDXVM is one test Azure TDX confidential VM: the Intel PKI of its
// platform (which signs the TD quote Azure's IMDS would make) and its vTPM
// AK. Verify its evidence with an azure.TDXVerifier whose TDX verifier
// trusts PKI.Root and takes PKI.DefaultCollateral.
type TDXVM struct {
	PKI *tdxtest.PKI
	AK  *tpmtest.AK
	// Config is the VM configuration the paravisor states.
	Config azure.VMConfiguration
}

// NewTDXVM returns a TDX VM on a new tdxtest PKI (collateral valid around
// tdxtest.VerifyTime()) with a fresh 2048-bit RSA AK.
func NewTDXVM() (*TDXVM, error) {
	ak, err := tpmtest.NewRSAAK(2048)
	if err != nil {
		return nil, err
	}
	return &TDXVM{PKI: tdxtest.NewPKI(), AK: ak, Config: azure.VMConfiguration{SecureBoot: true, TPMEnabled: true, VMUniqueID: "00000000-0000-4000-8000-000000000002"}}, nil
}

// TDXSpec describes the az-tdx-vtpm evidence to mint. Zero fields take
// defaults.
type TDXSpec struct {
	// Version is the evidence version, 1 or 2 (default 2).
	Version int
	// ReportData is the vTPM quote's extraData and, in version 2, the start
	// of the runtime data's user-data.
	ReportData []byte
	// UserData is the runtime data's user-data (default: ReportData, zero
	// padded to 64 bytes).
	UserData []byte
	// PCRs are the quoted SHA-256 PCR values (default: PCR i filled with i).
	PCRs [24][]byte
	// TD edits the TD's fields (MRTD, RTMRs, attributes…) in both the
	// TDREPORT and the TD quote; the report data is always the runtime
	// data's digest. It starts from tdxtest's DefaultQuote body.
	TD func(*tdx.Body)
	// TDQuote, when set, edits the TD quote's spec after the TDREPORT is
	// laid out (a quote of another TD).
	TDQuote func(*tdxtest.QuoteSpec)
	// RuntimeData, when set, edits the runtime data JSON after its digest is
	// placed in the TDREPORT (a binding attack).
	RuntimeData func([]byte) []byte
	// QuoteSigner, when set, signs the vTPM quote instead of the VM's AK (a
	// quote from another vTPM).
	QuoteSigner *rsa.PrivateKey
}

// Evidence mints Trustee az-tdx-vtpm JSON for s.
func (vm *TDXVM) Evidence(s TDXSpec) ([]byte, error) {
	if s.Version == 0 {
		s.Version = 2
	}
	rd, digest, err := vmRuntimeData(vm.AK, vm.Config, s.UserData, s.ReportData)
	if err != nil {
		return nil, err
	}
	qs := vm.PKI.DefaultQuote(digest[:])
	if s.TD != nil {
		s.TD(&qs.Body)
		qs.Body.ReportData = [64]byte{}
		copy(qs.Body.ReportData[:], digest[:])
	}
	report := TDReport(&qs.Body)
	if s.TDQuote != nil {
		s.TDQuote(&qs)
	}
	tdQuote := vm.PKI.Quote(qs)
	if s.RuntimeData != nil {
		rd = s.RuntimeData(rd)
	}
	q, err := vtpmQuote(vm.AK, s.PCRs, s.ReportData, s.QuoteSigner)
	if err != nil {
		return nil, err
	}
	return TDXEvidenceJSON(s.Version, TDXHCLReport(report, rd), tdQuote, q)
}

// TDReport lays out a 1024-byte TDREPORT (type 0x81) holding the TD fields
// of b, as the TDX module would report them; its MAC is zero.
func TDReport(b *tdx.Body) []byte {
	r := make([]byte, 1024)
	r[0] = 0x81
	copy(r[0x80:], b.ReportData[:])
	tcb := r[0x100:]
	tcb[0] = 0xff // VALID: the fields below are
	copy(tcb[8:], b.TEETCBSVN[:])
	copy(tcb[24:], b.MRSEAM[:])
	copy(tcb[72:], b.MRSignerSEAM[:])
	copy(tcb[120:], b.SEAMAttributes[:])
	td := r[0x200:]
	copy(td[0:], b.TDAttributes[:])
	copy(td[8:], b.XFAM[:])
	copy(td[16:], b.MRTD[:])
	copy(td[64:], b.MRConfigID[:])
	copy(td[112:], b.MROwner[:])
	copy(td[160:], b.MROwnerConfig[:])
	for i := range b.RTMR {
		copy(td[208+48*i:], b.RTMR[i][:])
	}
	return r
}

// TDReportBody reads the TD fields of a TDREPORT (for example the one in a
// real HCL report) into a TD quote body, so that a test PKI can sign the
// quote Azure's IMDS would have made of it.
func TDReportBody(r []byte) (tdx.Body, error) {
	var b tdx.Body
	if len(r) < 1024 || r[0] != 0x81 {
		return b, fmt.Errorf("aztest: not a TDREPORT (%d bytes)", len(r))
	}
	copy(b.ReportData[:], r[0x80:])
	tcb := r[0x100:]
	copy(b.TEETCBSVN[:], tcb[8:])
	copy(b.MRSEAM[:], tcb[24:])
	copy(b.MRSignerSEAM[:], tcb[72:])
	copy(b.SEAMAttributes[:], tcb[120:])
	td := r[0x200:]
	copy(b.TDAttributes[:], td[0:])
	copy(b.XFAM[:], td[8:])
	copy(b.MRTD[:], td[16:])
	copy(b.MRConfigID[:], td[64:])
	copy(b.MROwner[:], td[112:])
	copy(b.MROwnerConfig[:], td[160:])
	for i := range b.RTMR {
		copy(b.RTMR[i][:], td[208+48*i:])
	}
	return b, nil
}

// TDXHCLReport lays out a version 2 HCL report holding a TDREPORT and the
// runtime data (SHA-256), padded to Azure's 2600 bytes.
func TDXHCLReport(tdReport, runtimeData []byte) []byte {
	return hclReport(2, 4, tdReport, runtimeData)
}

// TDXEvidenceJSON encodes az-tdx-vtpm evidence as Trustee's attester does
// (base64url with padding, hex quote parts).
func TDXEvidenceJSON(version int, hcl, tdQuote []byte, q azure.Quote) ([]byte, error) {
	return json.Marshal(map[string]any{
		"version":    version,
		"hcl_report": base64.URLEncoding.EncodeToString(hcl),
		"tpm_quote":  quoteJSON(q),
		"td_quote":   base64.URLEncoding.EncodeToString(tdQuote),
	})
}
