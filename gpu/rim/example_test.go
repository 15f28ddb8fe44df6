package rim_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/trustfactory/attest/gpu/rim"
)

// Fetch the driver and VBIOS RIMs of an H100 from a RIM directory, by the IDs
// derived from its signed report, verify them at a fixed time, and compare
// them with the report's measurement blocks.
func ExampleVerifier_Fetch() {
	ctx := context.Background()
	now := time.Date(2025, 10, 24, 12, 0, 0, 0, time.UTC)

	// Values read from the signed SPDM report (opaque data).
	driverVersion, vbiosVersion := "550.90.07", "96.00.9F.00.01"
	driverID, _ := rim.DriverID(rim.ArchHopper, driverVersion)
	vbiosID, _ := rim.VBIOSID("1010", "0200", "882", vbiosVersion)

	src, err := rim.NewFSSource(os.DirFS("../../testdata/gpu/rim/v1")) // or rim.NewHTTPSource("", fetcher, store)
	if err != nil {
		log.Fatal(err)
	}
	v, err := rim.NewVerifier() // pinned NVIDIA CoRIM signing root
	if err != nil {
		log.Fatal(err)
	}
	driver, err := v.Fetch(ctx, src, driverID, driverVersion, now)
	if err != nil {
		log.Fatal(err)
	}
	vbios, err := v.Fetch(ctx, src, vbiosID, vbiosVersion, now)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(driver.ID, driver.Kind, len(driver.Active()), "active, signed by", driver.Chain[0].Subject.CommonName)
	fmt.Println(vbios.ID, vbios.Kind, len(vbios.Active()), "active")

	// report maps SPDM block index (from 1) to its value; here a report
	// that matches nothing.
	report := map[int][]byte{1: bytes.Repeat([]byte{0xFF}, 48)}
	cmp, err := rim.Compare(driver, vbios, report, rim.CompareOptions{NVDEC0Status: rim.NVDEC0Enabled, HasNVDEC0Status: true})
	fmt.Println(len(cmp.Mismatches), "mismatches:", err != nil)
	// Output:
	// NV_GPU_DRIVER_GH100_550.90.07 driver 21 active, signed by HCC RIM L4 Signer
	// NV_GPU_VBIOS_1010_0200_882_96009F0001 vbios 12 active
	// 33 mismatches: true
}
