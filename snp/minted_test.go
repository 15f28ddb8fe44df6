package snp_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/snp/snptest"
	"github.com/trustfactory/attest/verify"
)

// now is the pinned clock for minted evidence (certificates from snptest.Epoch).
var now = snptest.Epoch().AddDate(1, 0, 0)

var nonce = [64]byte{'n', 'o', 'n', 'c', 'e', 1, 2, 3}

type fixture struct {
	pki map[snp.Product]*snptest.PKI
	mem *snp.MemorySource
}

var (
	fixOnce sync.Once
	fix     fixture
	fixErr  error
)

// pkis returns one test hierarchy per product and a memory source holding
// their VCEKs and valid, empty CRLs.
func pkis(t testing.TB) fixture {
	t.Helper()
	fixOnce.Do(func() {
		fix = fixture{pki: map[snp.Product]*snptest.PKI{}, mem: snp.NewMemorySource()}
		for _, p := range snp.Products() {
			k, err := snptest.NewPKI(p)
			if err != nil {
				fixErr = err
				return
			}
			fix.pki[p] = k
			hwid := k.ChipID[:]
			if p == snp.Turin {
				hwid = k.ChipID[:8]
			}
			fix.mem.AddVCEK(p, hwid, k.TCB, k.VCEK.Raw)
			for _, kind := range []snp.SigningKey{snp.SigningKeyVCEK, snp.SigningKeyVLEK} {
				crl, err := k.CRL(now.AddDate(0, 0, -1), now.AddDate(0, 0, 7))
				if err != nil {
					fixErr = err
					return
				}
				fix.mem.AddCRL(p, kind, crl)
			}
		}
	})
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return fix
}

func (f fixture) roots() []snp.Roots {
	var out []snp.Roots
	for _, p := range snp.Products() {
		out = append(out, f.pki[p].Roots())
	}
	return out
}

