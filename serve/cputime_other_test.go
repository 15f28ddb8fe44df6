//go:build !unix

package serve_test

import "time"

// cpuTime is unavailable here; the CPU metric is then not reported.
func cpuTime() time.Duration { return 0 }
