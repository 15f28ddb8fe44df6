package serve

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/iotest"
)

// FuzzReadGrowing: whatever the body, its announced length, the limit and
// how the bytes arrive (one at a time, or with errors mixed in), a read
// either returns exactly the body, which then kept its announced length
// and the limit, or fails; it never panics and its buffer never exceeds
// the limit by more than one byte.
func FuzzReadGrowing(f *testing.F) {
	f.Add([]byte(`{"verification_requests":[]}`), int64(-1), int64(1<<10), false)
	f.Add([]byte(`{"verification_requests":[]}`), int64(28), int64(28), true)
	f.Add(bytes.Repeat([]byte("a"), 70<<10), int64(70<<10), int64(64<<10), false)
	f.Add(bytes.Repeat([]byte("a"), 200<<10), int64(-1), int64(1<<20), true)
	f.Add([]byte{}, int64(0), int64(0), false)
	f.Fuzz(func(t *testing.T, body []byte, announced, limit int64, oneByte bool) {
		if limit < 0 || limit > 4<<20 || announced < -1 {
			t.Skip()
		}
		var r io.Reader = bytes.NewReader(body)
		if oneByte {
			r = iotest.OneByteReader(r)
		}
		rec := httptest.NewRecorder()
		b, err := readGrowing(http.MaxBytesReader(rec, io.NopCloser(r), limit), announced, limit)
		if err != nil {
			return
		}
		if !bytes.Equal(b, body) {
			t.Fatalf("read %d bytes, body of %d", len(b), len(body))
		}
		if announced >= 0 && int64(len(body)) != announced {
			t.Fatalf("body of %d bytes accepted for Content-Length %d", len(body), announced)
		}
		if int64(len(body)) > limit || int64(cap(b)) > limit+1 {
			t.Fatalf("body %d, buffer %d, limit %d", len(body), cap(b), limit)
		}
	})
}

// A body that fails mid-way is that failure, not a short body.
func TestReadGrowingError(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(bytes.NewReader([]byte("{\"a\":")), iotest.ErrReader(boom))
	_, err := readGrowing(r, -1, 1<<10)
	if !errors.Is(err, boom) {
		t.Fatalf("err %v, want %v", err, boom)
	}
}
