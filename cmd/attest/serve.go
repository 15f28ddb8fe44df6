package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/ear/token"
	"github.com/trustfactory/attest/internal/pemchain"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/serve"
	"github.com/trustfactory/attest/serve/redisstore"
	"github.com/trustfactory/attest/setup"
	"github.com/trustfactory/attest/verify"
)

const serveUsage = `usage: attest serve [--listen HOST:PORT] [--store memory|redis://…] [--online] [--key FILE]
                    [--reference-values FILE] [--admin-token-file FILE] [--caller-nonces]
                    [--policy-engine go|rego] [--policy [ID=]FILE.rego]… [--tls-cert FILE --tls-key FILE]
                    [--max-connections N]

Serves Trustee's attestation-service REST API (POST /challenge, POST /attestation,
/.well-known/jwks.json, /policy, /reference-value, /healthz, /readyz, /metrics).

Without --online it runs on the embedded composite SAMPLE: its test roots and
collateral, its reference values, the clock pinned at the sample's time and
caller nonces accepted, so that the sample evidence attests. Not for production:
it refuses --key and a shared --store (give --online for those).
Its tokens are issued at that time (2025-06-15T00:00:00Z) and live 5 minutes:
check one with 'attest token verify --jwks JWKS --now 2025-06-15T00:01:00Z'.

--policy-engine rego runs Trustee's Rego policies (default_cpu, default_gpu,
default_switch, default_ppcie built in, stored only when the store holds none
of that id; each --policy adds one or replaces the default of its id, and is
stored as a new version at start whenever the stored text differs, replacing
an upload) and takes uploads at POST /policy.

attest serve runs until SIGINT or SIGTERM, then finishes the requests in
flight: exit 0 after that clean shutdown, 1 when serving fails or requests
were still in flight after 30 s, 2 on a bad flag or configuration (an
unreadable, empty or oversize file, a store that does not answer or evicts
keys, an address that cannot be listened on), before anything is served.
`

// sampleTime is the time the embedded composite sample verifies at.
func sampleTime() time.Time { return time.Date(2025, 6, 15, 0, 0, 0, 0, time.UTC) }

// serveOptions are the flags of attest serve.
type serveOptions struct {
	listen       string
	online       bool
	keyFile      string
	rvFile       string
	adminFile    string
	callerNonces bool
	store        string
	engine       string      // --policy-engine
	policies     policyFiles // --policy
	tlsCert      string      // --tls-cert
	tlsKey       string      // --tls-key
	maxConns     int         // --max-connections
}

