package token

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/veraison/go-cose"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/verify"
)

// Inspection is what Inspect could read from a token WITHOUT checking its
// signature. None of it is trustworthy; use it for debugging only.
type Inspection struct {
	Format Format
	// Header holds the JOSE header (JWT) or the protected and unprotected
	// COSE headers (CWT, keyed "protected"/"unprotected" with labels as text).
	Header map[string]any
	// Claims are the decoded, unverified claims; nil if they do not decode.
	Claims *ear.Result
	// ClaimsError says why the claims did not decode or are not valid EAR.
	ClaimsError error
}

// Inspect decodes a token without verifying it, within the default size
// limit. It errors (verify.ErrToken) only when the token cannot be split into
// header and payload at all.
func Inspect(tok []byte) (*Inspection, error) {
	if len(tok) > DefaultMaxSize {
		return nil, verify.Errorf(verify.ErrToken, "token: %w", verify.Errorf(verify.ErrLimit, "expected at most %d bytes, got %d", DefaultMaxSize, len(tok)))
	}
	codec := ear.NewCodec(nil)
	in := &Inspection{Format: DetectFormat(tok)}
	var payload []byte
	switch in.Format {
	case FormatJWT:
		parts := bytes.Split(tok, []byte{'.'})
		if len(parts) != 3 {
			return nil, malformed("jwt: expected 3 dot-separated parts, got %d", len(parts))
		}
		hb, err := base64.RawURLEncoding.DecodeString(string(parts[0]))
		if err != nil {
			return nil, malformed("jwt header: %v", err)
		}
		if err := json.Unmarshal(hb, &in.Header); err != nil {
			return nil, malformed("jwt header: %v", err)
		}
		if payload, err = base64.RawURLEncoding.DecodeString(string(parts[1])); err != nil {
			return nil, malformed("jwt payload: %v", err)
		}
		in.Claims, in.ClaimsError = codec.DecodeJSON(payload)
	case FormatCWT:
		msg, err := parseSign1(tok)
		if err != nil {
			return nil, err
		}
		in.Header = map[string]any{"protected": coseHeaderMap(msg.Headers.Protected), "unprotected": coseHeaderMap(msg.Headers.Unprotected)}
		in.Claims, in.ClaimsError = codec.DecodeCBOR(msg.Payload)
	default:
		return nil, malformed("token: neither a JWT nor a COSE_Sign1 (first byte %#02x)", firstByte(tok))
	}
	if in.ClaimsError == nil {
		in.ClaimsError = in.Claims.Validate()
	}
	return in, nil
}

func coseHeaderMap(h map[any]any) map[string]any {
	out := make(map[string]any, len(h))
	for k, v := range h {
		name := fmt.Sprint(k)
		switch k {
		case cose.HeaderLabelAlgorithm:
			name = "alg"
			if a, ok := v.(cose.Algorithm); ok {
				v = a.String()
			} else if i, ok := v.(int64); ok {
				v = cose.Algorithm(i).String()
			}
		case cose.HeaderLabelKeyID:
			name = "kid"
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
		case cose.HeaderLabelContentType:
			name = "content type"
		}
		out[name] = v
	}
	return out
}
