package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"text/tabwriter"
	"time"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/collateral/bundle"
	"github.com/trustfactory/attest/internal/buildid"
	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/verify"
)

// collateralExitCodes is the exit-code table every collateral --help prints.
const collateralExitCodes = `
exit codes:
  0  ok
  1  verification failed: an item does not verify, is missing or expired, or a fetch failed
  2  usage or input error (flags, unreadable or unsupported evidence, output directory not empty)
  3  warning (not used by collateral commands)
`

// maxCollateralInput caps an evidence or collateral file read by these commands.
const maxCollateralInput = 16 << 20

// runCollateral is the attest collateral command.
func runCollateral(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	subs := map[string]runFunc{
		"fetch":   runCollateralFetch,
		"inspect": runCollateralInspect,
		"import":  runCollateralImport,
	}
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprint(stderr, `usage: attest collateral {fetch|import|inspect} [flags]

  fetch    fetch, verify and write the collateral given evidence needs (a bundle for --collateral-dir)
  inspect  say what a bundle holds, what expires when, and what given evidence still needs
  import   convert dcap-qvl collateral JSON, Trustee's KDS store or NVIDIA RIMs into a bundle
`+collateralExitCodes)
		return exitOK
	}
	return subcommand(ctx, "collateral", subs, args, stdin, stdout, stderr)
}

