package setup_test

import (
	"fmt"
	"time"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/setup"
)

// A verifier fleet's registry: collateral from the vendor services through
// one fetcher and one store shared by every source (a DirStore keeps it
// across restarts); no TPM verifier, since no AK trust is configured.
func ExampleNewRegistry() {
	fetcher := &collateral.HTTPFetcher{
		UserAgent: "my-kbs/1",
		Timeout:   10 * time.Second,
		// Header: http.Header{"Authorization": {"Bearer " + key}},
	}
	store := collateral.NewMemoryStore(0, 0) // or collateral.NewDirStore(dir, 0, 0)
	reg, err := setup.NewRegistry(setup.Config{
		Online: &setup.Online{Fetcher: fetcher, Store: store, MaxStale: 24 * time.Hour},
		Limits: setup.Limits{CacheSize: 1024},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(reg.Formats())
	// Output: [az-snp-vtpm nvidia-gpu nvidia-switch sgx snp tdx]
}