func runServe(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	var o serveOptions
	fset := flag.NewFlagSet("serve", flag.ContinueOnError)
	fset.SetOutput(stderr)
	withHelp(fset, serveUsage)
	fset.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address to listen on")
	fset.BoolVar(&o.online, "online", false, "verify against the pinned vendor roots, fetching collateral from the vendor services, at the real clock")
	fset.StringVar(&o.keyFile, "key", "", "private JWK signing the tokens (attest keys generate); empty: a key generated at start")
	fset.StringVar(&o.rvFile, "reference-values", "", "initial reference-value document (JSON or YAML)")
	fset.StringVar(&o.adminFile, "admin-token-file", "", "file holding the bearer token of the management endpoints; empty: writes refused")
	fset.StringVar(&o.store, "store", "memory", "state: memory (one node) or redis://[user:password@]host:port/db (replicas share it)")
	fset.BoolVar(&o.callerNonces, "caller-nonces", false, "accept nonces the service did not issue (a Trustee KBS in front owns freshness); each is recorded once an appraisal of it affirms or warns and refused again for an hour, and a captured request can be replayed after that")
	fset.StringVar(&o.engine, "policy-engine", "go", "go (attest's policy over reference values) or rego (Trustee's Rego policies, uploads at POST /policy)")
	fset.StringVar(&o.tlsCert, "tls-cert", "", "PEM certificate chain to serve HTTPS with (needs --tls-key); empty: plain HTTP, for a TLS proxy in front")
	fset.StringVar(&o.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	fset.IntVar(&o.maxConns, "max-connections", serve.DefaultMaxConnections, "connections held open at once; one more is answered 503 and closed")
	fset.Var(&o.policies, "policy", "Rego policy `[ID=]FILE` (repeatable; ID defaults to the file name without .rego); needs --policy-engine rego")
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fset.NArg() > 0 {
		fmt.Fprintf(stderr, "attest serve: unexpected argument %q\n", fset.Arg(0))
		return exitUsage
	}
	// Flags that contradict each other are refused before anything is
	// opened, generated or warned about.
	if err := checkPolicyFlags(o.engine, o.policies); err != nil {
		fmt.Fprintln(stderr, "attest serve:", err)
		return exitUsage
	}
	if err := checkSampleFlags(o); err != nil {
		fmt.Fprintln(stderr, "attest serve:", err)
		return exitUsage
	}
	if o.maxConns < serve.DefaultMaxInFlight {
		fmt.Fprintf(stderr, "attest serve: --max-connections %d: expected at least %d (the attestations served at once)\n", o.maxConns, serve.DefaultMaxInFlight)
		return exitUsage
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		fmt.Fprintln(stderr, "attest serve: --tls-cert and --tls-key go together: give both, or neither for plain HTTP")
		return exitUsage
	}
	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	// With Redis, the replicas share the nonces and documents and, with
	// --online, the collateral cache (each item fetched once by one of them).
	var st serve.Store
	var coll collateral.Store = collateral.NewMemoryStore(0, 0)
	switch {
	case o.store == "memory":
	case strings.HasPrefix(o.store, "redis://") || strings.HasPrefix(o.store, "rediss://"):
		rs, client, err := redisstore.Open(o.store, "")
		if err != nil {
			fmt.Fprintln(stderr, "attest serve: --store:", err)
			return exitUsage
		}
		defer func() { _ = client.Close() }()
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = rs.CheckEviction(cctx)
		cancel()
		if err != nil {
			fmt.Fprintln(stderr, "attest serve: --store:", err)
			return exitUsage
		}
		if coll, err = redisstore.NewCollateral(client, "", 0); err != nil {
			fmt.Fprintln(stderr, "attest serve: --store:", err)
			return exitUsage
		}
		st = rs
	default:
		fmt.Fprintf(stderr, "attest serve: --store %q: expected memory or redis://…\n", redactStore(o.store))
		return exitUsage
	}
	cfg, err := serveConfig(o, logger, stderr, coll)
	if err == nil {
		err = applyPolicyFlags(ctx, o.engine, o.policies, &cfg)
	}
	if err != nil {
		fmt.Fprintln(stderr, "attest serve:", err)
		return exitUsage
	}
	if st != nil {
		cfg.Store = st
	}
	cfg.MaxConnections = o.maxConns
	if o.tlsCert != "" {
		if cfg.TLS, err = tlsConfig(o.tlsCert, o.tlsKey); err != nil {
			fmt.Fprintln(stderr, "attest serve:", err)
			return exitUsage
		}
		warnShared(stderr, "tls-key", o.tlsKey)
	} else if cfg.AdminToken != "" && !loopback(o.listen) {
		fmt.Fprintf(stderr, "attest serve: WARNING: --admin-token-file on %s without --tls-cert: the token crosses the network in the clear unless a TLS proxy is in front\n", o.listen)
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		fmt.Fprintln(stderr, "attest serve:", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := serve.New(ctx, cfg)
	if err != nil {
		_ = ln.Close()
		fmt.Fprintln(stderr, "attest serve:", err)
		return exitUsage
	}
	defer func() { _ = srv.Close() }()
	scheme := "http"
	if cfg.TLS != nil {
		scheme = "https"
	}
	fmt.Fprintf(stdout, "attest serve: listening on %s://%s\n", scheme, ln.Addr())
	if err := srv.Serve(ctx, ln); err != nil {
		fmt.Fprintln(stderr, "attest serve:", err)
		return exitFail
	}
	return exitOK
}

// checkSampleFlags refuses to run the embedded sample (no --online) with
// what belongs to production: the sample trusts test roots anyone can mint
// evidence under, pins the clock and accepts any caller's nonce, so with
// the operator's --key anyone could get affirming tokens signed by it (for
// the public sample evidence, or their own), and on a shared --store it
// would seed the production replicas' state with the sample's reference
// values and its nonces.
func checkSampleFlags(o serveOptions) error {
	switch {
	case o.online:
		return nil
	case o.keyFile != "":
		return fmt.Errorf("--key %s without --online: the embedded SAMPLE trusts test roots, so anyone could get affirming tokens signed by that key; give --online, or omit --key (the sample signs with a key generated for the run)", o.keyFile)
	case strings.HasPrefix(o.store, "redis://") || strings.HasPrefix(o.store, "rediss://"):
		return fmt.Errorf("--store %s without --online: the embedded SAMPLE (test roots, pinned clock, caller nonces) must not share state with production replicas; give --online, or --store memory", redactStore(o.store))
	}
	return nil
}

// tlsConfig loads --tls-cert and --tls-key.
func tlsConfig(certFile, keyFile string) (*tls.Config, error) {
	certPEM, err := readFlagFile("tls-cert", certFile, maxPEMFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := readFlagFile("tls-key", keyFile, maxKeyFile)
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert %s, --tls-key %s: %w", certFile, keyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// loopback reports whether a --listen address is on the loopback interface
// only (a host name other than localhost is taken as not).
func loopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redactStore is a --store URL without its password, for messages.
func redactStore(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// serveConfig builds the server configuration of the flags; with --online
// the sources keep collateral in coll.
func serveConfig(o serveOptions, logger *slog.Logger, stderr io.Writer, coll collateral.Store) (serve.Config, error) {
	cfg := serve.Config{Store: serve.NewMemoryStore(nil), Logger: logger, CallerNonces: o.callerNonces}
	var err error
	if o.keyFile != "" {
		b, err := readFlagFile("key", o.keyFile, maxKeyFile)
		if err != nil {
			return cfg, err
		}
		warnShared(stderr, "key", o.keyFile)
		if cfg.Signer, err = token.NewSignerFromJWK(b); err != nil {
			return cfg, fmt.Errorf("--key %s: %w", o.keyFile, err)
		}
	} else {
		priv, _, err := token.GenerateKey(token.ES256, "attest-serve")
		if err != nil {
			return cfg, err
		}
		if cfg.Signer, err = token.NewSignerFromJWK(priv); err != nil {
			return cfg, err
		}
		fmt.Fprintln(stderr, "attest serve: WARNING: signing with a key generated for this run (give --key): tokens stop verifying when it exits")
	}
	if o.adminFile != "" {
		if cfg.AdminToken, err = readAdminToken(o.adminFile, serve.MinAdminTokenSize); err != nil {
			return cfg, err
		}
		warnShared(stderr, "admin-token-file", o.adminFile)
	}
	if o.rvFile != "" {
		if cfg.ReferenceValues, err = readFlagFile("reference-values", o.rvFile, policy.MaxDocumentSize); err != nil {
			return cfg, err
		}
	}
	if o.online {
		// The fetcher and the store report to the server's metrics.
		cm := serve.NewCollateralMetrics()
		cfg.CollateralMetrics = cm
		online := &setup.Online{Fetcher: &collateral.HTTPFetcher{UserAgent: "attest-serve", Observer: cm}, Store: collateral.ObserveStore(coll, cm)}
		cfg.Registry, err = setup.NewRegistry(setup.Config{Online: online, Logger: logger})
		return cfg, err
	}
	fmt.Fprintf(stderr, "attest serve: WARNING: serving the embedded SAMPLE: test roots, clock pinned at %s, caller nonces accepted; not for production (give --online)\n", sampleTime().Format(time.RFC3339))
	sample, err := fs.Sub(samplesFS, "samples/composite")
	if err != nil {
		return cfg, err
	}
	if cfg.Registry, err = sampleRegistry(sample); err != nil {
		return cfg, err
	}
	if cfg.ReferenceValues == nil {
		if cfg.ReferenceValues, err = fs.ReadFile(sample, "reference-values.yaml"); err != nil {
			return cfg, err
		}
	}
	cfg.Now = func() time.Time { return sampleTime() }
	cfg.CallerNonces = true
	return cfg, nil
}

// sampleRegistry builds the verifiers of the embedded composite sample: its
// collateral bundle and the test roots it was minted under.
func sampleRegistry(sample fs.FS) (*verify.Registry, error) {
	bundle, err := fs.Sub(sample, "collateral")
	if err != nil {
		return nil, err
	}
	var roots setup.Roots
	for _, r := range []struct {
		file string
		dst  *[]*x509.Certificate
	}{{"tdx/roots.pem", &roots.TDX}, {"gpu/roots.pem", &roots.GPU}, {"gpu/rim-roots.pem", &roots.RIM}} {
		b, err := fs.ReadFile(bundle, r.file)
		if err != nil {
			return nil, err
		}
		if *r.dst, err = pemchain.Parse(b, 64); err != nil {
			return nil, fmt.Errorf("%s: %w", r.file, err)
		}
	}
	return setup.NewRegistry(setup.Config{Bundle: bundle, Roots: roots})
}
