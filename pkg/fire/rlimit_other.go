//go:build !unix

package fire

// RaiseFileLimit does nothing on systems without RLIMIT_NOFILE and reports no limit.
func RaiseFileLimit() (uint64, error) { return 0, nil }
