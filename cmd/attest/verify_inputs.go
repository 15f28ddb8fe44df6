package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
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
