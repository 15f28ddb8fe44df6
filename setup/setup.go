// Package setup builds, from one Config value, the verify.Registry of every
// verifier attest has — Intel TDX and SGX, AMD SEV-SNP, Azure SEV-SNP and TDX VMs, NVIDIA GPU
// and NVSwitch, AWS Nitro Enclaves, TPM 2.0 quotes when an AK trust is given,
// and NVIDIA NRAS results when an NRAS key source is given — and an Appraiser
// over it with a policy. It is the one place where collateral sources, pinned
// roots, limits, logging and the policy are wired together; cmd/attest and
// the examples build theirs with it.
//
// NewAppraiser returns an Appraiser: a verify.Appraiser with the default
// policy over Config.ReferenceValues (or Config.Policy) whose
// AppraiseRuntimeData binds every component to one KBS session's runtime
// data where its verifier says (binding.Bind) and writes the session's nonce
// and TEE key into the result.
//
// NewRegistry and NewAppraiser only wire: the verifiers and the appraiser
// they return are the ones the packages build by hand, so an appraisal costs
// the same either way. Everything that changes per request stays an argument
// of the call (verify.Expectations, verify.Session, binding.RuntimeData).
//
// Collateral comes, for each part, from the offline bundle when it has that
// part, else from the vendor's online service when Online is set, else from
// nowhere (verifying evidence that needs it then fails with
// verify.ErrCollateral, saying so). The bundle layout is README's
// "Verifying offline":
//
//	tdx/        Intel PCS layout (tdx.FSSource; SGX TCB info and QE identity under tdx/sgx/)
//	snp/        Trustee's KDS store layout (snp.FSSource)
//	gpu/rims/   NVIDIA RIMs, <RIM ID>.xml (rim.FSSource)
//	gpu/ocsp/   recorded OCSP answers (ocsp.FSSource)
//
// Nothing from a bundle is a root: roots are the pinned vendor roots unless
// Roots replaces them (for tests; ReadTestRoots reads those a test bed
// writes into its bundle).
package setup

import (
	"context"
	"crypto"
	"crypto/x509"
	"io/fs"
	"log/slog"
	"time"

	"github.com/trustfactory/attest/azure"
	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/gpu/nras"
	"github.com/trustfactory/attest/gpu/ocsp"
	"github.com/trustfactory/attest/gpu/rim"
	"github.com/trustfactory/attest/nitro"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/sgx"
	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tpm"
	"github.com/trustfactory/attest/verify"
)

// Config is everything NewRegistry and NewAppraiser need. The zero Config is
// valid: pinned roots, no collateral (only evidence that carries its own, such
// as an extended SEV-SNP report or a Nitro document, can verify), no TPM or
// NRAS verifier, and the default policy without reference values (which
// affirms no CPU TEE; an NVIDIA GPU is appraised against NVIDIA's signed RIMs
// and can be affirmed, see policy.New).
type Config struct {
	// Bundle is an offline collateral bundle (see the package doc); nil: none.
	// For a directory, use an os.Root's FS, which keeps reads inside it.
	Bundle fs.FS
	// Online fetches every part the bundle lacks from the vendor services;
	// nil: nothing is fetched.
	Online *Online
	// Roots replace the pinned vendor roots, for tests; empty fields keep
	// the pinned ones.
	Roots Roots
	// TPM is the trust in TPM attestation keys; empty: no TPM verifier (a
	// TPM quote proves nothing without a trusted AK).
	TPM TPMTrust
	// NRAS is the key source of NVIDIA NRAS results; without JWKS or Online
	// there is no NRAS verifier.
	NRAS NRAS
	// SNPProduct is the AMD product of SEV-SNP reports that do not name
	// theirs (version 2 reports); empty: such reports are refused.
	SNPProduct snp.Product
	// OCSPAllowMissingUnsafe accepts GPU certificates whose OCSP answer is
	// missing (revocation unknown); the GPU verifiers record it in their
	// claims and a default policy never affirms such a result.
	OCSPAllowMissingUnsafe bool
	// Limits bound the verifiers' caches.
	Limits Limits
	// Logger receives the verifiers' logs; nil: silent.
	Logger *slog.Logger
	// ReferenceValues are appraised by the default policy (policy.New);
	// nil: none, so no CPU TEE is affirmed (GPUs: see policy.New).
	// Excludes Policy.
	ReferenceValues *policy.ReferenceValues
	// Policy appraises every component instead of the default policy; a
	// verify.PolicyRef lets reference values change under load. Excludes
	// ReferenceValues.
	Policy verify.Policy
	// AppraiserOptions configure the appraiser (verify.WithRequired,
	// verify.WithLimits, …), after the Logger.
	AppraiserOptions []verify.AppraiserOption
	// RuntimeDataHash digests KBS runtime data for
	// Appraiser.AppraiseRuntimeData; zero: SHA-384, as Trustee does.
	RuntimeDataHash crypto.Hash
	// NoCollateralHint ends the error of a TEE without any collateral source,
	// telling the user what to configure (cmd/attest: "give --collateral-dir
	// or --online"); empty: a hint naming Config.Bundle and Config.Online.
	NoCollateralHint string
	// Unsafe turns checks of the verifiers off, for evidence that cannot
	// be checked fully; each switch is recorded in the claims and a default
	// policy never affirms a result it affected.
	Unsafe Unsafe
	// GPUAllowTrailingZeroPadding tolerates up to 16 zero bytes after a GPU
	// or switch report's signature, as some capture paths append
	// (gpu.AllowTrailingZeroPadding).
	GPUAllowTrailingZeroPadding bool
}

