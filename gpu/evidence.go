package gpu

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/trustfactory/attest/verify"
)

// Evidence encodings accepted by ParseEvidence.
//
//   - Trustee: {"device_evidence_list":[{"arch","uuid"?,"evidence":hex|base64,"certificate":base64 PEM}]}
//   - NVIDIA serialized evidence: [{"arch","nonce","evidence":base64,"certificate":base64 PEM}]
//   - one device object of that array, {"arch",…}, as Split returns it: its
//     values plain ASCII strings without escapes, its keys only those above
//   - the NRAS request body and NVIDIA's CMW collection (encodings.go)
//   - raw: the binary report immediately followed by the PEM chain.
const (
	maxEvidenceSize = 1 << 20
	maxDevices      = 16
)

var pemStart = []byte("-----BEGIN CERTIFICATE-----")

// DeviceEvidence is one device's evidence as carried by an encoding. Nothing
// in it is authenticated until Verify checks it.
type DeviceEvidence struct {
	Arch        Arch   // declared architecture; empty for the raw encoding
	UUID        string // Trustee only, optional
	Nonce       []byte // declared nonce (NVIDIA encoding); must equal the signed request nonce
	Report      []byte // SPDM request ‖ response
	Certificate []byte // PEM chain, leaf first

	// DriverVersion and VBIOSVersion are the versions NVIDIA's serialized
	// encoding may declare beside the report ("driver_version",
	// "vbios_version"); when given, they must equal the signed ones.
	DriverVersion, VBIOSVersion string

	// Set only by a Verifier's own parsing (ParseEvidence never sets
	// them): certKey is the chain-cache key of the certificate field's
	// base64 text (certKeyed says it has one), and chain, when not nil,
	// the chain that text was decoded to and verified as before, in which
	// case Certificate is left nil (not decoded again).
	certKey   [32]byte
	certKeyed bool
	chain     *DeviceChain
}

// chainLookup finds the verified chain of a certificate field's base64
// text, returning the text's cache key either way.
type chainLookup func(text []byte) (key [32]byte, chain *DeviceChain)

type jsonDevice struct {
	Arch        string `json:"arch"`
	UUID        string `json:"uuid,omitempty"`
	Nonce       string `json:"nonce,omitempty"`
	Evidence    string `json:"evidence"`
	Certificate string `json:"certificate"`
	// Declared beside the report by NVIDIA's serialized encoding.
	DriverVersion string `json:"driver_version,omitempty"`
	VBIOSVersion  string `json:"vbios_version,omitempty"`
}

type trusteeEvidence struct {
	DeviceEvidenceList deviceList `json:"device_evidence_list"`
}

// deviceList is a list of devices whose length is capped before its
// elements are decoded (capDevices). encoding/json decodes every occurrence
// of a repeated member, so each is capped, and one of the wrong type still
// fails the whole wrapper.
type deviceList []jsonDevice

// UnmarshalJSON caps the list, then decodes it as a plain slice.
func (l *deviceList) UnmarshalJSON(b []byte) error {
	if err := capDevices(b); err != nil {
		return err
	}
	return json.Unmarshal(b, (*[]jsonDevice)(l))
}

// DetectEncoding reports whether b looks like GPU or switch evidence in one of
// the supported encodings. It is cheap and never panics.
func DetectEncoding(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n")
	switch {
	case len(t) == 0:
		return false
	case t[0] == '[':
		return bytes.Contains(t, []byte(`"evidence"`))
	case t[0] == '{':
		if _, ok := loneDevice(t); ok {
			return true
		}
		return bytes.Contains(t, []byte(`"device_evidence_list"`)) || bytes.Contains(t, []byte(`"evidence_list"`)) || isCMW(t) && bytes.Contains(t, []byte(cmwMediaTranscript))
	}
	return len(b) > RequestSize && b[0] == SPDMVersion11 && b[1] == CodeGetMeasurements && bytes.Contains(b, pemStart)
}

// ParseEvidence decodes any supported encoding into one entry per device.
func ParseEvidence(b []byte) ([]DeviceEvidence, error) {
	return parseEvidence(b, nil)
}

