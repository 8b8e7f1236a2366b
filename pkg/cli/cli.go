// Package cli holds what the bs commands share around kong: parsing with the exit codes every tool
// documents (2 for a usage error, as argparse does, rather than kong's 80).
package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/alecthomas/kong"

	"github.com/bsbench/bs/pkg/version"
)

// Exit codes shared by every bs tool.
const (
	ExitOK          = 0
	ExitError       = 1
	ExitUsage       = 2
	ExitInterrupted = 130
	ExitClosedPipe  = 141
)

// Parse fills grammar (a kong struct) from args for the program name. Help goes to stdout (and the
// process exits 0 after it, as kong does), errors to stderr. When it returns ok == false the program
// should exit with code: ExitUsage for a bad command line, ExitError if the grammar itself is broken.
// vars are extra kong variables (the version is always set).
func Parse(name, description string, grammar any, args []string, stdout, stderr io.Writer, vars kong.Vars) (code int, ok bool) {
	all := kong.Vars{"version": version.String()}
	for k, v := range vars {
		all[k] = v
	}
	parser, err := kong.New(grammar,
		kong.Name(name),
		kong.Description(description),
		all,
		kong.Writers(stdout, stderr),
		kong.Exit(os.Exit),
	)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return ExitError, false
	}
	if _, err := parser.Parse(args); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n%s: see %s --help\n", name, err, name, name)
		return ExitUsage, false
	}
	return ExitOK, true
}
