package bundle

import (
	"crypto/x509"
	"io"
	"io/fs"
	"regexp"
	"strings"
	"time"

	"github.com/trustfactory/attest/internal/pemchain"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/verify"
)

// ImportOptions configures the importers.
type ImportOptions struct {
	// Now is the time at which imported items must verify. Zero checks
	// each set at the start of its own validity window, so that recorded
	// collateral imports whenever it is imported; Inspect and the
	// verifiers then check it at their own time.
	Now time.Time
	// Clock stamps the import time in the manifest (nil: time.Now).
	Clock func() time.Time
	// TDXRoots replace the pinned Intel SGX Root CA (tests only).
	TDXRoots []*x509.Certificate
	// RIMRoots replace the pinned NVIDIA RIM root (tests only).
	RIMRoots []*x509.Certificate
	// Producer is written into the manifest.
	Producer string
}

func (o ImportOptions) clock() time.Time {
	if o.Clock == nil {
		return time.Now()
	}
	return o.Clock()
}

// ImportDCAPQVL converts dcap-qvl's collateral JSON (see ParseDCAPQVL) into
// a bundle at dir, after verifying the set against the pinned Intel root
// (FMSPC from the TCB info, PCK CA from the PCK CRL's issuer). When the
// document names its pck_certificate_chain, the set must be that chain's:
// its PCK CA and FMSPC, or ErrCollateral naming both values and nothing is
// written.
func ImportDCAPQVL(src []byte, dir string, opts ImportOptions) (*Manifest, error) {
	c, chain, err := parseDCAPQVL(src)
	if err != nil {
		return nil, err
	}
	now := opts.Now
	if now.IsZero() {
		now = setStart(c)
	}
	info, err := tdx.VerifyCollateral(c, now, opts.TDXRoots...)
	if err != nil {
		return nil, verify.Errorf(verify.ErrCollateral, "bundle: dcap-qvl collateral does not verify at %s, nothing written: %w", now.UTC().Format(time.RFC3339), err)
	}
	if chain != nil {
		// The document names the PCK chain it was fetched for: the set
		// must be that platform's, or it would be filed under another
		// platform's FMSPC or PCK CA.
		want, err := pckNeed(chain)
		if err != nil {
			return nil, err
		}
		if err := matchCollateral(want, info); err != nil {
			return nil, err
		}
	}
	w, err := newWriter(dir)
	if err != nil {
		return nil, err
	}
	stamp := Source{Imported: "dcap-qvl", Fetched: opts.clock().UTC()}
	if err := addTDX(w, c, info, func(string) Source { return stamp }); err != nil {
		w.abort()
		return nil, err
	}
	m, err := w.commit(opts.clock(), opts.Producer)
	if err != nil {
		w.abort()
		return nil, err
	}
	return m, nil
}

// setStart is the latest start of validity over the items of c: the first
// moment at which the whole set can verify.
func setStart(c *tdx.Collateral) time.Time {
	var t time.Time
	for _, it := range tdxItems(c, "", [6]byte{}, "platform") {
		if nb := itemValidity(it.kind, it.data).NotBefore; nb.After(t) {
			t = nb
		}
	}
	return t
}

// Trustee KDS store file names (attestation-service/docs/amd-offline-certificate-cache.md).
var (
	trusteeVCEKPath = regexp.MustCompile(`^vcek/[0-9a-fA-F]{2,128}/((bl[0-9]{1,3}_tee[0-9]{1,3}_snp[0-9]{1,3}_ucode[0-9]{1,3}(_fmc[0-9]{1,3})?_)?vcek\.der)$`)
	trusteeCRLPath  = regexp.MustCompile(`^crl/(Milan|Genoa|Turin)_(vcek|vlek)\.crl$`)
)

// Bounds on an imported directory.
const (
	maxImportFiles    = 10000
	maxImportFileSize = 1 << 20
)

