package snp_test

import (
	"bytes"
	"testing"

	"github.com/google/go-sev-guest/abi"

	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/snp/snptest"
)

// TestParseMatchesGoSevGuest parses real and minted reports with ours and
// with go-sev-guest's abi.ReportToProto and compares every field.
func TestParseMatchesGoSevGuest(t *testing.T) {
	f := pkis(t)
	inputs := map[string][]byte{
		"gsg":         read(t, "gsg-attestation.bin"),
		"trustee":     read(t, "test-report.bin"),
		"trustee-v3":  read(t, "test-vlek-report.bin"),
		"minted-v5":   mustSign(t, f.pki[snp.Genoa], snptest.Report{Version: 5, LaunchMitVector: 7, CurrentMitVector: 3, VMPL: 2, GuestSVN: 9}),
		"minted-vlek": mustSign(t, f.pki[snp.Milan], snptest.Report{SigningKey: snp.SigningKeyVLEK, AuthorKeyEn: true, PlatformInfo: 0x25}),
	}
	for name, b := range inputs {
		t.Run(name, func(t *testing.T) {
			ours, err := snp.ParseReport(b)
			if err != nil {
				t.Fatal(err)
			}
			theirs, err := abi.ReportToProto(b)
			if err != nil {
				t.Fatal(err)
			}
			eq := func(field string, a, b any) {
				t.Helper()
				if ab, ok := a.([]byte); ok {
					if !bytes.Equal(ab, b.([]byte)) {
						t.Errorf("%s: ours %x, go-sev-guest %x", field, a, b)
					}
					return
				}
				if a != b {
					t.Errorf("%s: ours %v, go-sev-guest %v", field, a, b)
				}
			}
			eq("version", ours.Version, theirs.Version)
			eq("guest_svn", ours.GuestSVN, theirs.GuestSvn)
			eq("policy", ours.Policy, theirs.Policy)
			eq("family_id", ours.FamilyID[:], theirs.FamilyId)
			eq("image_id", ours.ImageID[:], theirs.ImageId)
			eq("vmpl", ours.VMPL, theirs.Vmpl)
			eq("sig_algo", ours.SignatureAlgo, theirs.SignatureAlgo)
			eq("current_tcb", ours.CurrentTCB, theirs.CurrentTcb)
			eq("platform_info", ours.PlatformInfo, theirs.PlatformInfo)
			eq("signer_info", ours.SignerInfo, theirs.SignerInfo)
			eq("report_data", ours.ReportData[:], theirs.ReportData)
			eq("measurement", ours.Measurement[:], theirs.Measurement)
			eq("host_data", ours.HostData[:], theirs.HostData)
			eq("id_key_digest", ours.IDKeyDigest[:], theirs.IdKeyDigest)
			eq("author_key_digest", ours.AuthorKeyDigest[:], theirs.AuthorKeyDigest)
			eq("report_id", ours.ReportID[:], theirs.ReportId)
			eq("report_id_ma", ours.ReportIDMA[:], theirs.ReportIdMa)
			eq("reported_tcb", ours.ReportedTCB, theirs.ReportedTcb)
			eq("chip_id", ours.ChipID[:], theirs.ChipId)
			eq("committed_tcb", ours.CommittedTCB, theirs.CommittedTcb)
			eq("current_build", uint32(ours.CurrentBuild), theirs.CurrentBuild)
			eq("current_minor", uint32(ours.CurrentMinor), theirs.CurrentMinor)
			eq("current_major", uint32(ours.CurrentMajor), theirs.CurrentMajor)
			eq("committed_build", uint32(ours.CommittedBuild), theirs.CommittedBuild)
			eq("committed_minor", uint32(ours.CommittedMinor), theirs.CommittedMinor)
			eq("committed_major", uint32(ours.CommittedMajor), theirs.CommittedMajor)
			eq("launch_tcb", ours.LaunchTCB, theirs.LaunchTcb)
			if ours.Version >= 5 {
				eq("launch_mit_vector", ours.LaunchMitVector, theirs.LaunchMitVector)
				eq("current_mit_vector", ours.CurrentMitVector, theirs.CurrentMitVector)
			}
			if ours.Version >= 3 {
				eq("cpuid", abi.FmsToCpuid1Eax(ours.CPUIDFamily, ours.CPUIDModel, ours.CPUIDStepping), theirs.Cpuid1EaxFms)
			}
			eq("signature", b[0x2A0:0x4A0], theirs.Signature)
		})
	}
}

// TestJSONRoundTripRealReports encodes each real report in Trustee's JSON
// form and checks that decoding gives back the exact signed bytes.
func TestJSONRoundTripRealReports(t *testing.T) {
	for _, tc := range []struct {
		file    string
		product snp.Product
	}{{"gsg-attestation.bin", snp.Milan}, {"test-report.bin", snp.Milan}, {"test-vlek-report.bin", snp.Milan}} {
		raw := read(t, tc.file)
		r, err := snp.ParseReport(raw)
		if err != nil {
			t.Fatal(err)
		}
		js, err := snp.EncodeJSON(r, tc.product, nil)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := snp.DecodeEvidence(js)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if !bytes.Equal(ev.Report.Raw(), raw) {
			t.Fatalf("%s: JSON round trip changed the report", tc.file)
		}
	}
}

func mustSign(t *testing.T, p *snptest.PKI, r snptest.Report) []byte {
	t.Helper()
	b, err := p.Sign(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
