//go:build !unix

package backends

func processCPU() int64 { return 0 }
