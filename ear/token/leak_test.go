package token

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves goroutines behind (a fetch
// that outlives its verification, a server or cache worker never stopped).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
