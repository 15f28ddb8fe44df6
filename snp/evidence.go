package snp

import (
	"bytes"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/trustfactory/attest/internal/jsonbound"
	"github.com/trustfactory/attest/internal/pemchain"
	"github.com/trustfactory/attest/verify"
)

// MaxEvidenceSize caps any evidence encoding accepted by Verify.
const MaxEvidenceSize = 1 << 20

// Evidence is decoded, still unverified SNP evidence: the report and the
// certificates that came with it, by role.
type Evidence struct {
	Report *Report
	// DER certificates by the role they arrived under (table GUID,
	// cert_type, or for separately given certificates the certificate's own
	// subject). The GHCB table has no ASVK GUID, so an ASVK may arrive as ASK.
	VCEK, VLEK, ASK, ASVK, ARK []byte
}

// DecodeEvidence decodes any of the encodings Verify accepts:
//
//   - the raw 1184-byte report;
//   - the raw report followed by an extended-report certificate table
//     (the SNP_GET_EXT_REPORT layout);
//   - Trustee's JSON evidence, {"attestation_report": …, "cert_chain": […]},
//     re-encoded to the binary layout so that the signature can be checked.
//
// Nothing it returns is trustworthy before verification.
func DecodeEvidence(b []byte) (*Evidence, error) {
	if len(b) > MaxEvidenceSize {
		return nil, verify.Errorf(verify.ErrLimit, "evidence: %d bytes exceeds the limit of %d", len(b), MaxEvidenceSize)
	}
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		return decodeJSON(t)
	}
	if len(b) < ReportSize {
		return nil, verify.Errorf(verify.ErrMalformed, "report size: expected %d bytes (or more with a certificate table), got %d", ReportSize, len(b))
	}
	r, err := ParseReport(b[:ReportSize])
	if err != nil {
		return nil, err
	}
	ev := &Evidence{Report: r}
	if len(b) == ReportSize {
		return ev, nil
	}
	table := b[ReportSize:]
	entries, err := ParseCertTable(table)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "certificate table after the report has no entries (%d bytes)", len(table))
	}
	if err := checkPadding(table, entries); err != nil {
		return nil, err
	}
	for _, e := range entries {
		if err := ev.add(guidName(e.GUID), e.Data); err != nil {
			return nil, err
		}
	}
	return ev, nil
}

// checkPadding requires every byte of the table that is neither entry list
// nor blob to be zero, so that no unaccounted data rides along.
func checkPadding(table []byte, entries []CertEntry) error {
	used := make([]bool, len(table))
	for i := 0; i < (len(entries)+1)*certTableEntrySize; i++ {
		used[i] = true
	}
	// ParseCertTable returns the entries in table order, so entry i's
	// offset is in the i-th header.
	for i, e := range entries {
		off := int(binary.LittleEndian.Uint32(table[i*certTableEntrySize+16:]))
		for j := off; j < off+len(e.Data); j++ {
			used[j] = true
		}
	}
	for i, u := range used {
		if !u && table[i] != 0 {
			return verify.Errorf(verify.ErrMalformed, "certificate table: unreferenced non-zero byte %#x at offset %d", table[i], i)
		}
	}
	return nil
}

// add records one DER or PEM certificate under a role. Unknown roles are
// ignored; a second certificate for the same role is ambiguous and rejected.
func (ev *Evidence) add(role string, data []byte) error {
	var slot *[]byte
	switch role {
	case "VCEK":
		slot = &ev.VCEK
	case "VLEK":
		slot = &ev.VLEK
	case "ASK":
		slot = &ev.ASK
	case "ASVK":
		slot = &ev.ASVK
	case "ARK":
		slot = &ev.ARK
	default:
		return nil
	}
	der, err := oneDER(data)
	if err != nil {
		return verify.Errorf(verify.ErrMalformed, "%s certificate: %w", role, err)
	}
	if *slot != nil {
		return verify.Errorf(verify.ErrMalformed, "evidence carries two %s certificates", role)
	}
	*slot = der
	return nil
}