// Unsafe are the verifiers' unsafe switches. A switch that turns off a
// check whose source is also configured (the bundle's tdx/ part beside
// TDXWithoutCollateral, say) is a contradiction: NewRegistry refuses it.
type Unsafe struct {
	TDXWithoutCollateral bool // tdx.WithoutCollateralUnsafe: no TCB status, no revocation
	SNPWithoutRevocation bool // snp.WithoutRevocationUnsafe: the ASK/ASVK CRL is not checked
	GPUWithoutRIMs       bool // gpu.WithoutRIMsUnsafe: measurements not compared with RIMs
	GPUWithoutRevocation bool // gpu.WithoutRevocationUnsafe: no OCSP at all
}

// Online configures fetching from the vendor services. One fetcher and one
// store serve the TDX, SEV-SNP and RIM sources; OCSP queries go to the
// responders through the same fetcher, each with a fresh nonce (never
// stored), unless OCSPViaStore. NVIDIA's NRAS JWKS is fetched from
// Config.NRAS.BaseURL through the same fetcher unless Config.NRAS.JWKS is
// given; it is kept in Store when Store can delete entries
// (collateral.Deleter), else in a store of its own.
type Online struct {
	// Fetcher does every request; nil: a collateral.HTTPFetcher with its
	// defaults (an HTTPFetcher's fields are validated by NewRegistry).
	Fetcher collateral.Fetcher
	// Store keeps fetched collateral; nil: one in-memory store shared by the
	// sources of this registry. A store shared by the replicas of a service
	// that is a collateral.Locker (serve/redisstore's Collateral) makes
	// them fetch each item once between them; one wrapped by
	// collateral.ObserveStore reports the sources' cache lookups.
	Store collateral.Store
	// TDXBaseURL is a PCCS or a PCS mirror; empty: Intel PCS.
	TDXBaseURL string
	// PCCS fetches the Intel root CA CRL from the PCCS at TDXBaseURL, which
	// it needs.
	PCCS bool
	// KDSBaseURL, RIMBaseURL are mirrors of AMD KDS and of NVIDIA's RIM
	// service; empty: the vendor's.
	KDSBaseURL, RIMBaseURL string
	// OCSPResponderURL receives every OCSP query; empty: each certificate's
	// responder.
	OCSPResponderURL string
	// OCSPViaStore keeps verified OCSP answers in Store too, shared with
	// other verifiers, and so sends no nonce.
	OCSPViaStore bool
	// MaxStale lets the TDX, SEV-SNP and RIM sources serve collateral that
	// far past its refresh time when a refresh fails; zero: never.
	MaxStale time.Duration
}

// Roots replace pinned vendor roots; each empty field keeps the pinned one.
type Roots struct {
	TDX []*x509.Certificate // Intel SGX root CA
	SNP []snp.Roots         // AMD ARK (and ASK/ASVK) per product
	GPU []*x509.Certificate // NVIDIA device identity roots
	RIM []*x509.Certificate // NVIDIA RIM signing roots
	// Nitro replaces the pinned AWS Nitro Enclaves root; nil keeps it.
	Nitro *x509.Certificate
}

