//go:build !unix

package sim

import "time"

// processCPU is not available here: benchmarks leave out their CPU figures.
func processCPU() (time.Duration, bool) { return 0, false }
