// Package allocbudget measures what one call allocates, for the worst-shape
// tests of the parsers that read unauthenticated input: whatever its shape,
// an input of n bytes must cost at most a fixed multiple of n (plus a
// constant), or an attacker buys memory at a discount. Bytes, not time, are
// asserted: the count is the same on a loaded machine.
package allocbudget

import (
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// Bytes returns the least number of bytes fn allocated over three runs:
// other goroutines of a test binary (or a background collection) only ever
// add to a run, so the least is the one closest to fn's own cost.
func Bytes(fn func()) uint64 {
	var least uint64
	for run := range 3 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		fn()
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; run == 0 || n < least {
			least = n
		}
	}
	return least
}

// Size returns n, the size a worst-shape test means to measure, or n/16
// (at least 4 KiB) under the race detector, which slows the parsers tenfold
// and more: CI runs the tests with -race, and the cost per byte is the same
// at either size, so the smaller inputs still catch a parser out of budget.
func Size(n int) int {
	if raceEnabled {
		return max(n/16, min(n, 4<<10))
	}
	return n
}

// Within fails t when fn, given an input of size bytes, allocates more than
// perByte times size plus slack bytes (slack covers the fixed cost of a call:
// tables, a certificate pool, an error message). It logs the measured ratio
// either way, so that a run with -v records the budgets actually used.
func Within(t testing.TB, size int, perByte, slack uint64, fn func()) uint64 {
	t.Helper()
	got := Bytes(fn)
	budget := perByte*uint64(size) + slack
	t.Logf("%d bytes in, %d bytes allocated (%.2f per byte; budget %d per byte + %d)",
		size, got, float64(got)/float64(max(size, 1)), perByte, slack)
	if got > budget {
		t.Errorf("%d bytes allocated for %d bytes of input: budget %d (%d per byte + %d)", got, size, budget, perByte, slack)
	}
	return got
}

// Fill returns head, then unit repeated, then tail: about size bytes in all
// (never less than head and tail). It builds the long runs of the worst
// shapes: many tiny elements, repeated keys, whitespace, digits.
func Fill(size int, head, unit, tail string) []byte {
	n := max(0, (size-len(head)-len(tail))/max(len(unit), 1))
	var b strings.Builder
	b.Grow(len(head) + n*len(unit) + len(tail))
	b.WriteString(head)
	for range n {
		b.WriteString(unit)
	}
	b.WriteString(tail)
	return []byte(b.String())
}

// Nest returns open n times, then inner, then closing n times: the deepest
// shape of n levels.
func Nest(n int, open, inner, closing string) []byte {
	return []byte(strings.Repeat(open, n) + inner + strings.Repeat(closing, n))
}

// Shape is one worst-shape input: a name for the subtest and the bytes.
type Shape struct {
	Name  string
	Value []byte
}

// JSONValues returns JSON values of about size bytes each in the shapes that
// cost decoders most per byte: nesting to size/2 levels (past any decoder's
// limit), many tiny elements, many members and one member repeated, long
// runs of whitespace, a number of size digits, a long string and a string of
// escapes. A test puts each where an attacker can (a field, an element) and
// checks the bytes its parser allocates refusing or reading it.
func JSONValues(size int) []Shape {
	half := size / 2
	return []Shape{
		{"deep arrays", Nest(half, "[", "", "]")},
		{"deep objects", Nest(size/6, `{"a":`, "0", "}")},
		{"zeros", Fill(size, "[", "0,", "0]")},
		{"empty arrays", Fill(size, "[", "[],", "[]]")},
		{"empty objects", Fill(size, "[", "{},", "{}]")},
		{"empty strings", Fill(size, "[", `"",`, `""]`)},
		{"nulls", Fill(size, "[", "null,", "null]")},
		{"many members", manyMembers(size)},
		{"repeated member", Fill(size, "{", `"a":0,`, `"a":0}`)},
		{"whitespace", Fill(size, "[", " ", "0]")},
		{"long number", Fill(size, "", "9", "")},
		{"long fraction", Fill(size, "0.", "1", "e-999999")},
		{"long string", Fill(size, `"`, "A", `"`)},
		{"escapes", Fill(size, `"`, `\u0000`, `"`)},
	}
}

// manyMembers returns an object of distinct short keys, about size bytes.
func manyMembers(size int) []byte {
	var b strings.Builder
	b.Grow(size + 16)
	b.WriteString("{")
	for i := 0; b.Len() < size-16; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"`)
		b.WriteString(strconv.FormatInt(int64(i), 36))
		b.WriteString(`":0`)
	}
	b.WriteString("}")
	return []byte(b.String())
}