// NRAS configures the verifiers of NVIDIA Remote Attestation Service results
// (nras.FormatGPU, nras.FormatSwitch). Their authority is NVIDIA's JWKS:
// JWKS offline, else fetched when Config.Online is set, else there are no
// NRAS verifiers.
type NRAS struct {
	// JWKS is NVIDIA's JWKS document as captured when the tokens were
	// issued; it takes precedence over fetching it online.
	JWKS []byte
	// BaseURL is the NRAS service the tokens name as issuer and the JWKS
	// is fetched from; empty: nras.ProductionURL.
	BaseURL string
}

// TPMTrust names the TPM attestation keys a quote may be signed by: pinned
// public keys, or roots of AK certificates.
type TPMTrust struct {
	AKs     []crypto.PublicKey
	AKRoots []*x509.Certificate
}

// Limits bound the verifiers' caches of verified objects (chains,
// collateral, RIMs, OCSP answers).
type Limits struct {
	// CacheSize is the number of entries of each verifier's cache; zero:
	// each verifier's default.
	CacheSize int
}

// NewRegistry builds the verifiers cfg describes. A contradiction or a bad
// value in cfg is an error of kind verify.ErrConfig. The appraiser's fields
// (ReferenceValues, Policy, AppraiserOptions, RuntimeDataHash) are
// NewAppraiser's; NewRegistry does not read them.
func NewRegistry(cfg Config) (*verify.Registry, error) {
	if cfg.Limits.CacheSize < 0 {
		return nil, verify.Errorf(verify.ErrConfig, "setup: Limits.CacheSize %d is negative", cfg.Limits.CacheSize)
	}
	reg, err := newRegistry(cfg)
	if err != nil {
		return nil, err
	}
	warnUnsafe(cfg)
	return reg, nil
}

// UnsafeSwitches lists the unsafe switches cfg turns on, by the names the
// verifiers record in their claims (nil when none). NewRegistry logs each
// at warning level to cfg.Logger: a service started with one must say so
// before the first result does.
func (cfg Config) UnsafeSwitches() []verify.UnsafeSwitch {
	var out []verify.UnsafeSwitch
	for _, s := range []struct {
		on bool
		sw verify.UnsafeSwitch
	}{
		{cfg.Unsafe.TDXWithoutCollateral, tdx.UnsafeWithoutCollateral},
		{cfg.Unsafe.SNPWithoutRevocation, snp.UnsafeWithoutRevocation},
		{cfg.Unsafe.GPUWithoutRIMs, gpu.UnsafeWithoutRIMs},
		{cfg.Unsafe.GPUWithoutRevocation, gpu.UnsafeWithoutRevocation},
		{cfg.OCSPAllowMissingUnsafe, ocsp.UnsafeMissingAnswers},
	} {
		if s.on {
			out = append(out, s.sw)
		}
	}
	return out
}

// warnUnsafe logs each unsafe switch of cfg at warning level (POL-06).
func warnUnsafe(cfg Config) {
	if cfg.Logger == nil {
		return
	}
	for _, s := range cfg.UnsafeSwitches() {
		cfg.Logger.Warn("unsafe switch on: results it affects are never affirming and not for production", "switch", string(s))
	}
}

