// Package collateral is the plumbing every TEE verifier uses to obtain
// collateral (Intel TCB info, QE identity and CRLs; AMD VCEK certificates and
// CRLs; NVIDIA OCSP answers and RIMs) from the network or from a shared store.
//
// The model has three parts:
//
//   - A Fetcher gets the bytes behind a URL; code outside this module may
//     implement it (a proxy, a recorded fixture, a signed-request client).
//     HTTPFetcher is the production fetcher: settable HTTP client or TLS
//     configuration (a root pool for an on-premises PCCS), extra headers (an
//     API key), User-Agent, a per-attempt timeout, a bounded number of
//     retries with exponential back-off and jitter on network errors, 5xx
//     and 429 (honouring Retry-After up to a cap), a maximum body size, a
//     distinct ErrNotFound for 404 so that callers can tell "absent" from
//     "unavailable", and no redirect ever followed (a 3xx is one failed
//     fetch). Tests substitute httptest servers.
//
//   - A Store keeps Entries: the raw bytes plus the instant (NotAfter) after
//     which they must be refreshed. MemoryStore is a bounded LRU in the
//     process; DirStore keeps entries in a directory (files named by the
//     hash of their key, written atomically, bounded in size and number), so
//     that they survive restarts. Store is an interface so that a fleet of
//     verifiers can share one: every online source of the verifiers (tdx,
//     snp, gpu/rim, gpu/ocsp) is built with NewHTTPSource(baseURL, Fetcher,
//     Store, ...) and keys its entries by full URL or a prefixed name, so one
//     Store serves them all.
//
//   - A Cache sits in front of any source. Cache.Get returns a stored entry
//     while the caller's time is not after its NotAfter; otherwise it runs the
//     caller's fetch function once for all concurrent callers of the same key
//     (singleflight), stores the result and returns it. When the fetch fails
//     it serves the previous entry only within CacheOptions.MaxStale past its
//     NotAfter, and says so (stale = true).
//
// A store shared by several processes (a Redis store) may also be a Locker:
// a Cache over it then takes an item's fetch lock before fetching, and the
// other processes wait for the entry the holder stores instead of fetching
// the same item, bounded by CacheOptions.LockTimeout.
//
// Observation is optional and costs nothing when unset: an HTTPFetcher
// reports each attempt (status, Retry-After, bytes, duration) to its
// Observer, a FetchObserver; a Cache reports each Get (hit, miss, stale) to
// a CacheObserver, given in CacheOptions or carried by the store
// (ObserveStore), since sources build their Caches from the store they are
// given.
//
// A key must name the item completely (its URL with every parameter), since
// callers of the same key share one fetch and one entry.
//
// Stale bytes are still past their validity: a verifier that accepts a stale
// entry applies its own policy to it and records that it did so.
//
// Time is an input: the Cache never reads the clock to decide validity; the
// verifier passes its verification time (verify.Expectations.Now). The bytes
// a Cache returns are not trusted by being cached: callers verify signatures
// and validity of what they get. Checking inside the fetch function (see
// FetchFunc) keeps bytes that do not verify out of the store, but it does not
// replace checking what Get returns: an entry may come from another caller's
// fetch (with other roots) or from a shared store. Verified, parsed objects
// are cached separately by the verifiers that parse them.
//
// Every error carries a verify kind: verify.ErrCollateral when collateral is
// unavailable (network, status, expired upstream data), verify.ErrLimit when a
// size cap is hit, verify.ErrConfig for a misuse of the API.
package collateral