// oneDER returns the DER of exactly one certificate given as DER or PEM,
// checking only its outer framing; parsing happens (cached) at verification.
func oneDER(data []byte) ([]byte, error) {
	if bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("-----BEGIN")) {
		ders, err := pemchain.Certificates(data, 1)
		if errors.Is(err, verify.ErrLimit) {
			return nil, verify.Errorf(verify.ErrMalformed, "expected one PEM CERTIFICATE block, found more")
		}
		if err != nil {
			return nil, fmt.Errorf("expected one PEM CERTIFICATE block: %w", err)
		}
		data = ders[0]
	}
	var seq cryptobyte.String
	in := cryptobyte.String(data)
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, verify.Errorf(verify.ErrMalformed, "expected one DER certificate of %d bytes", len(data))
	}
	return data, nil
}

func isVLEKIntermediate(c *x509.Certificate) bool {
	return strings.Contains(c.Subject.CommonName, "VLEK")
}

// AddCertificates adds separately delivered certificates (PEM or
// concatenated DER) to the evidence, each under the role its own subject
// names: SEV-VCEK, SEV-VLEK, ARK-*, SEV-VLEK-* (ASVK) or SEV-* (ASK).
func (ev *Evidence) AddCertificates(data []byte) error {
	ders, err := splitCerts(data)
	if err != nil {
		return err
	}
	for _, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return verify.Errorf(verify.ErrMalformed, "certificate: %w", err)
		}
		if err := ev.add(certRole(c), der); err != nil {
			return err
		}
	}
	return nil
}

// certRole names the role a certificate's own subject gives it.
func certRole(c *x509.Certificate) string {
	switch cn := c.Subject.CommonName; {
	case cn == "SEV-VCEK":
		return "VCEK"
	case cn == "SEV-VLEK":
		return "VLEK"
	case bytes.Equal(c.RawSubject, c.RawIssuer):
		return "ARK"
	case isVLEKIntermediate(c):
		return "ASVK"
	}
	return "ASK"
}

// splitCerts splits PEM or concatenated DER into DER certificates, checking
// only the framing.
func splitCerts(data []byte) ([][]byte, error) {
	if len(data) > maxCertBytes {
		return nil, verify.Errorf(verify.ErrLimit, "certificates: %d bytes exceeds the limit of %d", len(data), maxCertBytes)
	}
	var out [][]byte
	if bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("-----BEGIN")) {
		ders, err := pemchain.Certificates(data, maxCerts)
		if err != nil {
			return nil, fmt.Errorf("certificates: %w", err)
		}
		out = ders
	} else {
		in := cryptobyte.String(data)
		for !in.Empty() {
			var cert cryptobyte.String
			start := len(data) - len(in)
			if !in.ReadASN1Element(&cert, cbasn1.SEQUENCE) {
				return nil, verify.Errorf(verify.ErrMalformed, "certificates: no DER SEQUENCE at offset %d", start)
			}
			out = append(out, data[start:start+len(cert):start+len(cert)])
			if len(out) > maxCerts {
				return nil, verify.Errorf(verify.ErrLimit, "more than %d certificates", maxCerts)
			}
		}
	}
	if len(out) == 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "no certificate found in %d bytes", len(data))
	}
	return out, nil
}

// Trustee's JSON evidence (serde of sev::firmware::guest::AttestationReport).

type jsonEvidence struct {
	AttestationReport *jsonReport  `json:"attestation_report"`
	CertChain         []jsonCertEn `json:"cert_chain"`
}

type jsonCertEn struct {
	CertType json.RawMessage `json:"cert_type"`
	Data     jsonBytes       `json:"data"`
}

type jsonTCB struct {
	FMC        *uint8 `json:"fmc"`
	Bootloader uint8  `json:"bootloader"`
	TEE        uint8  `json:"tee"`
	SNP        uint8  `json:"snp"`
	Microcode  uint8  `json:"microcode"`
}

type jsonVersion struct {
	Major uint8 `json:"major"`
	Minor uint8 `json:"minor"`
	Build uint8 `json:"build"`
}

type jsonSignature struct {
	R jsonBytes `json:"r"`
	S jsonBytes `json:"s"`
}