// ImportTrusteeKDS converts Trustee's offline KDS store (vcek/<hwid>/…_vcek.der,
// and crl/<Product>_<vcek|vlek>.crl) into the snp/ part of a bundle at dir.
// Each VCEK must parse as an X.509 certificate issued by an AMD ASK (the
// chain to the pinned ARK is verified with the report, whose product
// selects it); each CRL must parse. Other files are skipped.
func ImportTrusteeKDS(src fs.FS, dir string, opts ImportOptions) (*Manifest, error) {
	w, err := newWriter(dir)
	if err != nil {
		return nil, err
	}
	stamp := Source{Imported: "trustee-kds", Fetched: opts.clock().UTC()}
	n := 0
	err = fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return verify.Errorf(verify.ErrConfig, "bundle: KDS store: %w", err)
		}
		if d.IsDir() {
			return nil
		}
		if n++; n > maxImportFiles {
			return verify.Errorf(verify.ErrLimit, "bundle: more than %d files in the KDS store", maxImportFiles)
		}
		kind := ""
		switch {
		case trusteeVCEKPath.MatchString(p):
			kind = "snp.vcek"
		case trusteeCRLPath.MatchString(p):
			kind = "snp.crl"
		default:
			return nil
		}
		b, err := readCapped(src, p)
		if err != nil {
			return err
		}
		switch kind {
		case "snp.vcek":
			c, err := x509.ParseCertificate(b)
			if err != nil {
				return verify.Errorf(verify.ErrCollateral, "bundle: %s: not a DER certificate: %w", p, err)
			}
			if !strings.HasPrefix(c.Issuer.CommonName, "SEV-") {
				return verify.Errorf(verify.ErrCollateral, "bundle: %s: issuer %q is not an AMD SEV signing key", p, c.Issuer.CommonName)
			}
		case "snp.crl":
			if _, err := x509.ParseRevocationList(b); err != nil {
				return verify.Errorf(verify.ErrCollateral, "bundle: %s: not a DER CRL: %w", p, err)
			}
		}
		return w.add("snp/"+p, kind, b, stamp, itemValidity(kind, b))
	})
	if err == nil && len(w.items) == 0 {
		err = verify.Errorf(verify.ErrConfig, "bundle: no VCEK or CRL found in the KDS store")
	}
	if err != nil {
		w.abort()
		return nil, err
	}
	m, err := w.commit(opts.clock(), opts.Producer)
	if err != nil {
		w.abort()
		return nil, err
	}
	return m, nil
}

// pckNeed reads the FMSPC and PCK CA of a PCK certificate chain (PEM, leaf
// first): what collateral it needs. Nothing is authenticated.
func pckNeed(chain []byte) (tdx.CollateralRequest, error) {
	certs, err := pemchain.Parse(chain, 3)
	if err != nil {
		return tdx.CollateralRequest{}, verify.Errorf(verify.ErrMalformed, "bundle: dcap-qvl collateral: pck_certificate_chain: %w", err)
	}
	if len(certs) < 2 {
		return tdx.CollateralRequest{}, verify.Errorf(verify.ErrMalformed, "bundle: dcap-qvl collateral: pck_certificate_chain: %d certificates, expected the PCK leaf and its CA", len(certs))
	}
	var req tdx.CollateralRequest
	switch cn := certs[1].Subject.CommonName; cn {
	case "Intel SGX PCK Platform CA":
		req.CA = "platform"
	case "Intel SGX PCK Processor CA":
		req.CA = "processor"
	default:
		return tdx.CollateralRequest{}, verify.Errorf(verify.ErrChain, "bundle: dcap-qvl collateral: pck_certificate_chain issuer: expected Intel SGX PCK Platform CA or Processor CA, got %q", cn)
	}
	ext, err := tdx.ParsePCKExtensions(certs[0])
	if err != nil {
		return tdx.CollateralRequest{}, err
	}
	req.FMSPC = ext.FMSPC
	return req, nil
}

// matchCollateral refuses a verified collateral set that is not the one
// requested: its PCK CRL issued by another PCK CA, or its TCB info for
// another FMSPC.
func matchCollateral(want tdx.CollateralRequest, got *tdx.CollateralInfo) error {
	if got.CA != want.CA {
		return verify.Errorf(verify.ErrCollateral, "bundle: PCK CRL issuer: expected the %s CA (the PCK chain's), got the %s CA; nothing written", want.CA, got.CA)
	}
	if got.FMSPC != want.FMSPC {
		return verify.Errorf(verify.ErrCollateral, "bundle: TCB info fmspc: expected %X (the PCK certificate's), got %X; nothing written", want.FMSPC, got.FMSPC)
	}
	return nil
}

func readCapped(fsys fs.FS, p string) ([]byte, error) {
	return readCappedN(fsys, p, maxImportFileSize)
}

// readCappedN reads p through one handle, failing with ErrLimit beyond limit bytes.
func readCappedN(fsys fs.FS, p string, limit int64) ([]byte, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return nil, verify.Errorf(verify.ErrConfig, "bundle: %s: %w", p, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, verify.Errorf(verify.ErrConfig, "bundle: reading %s: %w", p, err)
	}
	if int64(len(b)) > limit {
		return nil, verify.Errorf(verify.ErrLimit, "bundle: %s: more than %d bytes", p, limit)
	}
	return b, nil
}
