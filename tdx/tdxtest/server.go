package tdxtest

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"

	"github.com/trustfactory/attest/tdx"
)

// PCS is an httptest server speaking the Intel PCS/PCCS v4 collateral API
// for one collateral set. It counts requests per path.
type PCS struct {
	*httptest.Server
	mu       sync.Mutex
	c        *tdx.Collateral
	fail     bool
	requests map[string]int
}

// NewPCS starts a PCS server serving c. Close it when done.
func NewPCS(c *tdx.Collateral) *PCS {
	p := &PCS{c: c, requests: map[string]int{}}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	return p
}

// Set replaces the collateral served.
func (p *PCS) Set(c *tdx.Collateral) { p.mu.Lock(); p.c = c; p.mu.Unlock() }

// Fail makes every request answer 503 (true) or serve again (false).
func (p *PCS) Fail(fail bool) { p.mu.Lock(); p.fail = fail; p.mu.Unlock() }

// Requests returns how many requests reached path.
func (p *PCS) Requests(path string) int { p.mu.Lock(); defer p.mu.Unlock(); return p.requests[path] }

func (p *PCS) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	c, fail := p.c, p.fail
	p.requests[r.URL.Path]++
	p.mu.Unlock()
	if fail {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	send := func(body []byte, header, chain string) {
		if header != "" {
			w.Header().Set(header, url.QueryEscape(chain))
		}
		_, _ = w.Write(body)
	}
	switch r.URL.Path {
	case "/tdx/certification/v4/tcb":
		if !strings.EqualFold(r.URL.Query().Get("fmspc"), fmspcOf(c)) {
			http.NotFound(w, r)
			return
		}
		send(c.TCBInfo, "TCB-Info-Issuer-Chain", string(c.TCBInfoIssuerChain))
	case "/tdx/certification/v4/qe/identity":
		send(c.QEIdentity, "SGX-Enclave-Identity-Issuer-Chain", string(c.QEIdentityIssuerChain))
	case "/sgx/certification/v4/pckcrl":
		send(c.PCKCRL, "SGX-PCK-CRL-Issuer-Chain", string(c.PCKCRLIssuerChain))
	case "/sgx/certification/v4/rootcacrl":
		send(c.RootCACRL, "", "")
	default:
		http.NotFound(w, r)
	}
}

// fmspcOf reads the fmspc member of the served TCB info (unverified; routing only).
func fmspcOf(c *tdx.Collateral) string {
	s := string(c.TCBInfo)
	i := strings.Index(s, `"fmspc":"`)
	if i < 0 || len(s) < i+9+12 {
		return ""
	}
	return s[i+9 : i+9+12]
}