type jsonReport struct {
	Version          uint32        `json:"version"`
	GuestSVN         uint32        `json:"guest_svn"`
	Policy           uint64        `json:"policy"`
	FamilyID         jsonBytes     `json:"family_id"`
	ImageID          jsonBytes     `json:"image_id"`
	VMPL             uint32        `json:"vmpl"`
	SigAlgo          uint32        `json:"sig_algo"`
	CurrentTCB       jsonTCB       `json:"current_tcb"`
	PlatInfo         uint64        `json:"plat_info"`
	KeyInfo          uint32        `json:"key_info"`
	ReportData       jsonBytes     `json:"report_data"`
	Measurement      jsonBytes     `json:"measurement"`
	HostData         jsonBytes     `json:"host_data"`
	IDKeyDigest      jsonBytes     `json:"id_key_digest"`
	AuthorKeyDigest  jsonBytes     `json:"author_key_digest"`
	ReportID         jsonBytes     `json:"report_id"`
	ReportIDMA       jsonBytes     `json:"report_id_ma"`
	ReportedTCB      jsonTCB       `json:"reported_tcb"`
	CPUIDFamID       *uint8        `json:"cpuid_fam_id"`
	CPUIDModID       *uint8        `json:"cpuid_mod_id"`
	CPUIDStep        *uint8        `json:"cpuid_step"`
	ChipID           jsonBytes     `json:"chip_id"`
	CommittedTCB     jsonTCB       `json:"committed_tcb"`
	Current          jsonVersion   `json:"current"`
	Committed        jsonVersion   `json:"committed"`
	LaunchTCB        jsonTCB       `json:"launch_tcb"`
	LaunchMitVector  *uint64       `json:"launch_mit_vector"`
	CurrentMitVector *uint64       `json:"current_mit_vector"`
	Signature        jsonSignature `json:"signature"`
}

// jsonBytes is a byte string written as a JSON array of integers 0–255.
type jsonBytes []byte

func (j *jsonBytes) UnmarshalJSON(b []byte) error {
	var ints []uint16
	if err := json.Unmarshal(b, &ints); err != nil {
		return err
	}
	out := make([]byte, len(ints))
	for i, v := range ints {
		if v > 255 {
			return fmt.Errorf("byte %d: value %d out of range", i, v)
		}
		out[i] = byte(v)
	}
	*j = out
	return nil
}

// MarshalJSON writes the bytes as an array of integers, the serde form.
func (j jsonBytes) MarshalJSON() ([]byte, error) {
	ints := make([]uint16, len(j))
	for i, v := range j {
		ints[i] = uint16(v)
	}
	return json.Marshal(ints)
}

// UnmarshalJSON decodes the report strictly: an unknown member would be a
// report field this package does not encode, so the bytes it re-encodes
// could not be the signed ones. The evidence object around the report
// ignores members Trustee ignores (decodeJSON).
func (j *jsonReport) UnmarshalJSON(b []byte) error {
	type strict jsonReport // without this method
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode((*strict)(j))
}

// Structure caps of JSON evidence, checked before it is decoded: every
// element of a typed array costs encoding/json a value, and every element of
// the wrong type an error, about 350 bytes for the two bytes of "0," in
// cert_chain, so a megabyte of [0,0,…] there allocated 175 MB
// (TestWorstShapeDecodeEvidence). Real evidence is 4 levels deep
// (cert_chain, an entry, an OTHER cert_type, its GUID) and its largest arrays
// are certificates as integers: VCEK or VLEK, ASK and ARK are under 5 000
// bytes together, the report's fields a few hundred. The caps hold the worst
// document to about 6 MB.
const (
	maxJSONDepth  = 8
	maxJSONValues = 16 << 10
)

