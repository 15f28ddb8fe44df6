package nitro_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"time"

	"github.com/trustfactory/attest/nitro"
	"github.com/trustfactory/attest/verify"
)

// Verify a real NSM document at its timestamp, bound to the report data its
// user_data carries (SHA-256 of the empty string).
func ExampleVerifier_Verify() {
	framed, err := os.ReadFile("../testdata/nitro/dstack-attest_nitro_attestation.bin")
	if err != nil {
		fmt.Println(err)
		return
	}
	// The sample is Dstack-framed; NSM's own output is the bare document.
	doc := framed[4 : 4+int(binary.LittleEndian.Uint16(framed[2:4])>>2)]

	v, err := nitro.NewVerifier() // pinned to AWS Nitro Enclaves Root-G1
	if err != nil {
		fmt.Println(err)
		return
	}
	reportData := sha256.Sum256(nil)
	c, err := v.Verify(context.Background(), doc, verify.Expectations{
		ReportData: reportData[:],
		Now:        time.Date(2025, 12, 25, 16, 4, 19, 0, time.UTC),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	m := c.Map()
	fmt.Println("module:", m["module_id"])
	fmt.Println("signed at:", m["timestamp"], "debug:", m["debug"])
	// Output:
	// module: i-0827e799ec9232d44-enc019b5640fdf630d6
	// signed at: 2025-12-25T16:04:19.346Z debug: false
}
