//go:build unix

package backends

import "syscall"

// processCPU returns the process's user+system CPU time in nanoseconds (0 if unavailable). Benchmarks
// report it next to wall time because the build machine is shared: CPU time is not inflated by
// waiting for a core.
func processCPU() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