func decodeJSON(b []byte) (*Evidence, error) {
	if err := jsonbound.Check(b, "JSON evidence", maxJSONDepth, maxJSONValues); err != nil {
		return nil, err
	}
	// Members Trustee ignores are ignored (MaxEvidenceSize and the caps
	// above bound the document); the report itself is decoded strictly.
	dec := json.NewDecoder(bytes.NewReader(b))
	var je jsonEvidence
	if err := dec.Decode(&je); err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "JSON evidence: %w", err)
	}
	// Not dec.More(), which reports false before a stray ']' or '}'.
	if len(bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n")) != 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "JSON evidence: trailing data after the object")
	}
	if je.AttestationReport == nil {
		return nil, verify.Errorf(verify.ErrMalformed, "JSON evidence: no attestation_report")
	}
	raw, err := je.AttestationReport.encode()
	if err != nil {
		return nil, err
	}
	r, err := ParseReport(raw)
	if err != nil {
		return nil, err
	}
	ev := &Evidence{Report: r}
	if len(je.CertChain) > MaxCertTableEntries {
		return nil, verify.Errorf(verify.ErrLimit, "JSON evidence: %d cert_chain entries exceeds the limit of %d", len(je.CertChain), MaxCertTableEntries)
	}
	for i, c := range je.CertChain {
		var name string
		if err := json.Unmarshal(c.CertType, &name); err != nil {
			// serde writes OTHER(uuid) as an object: not a certificate we use.
			continue
		}
		switch name {
		case "VCEK", "VLEK", "ASK", "ASVK", "ARK":
		case "CRL", "Empty", "OTHER":
			continue
		default:
			return nil, verify.Errorf(verify.ErrMalformed, "JSON evidence: cert_chain[%d]: unknown cert_type %q", i, name)
		}
		if err := ev.add(name, c.Data); err != nil {
			return nil, verify.Errorf(verify.ErrMalformed, "JSON evidence: cert_chain[%d]: %w", i, err)
		}
	}
	return ev, nil
}