// parseInterspersed parses flags anywhere among the arguments (the flag
// package stops at the first positional one) and returns the positionals.
func parseInterspersed(fset *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fset.Parse(args); err != nil {
			return nil, err
		}
		args = fset.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// parseWhen reads --now: RFC 3339 or a date (midnight UTC).
func parseWhen(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--now %q: expected RFC 3339 (2025-07-01T00:00:00Z) or a date (2025-07-01)", s)
}

func readCapped(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCollateralInput+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxCollateralInput {
		return nil, fmt.Errorf("%s: more than %d bytes", name, maxCollateralInput)
	}
	return b, nil
}

func readEvidenceFiles(names []string) ([][]byte, error) {
	var out [][]byte
	for _, n := range names {
		b, err := readCapped(n)
		if err != nil {
			return nil, fmt.Errorf("evidence: %w", err)
		}
		out = append(out, b)
	}
	return out, nil
}

// collateralFailure maps a library error to an exit code: a collateral
// failure (unavailable, not verifying, expired) is a failure; configuration
// errors and unsupported or malformed input are usage or input errors.
func collateralFailure(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintf(stderr, "attest collateral %s: %v\n", cmd, err)
	switch {
	case errors.Is(err, verify.ErrCollateral):
		return exitFail
	case errors.Is(err, verify.ErrConfig), errors.Is(err, verify.ErrUnsupported), errors.Is(err, verify.ErrMalformed):
		return exitUsage
	}
	return exitFail
}

func flagUsage(fset *flag.FlagSet, stderr io.Writer, synopsis string) {
	fset.Usage = func() {
		fmt.Fprintln(stderr, synopsis)
		fmt.Fprintln(stderr, "\nflags:")
		fset.PrintDefaults()
		fmt.Fprint(stderr, collateralExitCodes)
	}
}

func parseFlags(fset *flag.FlagSet, args []string) ([]string, int, bool) {
	pos, err := parseInterspersed(fset, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil, exitOK, false
	}
	if err != nil {
		return nil, exitUsage, false
	}
	return pos, 0, true
}

func runCollateralFetch(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("collateral fetch", flag.ContinueOnError)
	fset.SetOutput(stderr)
	flagUsage(fset, stderr, `usage: attest collateral fetch EVIDENCE... --out DIR [--pccs URL] [--update early|standard] [--tcb-eval-num N] [--now T] [--timeout D]

Fetches exactly the collateral the evidence needs, verifies it against the pinned
vendor roots at --now before writing any of it, and writes a bundle with
manifest.json at --out, for 'attest verify --collateral-dir':
  Intel TDX quotes   TCB info, QE identity, PCK CRL, root CA CRL (Intel PCS or --pccs)
  AMD SEV-SNP        the VCEK (unless the evidence carries it) and the CRL (AMD KDS)
  NVIDIA GPU/switch  driver and firmware RIMs, OCSP answers for the device and RIM
                     signer chains (NVIDIA's RIM service and OCSP responder)
Progress goes to stderr. 429 and 503 answers are retried, honouring Retry-After.
Nothing is written when an item does not verify.`)
	var o struct {
		out, pccs, pcsURL, update, now string
		kdsURL, rimURL, ocspURL, prod  string
		evalNum                        int
		timeout                        time.Duration
		quiet                          bool
	}
	fset.StringVar(&o.out, "out", "", "bundle directory to create (must not exist or be empty)")
	fset.StringVar(&o.pccs, "pccs", "", "base URL of an Intel PCCS to fetch from instead of Intel PCS")
	fset.StringVar(&o.pcsURL, "pcs-url", "", "base URL of Intel PCS or a PCS mirror (default Intel PCS)")
	fset.StringVar(&o.update, "update", "", "Intel TCB evaluation set: standard (default) or early")
	fset.IntVar(&o.evalNum, "tcb-eval-num", 0, "pin Intel's TCB evaluation data number (Intel PCS only)")
	fset.StringVar(&o.kdsURL, "kds-url", "", "base URL of an AMD KDS mirror (default AMD KDS)")
	fset.StringVar(&o.prod, "snp-product", "", "AMD product (Milan, Genoa, Turin) of SEV-SNP reports that do not name theirs")
	fset.StringVar(&o.rimURL, "rim-url", "", "base URL of an NVIDIA RIM service mirror (default NVIDIA's)")
	fset.StringVar(&o.ocspURL, "ocsp-url", "", "OCSP responder for every GPU query (default: each certificate's)")
	fset.StringVar(&o.now, "now", "", "time at which every item must verify (RFC 3339 or a date; default: now)")
	fset.DurationVar(&o.timeout, "timeout", 2*time.Minute, "give up after this long (all fetches and retries)")
	fset.BoolVar(&o.quiet, "quiet", false, "no progress on stderr")
	pos, code, ok := parseFlags(fset, args)
	if !ok {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "attest collateral fetch: "+format+"\n", a...)
		return exitUsage
	}
	switch {
	case len(pos) == 0:
		return usageErr("no evidence: give the evidence files the bundle is for")
	case o.out == "":
		return usageErr("--out is required")
	case o.update != "" && o.update != "standard" && o.update != "early":
		return usageErr("--update %q: expected standard or early", o.update)
	case o.evalNum < 0:
		return usageErr("--tcb-eval-num %d: expected a positive number", o.evalNum)
	case o.evalNum != 0 && o.update != "":
		return usageErr("--tcb-eval-num and --update both select Intel's TCB evaluation set: give one")
	case o.evalNum != 0 && o.pccs != "":
		return usageErr("--tcb-eval-num with --pccs: a PCCS ignores the number; fetch from Intel PCS")
	case o.pccs != "" && o.pcsURL != "":
		return usageErr("--pccs and --pcs-url both name the Intel service: give one")
	case o.timeout <= 0:
		return usageErr("--timeout %v: expected a positive duration", o.timeout)
	}
	opts := bundle.FetchOptions{Update: o.update, TCBEvaluationDataNumber: o.evalNum, Producer: producer()}
	if o.now != "" {
		t, err := parseWhen(o.now)
		if err != nil {
			return usageErr("%v", err)
		}
		opts.Now = t
	}
	if o.prod != "" {
		p, err := snp.ParseProduct(o.prod)
		if err != nil {
			return usageErr("--snp-product %q: expected Milan, Genoa or Turin", o.prod)
		}
		opts.SNPProduct = p
	}
	for flagName, u := range map[string]string{"--pccs": o.pccs, "--pcs-url": o.pcsURL, "--kds-url": o.kdsURL, "--rim-url": o.rimURL, "--ocsp-url": o.ocspURL} {
		if u == "" {
			continue
		}
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" || pu.RawQuery != "" {
			return usageErr("%s %q: expected an http(s) URL with a host and no query", flagName, u)
		}
	}
	opts.KDSURL, opts.RIMURL, opts.OCSPURL = o.kdsURL, o.rimURL, o.ocspURL
	opts.IntelURL = o.pcsURL
	if o.pccs != "" {
		opts.IntelURL, opts.PCCS = o.pccs, true
	}
	opts.Fetcher = &collateral.HTTPFetcher{Timeout: o.timeout, UserAgent: producer()}
	if !o.quiet {
		opts.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	evidence, err := readEvidenceFiles(pos)
	if err != nil {
		return usageErr("%v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	m, err := bundle.Fetch(ctx, evidence, o.out, opts)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "attest collateral fetch: gave up after --timeout %v\n", o.timeout)
		}
		return collateralFailure(stderr, "fetch", err)
	}
	printItems(stdout, m.Items)
	return exitOK
}

