package azure

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/subtle"
	"errors"
	"hash/maphash"
	"time"

	"github.com/trustfactory/attest/internal/lru"
	"github.com/trustfactory/attest/tpm"
	"github.com/trustfactory/attest/verify"
)

// runtimeCacheSize bounds the parsed runtime data a verifier keeps: one
// entry per vTPM (a VM's runtime data changes only with its HCL report), a
// few KB each.
const runtimeCacheSize = 1024

// runtimeEntry is runtime data as an HCL report carried it, its digest, and
// the parsed data and AK. It is shared by every verification of the same
// runtime data and never modified.
type runtimeEntry struct {
	raw  []byte      // the runtime data, which a hit must equal
	hash crypto.Hash // the algorithm of want
	want []byte      // the digest of raw, zero padded to 64 bytes
	rd   *RuntimeData
	ak   *rsa.PublicKey
}

// runtimeCache keeps runtime data by a seeded maphash of the hash algorithm
// and the exact bytes, so that a warm verification neither hashes them
// again (SHA-256 of about 1.3 KB) nor decodes the JSON and the AK (with
// encoding/json, about a tenth of an az-tdx-vtpm verification). A hit must
// equal the bytes and the algorithm: two inputs that share the maphash only
// evict each other.
type runtimeCache struct {
	seed    maphash.Seed
	entries *lru.Cache[uint64, *runtimeEntry]
}

func newRuntimeCache() *runtimeCache {
	return &runtimeCache{seed: maphash.MakeSeed(), entries: lru.New[uint64, *runtimeEntry](runtimeCacheSize)}
}

// key is the cache key of hcl's runtime data: the seeded maphash of its
// hash algorithm and bytes.
func (c *runtimeCache) key(hcl *HCLReport) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteByte(byte(hcl.Hash))
	h.Write(hcl.RuntimeData)
	return h.Sum64()
}

// runtimeBinding is the digest an HCL report's runtime data binds the
// hardware report to, and its cache entry when there is one.
type runtimeBinding struct {
	want  []byte // the runtime data's digest, zero padded to 64 bytes; not to be modified
	key   uint64
	entry *runtimeEntry // nil when the runtime data was not cached
}

// bindRuntimeData returns the report data the hardware report must carry
// for the HCL report's runtime data (its digest, zero padded to 64 bytes),
// and an ErrBinding unless got, the hardware report's field (field names
// it in errors), is that. The digest comes from the cache when the same
// runtime data was verified before.
func bindRuntimeData(cache *runtimeCache, hcl *HCLReport, got []byte, field string) (runtimeBinding, error) {
	b := runtimeBinding{key: cache.key(hcl)}
	if e, ok := cache.entries.Get(b.key, time.Time{}); ok && e.hash == hcl.Hash && bytes.Equal(e.raw, hcl.RuntimeData) {
		b.want, b.entry = e.want, e
	} else {
		h := hcl.Hash.New()
		h.Write(hcl.RuntimeData)
		b.want = make([]byte, 64)
		copy(b.want, h.Sum(nil))
	}
	if subtle.ConstantTimeCompare(b.want, got) != 1 {
		return runtimeBinding{}, verify.Errorf(verify.ErrBinding, "HCL runtime data: %v digest %x is not the %s %x", hcl.Hash, b.want, field, got)
	}
	return b, nil
}

// runtimeData returns the parsed runtime data of hcl and its AK, from the
// cache when bindRuntimeData found it there, else parsed and cached.
// Parse errors are not cached.
func runtimeData(cache *runtimeCache, hcl *HCLReport, b runtimeBinding) (*RuntimeData, *rsa.PublicKey, error) {
	if b.entry != nil {
		return b.entry.rd, b.entry.ak, nil
	}
	rd, err := ParseRuntimeData(hcl.RuntimeData)
	if err != nil {
		return nil, nil, err
	}
	ak, err := rd.AK()
	if err != nil {
		return nil, nil, err
	}
	cache.entries.Add(b.key, &runtimeEntry{raw: bytes.Clone(hcl.RuntimeData), hash: hcl.Hash, want: b.want, rd: rd, ak: ak}, time.Time{})
	return rd, ak, nil
}