// newRegistry is NewRegistry without the warnings.
func newRegistry(cfg Config) (*verify.Registry, error) {
	src, err := sources(cfg)
	if err != nil {
		return nil, err
	}
	var vs []verify.Verifier

	topts := []tdx.Option{tdx.WithCollateral(src.tdx)}
	if cfg.Unsafe.TDXWithoutCollateral {
		if !isNone(src.tdx) {
			return nil, verify.Errorf(verify.ErrConfig, "setup: Unsafe.TDXWithoutCollateral contradicts the TDX collateral configured (Bundle's tdx/ or Online)")
		}
		topts = []tdx.Option{tdx.WithoutCollateralUnsafe()}
	}
	if len(cfg.Roots.TDX) > 0 {
		topts = append(topts, tdx.WithTrustedRoots(cfg.Roots.TDX...))
	}
	if cfg.Limits.CacheSize > 0 {
		topts = append(topts, tdx.WithCacheSize(cfg.Limits.CacheSize))
	}
	if cfg.Logger != nil {
		topts = append(topts, tdx.WithLogger(cfg.Logger))
	}
	tv, err := tdx.NewVerifier(topts...)
	if err != nil {
		return nil, err
	}
	vs = append(vs, tv)

	// --- Intel SGX (package sgx) -------------------------------------------
	// SGX quotes share the Intel root, the PCK CRLs and the collateral
	// sources with TDX: the TDX source serves SGX TCB info and QE identity
	// when the request names TEE "sgx" (the bundle's tdx/sgx/ directory).
	gv, err := sgx.NewVerifier(sgxOptions(cfg, src.tdx)...)
	if err != nil {
		return nil, err
	}
	vs = append(vs, gv)
	// --- end Intel SGX -----------------------------------------------------

	var sopts []snp.Option
	if cfg.SNPProduct != "" {
		sopts = append(sopts, snp.WithProduct(cfg.SNPProduct))
	}
	if len(cfg.Roots.SNP) > 0 {
		sopts = append(sopts, snp.WithTrustedRoots(cfg.Roots.SNP...))
	}
	if src.snp != nil {
		sopts = append(sopts, snp.WithKDS(src.snp))
	}
	if cfg.Unsafe.SNPWithoutRevocation {
		sopts = append(sopts, snp.WithoutRevocationUnsafe())
	}
	if cfg.Limits.CacheSize > 0 {
		sopts = append(sopts, snp.WithCacheSize(cfg.Limits.CacheSize))
	}
	if cfg.Logger != nil {
		sopts = append(sopts, snp.WithLogger(cfg.Logger))
	}
	sv, err := snp.NewVerifier(sopts...)
	if err != nil {
		return nil, err
	}
	// Azure SEV-SNP VMs: the same SEV-SNP verifier (roots, KDS, CRLs) checks
	// the paravisor's report; the vTPM's AK is bound by it.
	av, err := azure.NewVerifier(azure.WithSNP(sv))
	if err != nil {
		return nil, err
	}
	vs = append(vs, sv, av)
	// Azure TDX VMs: the same TDX verifier (roots, collateral, caches) checks
	// the TD quote Azure made of the paravisor's TDREPORT; the vTPM's AK is
	// bound by it.
	atv, err := azure.NewTDXVerifier(azure.WithTDX(tv))
	if err != nil {
		return nil, err
	}
	vs = append(vs, atv)

	var ropts []rim.Option
	if len(cfg.Roots.RIM) > 0 {
		ropts = append(ropts, rim.WithRoots(cfg.Roots.RIM...))
	}
	if cfg.Limits.CacheSize > 0 {
		ropts = append(ropts, rim.WithCacheSize(cfg.Limits.CacheSize))
	}
	if cfg.Logger != nil {
		ropts = append(ropts, rim.WithLogger(cfg.Logger))
	}
	rv, err := rim.NewVerifier(ropts...)
	if err != nil {
		return nil, err
	}
	rims, err := gpu.NewRIMProvider(rv, src.rims, 0)
	if err != nil {
		return nil, err
	}
	var oopts []ocsp.Option
	if cfg.OCSPAllowMissingUnsafe {
		oopts = append(oopts, ocsp.WithMissingAnswersUnsafe())
	}
	if cfg.Limits.CacheSize > 0 {
		oopts = append(oopts, ocsp.WithCacheSize(cfg.Limits.CacheSize))
	}
	if cfg.Logger != nil {
		oopts = append(oopts, ocsp.WithLogger(cfg.Logger))
	}
	chk, err := ocsp.NewChecker(src.ocsp, oopts...)
	if err != nil {
		return nil, err
	}
	var gopts []gpu.Option
	switch {
	case !cfg.Unsafe.GPUWithoutRIMs:
		gopts = append(gopts, gpu.WithRIMs(rims))
	case !isNone(src.rims):
		return nil, verify.Errorf(verify.ErrConfig, "setup: Unsafe.GPUWithoutRIMs contradicts the RIM source configured (Bundle's gpu/rims/ or Online)")
	default:
		gopts = append(gopts, gpu.WithoutRIMsUnsafe())
	}
	switch {
	case !cfg.Unsafe.GPUWithoutRevocation:
		gopts = append(gopts, gpu.WithOCSP(chk))
	case !isNone(src.ocsp) || cfg.OCSPAllowMissingUnsafe:
		return nil, verify.Errorf(verify.ErrConfig, "setup: Unsafe.GPUWithoutRevocation contradicts the OCSP source configured (Bundle's gpu/ocsp/, Online or OCSPAllowMissingUnsafe)")
	default:
		gopts = append(gopts, gpu.WithoutRevocationUnsafe())
	}
	if cfg.GPUAllowTrailingZeroPadding {
		gopts = append(gopts, gpu.AllowTrailingZeroPadding())
	}
	if len(cfg.Roots.GPU) > 0 {
		gopts = append(gopts, gpu.WithDeviceRoots(cfg.Roots.GPU...))
	}
	if cfg.Limits.CacheSize > 0 {
		gopts = append(gopts, gpu.WithCacheSize(cfg.Limits.CacheSize))
	}
	if cfg.Logger != nil {
		gopts = append(gopts, gpu.WithLogger(cfg.Logger))
	}
	for _, f := range []verify.Format{verify.FormatGPU, verify.FormatNVSwitch} {
		v, err := gpu.NewVerifier(f, gopts...)
		if err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}

	var nopts []nitro.Option
	if cfg.Roots.Nitro != nil {
		nopts = append(nopts, nitro.WithRoot(cfg.Roots.Nitro))
	}
	if cfg.Limits.CacheSize > 0 {
		nopts = append(nopts, nitro.WithCacheSize(cfg.Limits.CacheSize))
	}
	nv, err := nitro.NewVerifier(nopts...)
	if err != nil {
		return nil, err
	}
	vs = append(vs, nv)

	nvs, err := nrasVerifiers(cfg)
	if err != nil {
		return nil, err
	}
	vs = append(vs, nvs...)

	if len(cfg.TPM.AKs) > 0 || len(cfg.TPM.AKRoots) > 0 {
		var popts []tpm.Option
		if len(cfg.TPM.AKs) > 0 {
			popts = append(popts, tpm.WithTrustedAKs(cfg.TPM.AKs...))
		}
		if len(cfg.TPM.AKRoots) > 0 {
			popts = append(popts, tpm.WithAKRoots(cfg.TPM.AKRoots...))
		}
		if cfg.Limits.CacheSize > 0 {
			popts = append(popts, tpm.WithCacheSize(cfg.Limits.CacheSize))
		}
		if cfg.Logger != nil {
			popts = append(popts, tpm.WithLogger(cfg.Logger))
		}
		pv, err := tpm.NewVerifier(popts...)
		if err != nil {
			return nil, err
		}
		vs = append(vs, pv)
	}
	return verify.NewRegistry(vs...)
}

