package snptest

import (
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/trustfactory/attest/snp"
)

// KDS is a fake AMD Key Distribution Service on an httptest server. It serves
// the VCEK of each registered PKI for its chip and TCB, the VLEK/VCEK
// cert_chain, and CRLs set with SetCRL, at the KDS paths:
//
//	/vcek/v1/{product}/{hwid}?[fmcSPL=..&]blSPL=..&teeSPL=..&snpSPL=..&ucodeSPL=..
//	/{vcek|vlek}/v1/{product}/cert_chain
//	/{vcek|vlek}/v1/{product}/crl
type KDS struct {
	Server *httptest.Server

	mu       sync.Mutex
	pkis     map[snp.Product]*PKI
	crls     map[string][]byte
	throttle int // answer this many requests with 429 first

	requests atomic.Int64
}

// NewKDS starts a fake KDS serving the given hierarchies. Close it with Close.
func NewKDS(pkis ...*PKI) *KDS {
	k := &KDS{pkis: map[snp.Product]*PKI{}, crls: map[string][]byte{}}
	for _, p := range pkis {
		k.pkis[p.Product] = p
	}
	k.Server = httptest.NewServer(http.HandlerFunc(k.serve))
	return k
}

// URL is the base URL to give snp.NewHTTPSource.
func (k *KDS) URL() string { return k.Server.URL }

// Close stops the server.
func (k *KDS) Close() { k.Server.Close() }

// Requests is the number of requests served so far.
func (k *KDS) Requests() int64 { return k.requests.Load() }

// SetCRL sets the DER CRL served for product and key kind.
func (k *KDS) SetCRL(p snp.Product, kind snp.SigningKey, der []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.crls[crlKey(p, kind)] = der
}

// Throttle makes the next n requests fail with 429 and Retry-After: 0.
func (k *KDS) Throttle(n int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.throttle = n
}

func crlKey(p snp.Product, kind snp.SigningKey) string {
	if kind == snp.SigningKeyVLEK {
		return string(p) + "/vlek"
	}
	return string(p) + "/vcek"
}

func (k *KDS) serve(w http.ResponseWriter, r *http.Request) {
	k.requests.Add(1)
	k.mu.Lock()
	if k.throttle > 0 {
		k.throttle--
		k.mu.Unlock()
		w.Header().Set("Retry-After", "0")
		http.Error(w, "rate limited", http.StatusTooManyRequests)
		return
	}
	k.mu.Unlock()
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) != 4 || parts[1] != "v1" || (parts[0] != "vcek" && parts[0] != "vlek") {
		http.NotFound(w, r)
		return
	}
	kind := snp.SigningKeyVCEK
	if parts[0] == "vlek" {
		kind = snp.SigningKeyVLEK
	}
	prod, err := snp.ParseProduct(parts[2])
	if err != nil {
		http.NotFound(w, r)
		return
	}
	k.mu.Lock()
	p := k.pkis[prod]
	crl := k.crls[crlKey(prod, kind)]
	k.mu.Unlock()
	if p == nil {
		http.NotFound(w, r)
		return
	}
	switch parts[3] {
	case "crl":
		if crl == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/pkix-crl")
		w.Write(crl)
	case "cert_chain":
		inter := p.ASK
		if kind == snp.SigningKeyVLEK {
			inter = p.ASVK
		}
		w.Header().Set("Content-Type", "application/x-pem-file")
		pem.Encode(w, &pem.Block{Type: "CERTIFICATE", Bytes: inter.Raw})
		pem.Encode(w, &pem.Block{Type: "CERTIFICATE", Bytes: p.ARK.Raw})
	default:
		if kind != snp.SigningKeyVCEK {
			http.NotFound(w, r)
			return
		}
		hwid := p.ChipID[:]
		if prod == snp.Turin {
			hwid = p.ChipID[:8]
		}
		if parts[3] != hex.EncodeToString(hwid) {
			http.NotFound(w, r)
			return
		}
		t := p.TCB
		want := fmt.Sprintf("blSPL=%d&teeSPL=%d&snpSPL=%d&ucodeSPL=%d", t.Bootloader, t.TEE, t.SNP, t.Microcode)
		if prod == snp.Turin {
			want = fmt.Sprintf("fmcSPL=%d&", t.FMC) + want
		}
		if r.URL.RawQuery != want {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/x-x509-ca-cert")
		w.Write(p.VCEK.Raw)
	}
}