func (f fixture) verifier(t testing.TB, opts ...snp.Option) *snp.Verifier {
	t.Helper()
	v, err := snp.NewVerifier(append([]snp.Option{snp.WithTrustedRoots(f.roots()...), snp.WithKDS(f.mem)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func exp() verify.Expectations {
	return verify.Expectations{ReportData: nonce[:], Now: now}
}

func mint(t testing.TB, p *snptest.PKI, r snptest.Report) []byte {
	t.Helper()
	if r.ReportData == ([64]byte{}) {
		r.ReportData = nonce
	}
	b, err := p.Extended(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMintedAllProductsAndEncodings(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	ctx := context.Background()
	for _, prod := range snp.Products() {
		p := f.pki[prod]
		for _, key := range []snp.SigningKey{snp.SigningKeyVCEK, snp.SigningKeyVLEK} {
			r := snptest.Report{SigningKey: key, ReportData: nonce}
			raw, err := p.Sign(r)
			if err != nil {
				t.Fatal(err)
			}
			ext, err := p.Extended(r)
			if err != nil {
				t.Fatal(err)
			}
			js, err := p.JSON(r)
			if err != nil {
				t.Fatal(err)
			}
			vek := p.VCEK
			if key == snp.SigningKeyVLEK {
				vek = p.VLEK
			}
			cases := map[string]func() (*snp.Claims, error){
				"extended": func() (*snp.Claims, error) {
					c, err := v.Verify(ctx, ext, exp())
					if c == nil {
						return nil, err
					}
					return c.(*snp.Claims), err
				},
				"json": func() (*snp.Claims, error) {
					c, err := v.Verify(ctx, js, exp())
					if c == nil {
						return nil, err
					}
					return c.(*snp.Claims), err
				},
				"separate certs": func() (*snp.Claims, error) {
					return v.VerifyReport(ctx, raw, vek.Raw, exp())
				},
			}
			if key == snp.SigningKeyVCEK {
				cases["VCEK from source"] = func() (*snp.Claims, error) { return v.VerifyReport(ctx, raw, nil, exp()) }
			}
			for name, run := range cases {
				t.Run(string(prod)+"/"+key.String()+"/"+name, func(t *testing.T) {
					c, err := run()
					if err != nil {
						t.Fatal(err)
					}
					m := c.Map()
					if m["product"] != string(prod) || m["signing_key"] != key.String() || m["revocation_checked"] != true {
						t.Errorf("claims: product %v key %v revocation %v", m["product"], m["signing_key"], m["revocation_checked"])
					}
					if m["reported_tcb_snp"] != int(p.TCB.SNP) || m["reported_tcb_microcode"] != int(p.TCB.Microcode) {
						t.Errorf("TCB claims: %v %v", m["reported_tcb_snp"], m["reported_tcb_microcode"])
					}
					if prod == snp.Turin && m["reported_tcb_fmc"] != int(p.TCB.FMC) {
						t.Errorf("fmc claim: %v", m["reported_tcb_fmc"])
					}
					if _, unsafe := m[verify.ClaimUnsafe]; unsafe {
						t.Error("unsafe claim without an unsafe option")
					}
				})
			}
		}
	}
}

func TestDetect(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	p := f.pki[snp.Genoa]
	js, _ := p.JSON(snptest.Report{})
	for name, tc := range map[string]struct {
		b    []byte
		want bool
	}{
		"raw":      {mint(t, p, snptest.Report{})[:snp.ReportSize], true},
		"extended": {mint(t, p, snptest.Report{}), true},
		"json":     {js, true},
		"short":    {make([]byte, 100), false},
		"zeros":    {make([]byte, snp.ReportSize), false},
		"other":    {[]byte(`{"quote":"AAAA"}`), false},
	} {
		if got := v.Detect(tc.b); got != tc.want {
			t.Errorf("%s: Detect = %v, want %v", name, got, tc.want)
		}
	}
}

// check asserts that verification fails with the kind and no claims.
func check(t *testing.T, v *snp.Verifier, evidence []byte, e verify.Expectations, kind error) {
	t.Helper()
	c, err := v.Verify(context.Background(), evidence, e)
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v, want kind %v", err, kind)
	}
	if c != nil {
		t.Fatal("claims returned with an error")
	}
}

// claimsOf verifies and returns the claims map.
func claimsOf(t *testing.T, v *snp.Verifier, evidence []byte, e verify.Expectations) map[string]any {
	t.Helper()
	c, err := v.Verify(context.Background(), evidence, e)
	if err != nil {
		t.Fatal(err)
	}
	return c.Map()
}

func TestSNP01SignedRegion(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	ext := mint(t, f.pki[snp.Milan], snptest.Report{})
	for _, at := range []int{0x90, 0x04, 0x1A0, 0x1E8, 0x50} {
		b := bytes.Clone(ext)
		b[at] ^= 0x40
		check(t, v, b, exp(), verify.ErrSignature)
	}
	// r or s flipped, and all-zero signature.
	for _, at := range []int{0x2A0, 0x2A0 + 72} {
		b := bytes.Clone(ext)
		b[at] ^= 1
		check(t, v, b, exp(), verify.ErrSignature)
	}
	b := bytes.Clone(ext)
	clear(b[0x2A0 : 0x2A0+144])
	check(t, v, b, exp(), verify.ErrSignature)
}

func TestSNP02UnsignedTail(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	ext := mint(t, f.pki[snp.Milan], snptest.Report{})
	for _, at := range []int{0x2A0 + 144, 0x49F, 0x2A0 + 60, 0x2A0 + 72 + 50} {
		b := bytes.Clone(ext)
		b[at] = 1
		check(t, v, b, exp(), verify.ErrMalformed)
	}
}

func TestSNP03SignatureAlgo(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	p := f.pki[snp.Milan]
	for _, alg := range []uint32{0, 2, 0xFFFFFFFF} {
		b := mint(t, p, snptest.Report{Mutate: func(raw []byte) { binary.LittleEndian.PutUint32(raw[0x34:], alg) }})
		check(t, v, b, exp(), verify.ErrMalformed)
	}
}

func TestSNP04Size(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	p := f.pki[snp.Milan]
	raw, err := p.Sign(snptest.Report{ReportData: nonce})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{raw[:0x2A0], raw[:0x49F], append(bytes.Clone(raw), 0), append(bytes.Clone(raw), make([]byte, 48)...), append(bytes.Clone(raw), "trailing garbage that is not a table"...)} {
		check(t, v, b, exp(), verify.ErrMalformed)
	}
	if _, err := snp.ParseReport(append(bytes.Clone(raw), 0)); !errors.Is(err, verify.ErrMalformed) {
		t.Fatalf("ParseReport of 1185 bytes: %v", err)
	}
}

func TestSNP05Version(t *testing.T) {
	f := pkis(t)
	p := f.pki[snp.Milan]
	v := f.verifier(t)
	for _, ver := range []uint32{0, 1, 6, 0xFFFF} {
		check(t, v, mint(t, p, snptest.Report{Version: ver, Mutate: func(raw []byte) { binary.LittleEndian.PutUint32(raw, ver) }}), exp(), verify.ErrMalformed)
	}
	for _, ver := range []uint32{2, 3, 4, 5} {
		if m := claimsOf(t, v, mint(t, p, snptest.Report{Version: ver}), exp()); m["version"] != int(ver) {
			t.Errorf("version claim %v", m["version"])
		}
	}
	// Version 2 carries no CPUID: with the VCEK fetched from a source the
	// product must be configured.
	raw, err := p.Sign(snptest.Report{Version: 2, ReportData: nonce})
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.VerifyReport(context.Background(), raw, nil, exp())
	if !errors.Is(err, verify.ErrConfig) || c != nil {
		t.Fatalf("v2 without product: err = %v", err)
	}
	if _, err := f.verifier(t, snp.WithProduct(snp.Milan)).VerifyReport(context.Background(), raw, nil, exp()); err != nil {
		t.Fatalf("v2 with WithProduct: %v", err)
	}
	// With the VCEK in the evidence its product name decides.
	if m := claimsOf(t, v, mint(t, p, snptest.Report{Version: 2}), exp()); m["product"] != "Milan" {
		t.Errorf("product claim %v", m["product"])
	}
}

func TestSNP06to09And26PolicyBitsBothWays(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	p := f.pki[snp.Genoa]
	bits := map[string]uint64{
		"policy_smt_allowed": snp.PolicySMT, "policy_migrate_ma": snp.PolicyMigrateMA,
		"policy_debug_allowed": snp.PolicyDebug, "policy_single_socket": snp.PolicySingleSocket,
		"policy_cxl_allowed": snp.PolicyCXLAllow, "policy_mem_aes_256_xts": snp.PolicyMemAES256XTS,
		"policy_rapl_dis": snp.PolicyRAPLDis, "policy_ciphertext_hiding": snp.PolicyCiphertextHiding,
		"policy_page_swap_disable": snp.PolicyPageSwapDisable,
	}
	for name, bit := range bits {
		for _, set := range []bool{false, true} {
			pol := uint64(snp.PolicyReservedMustBe1 | 0x0102)
			if set {
				pol |= bit
			}
			m := claimsOf(t, v, mint(t, p, snptest.Report{Policy: pol}), exp())
			if m[name] != set {
				t.Errorf("%s: claim %v with bit %t", name, m[name], set)
			}
			for other := range bits {
				if other != name && m[other] != false {
					t.Errorf("%s set leaks into %s", name, other)
				}
			}
			if m["policy_abi_major"] != 1 || m["policy_abi_minor"] != 2 {
				t.Errorf("abi claims %v.%v", m["policy_abi_major"], m["policy_abi_minor"])
			}
		}
	}
	// SNP-26: ID block digests and AUTHOR_KEY_EN, both ways.
	for _, en := range []bool{false, true} {
		m := claimsOf(t, v, mint(t, p, snptest.Report{AuthorKeyEn: en, IDKeyDigest: [48]byte{7}}), exp())
		if m["author_key_en"] != en || m["id_key_digest"] != "07"+string(bytes.Repeat([]byte("00"), 47)) {
			t.Errorf("author_key_en %v id_key_digest %v", m["author_key_en"], m["id_key_digest"])
		}
	}
}

func TestSNP08ReservedPolicyBits(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	p := f.pki[snp.Milan]
	for _, pol := range []uint64{snp.PolicySMT, snp.PolicyReservedMustBe1 | 1<<26, snp.PolicyReservedMustBe1 | 1<<63} {
		check(t, v, mint(t, p, snptest.Report{Policy: pol}), exp(), verify.ErrMalformed)
	}
}

func TestSNP10PlatformInfo(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	p := f.pki[snp.Turin]
	bits := map[string]uint64{
		"platform_smt_enabled": snp.PlatformSMTEnabled, "platform_tsme_enabled": snp.PlatformTSMEEnabled,
		"platform_ecc_enabled": snp.PlatformECCEnabled, "platform_rapl_disabled": snp.PlatformRAPLDisabled,
		"platform_ciphertext_hiding_enabled": snp.PlatformCiphertextHidingEnabled,
		"platform_alias_check_complete":      snp.PlatformAliasCheckComplete, "platform_tio_enabled": snp.PlatformTIOEnabled,
	}
	for name, bit := range bits {
		for _, set := range []bool{false, true} {
			// Every other defined bit set when this one is clear: the flags
			// are independent (and a zero value would take the default).
			pi := snp.PlatformInfoDefined(5) &^ bit
			if set {
				pi = bit
			}
			if m := claimsOf(t, v, mint(t, p, snptest.Report{Version: 5, PlatformInfo: pi}), exp()); m[name] != set {
				t.Errorf("%s = %v with bit %t", name, m[name], set)
			}
		}
	}
	// Reserved bits are reported, not refused (GEN-07).
	for _, pi := range []uint64{1 << 6, 1 << 8, 1 << 63} {
		if m := claimsOf(t, v, mint(t, p, snptest.Report{Version: 5, PlatformInfo: pi}), exp()); m["platform_info_reserved"] != fmt.Sprintf("%#x", pi) {
			t.Errorf("platform_info_reserved = %v, want %#x", m["platform_info_reserved"], pi)
		}
	}
}

func TestSNP11VMPL(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	for vmpl := uint32(0); vmpl < 4; vmpl++ {
		if m := claimsOf(t, v, mint(t, f.pki[snp.Milan], snptest.Report{VMPL: vmpl}), exp()); m["vmpl"] != int(vmpl) {
			t.Errorf("vmpl claim %v, want %d", m["vmpl"], vmpl)
		}
	}
}

func TestSNP12VLEKWithoutCert(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	p := f.pki[snp.Milan]
	raw, err := p.Sign(snptest.Report{SigningKey: snp.SigningKeyVLEK, ReportData: nonce})
	if err != nil {
		t.Fatal(err)
	}
	// Only the VCEK chain: no fallback, even though the source has the VCEK.
	table, _ := p.CertTable(snp.SigningKeyVCEK)
	check(t, v, append(raw, table...), exp(), verify.ErrChain)
	check(t, v, raw, exp(), verify.ErrChain)
}

func TestSNP13KeySwap(t *testing.T) {
	f := pkis(t)
	p := f.pki[snp.Milan]
	v := f.verifier(t)
	// A VCEK-signed report whose VCEK slot holds the (valid) VLEK.
	raw, _ := p.Sign(snptest.Report{ReportData: nonce})
	table, _ := snp.MarshalCertTable([]snp.CertEntry{{GUID: snp.GUIDVCEK(), Data: p.VLEK.Raw}})
	check(t, v, append(bytes.Clone(raw), table...), exp(), verify.ErrBinding)
	// The same with only a VLEK entry and no source to fetch the VCEK.
	noSrc, err := snp.NewVerifier(snp.WithTrustedRoots(f.roots()...), snp.WithoutRevocationUnsafe())
	if err != nil {
		t.Fatal(err)
	}
	table, _ = snp.MarshalCertTable([]snp.CertEntry{{GUID: snp.GUIDVLEK(), Data: p.VLEK.Raw}})
	check(t, noSrc, append(bytes.Clone(raw), table...), exp(), verify.ErrBinding)
	// A VLEK-signed report whose VLEK slot holds the VCEK.
	raw, _ = p.Sign(snptest.Report{SigningKey: snp.SigningKeyVLEK, ReportData: nonce})
	table, _ = snp.MarshalCertTable([]snp.CertEntry{{GUID: snp.GUIDVLEK(), Data: p.VCEK.Raw}})
	check(t, v, append(bytes.Clone(raw), table...), exp(), verify.ErrBinding)
	// A report signed by the VLEK key but claiming VCEK.
	raw, _ = p.Sign(snptest.Report{ReportData: nonce, Signer: p.VLEKKey})
	table, _ = p.CertTable(snp.SigningKeyVCEK)
	check(t, v, append(bytes.Clone(raw), table...), exp(), verify.ErrSignature)
}

// crossSigned issues a VLEK under the ASK and a VCEK under the ASVK, and
// signs a report with each key.
func crossSigned(t *testing.T, p *snptest.PKI) (vlekUnderASK, vcekUnderASVK *x509.Certificate, rawVLEK, rawVCEK []byte) {
	t.Helper()
	vlekUnderASK, err := p.IssueUnder(snp.SigningKeyVLEK, snptest.Cert{}, p.ASK, p.ASKKey)
	if err != nil {
		t.Fatal(err)
	}
	vcekUnderASVK, err = p.IssueUnder(snp.SigningKeyVCEK, snptest.Cert{}, p.ASVK, p.ASVKKey)
	if err != nil {
		t.Fatal(err)
	}
	rawVLEK, _ = p.Sign(snptest.Report{SigningKey: snp.SigningKeyVLEK, ReportData: nonce})
	rawVCEK, _ = p.Sign(snptest.Report{ReportData: nonce})
	return vlekUnderASK, vcekUnderASVK, rawVLEK, rawVCEK
}

func TestSNP14WrongIntermediate(t *testing.T) {
	f := pkis(t)
	p := f.pki[snp.Genoa]
	v := f.verifier(t)
	vlekUnderASK, vcekUnderASVK, rawVLEK, rawVCEK := crossSigned(t, p)
	for name, tc := range map[string]struct {
		raw, cert []byte
	}{"VLEK via ASK": {rawVLEK, vlekUnderASK.Raw}, "VCEK via ASVK": {rawVCEK, vcekUnderASVK.Raw}} {
		t.Run(name, func(t *testing.T) {
			c, err := v.VerifyReport(context.Background(), tc.raw, tc.cert, exp())
			if !errors.Is(err, verify.ErrChain) || c != nil {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

// An intermediate carried by the evidence is signed by the pinned ARK, but
// it must also be the intermediate for the report's kind of key: the GHCB
// table has only an ASK slot, so an ASVK there must not certify a VCEK, and
// an ASK must not certify a VLEK.
func TestSNP14WrongIntermediateFromEvidence(t *testing.T) {
	f := pkis(t)
	p := f.pki[snp.Genoa]
	v := f.verifier(t)
	vlekUnderASK, vcekUnderASVK, rawVLEK, rawVCEK := crossSigned(t, p)
	vlekTable, _ := snp.MarshalCertTable([]snp.CertEntry{{GUID: snp.GUIDVLEK(), Data: vlekUnderASK.Raw}, {GUID: snp.GUIDASK(), Data: p.ASK.Raw}})
	vcekTable, _ := snp.MarshalCertTable([]snp.CertEntry{{GUID: snp.GUIDVCEK(), Data: vcekUnderASVK.Raw}, {GUID: snp.GUIDASK(), Data: p.ASVK.Raw}})
	check(t, v, append(bytes.Clone(rawVLEK), vlekTable...), exp(), verify.ErrChain)
	check(t, v, append(bytes.Clone(rawVCEK), vcekTable...), exp(), verify.ErrChain)
	// Given separately, each certificate takes the role its subject names.
	c, err := v.VerifyReport(context.Background(), rawVLEK, append(bytes.Clone(vlekUnderASK.Raw), p.ASK.Raw...), exp())
	if !errors.Is(err, verify.ErrChain) || c != nil {
		t.Fatalf("VLEK via ASK given separately: err = %v", err)
	}
	// The right intermediate in the ASK slot still works for each kind.
	okVLEK, _ := snp.MarshalCertTable([]snp.CertEntry{{GUID: snp.GUIDVLEK(), Data: p.VLEK.Raw}, {GUID: snp.GUIDASK(), Data: p.ASVK.Raw}})
	claimsOf(t, v, append(bytes.Clone(rawVLEK), okVLEK...), exp())
	okVCEK, _ := snp.MarshalCertTable([]snp.CertEntry{{GUID: snp.GUIDVCEK(), Data: p.VCEK.Raw}, {GUID: snp.GUIDASK(), Data: p.ASK.Raw}})
	claimsOf(t, v, append(bytes.Clone(rawVCEK), okVCEK...), exp())
}

func TestSNP15SignerInfo(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	p := f.pki[snp.Milan]
	for k := uint32(2); k <= 6; k++ {
		check(t, v, mint(t, p, snptest.Report{Mutate: func(raw []byte) { binary.LittleEndian.PutUint32(raw[0x48:], k<<2) }}), exp(), verify.ErrMalformed)
	}
	check(t, v, mint(t, p, snptest.Report{Mutate: func(raw []byte) { binary.LittleEndian.PutUint32(raw[0x48:], 7<<2) }}), exp(), verify.ErrSignature)
	check(t, v, mint(t, p, snptest.Report{Mutate: func(raw []byte) { binary.LittleEndian.PutUint32(raw[0x48:], 1<<5) }}), exp(), verify.ErrMalformed)
	// MASK_CHIP_KEY with an all-zero signature.
	b := mint(t, p, snptest.Report{MaskChipID: true})
	clear(b[0x2A0 : 0x2A0+144])
	check(t, v, b, exp(), verify.ErrSignature)
}

func TestSNP16VCEKTCB(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	for _, prod := range []snp.Product{snp.Milan, snp.Turin} {
		p := f.pki[prod]
		for name, edit := range map[string]func(*snp.TCB){
			"bootloader": func(t *snp.TCB) { t.Bootloader++ }, "tee": func(t *snp.TCB) { t.TEE++ },
			"snp": func(t *snp.TCB) { t.SNP-- }, "microcode": func(t *snp.TCB) { t.Microcode++ },
			"fmc": func(t *snp.TCB) { t.FMC++ },
		} {
			if name == "fmc" && prod != snp.Turin {
				continue
			}
			t.Run(string(prod)+"/"+name, func(t *testing.T) {
				tcb := p.TCB
				edit(&tcb)
				raw, _ := p.Sign(snptest.Report{ReportedTCB: &tcb, ReportData: nonce})
				c, err := v.VerifyReport(context.Background(), raw, p.VCEK.Raw, exp())
				if !errors.Is(err, verify.ErrBinding) || c != nil {
					t.Fatalf("err = %v", err)
				}
				// Also when fetched from the source: the source has no VCEK at that TCB.
				if _, err := v.VerifyReport(context.Background(), raw, nil, exp()); !errors.Is(err, verify.ErrCollateral) {
					t.Fatalf("from source: err = %v", err)
				}
			})
		}
	}
}

func TestSNP16ReservedTCBBytes(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	for _, prod := range []snp.Product{snp.Genoa, snp.Turin} {
		p := f.pki[prod]
		at := 0x180 + 2 // SPL4 on Genoa, TEE on Turin: pick a reserved byte per layout
		if prod == snp.Turin {
			at = 0x180 + 5
		}
		check(t, v, mint(t, p, snptest.Report{Mutate: func(raw []byte) { raw[at] = 1 }}), exp(), verify.ErrBinding)
	}
}

func TestSNP17ChipID(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	for _, prod := range []snp.Product{snp.Genoa, snp.Turin} {
		p := f.pki[prod]
		other := p.ChipID
		other[0] ^= 0xFF
		raw, _ := p.Sign(snptest.Report{ChipID: &other, ReportData: nonce})
		if c, err := v.VerifyReport(context.Background(), raw, p.VCEK.Raw, exp()); !errors.Is(err, verify.ErrBinding) || c != nil {
			t.Fatalf("%s: err = %v", prod, err)
		}
		// Masked CHIP_ID verifies with the VCEK in the evidence and says so.
		m := claimsOf(t, v, mint(t, p, snptest.Report{MaskChipID: true}), exp())
		if m["chip_id_masked"] != true || m["mask_chip_key"] != true {
			t.Errorf("%s: masked claims %v %v", prod, m["chip_id_masked"], m["mask_chip_key"])
		}
		if m := claimsOf(t, v, mint(t, p, snptest.Report{}), exp()); m["chip_id_masked"] != false {
			t.Errorf("%s: chip_id_masked %v", prod, m["chip_id_masked"])
		}
		// …but cannot be fetched by chip.
		raw, _ = p.Sign(snptest.Report{MaskChipID: true, ReportData: nonce})
		if _, err := v.VerifyReport(context.Background(), raw, nil, exp()); !errors.Is(err, verify.ErrCollateral) {
			t.Fatalf("masked fetch: %v", err)
		}
	}
}

func TestSNP18ProductLine(t *testing.T) {
	f := pkis(t)
	milanOnly, err := snp.NewVerifier(snp.WithTrustedRoots(f.pki[snp.Milan].Roots()), snp.WithKDS(f.mem))
	if err != nil {
		t.Fatal(err)
	}
	check(t, milanOnly, mint(t, f.pki[snp.Genoa], snptest.Report{}), exp(), verify.ErrChain)
	// Configured Milan, report CPUID says Genoa.
	check(t, f.verifier(t, snp.WithProduct(snp.Milan)), mint(t, f.pki[snp.Genoa], snptest.Report{}), exp(), verify.ErrBinding)
	// VCEK product name disagrees with the CPUID.
	p := f.pki[snp.Milan]
	vcek, err := p.IssueVCEK(snptest.Cert{ProductName: "Genoa-B0"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := p.Sign(snptest.Report{ReportData: nonce})
	if c, err := f.verifier(t).VerifyReport(context.Background(), raw, vcek.Raw, exp()); !errors.Is(err, verify.ErrBinding) || c != nil {
		t.Fatalf("product name mismatch: %v", err)
	}
	// Unknown CPUID family.
	check(t, f.verifier(t), mint(t, p, snptest.Report{CPUID: &[3]byte{0x17, 0x31, 0}}), exp(), verify.ErrUnsupported)
}

func TestSNP19ChainPath(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	p := f.pki[snp.Milan]
	raw, _ := p.Sign(snptest.Report{ReportData: nonce})
	ctx := context.Background()

	expired, err := p.IssueVCEK(snptest.Cert{NotBefore: now.AddDate(-2, 0, 0), NotAfter: now.AddDate(0, 0, -1)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.VerifyReport(ctx, raw, expired.Raw, exp())
	if !errors.Is(err, verify.ErrExpired) || !errors.Is(err, verify.ErrChain) {
		t.Fatalf("expired VCEK: %v", err)
	}

	// An ASK not signed by the pinned ARK, carried in the evidence, with a
	// VCEK it signed.
	rogue, err := snptest.NewPKI(snp.Milan, snptest.Options{FreshRootKeys: true, ChipID: p.ChipID})
	if err != nil {
		t.Fatal(err)
	}
	rogueVCEK, err := rogue.IssueUnder(snp.SigningKeyVCEK, snptest.Cert{}, rogue.ASK, rogue.ASKKey)
	if err != nil {
		t.Fatal(err)
	}
	rogueRaw, _ := rogue.Sign(snptest.Report{ReportData: nonce})
	certs := append(bytes.Clone(rogueVCEK.Raw), rogue.ASK.Raw...)
	if _, err := v.VerifyReport(ctx, rogueRaw, certs, exp()); !errors.Is(err, verify.ErrChain) {
		t.Fatalf("rogue ASK: %v", err)
	}

	// An intermediate with CA:FALSE signed by the real (test) ARK.
	notCA, err := p.IssueIntermediate(snptest.Cert{CN: "SEV-Milan", Serial: 77}, rogue.ASKKey)
	if err != nil {
		t.Fatal(err)
	}
	vcekUnderNotCA, err := p.IssueUnder(snp.SigningKeyVCEK, snptest.Cert{}, notCA, rogue.ASKKey)
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.VerifyReport(ctx, raw, append(bytes.Clone(vcekUnderNotCA.Raw), notCA.Raw...), exp())
	if !errors.Is(err, verify.ErrChain) {
		t.Fatalf("CA:FALSE ASK: %v", err)
	}
	t.Logf("CA:FALSE intermediate: %v", err)
}

func TestSNP20AttackerRoots(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	rogue, err := snptest.NewPKI(snp.Genoa, snptest.Options{FreshRootKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	// A complete attacker chain in the table, ARK included.
	check(t, v, mint(t, rogue, snptest.Report{}), exp(), verify.ErrChain)
	// A genuine report whose table carries an ARK different from the pinned one.
	p := f.pki[snp.Genoa]
	raw, _ := p.Sign(snptest.Report{ReportData: nonce})
	table, _ := snp.MarshalCertTable([]snp.CertEntry{{GUID: snp.GUIDVCEK(), Data: p.VCEK.Raw}, {GUID: snp.GUIDARK(), Data: rogue.ARK.Raw}})
	check(t, v, append(raw, table...), exp(), verify.ErrChain)
	// The real embedded roots do not accept test evidence.
	real, err := snp.NewVerifier(snp.WithoutRevocationUnsafe())
	if err != nil {
		t.Fatal(err)
	}
	check(t, real, mint(t, p, snptest.Report{}), exp(), verify.ErrChain)
}

func TestSNP21CRL(t *testing.T) {
	f := pkis(t)
	p := f.pki[snp.Turin]
	rogue, err := snptest.NewPKI(snp.Turin, snptest.Options{FreshRootKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	good, _ := p.CRL(now.AddDate(0, 0, -1), now.AddDate(0, 0, 7))
	revokeASK, _ := p.CRL(now.AddDate(0, 0, -1), now.AddDate(0, 0, 7), p.ASK.SerialNumber)
	revokeASVK, _ := p.CRL(now.AddDate(0, 0, -1), now.AddDate(0, 0, 7), p.ASVK.SerialNumber, big.NewInt(12345))
	otherARK, _ := rogue.CRL(now.AddDate(0, 0, -1), now.AddDate(0, 0, 7))
	expired, _ := p.CRL(now.AddDate(0, 0, -10), now.AddDate(0, 0, -1))
	future, _ := p.CRL(now.AddDate(0, 0, 1), now.AddDate(0, 0, 7))
	tampered := bytes.Clone(good)
	tampered[len(tampered)-10] ^= 1
	for _, tc := range []struct {
		name      string
		vcek      []byte
		vlek      []byte
		kindVCEK  error
		kindVLEK  error
		wantValid bool
	}{
		{"good", good, good, nil, nil, true},
		{"ASK revoked", revokeASK, good, verify.ErrRevoked, nil, false},
		{"ASVK revoked", good, revokeASVK, nil, verify.ErrRevoked, false},
		{"signed by another ARK", otherARK, otherARK, verify.ErrChain, verify.ErrChain, false},
		{"expired", expired, expired, verify.ErrExpired, verify.ErrExpired, false},
		{"not yet valid", future, future, verify.ErrExpired, verify.ErrExpired, false},
		{"tampered", tampered, tampered, verify.ErrChain, verify.ErrChain, false},
		{"missing", nil, nil, verify.ErrCollateral, verify.ErrCollateral, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := snp.NewMemorySource()
			if tc.vcek != nil {
				src.AddCRL(snp.Turin, snp.SigningKeyVCEK, tc.vcek)
				src.AddCRL(snp.Turin, snp.SigningKeyVLEK, tc.vlek)
			}
			v, err := snp.NewVerifier(snp.WithTrustedRoots(f.roots()...), snp.WithKDS(src))
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []struct {
				key  snp.SigningKey
				kind error
			}{{snp.SigningKeyVCEK, tc.kindVCEK}, {snp.SigningKeyVLEK, tc.kindVLEK}} {
				ev := mint(t, p, snptest.Report{SigningKey: k.key})
				if k.kind == nil {
					if m := claimsOf(t, v, ev, exp()); m["revocation_checked"] != true {
						t.Errorf("revocation_checked %v", m["revocation_checked"])
					}
					continue
				}
				check(t, v, ev, exp(), k.kind)
			}
		})
	}
	// The cached CRL verdict is re-checked against the caller's time.
	src := snp.NewMemorySource()
	src.AddCRL(snp.Turin, snp.SigningKeyVCEK, good)
	v, _ := snp.NewVerifier(snp.WithTrustedRoots(f.roots()...), snp.WithKDS(src))
	ev := mint(t, p, snptest.Report{})
	claimsOf(t, v, ev, exp())
	late := exp()
	late.Now = now.AddDate(0, 0, 8)
	check(t, v, ev, late, verify.ErrExpired)
}

func TestSNP22and23and30TCBClaims(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	p := f.pki[snp.Milan]
	cur := p.TCB
	cur.SNP = 0x17
	cur.Microcode = 200
	m := claimsOf(t, v, mint(t, p, snptest.Report{CurrentTCB: &cur, Version: 5, LaunchMitVector: 0x3, CurrentMitVector: 0x1}), exp())
	for k, want := range map[string]any{
		"reported_tcb_snp": int(p.TCB.SNP), "current_tcb_snp": 0x17, "current_tcb_microcode": 200,
		"committed_tcb_snp": int(p.TCB.SNP), "launch_tcb_snp": int(p.TCB.SNP),
		"launch_mit_vector": "0x3", "current_mit_vector": "0x1",
		"current_version": "1.55.21", "committed_version": "1.55.21",
	} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	// Below version 5 the mitigation vectors are reserved and must be zero.
	check(t, v, mint(t, p, snptest.Report{Version: 4, Mutate: func(raw []byte) { raw[0x1F8] = 1 }}), exp(), verify.ErrMalformed)
}

func TestSNP24ReportData(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	ev := mint(t, f.pki[snp.Genoa], snptest.Report{})
	check(t, v, ev, verify.Expectations{ReportData: []byte("N2"), Now: now}, verify.ErrFreshness)
	check(t, v, ev, verify.Expectations{Now: now}, verify.ErrConfig)
	check(t, v, ev, verify.Expectations{ReportData: append(nonce[:], 0), Now: now}, verify.ErrFreshness)
	// A prefix with the rest of the field zero matches.
	short := mint(t, f.pki[snp.Genoa], snptest.Report{ReportData: [64]byte{1, 2, 3}})
	claimsOf(t, v, short, verify.Expectations{ReportData: []byte{1, 2, 3}, Now: now})
	m := claimsOf(t, v, ev, verify.Expectations{AllowMissingReportDataUnsafe: true, Now: now})
	if m["report_data"] == nil || m["report_data_checked"] != false {
		t.Errorf("report_data %v checked %v", m["report_data"], m["report_data_checked"])
	}
	if u, _ := m[verify.ClaimUnsafe].([]string); len(u) != 1 || u[0] != string(verify.UnsafeMissingReportData) {
		t.Errorf("unsafe claim %v", m[verify.ClaimUnsafe])
	}
}

func TestSNP25HostData(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	hd := [32]byte{0xAA, 0xBB}
	ev := mint(t, f.pki[snp.Milan], snptest.Report{HostData: hd})
	e := exp()
	e.InitDataDigest = []byte{0xAA, 0xBC}
	check(t, v, ev, e, verify.ErrBinding)
	e.InitDataDigest = []byte{}
	check(t, v, ev, e, verify.ErrConfig)
	e.InitDataDigest = hd[:]
	m := claimsOf(t, v, ev, e)
	if m["init_data"] != m["host_data"] || m["init_data"] == nil {
		t.Errorf("init_data %v host_data %v", m["init_data"], m["host_data"])
	}
	if m := claimsOf(t, v, ev, exp()); m["init_data"] != nil {
		t.Error("init_data claim without an init-data expectation")
	}
}

func TestSNP27MBZ(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	p := f.pki[snp.Genoa]
	for _, at := range []int{0x4C, 0x4F, 0x18B, 0x19F, 0x1EB, 0x1EF, 0x208, 0x29F} {
		check(t, v, mint(t, p, snptest.Report{Mutate: func(raw []byte) { raw[at] = 0x10 }}), exp(), verify.ErrMalformed)
	}
	// v2: the CPUID bytes are reserved too.
	check(t, v, mint(t, p, snptest.Report{Version: 2, Mutate: func(raw []byte) { raw[0x188] = 0x19 }}), exp(), verify.ErrMalformed)
}

func TestSNP28CertTableOverflow(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	raw, _ := f.pki[snp.Milan].Sign(snptest.Report{ReportData: nonce})
	table := make([]byte, 48+16)
	g := snp.GUIDVCEK()
	copy(table, g[:])
	binary.LittleEndian.PutUint32(table[16:], 0x40)
	binary.LittleEndian.PutUint32(table[20:], 0xFFFFFFF0)
	check(t, v, append(bytes.Clone(raw), table...), exp(), verify.ErrMalformed)
	binary.LittleEndian.PutUint32(table[16:], 0xFFFFFFFF)
	binary.LittleEndian.PutUint32(table[20:], 0x20)
	check(t, v, append(bytes.Clone(raw), table...), exp(), verify.ErrMalformed)
	// Beyond the size limit.
	check(t, v, append(bytes.Clone(raw), make([]byte, snp.MaxCertTableSize+1)...), exp(), verify.ErrLimit)
}

func TestSNP29CertTableShape(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	p := f.pki[snp.Milan]
	raw, _ := p.Sign(snptest.Report{ReportData: nonce})
	vcek := p.VCEK.Raw
	entry := func(g snp.GUID, off, n int) []byte {
		e := make([]byte, 24)
		copy(e, g[:])
		binary.LittleEndian.PutUint32(e[16:], uint32(off))
		binary.LittleEndian.PutUint32(e[20:], uint32(n))
		return e
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	zero := make([]byte, 24)
	cases := map[string][]byte{
		"no terminator":    cat(entry(snp.GUIDVCEK(), 24, len(vcek)), vcek),
		"offset in header": cat(entry(snp.GUIDVCEK(), 8, len(vcek)), zero, vcek),
		"duplicate VCEK":   cat(entry(snp.GUIDVCEK(), 72, len(vcek)), entry(snp.GUIDVCEK(), 72+len(vcek), len(vcek)), zero, vcek, vcek),
		"overlap":          cat(entry(snp.GUIDVCEK(), 72, len(vcek)), entry(snp.GUIDASK(), 80, len(vcek)), zero, vcek, make([]byte, 8)),
		"zero length":      cat(entry(snp.GUIDVCEK(), 48, 0), zero),
		"empty table":      zero,
		"stray bytes":      cat(entry(snp.GUIDVCEK(), 48, len(vcek)), zero, vcek, []byte{1}),
		"truncated entry":  entry(snp.GUIDVCEK(), 48, len(vcek))[:20],
	}
	for name, table := range cases {
		t.Run(name, func(t *testing.T) {
			check(t, v, append(bytes.Clone(raw), table...), exp(), verify.ErrMalformed)
		})
	}
	// The well-formed variant of the same table verifies.
	claimsOf(t, v, append(bytes.Clone(raw), cat(entry(snp.GUIDVCEK(), 48, len(vcek)), zero, vcek, make([]byte, 100))...), exp())
}

func TestJSONEvidenceRejections(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	p := f.pki[snp.Genoa]
	js, err := p.JSON(snptest.Report{ReportData: nonce})
	if err != nil {
		t.Fatal(err)
	}
	claimsOf(t, v, js, exp())
	for name, b := range map[string][]byte{
		"unknown field":   bytes.Replace(js, []byte(`"guest_svn"`), []byte(`"guest_svn2"`), 1),
		"short measure":   bytes.Replace(js, []byte(`"measurement":[0,`), []byte(`"measurement":[`), 1),
		"byte over 255":   bytes.Replace(js, []byte(`"measurement":[0,`), []byte(`"measurement":[256,`), 1),
		"trailing":        append(bytes.Clone(js), `{}`...),
		"trailing ]":      append(bytes.Clone(js), `]`...),
		"trailing }":      append(bytes.Clone(js), `}`...),
		"no report":       []byte(`{"cert_chain":[]}`),
		"bad cert_type":   bytes.Replace(js, []byte(`"cert_type":"VCEK"`), []byte(`"cert_type":"XYZ"`), 1),
		"two VCEKs":       bytes.Replace(js, []byte(`"cert_type":"ASK"`), []byte(`"cert_type":"VCEK"`), 1),
		"not JSON at all": []byte(`{"attestation_report":`),
	} {
		t.Run(name, func(t *testing.T) { check(t, v, b, exp(), verify.ErrMalformed) })
	}
	// A byte of the measurement changed in JSON: the re-encoded bytes no longer verify.
	changed := bytes.Replace(js, []byte(`"measurement":[0,`), []byte(`"measurement":[1,`), 1)
	check(t, v, changed, exp(), verify.ErrSignature)
}

func TestCachedChainRecheckedAgainstTime(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	p := f.pki[snp.Milan]
	ev := mint(t, p, snptest.Report{})
	claimsOf(t, v, ev, exp())
	for _, when := range []time.Time{snptest.Epoch().AddDate(0, 0, -1), snptest.Epoch().AddDate(10, 0, 1)} {
		e := exp()
		e.Now = when
		check(t, v, ev, e, verify.ErrExpired)
	}
	claimsOf(t, v, ev, exp())
}

func TestConcurrentVerify(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	var evs [][]byte
	for _, prod := range snp.Products() {
		evs = append(evs, mint(t, f.pki[prod], snptest.Report{}), mint(t, f.pki[prod], snptest.Report{SigningKey: snp.SigningKeyVLEK}))
	}
	// GEN-03: the claims computed in parallel (cold and warm caches racing)
	// equal those of a sequential run on a fresh verifier.
	want := make([]map[string]any, len(evs))
	for i, ev := range evs {
		want[i] = claimsOf(t, f.verifier(t), ev, exp())
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := v.Verify(context.Background(), evs[i%len(evs)], exp())
			if err != nil {
				errs <- err
				return
			}
			if got := c.Map(); !reflect.DeepEqual(got, want[i%len(evs)]) {
				errs <- fmt.Errorf("evidence %d: parallel claims differ from sequential ones:\n got %v\nwant %v", i%len(evs), got, want[i%len(evs)])
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestDecodedPolicyAndPlatformKeepRaw(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	pol := uint64(snp.PolicyReservedMustBe1 | snp.PolicySMT | snp.PolicyDebug | 0x1F00)
	raw := mint(t, f.pki[snp.Milan], snptest.Report{Policy: pol})
	c, err := v.Verify(context.Background(), raw, exp())
	if err != nil {
		t.Fatal(err)
	}
	sc := c.(*snp.Claims)
	if sc.Policy.Raw != pol || !sc.Policy.DebugAllowed || sc.Policy.ABIMajor != 0x1F {
		t.Errorf("Policy = %+v, want Raw %#x with debug and ABI major 0x1f", sc.Policy, pol)
	}
	if got := snp.DecodePlatformInfo(0x25).Raw; got != 0x25 {
		t.Errorf("PlatformInfo.Raw = %#x, want 0x25", got)
	}
}

// GEN-04: validity bounds are inclusive to the second, for the CRL window
// and for the endorsement chain, whether or not the chain is cached.
func TestValidityBoundariesInclusive(t *testing.T) {
	f := pkis(t)
	p := f.pki[snp.Genoa]
	this, next := now.Add(-time.Hour), now.Add(time.Hour)
	crl, err := p.CRL(this, next)
	if err != nil {
		t.Fatal(err)
	}
	src := snp.NewMemorySource()
	src.AddVCEK(snp.Genoa, p.ChipID[:], p.TCB, p.VCEK.Raw)
	src.AddCRL(snp.Genoa, snp.SigningKeyVCEK, crl)
	v, err := snp.NewVerifier(snp.WithTrustedRoots(f.roots()...), snp.WithKDS(src))
	if err != nil {
		t.Fatal(err)
	}
	ev := mint(t, p, snptest.Report{})
	at := func(when time.Time) verify.Expectations { e := exp(); e.Now = when; return e }
	claimsOf(t, v, ev, at(this))
	claimsOf(t, v, ev, at(next))
	check(t, v, ev, at(this.Add(-time.Second)), verify.ErrExpired)
	check(t, v, ev, at(next.Add(time.Second)), verify.ErrExpired)

	// The VCEK's own validity, with a CRL window that covers it.
	nb, na := p.VCEK.NotBefore, p.VCEK.NotAfter
	wide, err := p.CRL(nb.Add(-time.Hour), na.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	src.AddCRL(snp.Genoa, snp.SigningKeyVCEK, wide)
	fresh, err := snp.NewVerifier(snp.WithTrustedRoots(f.roots()...), snp.WithKDS(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, vv := range []*snp.Verifier{fresh, fresh} { // second round: chain cached
		claimsOf(t, vv, ev, at(nb))
		claimsOf(t, vv, ev, at(na))
		check(t, vv, ev, at(nb.Add(-time.Second)), verify.ErrExpired)
		check(t, vv, ev, at(na.Add(time.Second)), verify.ErrExpired)
	}
}

// TOK-18: the claims name the earliest expiry of what the verification
// relied on (endorsement chain, CRL) under the name the appraiser reads to
// cap a token's lifetime.
func TestEarliestExpirationClaim(t *testing.T) {
	f := pkis(t)
	p := f.pki[snp.Genoa]
	next := now.Add(36 * time.Hour)
	crl, err := p.CRL(now.Add(-time.Hour), next)
	if err != nil {
		t.Fatal(err)
	}
	src := snp.NewMemorySource()
	src.AddCRL(snp.Genoa, snp.SigningKeyVCEK, crl)
	v, err := snp.NewVerifier(snp.WithTrustedRoots(f.roots()...), snp.WithKDS(src))
	if err != nil {
		t.Fatal(err)
	}
	ev := mint(t, p, snptest.Report{})
	for range 2 { // cold, then with the chain and CRL cached
		if got, want := claimsOf(t, v, ev, exp())["earliest_expiration_date"], next.UTC().Format(time.RFC3339); got != want {
			t.Errorf("earliest_expiration_date = %v, want the CRL's nextUpdate %s", got, want)
		}
	}
	// Without a CRL, the endorsement chain's earliest notAfter (the VCEK's here).
	unsafe, err := snp.NewVerifier(snp.WithTrustedRoots(f.roots()...), snp.WithoutRevocationUnsafe())
	if err != nil {
		t.Fatal(err)
	}
	c, err := unsafe.Verify(context.Background(), ev, exp())
	if err != nil {
		t.Fatal(err)
	}
	want := p.VCEK.NotAfter
	if got := c.(*snp.Claims).NotAfter; !got.Equal(want) {
		t.Errorf("NotAfter = %v, want the VCEK's %v", got, want)
	}
	if got := c.Map()["earliest_expiration_date"]; got != want.UTC().Format(time.RFC3339) {
		t.Errorf("earliest_expiration_date = %v, want %s", got, want.UTC().Format(time.RFC3339))
	}
}

// Pinned roots are checked like evidence intermediates: the ASK and the ASVK
// must be CAs for their own kind of key, so that a mix-up in configuration
// cannot let the ASVK certify VCEKs or the ASK certify VLEKs (SNP-14).
func TestRootsIntermediateRoles(t *testing.T) {
	f := pkis(t)
	p := f.pki[snp.Genoa]
	rogue, err := snptest.NewPKI(snp.Genoa, snptest.Options{FreshRootKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	notCA, err := p.IssueIntermediate(snptest.Cert{CN: "SEV-Genoa", Serial: 78}, rogue.ASKKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]snp.Roots{
		"ASVK as ASK":  {Product: snp.Genoa, ARK: p.ARK, ASK: p.ASVK},
		"ASK as ASVK":  {Product: snp.Genoa, ARK: p.ARK, ASVK: p.ASK},
		"swapped":      {Product: snp.Genoa, ARK: p.ARK, ASK: p.ASVK, ASVK: p.ASK},
		"ASK not a CA": {Product: snp.Genoa, ARK: p.ARK, ASK: notCA},
	} {
		if _, err := snp.NewVerifier(snp.WithTrustedRoots(r)); !errors.Is(err, verify.ErrConfig) {
			t.Errorf("%s: err = %v, want ErrConfig", name, err)
		}
	}
	if _, err := snp.NewVerifier(snp.WithTrustedRoots(p.Roots())); err != nil {
		t.Errorf("well-formed roots: %v", err)
	}
}

// Members Trustee ignores around the report are ignored; an unknown member
// inside the report (a field the re-encoded signed bytes would lack) is
// still refused.
func TestJSONEvidenceUnknownMembers(t *testing.T) {
	f := pkis(t)
	v := f.verifier(t)
	js, err := f.pki[snp.Genoa].JSON(snptest.Report{ReportData: nonce})
	if err != nil {
		t.Fatal(err)
	}
	outer := append([]byte(`{"extra":{"note":"newer attester"},`), bytes.TrimPrefix(bytes.TrimSpace(js), []byte("{"))...)
	claimsOf(t, v, outer, exp())
	inner := bytes.Replace(js, []byte(`"guest_svn"`), []byte(`"future_field":1,"guest_svn"`), 1)
	check(t, v, inner, exp(), verify.ErrMalformed)
}