// nrasVerifiers builds the NRAS verifiers of GPUs and switches, when cfg
// gives them a key source.
func nrasVerifiers(cfg Config) ([]verify.Verifier, error) {
	var opts []nras.Option
	if cfg.NRAS.BaseURL != "" {
		opts = append(opts, nras.WithBaseURL(cfg.NRAS.BaseURL))
	}
	switch {
	case len(cfg.NRAS.JWKS) > 0:
		opts = append(opts, nras.WithJWKS(cfg.NRAS.JWKS))
	case cfg.Online != nil:
		f := cfg.Online.Fetcher
		if f == nil {
			f = &collateral.HTTPFetcher{}
		}
		opts = append(opts, nras.WithFetcher(f))
		if _, ok := cfg.Online.Store.(collateral.Deleter); ok {
			opts = append(opts, nras.WithStore(cfg.Online.Store))
		}
	case cfg.NRAS.BaseURL != "":
		return nil, verify.Errorf(verify.ErrConfig, "setup: NRAS.BaseURL %q without a key source: give NRAS.JWKS or Online", cfg.NRAS.BaseURL)
	default:
		return nil, nil
	}
	var vs []verify.Verifier
	for _, f := range []verify.Format{nras.FormatGPU, nras.FormatSwitch} {
		v, err := nras.NewVerifier(f, opts...)
		if err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	return vs, nil
}

// collateralSources are the source of each part; snp is nil without one
// (the SEV-SNP verifier then uses what the evidence carries).
type collateralSources struct {
	tdx  tdx.CollateralSource
	snp  snp.Source
	rims rim.Source
	ocsp ocsp.Source
}

// sources picks each part's source: the bundle's, else online, else none.
func sources(cfg Config) (collateralSources, error) {
	var s collateralSources
	var err error
	if sub, ok := subDir(cfg.Bundle, "tdx"); ok {
		if s.tdx, err = tdx.NewFSSource(sub); err != nil {
			return s, err
		}
	}
	if sub, ok := subDir(cfg.Bundle, "snp"); ok {
		if s.snp, err = snp.NewFSSource(sub); err != nil {
			return s, err
		}
	}
	if sub, ok := subDir(cfg.Bundle, "gpu/rims"); ok {
		if s.rims, err = rim.NewFSSource(sub); err != nil {
			return s, err
		}
	}
	if sub, ok := subDir(cfg.Bundle, "gpu/ocsp"); ok {
		if s.ocsp, err = ocsp.NewFSSource(sub); err != nil {
			return s, err
		}
	}
	if o := cfg.Online; o != nil {
		if err := online(o, &s); err != nil {
			return s, err
		}
	}
	hint := cfg.NoCollateralHint
	if hint == "" {
		hint = "configure setup.Config.Bundle or setup.Config.Online"
	}
	if s.tdx == nil {
		s.tdx = none{"TDX collateral", hint}
	}
	if s.rims == nil {
		s.rims = none{"GPU RIMs", hint}
	}
	if s.ocsp == nil {
		s.ocsp = none{"OCSP answers", hint}
	}
	return s, nil
}

// online fills the parts s lacks with the vendor services' sources.
func online(o *Online, s *collateralSources) error {
	if o.PCCS && o.TDXBaseURL == "" {
		return verify.Errorf(verify.ErrConfig, "setup: Online.PCCS needs Online.TDXBaseURL, the PCCS's URL")
	}
	if o.MaxStale < 0 {
		return verify.Errorf(verify.ErrConfig, "setup: Online.MaxStale %v is negative", o.MaxStale)
	}
	f, store := o.Fetcher, o.Store
	if f == nil {
		f = &collateral.HTTPFetcher{}
	}
	if store == nil {
		store = collateral.NewMemoryStore(0, 0)
	}
	var err error
	if s.tdx == nil {
		var opts []tdx.HTTPOption
		if o.PCCS {
			opts = append(opts, tdx.WithPCCS())
		}
		if s.tdx, err = tdx.NewHTTPSource(o.TDXBaseURL, f, store, append(opts, tdx.WithMaxStale(o.MaxStale))...); err != nil {
			return err
		}
	}
	if s.snp == nil {
		if s.snp, err = snp.NewHTTPSource(o.KDSBaseURL, f, store, snp.WithMaxStale(o.MaxStale)); err != nil {
			return err
		}
	}
	if s.rims == nil {
		if s.rims, err = rim.NewHTTPSource(o.RIMBaseURL, f, store, rim.WithMaxStale(o.MaxStale)); err != nil {
			return err
		}
	}
	if s.ocsp == nil {
		var ostore collateral.Store
		if o.OCSPViaStore {
			ostore = store
		}
		if s.ocsp, err = ocsp.NewHTTPSource(o.OCSPResponderURL, f, ostore); err != nil {
			return err
		}
	}
	return nil
}

// subDir returns the directory dir of fsys, if fsys has one.
func subDir(fsys fs.FS, dir string) (fs.FS, bool) {
	if fsys == nil {
		return nil, false
	}
	if fi, err := fs.Stat(fsys, dir); err != nil || !fi.IsDir() {
		return nil, false
	}
	sub, err := fs.Sub(fsys, dir)
	return sub, err == nil
}

// none is the source of a part nothing provides: every request fails with
// verify.ErrCollateral, naming the part and what to configure.
type none struct{ what, hint string }

// isNone reports whether src is the source of a part nothing provides.
func isNone(src any) bool {
	_, ok := src.(none)
	return ok
}

func (n none) err() error {
	return verify.Errorf(verify.ErrCollateral, "no %s: %s", n.what, n.hint)
}

func (n none) Collateral(context.Context, tdx.CollateralRequest) (*tdx.Collateral, error) {
	return nil, n.err()
}

func (n none) Get(context.Context, string) ([]byte, error) { return nil, n.err() }

func (n none) Fetch(context.Context, ocsp.Query) ([]byte, error) { return nil, n.err() }

// sgxOptions are the SGX verifier's options: the TDX collateral source and
// roots, the limits and the logger.
func sgxOptions(cfg Config, src tdx.CollateralSource) []sgx.Option {
	opts := []sgx.Option{sgx.WithCollateral(src)}
	if len(cfg.Roots.TDX) > 0 {
		opts = append(opts, sgx.WithTrustedRoots(cfg.Roots.TDX...))
	}
	if cfg.Limits.CacheSize > 0 {
		opts = append(opts, sgx.WithCacheSize(cfg.Limits.CacheSize))
	}
	if cfg.Logger != nil {
		opts = append(opts, sgx.WithLogger(cfg.Logger))
	}
	return opts
}
