package rimtest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
)

// Service is an httptest server that answers like NVIDIA's RIM service:
// GET /v1/rim/<id> → {"id","rim"(base64),"sha256","last_updated",
// "request_id","rim_format":"TCG"}, 404 for unknown IDs. Close it when done.
type Service struct {
	*httptest.Server

	mu        sync.Mutex
	docs      map[string][]byte
	overrides map[string][]byte
	requests  atomic.Int64
}

// NewService starts a service holding docs, keyed by RIM ID.
func NewService(docs map[string][]byte) *Service {
	s := &Service{docs: map[string][]byte{}, overrides: map[string][]byte{}}
	for id, d := range docs {
		s.docs[id] = d
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Add serves doc under id.
func (s *Service) Add(id string, doc []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.docs[id] = doc
}

// SetResponse makes the service answer id with body as is (status 200), for
// malformed or lying answers.
func (s *Service) SetResponse(id string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.overrides[id] = body
}

// Requests returns the number of requests served.
func (s *Service) Requests() int64 { return s.requests.Load() }

// Response returns the JSON answer the service gives for doc under id.
func Response(id string, doc []byte) []byte {
	sum := sha256.Sum256(doc)
	b, _ := json.Marshal(map[string]string{
		"id":           id,
		"rim":          base64.StdEncoding.EncodeToString(doc),
		"sha256":       hex.EncodeToString(sum[:]),
		"last_updated": "2025-01-01T00:00:00.000000",
		"request_id":   "00000000-0000-0000-0000-000000000000",
		"rim_format":   "TCG",
	})
	return b
}

func (s *Service) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	id, ok := strings.CutPrefix(r.URL.Path, "/v1/rim/")
	if r.Method != http.MethodGet || !ok {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	body, over := s.overrides[id]
	doc, found := s.docs[id]
	s.mu.Unlock()
	if !over {
		if !found {
			http.NotFound(w, r)
			return
		}
		body = Response(id, doc)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}