// verifyVTPM checks the vTPM half shared by az-snp-vtpm and az-tdx-vtpm
// evidence, once the hardware report (hw names it in errors) has vouched
// for the runtime data rd: the quote is signed by its AK ak, carries
// exp.ReportData exactly as extraData and covers the PCR values given; in
// version 2 evidence the runtime data's user-data starts with the expected
// report data too. An AA event log (aael, optional) must replay to the
// quoted PCRs it extends, as package tpm replays it.
func verifyVTPM(ctx context.Context, tv *tpm.Verifier, version int, rd *RuntimeData, ak *rsa.PublicKey, q Quote, aael []byte, exp verify.Expectations, hw string) (*tpm.Claims, error) {
	if version >= 2 {
		ud, err := rd.userData()
		if err != nil {
			return nil, err
		}
		if err := exp.CheckReportData("HCL user-data", ud); err != nil {
			return nil, err
		}
	}
	pcrs := make(map[int][]byte, len(q.PCRs))
	for i, p := range q.PCRs {
		pcrs[i] = p
	}
	tev := &tpm.Evidence{Quotes: []tpm.Quote{{
		Attest:    q.Message,
		Signature: rsassaSHA256(q.Signature),
		Bank:      crypto.SHA256,
		PCRs:      pcrs,
	}}, AAEventLog: aael}
	tc, err := tv.VerifyBoundAK(ctx, tev, ak, exp)
	if err != nil {
		if errors.Is(err, verify.ErrSignature) {
			// A quote the HCL report's AK did not sign comes from another
			// vTPM: it is not bound to this hardware report (TPM-22).
			return nil, verify.Errorf(verify.ErrBinding, "vTPM quote not signed by the HCL report's AK (bound to the %s): %w", hw, err)
		}
		return nil, err
	}
	if len(exp.ReportData) > 0 && len(tc.ExtraData) != len(exp.ReportData) {
		// Trustee compares extraData with the report data exactly.
		return nil, verify.Errorf(verify.ErrFreshness, "quote extraData: expected %x, got %x", exp.ReportData, tc.ExtraData)
	}
	return tc, nil
}

// rsassaSHA256 wraps a raw RSASSA-PKCS1-v1_5 SHA-256 signature as the
// TPMT_SIGNATURE the TPM returned it in.
func rsassaSHA256(sig []byte) []byte {
	if len(sig) > 0xffff {
		return nil // ParseSignature refuses it
	}
	out := make([]byte, 0, 6+len(sig))
	out = append(out, 0x00, 0x14, 0x00, 0x0b, byte(len(sig)>>8), byte(len(sig))) // TPM_ALG_RSASSA, TPM_ALG_SHA256
	return append(out, sig...)
}

// hclReportOf checks the evidence version and parses its HCL report, which
// must carry a hardware report of type want: the start shared by
// az-snp-vtpm and az-tdx-vtpm evidence (kind names the evidence, hw the
// hardware report, in errors).
func hclReportOf(version int, raw []byte, kind string, want uint32, hw string) (*HCLReport, error) {
	// Version 0 is Trustee's legacy shape of either evidence.
	if version != 0 && version != 1 && version != 2 {
		return nil, verify.Errorf(verify.ErrUnsupported, "%s evidence: version %d, expected 1 or 2", kind, version)
	}
	hcl, err := ParseHCLReport(raw)
	if err != nil {
		return nil, err
	}
	if hcl.ReportType != want {
		return nil, verify.Errorf(verify.ErrUnsupported, "HCL report: hardware report type %d in %s evidence, expected %d (%s)", hcl.ReportType, kind, want, hw)
	}
	return hcl, nil
}

// defaultVTPM is the vTPM quote verifier used when none is configured: the
// AK is bound per call by the HCL report.
func defaultVTPM() (*tpm.Verifier, error) { return tpm.NewVerifier(tpm.WithBoundAKsOnly()) }