func producer() string { return "attest " + buildid.Read().Version }

func printItems(w io.Writer, items []bundle.Item) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PATH\tKIND\tNOT AFTER\tSOURCE")
	for _, it := range items {
		src := it.Source.URL
		if src == "" {
			src = it.Source.Imported
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", it.Path, it.Kind, when(it.Validity.NotAfter), src)
	}
	_ = tw.Flush()
	m := bundle.Manifest{Items: items}
	if e, ok := m.Earliest(); ok {
		fmt.Fprintf(w, "earliest expiry: %s (%s)\n", when(e.Validity.NotAfter), e.Path)
	}
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func runCollateralInspect(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("collateral inspect", flag.ContinueOnError)
	fset.SetOutput(stderr)
	flagUsage(fset, stderr, `usage: attest collateral inspect DIR [EVIDENCE...] [--json] [--now T]

Says what the bundle at DIR holds (re-hashing every item its manifest lists),
what expires when (the earliest expiry first), and, for each evidence given,
what it needs, whether the bundle has it and whether it verifies at --now.`)
	var now string
	asJSON := fset.Bool("json", false, "print the report as JSON")
	fset.StringVar(&now, "now", "", "inspection time (RFC 3339 or a date; default: now)")
	pos, code, ok := parseFlags(fset, args)
	if !ok {
		return code
	}
	if len(pos) == 0 {
		fmt.Fprintln(stderr, "attest collateral inspect: give the bundle directory")
		return exitUsage
	}
	var opts bundle.InspectOptions
	if now != "" {
		t, err := parseWhen(now)
		if err != nil {
			fmt.Fprintf(stderr, "attest collateral inspect: %v\n", err)
			return exitUsage
		}
		opts.Now = t
	}
	root, err := os.OpenRoot(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "attest collateral inspect: bundle directory: %v\n", err)
		return exitUsage
	}
	defer root.Close()
	evidence, err := readEvidenceFiles(pos[1:])
	if err != nil {
		fmt.Fprintf(stderr, "attest collateral inspect: %v\n", err)
		return exitUsage
	}
	rep, err := bundle.Inspect(ctx, root.FS(), evidence, opts)
	if err != nil {
		return collateralFailure(stderr, "inspect", err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(struct {
			Schema string `json:"schema"`
			OK     bool   `json:"ok"`
			*bundle.Report
		}{"attest-collateral-inspect/1", rep.OK(), rep})
	} else {
		printReport(stdout, pos[0], rep)
	}
	if !rep.OK() {
		return exitFail
	}
	return exitOK
}

func printReport(w io.Writer, dir string, rep *bundle.Report) {
	if !rep.Manifest {
		fmt.Fprintf(w, "%s: no %s (the bundle may still verify; nothing to index)\n", dir, bundle.ManifestName)
	} else {
		fmt.Fprintf(w, "%s: %d items, created %s by %s; inspected at %s\n", dir, len(rep.Items), when(rep.Created), rep.Producer, when(rep.Now))
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PATH\tKIND\tNOT BEFORE\tNOT AFTER\tSTATUS")
		for _, it := range rep.Items {
			st := "ok"
			if it.Problem != "" {
				st = "✗ " + it.Problem
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", it.Path, it.Kind, when(it.Validity.NotBefore), when(it.Validity.NotAfter), st)
		}
		_ = tw.Flush()
		if rep.Earliest != nil {
			fmt.Fprintf(w, "earliest expiry: %s (%s)\n", when(rep.Earliest.Validity.NotAfter), rep.Earliest.Path)
		}
	}
	var missing []string
	for _, n := range rep.Needs {
		if !n.Present {
			missing = append(missing, fmt.Sprintf("evidence %d needs %s", n.Evidence, n.Path))
		}
	}
	if len(rep.Needs) > 0 && len(missing) == 0 {
		fmt.Fprintln(w, "the evidence needs nothing more")
	}
	for _, m := range missing {
		fmt.Fprintln(w, "missing: "+m)
	}
	for _, p := range rep.Problems {
		fmt.Fprintln(w, "✗ "+p)
	}
	if rep.OK() {
		fmt.Fprintln(w, "ok")
	}
}

func runCollateralImport(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("collateral import", flag.ContinueOnError)
	fset.SetOutput(stderr)
	flagUsage(fset, stderr, `usage: attest collateral import --from dcap-qvl|trustee-kds|nvidia-rims SRC --out DIR [--now T]

Converts collateral in another project's form into a bundle at --out:
  dcap-qvl     dcap-qvl's collateral JSON (one TDX or SGX quote's Intel collateral;
               SGX TCB info and QE identity go under tdx/sgx/); the set is
               verified against the pinned Intel root at --now (default: the start
               of its own validity window) before anything is written
  trustee-kds  Trustee's offline KDS store directory (vcek/<hwid>/..._vcek.der, crl/)
  nvidia-rims  a directory of NVIDIA RIMs as published, named anything; each is verified
               against the pinned NVIDIA RIM root at --now (default: now) and written as
               gpu/rims/<RIM ID>.xml, the ID read from the signed document (a VBIOS RIM
               lacks its project and SKUs: name it <RIM ID>.xml)`)
	var from, out, now string
	fset.StringVar(&from, "from", "", "form of SRC: dcap-qvl, trustee-kds or nvidia-rims")
	fset.StringVar(&out, "out", "", "bundle directory to create (must not exist or be empty)")
	fset.StringVar(&now, "now", "", "time at which the imported collateral must verify (RFC 3339 or a date)")
	pos, code, ok := parseFlags(fset, args)
	if !ok {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "attest collateral import: "+format+"\n", a...)
		return exitUsage
	}
	switch {
	case len(pos) != 1:
		return usageErr("give exactly one source (SRC), got %d", len(pos))
	case out == "":
		return usageErr("--out is required")
	}
	opts := bundle.ImportOptions{Producer: producer()}
	if now != "" {
		t, err := parseWhen(now)
		if err != nil {
			return usageErr("%v", err)
		}
		opts.Now = t
	}
	var m *bundle.Manifest
	var err error
	switch from {
	case "dcap-qvl":
		b, rerr := readCapped(pos[0])
		if rerr != nil {
			return usageErr("%v", rerr)
		}
		m, err = bundle.ImportDCAPQVL(b, out, opts)
	case "trustee-kds":
		root, rerr := os.OpenRoot(pos[0])
		if rerr != nil {
			return usageErr("%v", rerr)
		}
		defer root.Close()
		m, err = bundle.ImportTrusteeKDS(root.FS(), out, opts)
	case "nvidia-rims":
		root, rerr := os.OpenRoot(pos[0])
		if rerr != nil {
			return usageErr("%v", rerr)
		}
		defer root.Close()
		m, err = bundle.ImportNVIDIARIMs(ctx, root.FS(), out, opts)
	case "":
		return usageErr("--from is required: dcap-qvl, trustee-kds or nvidia-rims")
	default:
		return usageErr("--from %q: expected dcap-qvl, trustee-kds or nvidia-rims", from)
	}
	if err != nil {
		if errors.Is(err, verify.ErrMalformed) {
			fmt.Fprintf(stderr, "attest collateral import: %s: %v\n", pos[0], err)
			return exitUsage
		}
		return collateralFailure(stderr, "import", err)
	}
	printItems(stdout, m.Items)
	return exitOK
}
