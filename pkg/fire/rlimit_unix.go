//go:build unix

package fire

import "syscall"

// RaiseFileLimit raises the soft limit on open files (RLIMIT_NOFILE) to the hard limit, as the reference
// does, so thousands of concurrent connections do not fail with "too many open files". The Go runtime
// already does this at start-up on most systems; calling it again is harmless and reports the result.
// It returns the soft limit in force afterwards.
func RaiseFileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur < lim.Max {
		want := lim
		want.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
			return uint64(lim.Cur), err
		}
		lim = want
	}
	return uint64(lim.Cur), nil
}