// parseEvidence is ParseEvidence, told how to find the chains of
// certificate fields already verified (nil: decode every field).
func parseEvidence(b []byte, lookup chainLookup) ([]DeviceEvidence, error) {
	if len(b) > maxEvidenceSize {
		return nil, verify.Errorf(verify.ErrLimit, "GPU evidence: %d bytes exceeds the cap of %d", len(b), maxEvidenceSize)
	}
	t := bytes.TrimLeft(b, " \t\r\n")
	if len(t) == 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "GPU evidence: empty")
	}
	var list []jsonDevice
	switch t[0] {
	case '[':
		if fast, ok := decodeListFast(t); ok {
			return decodeRawDevices(fast, lookup)
		}
		// Bound the devices before decoding them: encoding/json would first
		// build an element for each of a million nulls.
		if _, err := splitJSONArray(t); err != nil {
			return nil, err
		}
		if err := checkDuplicateNames(t, "GPU evidence array"); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(t, &list); err != nil {
			return nil, verify.Errorf(verify.ErrMalformed, "GPU evidence array: %w", err)
		}
	case '{':
		// A device object alone, as Split returns the elements of an array:
		// only keys of a device, so never a Trustee wrapper.
		if d, ok := loneDevice(t); ok {
			return decodeRawDevices([]rawDevice{d}, lookup)
		}
		if devs, ok, err := parseObjectEncoding(t); ok {
			return devs, err
		}
		var te trusteeEvidence
		if err := json.Unmarshal(t, &te); err != nil {
			if errors.Is(err, verify.ErrLimit) {
				return nil, err
			}
			return nil, verify.Errorf(verify.ErrMalformed, "GPU evidence (Trustee): %w", err)
		}
		list = te.DeviceEvidenceList
	default:
		return parseRaw(b)
	}
	if len(list) == 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "GPU evidence: no device")
	}
	if len(list) > maxDevices {
		return nil, verify.Errorf(verify.ErrLimit, "GPU evidence: %d devices exceeds the cap of %d", len(list), maxDevices)
	}
	out := make([]DeviceEvidence, 0, len(list))
	for i, d := range list {
		de, err := decodeJSONDevice(d)
		if err != nil {
			return nil, fmt.Errorf("GPU evidence device %d: %w", i, err)
		}
		out = append(out, de)
	}
	return out, nil
}

// capDevices refuses (ErrLimit) a JSON array of more than maxDevices
// elements before encoding/json decodes it into device structs, which costs
// a struct, and for an element of the wrong type an error, per element: a
// megabyte of [{},{},…] or ["","",…] allocated up to 250 MB
// (TestWorstShapeParseEvidence). It counts as Split counts; an array it finds
// malformed is left to the decoder, which says how.
func capDevices(b []byte) error {
	if _, err := splitJSONArray(b); errors.Is(err, verify.ErrLimit) {
		return err
	}
	return nil
}

// loneDevice decodes b as one device object of the serialized array, in the
// fast decoder's plain subset and with its evidence: the form Split gives the
// elements it does not copy.
func loneDevice(b []byte) (rawDevice, bool) {
	var d rawDevice
	ok := decodeDeviceFast(b, &d) && d.Evidence != nil
	return d, ok
}

// decodeRawDevices is the rest of ParseEvidence for the fast decoder's list,
// which splitJSONArray holds to maxDevices.
func decodeRawDevices(list []rawDevice, lookup chainLookup) ([]DeviceEvidence, error) {
	out := make([]DeviceEvidence, 0, len(list))
	for i, d := range list {
		de, err := decodeDevice(string(d.Arch), string(d.UUID), string(d.Nonce), d.Evidence, d.Certificate, lookup)
		if err != nil {
			return nil, fmt.Errorf("GPU evidence device %d: %w", i, err)
		}
		out = append(out, de)
	}
	return out, nil
}

func decodeJSONDevice(d jsonDevice) (DeviceEvidence, error) {
	de, err := decodeDevice(d.Arch, d.UUID, d.Nonce, []byte(d.Evidence), []byte(d.Certificate), nil)
	de.DriverVersion, de.VBIOSVersion = d.DriverVersion, d.VBIOSVersion
	return de, err
}

