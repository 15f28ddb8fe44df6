package nitrotest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/trustfactory/attest/nitro"
	"github.com/trustfactory/attest/nitro/nitrotest"
	"github.com/trustfactory/attest/verify"
)

// Mint a document carrying a session nonce and verify it under the test root.
func Example() {
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	pki, err := nitrotest.NewPKI(at)
	if err != nil {
		fmt.Println(err)
		return
	}
	doc, err := pki.Mint(nitrotest.Spec{Nonce: []byte("session nonce")})
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := nitro.NewVerifier(nitro.WithRoot(pki.Root.Cert), nitro.WithReportDataField(nitro.FieldNonce))
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := v.Verify(context.Background(), doc, verify.Expectations{ReportData: []byte("session nonce"), Now: at})
	if err != nil {
		fmt.Println(err)
		return
	}
	m := c.Map()
	fmt.Println(m["module_id"], m["debug"], m["pcr02"])
	// Output:
	// i-0123456789abcdef0-enc0123456789abcdef false 030303030303030303030303030303030303030303030303030303030303030303030303030303030303030303030303
}
