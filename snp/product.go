package snp

import (
	"fmt"
	"strings"

	"github.com/trustfactory/attest/verify"
)

// Product is an AMD EPYC product line with its own SEV-SNP key hierarchy.
type Product string

// Product lines supported by this package.
const (
	ProductUnknown Product = ""
	Milan          Product = "Milan"
	Genoa          Product = "Genoa"
	Turin          Product = "Turin"
)

// Products returns the supported product lines, a new slice on every call
// (the package uses its own list, so changing the result changes nothing).
func Products() []Product { return []Product{Milan, Genoa, Turin} }

var products = [...]Product{Milan, Genoa, Turin}

// ParseProduct accepts a product line name ("Milan", "genoa") or a KDS
// product name with a stepping suffix ("Milan-B0").
func ParseProduct(s string) (Product, error) {
	line, _, _ := strings.Cut(s, "-")
	for _, p := range products {
		if strings.EqualFold(line, string(p)) {
			return p, nil
		}
	}
	return ProductUnknown, verify.Errorf(verify.ErrUnsupported, "product %q: expected one of %v", s, products)
}

// ProductFromCPUID maps the CPUID family and model a v3+ report carries to a
// product line: family 0x19 models 0x00–0x0F Milan, 0x10–0x1F and 0xA0–0xAF
// Genoa; family 0x1A models 0x00–0x11 Turin.
func ProductFromCPUID(family, model uint8) (Product, error) {
	switch {
	case family == 0x19 && model <= 0x0F:
		return Milan, nil
	case family == 0x19 && (model >= 0x10 && model <= 0x1F || model >= 0xA0 && model <= 0xAF):
		return Genoa, nil
	case family == 0x1A && model <= 0x11:
		return Turin, nil
	}
	return ProductUnknown, verify.Errorf(verify.ErrUnsupported, "cpuid family %#x model %#x is not a supported SEV-SNP product", family, model)
}

// TCB is a TCB_VERSION split into its security patch levels. FMC is used by
// Turin only.
type TCB struct {
	FMC        uint8
	Bootloader uint8
	TEE        uint8
	SNP        uint8
	Microcode  uint8
}

// DecodeTCB splits a TCB_VERSION according to the product's layout. Turin
// puts FMC in byte 0 and shifts the others; earlier products use bytes 0, 1,
// 6 and 7.
func DecodeTCB(p Product, v uint64) TCB {
	b := func(i uint) uint8 { return uint8(v >> (8 * i)) }
	if p == Turin {
		return TCB{FMC: b(0), Bootloader: b(1), TEE: b(2), SNP: b(3), Microcode: b(7)}
	}
	return TCB{Bootloader: b(0), TEE: b(1), SNP: b(6), Microcode: b(7)}
}

// Encode is the inverse of DecodeTCB.
func (t TCB) Encode(p Product) uint64 {
	if p == Turin {
		return uint64(t.FMC) | uint64(t.Bootloader)<<8 | uint64(t.TEE)<<16 | uint64(t.SNP)<<24 | uint64(t.Microcode)<<56
	}
	return uint64(t.Bootloader) | uint64(t.TEE)<<8 | uint64(t.SNP)<<48 | uint64(t.Microcode)<<56
}

// String renders the TCB like the KDS query parameters.
func (t TCB) String() string {
	return fmt.Sprintf("fmc=%d bl=%d tee=%d snp=%d ucode=%d", t.FMC, t.Bootloader, t.TEE, t.SNP, t.Microcode)
}
