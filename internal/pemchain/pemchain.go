// Package pemchain reads PEM certificate chains by one rule for every
// verifier: the input holds PEM blocks and nothing else, whitespace between
// them and NUL padding at the end (as quotes carry it) aside. Text before,
// between or after the blocks is refused, and so is a block pem.Decode cannot
// read or a BEGIN line without its END line, which pem.Decode would skip to
// return the next block. Blocks with headers are refused too.
package pemchain

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"

	"github.com/trustfactory/attest/verify"
)

var (
	begin    = []byte("-----BEGIN ")
	endLine  = []byte("-----END ")
	dashes   = []byte("-----")
	padding  = " \t\r\n\x00"
	newlines = " \t\r\n"
)

// Blocks returns the PEM blocks of b in order, at most max of them (more is
// ErrLimit). Each block is one BEGIN line, base64, and the END line, which
// ends its line; blocks carry no headers. No block, or anything but blocks
// and whitespace, is ErrMalformed.
func Blocks(b []byte, max int) ([]*pem.Block, error) {
	var out []*pem.Block
	rest := bytes.TrimLeft(bytes.TrimRight(b, padding), newlines)
	if len(rest) == 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "no PEM block in %d bytes", len(b))
	}
	for len(rest) > 0 {
		if !bytes.HasPrefix(rest, begin) {
			return nil, verify.Errorf(verify.ErrMalformed, "%d bytes after PEM block %d are not a PEM block", len(rest), len(out))
		}
		// Decode exactly the text up to this block's END line, so that a
		// block pem.Decode refuses is an error rather than skipped.
		e := bytes.Index(rest, endLine)
		if e < 0 {
			return nil, verify.Errorf(verify.ErrMalformed, "PEM block %d has no END line", len(out))
		}
		d := bytes.Index(rest[e+len(endLine):], dashes)
		if d < 0 {
			return nil, verify.Errorf(verify.ErrMalformed, "PEM block %d: END line not terminated", len(out))
		}
		stop := e + len(endLine) + d + len(dashes)
		// A second BEGIN before the END is a block without its END line,
		// which pem.Decode would skip for the one that follows.
		if bytes.Count(rest[:stop], begin) != 1 {
			return nil, verify.Errorf(verify.ErrMalformed, "PEM block %d: a BEGIN line without its END line", len(out))
		}
		if stop < len(rest) && rest[stop] != '\n' && rest[stop] != '\r' {
			return nil, verify.Errorf(verify.ErrMalformed, "PEM block %d: text after the END line", len(out))
		}
		blk, tail := pem.Decode(rest[:stop])
		if blk == nil || len(tail) != 0 {
			return nil, verify.Errorf(verify.ErrMalformed, "PEM block %d is not valid PEM", len(out))
		}
		if len(blk.Headers) != 0 {
			return nil, verify.Errorf(verify.ErrMalformed, "PEM block %d has headers", len(out))
		}
		if len(out) == max {
			return nil, verify.Errorf(verify.ErrLimit, "more than %d PEM blocks", max)
		}
		out = append(out, blk)
		rest = bytes.TrimLeft(rest[stop:], newlines)
	}
	return out, nil
}

// Certificates returns the DER of each block of b, which must all be
// CERTIFICATE blocks, at most max.
func Certificates(b []byte, max int) ([][]byte, error) {
	blks, err := Blocks(b, max)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(blks))
	for i, blk := range blks {
		if blk.Type != "CERTIFICATE" {
			return nil, verify.Errorf(verify.ErrMalformed, "PEM block %d has type %q, expected CERTIFICATE", i, blk.Type)
		}
		out[i] = blk.Bytes
	}
	return out, nil
}

// Parse returns the certificates of b, at most max, in order.
func Parse(b []byte, max int) ([]*x509.Certificate, error) {
	ders, err := Certificates(b, max)
	if err != nil {
		return nil, err
	}
	return ParseDER(ders)
}

// ParseDER parses each DER certificate of ders, in order.
func ParseDER(ders [][]byte) ([]*x509.Certificate, error) {
	var err error
	out := make([]*x509.Certificate, len(ders))
	for i, der := range ders {
		if out[i], err = x509.ParseCertificate(der); err != nil {
			return nil, verify.Errorf(verify.ErrMalformed, "certificate %d: %w", i, err)
		}
	}
	return out, nil
}
