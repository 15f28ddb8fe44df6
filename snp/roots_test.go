package snp_test

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/verify"
)

// ParseRoots reads PEM or concatenated DER in any order, assigns each
// certificate its role by subject, and rejects anything else.
func TestParseRoots(t *testing.T) {
	p := pkis(t).pki[snp.Genoa]
	pemOf := func(ders ...[]byte) []byte {
		var b bytes.Buffer
		for _, d := range ders {
			pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: d})
		}
		return b.Bytes()
	}
	for name, data := range map[string][]byte{
		"DER": bytes.Join([][]byte{p.ASK.Raw, p.ARK.Raw, p.ASVK.Raw}, nil),
		"PEM": pemOf(p.ASVK.Raw, p.ASK.Raw, p.ARK.Raw),
	} {
		r, err := snp.ParseRoots(snp.Genoa, data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !r.ARK.Equal(p.ARK) || !r.ASK.Equal(p.ASK) || !r.ASVK.Equal(p.ASVK) || r.Product != snp.Genoa {
			t.Errorf("%s: roles: ARK %q ASK %q ASVK %q", name, r.ARK.Subject.CommonName, r.ASK.Subject.CommonName, r.ASVK.Subject.CommonName)
		}
	}
	nine := make([][]byte, 9)
	for i := range nine {
		nine[i] = p.ASK.Raw
	}
	for name, tc := range map[string]struct {
		data []byte
		kind error
	}{
		"empty":            {nil, verify.ErrMalformed},
		"two ARKs":         {pemOf(p.ARK.Raw, p.ASK.Raw, p.ARK.Raw), verify.ErrConfig},
		"no ARK":           {pemOf(p.ASK.Raw, p.ASVK.Raw), verify.ErrConfig},
		"two ASKs":         {pemOf(p.ARK.Raw, p.ASK.Raw, p.ASK.Raw), verify.ErrConfig},
		"two ASVKs":        {pemOf(p.ARK.Raw, p.ASVK.Raw, p.ASVK.Raw), verify.ErrConfig},
		"key block":        {append(pemOf(p.ARK.Raw), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}})...), verify.ErrMalformed},
		"trailing text":    {append(pemOf(p.ARK.Raw, p.ASK.Raw), "junk"...), verify.ErrMalformed},
		"truncated DER":    {append(bytes.Clone(p.ARK.Raw), p.ASK.Raw[:10]...), verify.ErrMalformed},
		"not a cert":       {pemOf([]byte{0x30, 0x00}), verify.ErrMalformed},
		"too many":         {bytes.Join(nine, nil), verify.ErrLimit},
		"ARK of other key": {pemOf(p.ASK.Raw, pkis(t).pki[snp.Milan].ARK.Raw), verify.ErrConfig},
	} {
		r, err := snp.ParseRoots(snp.Genoa, tc.data)
		if !errors.Is(err, verify.ErrConfig) || !errors.Is(err, tc.kind) || r.ARK != nil {
			t.Errorf("%s: err = %v, want ErrConfig and %v", name, err, tc.kind)
		}
	}
}

// TestDefaultRootsAreCallersOwn: verifiers share the embedded roots, parsed
// and checked once per process, so what DefaultRoots hands out must be a
// copy. Spoiling it — the ARK's key swapped for the ASK's, the ASK dropped —
// must not reach a verifier built afterwards, nor one built before.
func TestDefaultRootsAreCallersOwn(t *testing.T) {
	report, vcek := read(t, "gsg-attestation.bin"), read(t, "gsg-vcek.der")
	exp := verify.Expectations{ReportData: reportDataOf(t, report), Now: gsgTime}
	before := newOffline(t)
	r, err := snp.DefaultRoots(snp.Milan)
	require.NoError(t, err)
	r.ARK.PublicKey, r.ASK.PublicKey = r.ASK.PublicKey, r.ARK.PublicKey
	r.ASK.Raw = nil
	after := newOffline(t)
	for name, v := range map[string]*snp.Verifier{"before": before, "after": after} {
		_, err := v.VerifyReport(context.Background(), report, vcek, exp)
		require.NoError(t, err, name)
	}
	again, err := snp.DefaultRoots(snp.Milan)
	require.NoError(t, err)
	require.NotSame(t, r.ARK, again.ARK)
	require.NotEqual(t, r.ARK.PublicKey, again.ARK.PublicKey)
}