// decodeDevice decodes one device's JSON field values. The report and the
// chain come as bytes so that the fast decoder passes slices of the input.
// A base64 chain lookup finds (the same text decoded and verified before)
// is not decoded again: that decoding succeeded then, and would now.
func decodeDevice(arch, uuid, nonce string, evidence, certificate []byte, lookup chainLookup) (DeviceEvidence, error) {
	var de DeviceEvidence
	a, err := ParseArch(arch)
	if err != nil {
		return de, err
	}
	de.Arch, de.UUID = a, uuid
	if nonce != "" {
		n, err := hex.DecodeString(nonce)
		if err != nil || len(n) != NonceSize {
			return de, verify.Errorf(verify.ErrMalformed, "nonce: expected %d bytes of hex, got %q", NonceSize, nonce)
		}
		de.Nonce = n
	}
	if de.Report, err = decodeReport(evidence); err != nil {
		return de, err
	}
	c := bytes.TrimSpace(certificate)
	if bytes.HasPrefix(c, []byte("-----BEGIN")) {
		de.Certificate = bytes.Clone(c)
		return de, nil
	}
	if lookup != nil {
		de.certKey, de.chain = lookup(c)
		if de.certKeyed = true; de.chain != nil {
			return de, nil
		}
	}
	if de.Certificate, err = decodeBase64(c); err != nil {
		return de, verify.Errorf(verify.ErrMalformed, "certificate: expected base64 of a PEM chain: %w", err)
	}
	if len(de.Certificate) == 0 {
		return de, verify.Errorf(verify.ErrMalformed, "certificate: empty")
	}
	return de, nil
}

// decodeReport accepts the report as hex (Trustee) or base64 (both).
func decodeReport(s []byte) ([]byte, error) {
	s = bytes.TrimSpace(s)
	if len(s) == 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "evidence: empty")
	}
	// Hex of an SPDM 1.1 report starts "11"; base64 of one starts "Ee".
	if bytes.HasPrefix(s, []byte("11")) && len(s)%2 == 0 {
		b := make([]byte, len(s)/2)
		if _, err := hex.Decode(b, s); err == nil && len(b) > 1 && b[0] == SPDMVersion11 {
			return b, nil
		}
	}
	b, err := decodeBase64(s)
	if err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "evidence: neither hex nor base64 of an SPDM report: %w", err)
	}
	return b, nil
}

func decodeBase64(s []byte) ([]byte, error) {
	b, err := base64.StdEncoding.AppendDecode(nil, s)
	return b[:len(b):len(b)], err
}

func parseRaw(b []byte) ([]DeviceEvidence, error) {
	i := bytes.Index(b, pemStart)
	if i < 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "raw GPU evidence: no PEM certificate chain after the report")
	}
	if i < RequestSize {
		return nil, verify.Errorf(verify.ErrMalformed, "raw GPU evidence: %d report bytes before the chain, need at least %d", i, RequestSize)
	}
	report := b[:i:i]
	// A chain file that starts with blank lines (NVIDIA's rubinCertChain.txt
	// does) leaves them between the report and the chain once the two files
	// are joined. The report's structure says where it ends; white space,
	// and only white space, after that end is the chain file's. The report
	// is parsed for its extent only when white space precedes the chain
	// (usually nothing does).
	if c := report[len(report)-1]; c == '\n' || c == '\r' || c == ' ' || c == '\t' {
		if n, ok := reportExtent(report); ok && n < len(report) && len(bytes.TrimLeft(report[n:], " \t\r\n")) == 0 {
			report = report[:n:n]
		}
	}
	return []DeviceEvidence{{Report: report, Certificate: b[i:]}}, nil
}

// reportExtent returns the length of the request ‖ response at the start
// of b, as its structure gives it, when b holds one.
func reportExtent(b []byte) (int, bool) {
	if len(b) < RequestSize || len(b) > maxReportSize {
		return 0, false
	}
	_, used, err := parseResponse(b[RequestSize:])
	if err != nil {
		return 0, false
	}
	return RequestSize + used, true
}

// EncodeEvidence renders devices in NVIDIA's serialized array encoding.
func EncodeEvidence(devs []DeviceEvidence) ([]byte, error) {
	list := make([]jsonDevice, 0, len(devs))
	for _, d := range devs {
		if d.Arch == "" {
			return nil, verify.Errorf(verify.ErrConfig, "encode GPU evidence: device without architecture")
		}
		list = append(list, jsonDevice{
			Arch:          string(d.Arch),
			UUID:          d.UUID,
			Nonce:         hex.EncodeToString(d.Nonce),
			Evidence:      base64.StdEncoding.EncodeToString(d.Report),
			Certificate:   base64.StdEncoding.EncodeToString(d.Certificate),
			DriverVersion: d.DriverVersion,
			VBIOSVersion:  d.VBIOSVersion,
		})
	}
	return json.Marshal(list)
}
