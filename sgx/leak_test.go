package sgx_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves goroutines behind (a fetch
// that outlives its verification, a test server never closed).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
