// Package coalesce lets concurrent callers that ask for the same expensive
// result (a RIM fetched and verified, say) share one computation.
package coalesce

import "golang.org/x/sync/singleflight"

// Group coalesces calls by key. The zero value is ready to use and safe for
// concurrent use.
type Group[V any] struct {
	g singleflight.Group
}

type result[V any] struct{ v V }

// Do runs fn once for the callers that ask for key while it runs. The caller
// that ran fn gets its result; every other caller gets it only if reuse(v,
// err) says the result holds for that caller too (it was computed at another
// time, say, or under another caller's context), and otherwise runs fn
// itself. The key must cover every input fn reads that reuse does not check.
func (g *Group[V]) Do(key string, fn func() (V, error), reuse func(V, error) bool) (V, error) {
	ran := false
	r, err, _ := g.g.Do(key, func() (any, error) {
		ran = true
		v, err := fn()
		return result[V]{v}, err
	})
	v := r.(result[V]).v
	if ran || reuse(v, err) {
		return v, err
	}
	return fn()
}
