package bundle

import (
	"context"
	"encoding/hex"
	"fmt"
	"sync"

	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/verify"
)

// snpRecorder is an snp.Source that asks another source and remembers each
// answer under its path in the snp.FSSource layout, so that exactly what
// the verifier asked for, once it verified, is written.
type snpRecorder struct {
	next  snp.Source
	mu    sync.Mutex
	items map[string]snpItem // by bundle path
}

type snpItem struct {
	kind string
	data []byte
}

func newSNPRecorder(next snp.Source) *snpRecorder {
	return &snpRecorder{next: next, items: map[string]snpItem{}}
}

// snpVCEKPath and snpCRLPath are the snp.FSSource layout under snp/.
func snpVCEKPath(p snp.Product, hwid []byte, t snp.TCB) string {
	name := fmt.Sprintf("bl%02d_tee%02d_snp%02d_ucode%02d", t.Bootloader, t.TEE, t.SNP, t.Microcode)
	if p == snp.Turin {
		name += fmt.Sprintf("_fmc%02d", t.FMC)
	}
	return join("snp", "vcek", hex.EncodeToString(hwid), name+"_vcek.der")
}

func snpCRLPath(p snp.Product, key snp.SigningKey) string {
	k := "vcek"
	if key == snp.SigningKeyVLEK {
		k = "vlek"
	}
	return join("snp", "crl", fmt.Sprintf("%s_%s.crl", p, k))
}

func (r *snpRecorder) VCEK(ctx context.Context, p snp.Product, hwid []byte, t snp.TCB) ([]byte, error) {
	b, err := r.next.VCEK(ctx, p, hwid, t)
	r.record(snpVCEKPath(p, hwid, t), "snp.vcek", b, err)
	return b, err
}

func (r *snpRecorder) CRL(ctx context.Context, p snp.Product, key snp.SigningKey) ([]byte, error) {
	b, err := r.next.CRL(ctx, p, key)
	r.record(snpCRLPath(p, key), "snp.crl", b, err)
	return b, err
}

func (r *snpRecorder) record(p, kind string, b []byte, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.items[p] = snpItem{kind: kind} // asked for, not found
		return
	}
	r.items[p] = snpItem{kind: kind, data: append([]byte(nil), b...)}
}

// snapshot returns the recorded items and forgets them.
func (r *snpRecorder) snapshot() map[string]snpItem {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.items
	r.items = map[string]snpItem{}
	return out
}

// snpVerifier builds a verifier over src for fetch and inspect. Report
// data are not checked: the evidence is verified only so that the
// collateral it needs is known and checked against the pinned roots.
func snpVerifier(src snp.Source, roots []snp.Roots, product snp.Product) (*snp.Verifier, error) {
	opts := []snp.Option{snp.WithKDS(src)}
	if len(roots) > 0 {
		opts = append(opts, snp.WithTrustedRoots(roots...))
	}
	if product != "" {
		opts = append(opts, snp.WithProduct(product))
	}
	return snp.NewVerifier(opts...)
}

// verifySNP verifies one SNP evidence with v at exp's time.
func verifySNP(ctx context.Context, v *snp.Verifier, ev []byte, exp verify.Expectations) error {
	exp.AllowMissingReportDataUnsafe = true
	_, err := v.Verify(ctx, ev, exp)
	return err
}
