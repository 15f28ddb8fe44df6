package testbed

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"encoding/json"

	"github.com/trustfactory/attest/binding"
	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/gpu/gputest"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/verify"
)

// KBSEdits change what an attester puts in a KBS request: the zero value
// changes nothing; the edits make negative tests.
type KBSEdits struct {
	Quote func(*tdxtest.QuoteSpec)       // edit the TD quote
	GPU   func(i int, r *gputest.Report) // edit GPU i's report
	// InitData is the init-data TOML the TD was launched with; its digest
	// goes into MRCONFIGID and the document into the request's init-data.
	InitData string
}

// KBSRequest returns the body of a Trustee KBS /kbs/v0/attest request, as a
// Confidential Containers attestation agent on a TD with the Bed's GPUs
// would send it for the session nonce: runtime data with teeKey (a public
// JWK), the TD quote as primary evidence bound to {nonce, tee-pubkey,
// additional-evidence}, and the GPUs as additional "nvidia" evidence bound
// to {nonce, tee-pubkey}.
func (b *Bed) KBSRequest(nonce string, teeKey json.RawMessage, e KBSEdits) ([]byte, error) {
	rd := binding.RuntimeData{Nonce: nonce, TEEPubKey: teeKey}
	additional := ""
	if len(b.GPUs) > 0 {
		exp, err := binding.Expect(verify.FormatGPU, rd, crypto.SHA384)
		if err != nil {
			return nil, err
		}
		ev, err := b.GPUEvidence(exp.ReportData, e.GPU)
		if err != nil {
			return nil, err
		}
		devs, err := gpu.ParseEvidence(ev)
		if err != nil {
			return nil, err
		}
		list := make([]map[string]string, 0, len(devs))
		for _, d := range devs {
			list = append(list, map[string]string{"arch": "HOPPER", "evidence": base64.StdEncoding.EncodeToString(d.Report),
				"certificate": base64.StdEncoding.EncodeToString(d.Certificate)})
		}
		a, err := json.Marshal(map[string]any{"nvidia": map[string]any{"device_evidence_list": list}})
		if err != nil {
			return nil, err
		}
		additional = string(a)
	}
	rd.AdditionalEvidence = &additional
	exp, err := binding.Expect(verify.FormatTDX, rd, crypto.SHA384)
	if err != nil {
		return nil, err
	}
	var initData any
	edit := e.Quote
	if e.InitData != "" {
		d, err := binding.ParseInitData([]byte(e.InitData))
		if err != nil {
			return nil, err
		}
		field, err := binding.InitDataField(verify.FormatTDX, d.Digest())
		if err != nil {
			return nil, err
		}
		initData = map[string]string{"format": "toml", "body": e.InitData}
		edit = func(q *tdxtest.QuoteSpec) {
			copy(q.Body.MRConfigID[:], field)
			if e.Quote != nil {
				e.Quote(q)
			}
		}
	}
	quote := b.Quote(exp.ReportData, edit)
	return json.Marshal(map[string]any{
		"init-data":    initData,
		"runtime-data": map[string]any{"nonce": nonce, "tee-pubkey": json.RawMessage(bytes.Clone(teeKey))},
		"tee-evidence": map[string]any{
			"primary_evidence":    map[string]any{"quote": base64.StdEncoding.EncodeToString(quote), "cc_eventlog": nil},
			"additional_evidence": additional,
		},
	})
}

// KBSRequestFor is KBSRequest for the session's nonce and TEE key.
func (b *Bed) KBSRequestFor(s *Session, e KBSEdits) ([]byte, error) {
	if s == nil {
		return nil, verify.Errorf(verify.ErrConfig, "testbed: nil session")
	}
	return b.KBSRequest(s.RuntimeData.Nonce, s.RuntimeData.TEEPubKey, e)
}