// encode lays the report out in the binary ABI format. The serde form drops
// reserved fields, which are zero in any report the firmware signs.
func (j *jsonReport) encode() ([]byte, error) {
	out := make([]byte, ReportSize)
	le := binary.LittleEndian
	put := func(field string, at int, v jsonBytes, n int) error {
		if len(v) != n {
			return verify.Errorf(verify.ErrMalformed, "JSON evidence: %s: expected %d bytes, got %d", field, n, len(v))
		}
		copy(out[at:], v)
		return nil
	}
	turin := j.CurrentTCB.FMC != nil || j.ReportedTCB.FMC != nil || j.CommittedTCB.FMC != nil || j.LaunchTCB.FMC != nil
	if j.CPUIDFamID != nil && j.CPUIDModID != nil {
		if p, err := ProductFromCPUID(*j.CPUIDFamID, *j.CPUIDModID); err == nil && p == Turin {
			turin = true
		}
	}
	tcb := func(t jsonTCB) uint64 {
		v := TCB{Bootloader: t.Bootloader, TEE: t.TEE, SNP: t.SNP, Microcode: t.Microcode}
		if t.FMC != nil {
			v.FMC = *t.FMC
		}
		if turin {
			return v.Encode(Turin)
		}
		return v.Encode(Milan)
	}
	le.PutUint32(out[0x00:], j.Version)
	le.PutUint32(out[0x04:], j.GuestSVN)
	le.PutUint64(out[0x08:], j.Policy)
	le.PutUint32(out[0x30:], j.VMPL)
	le.PutUint32(out[0x34:], j.SigAlgo)
	le.PutUint64(out[0x38:], tcb(j.CurrentTCB))
	le.PutUint64(out[0x40:], j.PlatInfo)
	le.PutUint32(out[0x48:], j.KeyInfo)
	le.PutUint64(out[0x180:], tcb(j.ReportedTCB))
	le.PutUint64(out[0x1E0:], tcb(j.CommittedTCB))
	out[0x1E8], out[0x1E9], out[0x1EA] = j.Current.Build, j.Current.Minor, j.Current.Major
	out[0x1EC], out[0x1ED], out[0x1EE] = j.Committed.Build, j.Committed.Minor, j.Committed.Major
	le.PutUint64(out[0x1F0:], tcb(j.LaunchTCB))
	if j.CPUIDFamID != nil {
		out[0x188] = *j.CPUIDFamID
	}
	if j.CPUIDModID != nil {
		out[0x189] = *j.CPUIDModID
	}
	if j.CPUIDStep != nil {
		out[0x18A] = *j.CPUIDStep
	}
	if j.LaunchMitVector != nil {
		le.PutUint64(out[0x1F8:], *j.LaunchMitVector)
	}
	if j.CurrentMitVector != nil {
		le.PutUint64(out[0x200:], *j.CurrentMitVector)
	}
	for _, f := range []struct {
		name string
		at   int
		v    jsonBytes
		n    int
	}{
		{"family_id", 0x10, j.FamilyID, 16},
		{"image_id", 0x20, j.ImageID, 16},
		{"report_data", 0x50, j.ReportData, 64},
		{"measurement", 0x90, j.Measurement, 48},
		{"host_data", 0xC0, j.HostData, 32},
		{"id_key_digest", 0xE0, j.IDKeyDigest, 48},
		{"author_key_digest", 0x110, j.AuthorKeyDigest, 48},
		{"report_id", 0x140, j.ReportID, 32},
		{"report_id_ma", 0x160, j.ReportIDMA, 32},
		{"chip_id", 0x1A0, j.ChipID, 64},
		{"signature.r", offSignature, j.Signature.R, sigComponent},
		{"signature.s", offSignature + sigComponent, j.Signature.S, sigComponent},
	} {
		if err := put(f.name, f.at, f.v, f.n); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// EncodeJSON writes a report (and optional certificates by role) in
// Trustee's JSON evidence form. It is the inverse of the JSON branch of
// DecodeEvidence, for tests and tools.
func EncodeJSON(r *Report, product Product, certs map[string][]byte) ([]byte, error) {
	tcb := func(v uint64) jsonTCB {
		t := DecodeTCB(product, v)
		j := jsonTCB{Bootloader: t.Bootloader, TEE: t.TEE, SNP: t.SNP, Microcode: t.Microcode}
		if product == Turin {
			f := t.FMC
			j.FMC = &f
		}
		return j
	}
	jr := &jsonReport{
		Version: r.Version, GuestSVN: r.GuestSVN, Policy: r.Policy,
		FamilyID: r.FamilyID[:], ImageID: r.ImageID[:], VMPL: r.VMPL, SigAlgo: r.SignatureAlgo,
		CurrentTCB: tcb(r.CurrentTCB), PlatInfo: r.PlatformInfo, KeyInfo: r.SignerInfo,
		ReportData: r.ReportData[:], Measurement: r.Measurement[:], HostData: r.HostData[:],
		IDKeyDigest: r.IDKeyDigest[:], AuthorKeyDigest: r.AuthorKeyDigest[:],
		ReportID: r.ReportID[:], ReportIDMA: r.ReportIDMA[:], ReportedTCB: tcb(r.ReportedTCB),
		ChipID: r.ChipID[:], CommittedTCB: tcb(r.CommittedTCB),
		Current:   jsonVersion{Major: r.CurrentMajor, Minor: r.CurrentMinor, Build: r.CurrentBuild},
		Committed: jsonVersion{Major: r.CommittedMajor, Minor: r.CommittedMinor, Build: r.CommittedBuild},
		LaunchTCB: tcb(r.LaunchTCB),
		Signature: jsonSignature{R: r.SignatureR[:], S: r.SignatureS[:]},
	}
	if r.Version >= 3 {
		f, m, s := r.CPUIDFamily, r.CPUIDModel, r.CPUIDStepping
		jr.CPUIDFamID, jr.CPUIDModID, jr.CPUIDStep = &f, &m, &s
	}
	if r.Version >= 5 {
		l, c := r.LaunchMitVector, r.CurrentMitVector
		jr.LaunchMitVector, jr.CurrentMitVector = &l, &c
	}
	type certEntry struct {
		CertType string    `json:"cert_type"`
		Data     jsonBytes `json:"data"`
	}
	je := struct {
		AttestationReport *jsonReport `json:"attestation_report"`
		CertChain         []certEntry `json:"cert_chain"`
	}{AttestationReport: jr}
	for _, role := range []string{"VCEK", "VLEK", "ASK", "ASVK", "ARK"} {
		if d, ok := certs[role]; ok {
			je.CertChain = append(je.CertChain, certEntry{role, d})
		}
	}
	return json.Marshal(je)
}
