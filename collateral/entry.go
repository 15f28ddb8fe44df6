package collateral

import (
	"context"
	"time"

	"github.com/trustfactory/attest/verify"
)

// FetchFunc returns a fetch function for Cache.Get that gets url with f and
// takes the entry's NotAfter from notAfter. notAfter should parse and verify
// the body and return its own validity end (a CRL's nextUpdate, a
// certificate's notAfter, an OCSP answer's nextUpdate), so that bytes that do
// not verify are never cached; its error is returned as is (give it a kind).
// A nil notAfter uses NotAfterFromHeader at now and fails when the headers
// say nothing about freshness.
func FetchFunc(f Fetcher, url string, now time.Time, notAfter func(*Response) (time.Time, error)) func(context.Context) (Entry, error) {
	return func(ctx context.Context) (Entry, error) {
		if f == nil {
			return Entry{}, verify.Errorf(verify.ErrConfig, "collateral %s: nil fetcher", ShownURL(url))
		}
		resp, err := f.Fetch(ctx, url)
		if err != nil {
			return Entry{}, err
		}
		if resp == nil {
			return Entry{}, verify.Errorf(verify.ErrCollateral, "collateral %s: fetcher returned no response", ShownURL(url))
		}
		var na time.Time
		if notAfter != nil {
			if na, err = notAfter(resp); err != nil {
				return Entry{}, err
			}
		} else {
			var ok bool
			if na, ok = NotAfterFromHeader(resp.Header, now); !ok {
				return Entry{}, verify.Errorf(verify.ErrCollateral, "collateral %s: no Cache-Control max-age or Expires to bound caching", ShownURL(url))
			}
		}
		return Entry{Data: resp.Body, Header: resp.Header, NotAfter: na, FetchedAt: now}, nil
	}
}
