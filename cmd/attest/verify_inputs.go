package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/verify"
)

const maxEvidenceInput = 64 << 20

// isKBSRequest reports whether b looks like the body of a KBS attest
// request: then it is appraised as the composite it describes, bound to its
// own runtime data (whose nonce only a live KBS session can vouch for).
func isKBSRequest(b []byte) bool {
	t := bytes.TrimSpace(b)
	if len(t) == 0 || t[0] != '{' {
		return false
	}
	var probe map[string]json.RawMessage
	if json.Unmarshal(t, &probe) != nil {
		return false
	}
	_, ev := probe["tee-evidence"]
	_, rd := probe["runtime-data"]
	return ev && rd
}

func readEvidence(name string, stdin io.Reader) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		if stdin == nil {
			return nil, errors.New("no standard input")
		}
		r = stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		// A directory or an oversized file is refused before a byte is
		// read; a device is read through the limit below.
		if st, err := f.Stat(); err == nil {
			switch {
			case st.IsDir():
				return nil, fmt.Errorf("%s: a directory, expected an evidence file", name)
			case st.Mode().IsRegular() && st.Size() > maxEvidenceInput:
				return nil, fmt.Errorf("%s: %d bytes, limit %d", name, st.Size(), maxEvidenceInput)
			}
		}
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxEvidenceInput+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(b) > maxEvidenceInput {
		return nil, fmt.Errorf("%s: more than %d bytes", name, maxEvidenceInput)
	}
	return b, nil
}

type namedEvidence struct {
	name string
	data []byte
}

// minHexEvidence is the fewest hex digits a text file must hold to be
// taken for hex-encoded evidence (the smallest evidence is far longer).
const minHexEvidence = 64

// prepareInputs turns the files given into evidence: hex text (dcap-qvl's
// .hex quotes, NVIDIA's .txt reports) is decoded, and a raw GPU or switch
// report given beside a PEM chain file is paired with it into one
// component (the raw encoding: the report followed by its chain). Reports
// and chains pair in the order given; an unpaired chain is an error.
func prepareInputs(files []namedEvidence) ([]namedEvidence, error) {
	var out []namedEvidence
	var reports, chains []int // indexes into out
	for _, f := range files {
		if len(bytes.TrimSpace(f.data)) == 0 {
			return nil, fmt.Errorf("%s: empty", f.name)
		}
		if b, ok := decodeHexText(f.data); ok {
			f.data = b
		}
		switch {
		case isPEMChain(f.data):
			chains = append(chains, len(out))
		case isBareDeviceReport(f.data):
			reports = append(reports, len(out))
		}
		out = append(out, f)
	}
	if len(chains) == 0 {
		return out, nil
	}
	if len(chains) != len(reports) {
		return nil, fmt.Errorf("%d GPU or switch reports and %d PEM certificate chains given: give each report with its chain (REPORT CHAIN ...)", len(reports), len(chains))
	}
	paired := make(map[int]bool, len(chains))
	for i, r := range reports {
		c := chains[i]
		out[r].data = append(slices.Clip(out[r].data), out[c].data...)
		out[r].name += "+" + out[c].name
		paired[c] = true
	}
	kept := out[:0]
	for i, e := range out {
		if !paired[i] {
			kept = append(kept, e)
		}
	}
	return kept, nil
}

// decodeHexText decodes b when it is only hex digits and white space (an
// optional 0x prefix allowed), as evidence is often published.
func decodeHexText(b []byte) ([]byte, bool) {
	t := bytes.TrimSpace(b)
	t = bytes.TrimPrefix(bytes.TrimPrefix(t, []byte("0x")), []byte("0X"))
	digits := make([]byte, 0, len(t))
	for _, c := range t {
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
			digits = append(digits, c)
		default:
			return nil, false
		}
	}
	if len(digits) < minHexEvidence || len(digits)%2 != 0 {
		return nil, false
	}
	out := make([]byte, len(digits)/2)
	if _, err := hex.Decode(out, digits); err != nil {
		return nil, false
	}
	return out, true
}

var pemCertificate = []byte("-----BEGIN CERTIFICATE-----")

// isPEMChain reports whether b is a PEM file of certificates only.
func isPEMChain(b []byte) bool {
	return bytes.HasPrefix(bytes.TrimSpace(b), pemCertificate)
}

// isBareDeviceReport reports whether b is an SPDM GET_MEASUREMENTS request
// and response without the certificate chain the raw encoding appends.
func isBareDeviceReport(b []byte) bool {
	return len(b) > gpu.RequestSize && b[0] == gpu.SPDMVersion11 && b[1] == gpu.CodeGetMeasurements && !bytes.Contains(b, pemCertificate)
}

// undetected explains evidence no verifier recognizes.
func undetected(e namedEvidence, err error) error {
	what := "not evidence of a format attest verifies"
	switch {
	case bytes.HasPrefix(e.data, []byte("\x89PNG")):
		what = "a PNG image, not evidence"
	case isPEMChain(e.data):
		what = "a certificate chain alone: give it after the GPU or switch report it belongs to"
	case isBareDeviceReport(e.data):
		what = "a GPU or switch report without its certificate chain: give the chain's PEM file after it"
	}
	return verify.Errorf(verify.KindOf(err), "%s: %s (%v)", e.name, what, err)
}
