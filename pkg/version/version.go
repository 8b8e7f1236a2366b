// Package version holds the version string every bs tool reports and writes into its stream headers.
package version

import "runtime/debug"

// Version is set at build time with -ldflags "-X github.com/bsbench/bs/pkg/version.Version=…"; when it
// is not, it falls back to the module version recorded by `go install`, or "dev".
var Version = ""

// String returns the version of this build.
func String() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
