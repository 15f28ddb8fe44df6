package main

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// FuzzPrepareInputs: any two files are refused or prepared without a panic;
// hex text decodes to what encodes to it, and a report is only ever paired
// with a PEM chain.
func FuzzPrepareInputs(f *testing.F) {
	f.Add([]byte("0011 2233\n"+string(bytes.Repeat([]byte("ab"), 40))), []byte("-----BEGIN CERTIFICATE-----\n"))
	f.Add([]byte{0x11, 0xe0, 0, 0}, []byte("not pem"))
	f.Add(append([]byte{0x11, 0xe0}, make([]byte, 64)...), []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if d, ok := decodeHexText(a); ok {
			var digits []byte
			for _, c := range bytes.TrimPrefix(bytes.TrimSpace(a), []byte("0x")) {
				if !bytes.ContainsRune([]byte(" \t\r\n"), rune(c)) {
					digits = append(digits, c)
				}
			}
			if !bytes.EqualFold(digits, []byte(hex.EncodeToString(d))) && !bytes.EqualFold(bytes.TrimPrefix(digits, []byte("0X")), []byte(hex.EncodeToString(d))) {
				t.Fatalf("hex %q decoded to %x", a, d)
			}
		}
		out, err := prepareInputs([]namedEvidence{{"a", a}, {"b", b}})
		if err != nil {
			return
		}
		if len(out) == 0 || len(out) > 2 {
			t.Fatalf("%d inputs from 2 files", len(out))
		}
		if len(out) == 1 && out[0].name != "a+b" {
			t.Fatalf("paired as %q", out[0].name)
		}
	})
}
