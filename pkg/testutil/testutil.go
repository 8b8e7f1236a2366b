// Package testutil holds helpers shared by the tests of several packages:
// locating the repository root and the real tokenizers fetched by
// `make testdata` (scripts/fetch-testdata.sh).
//
// Missing test data is a test failure, never a skip: a test that cannot find
// its tokenizer calls t.Fatalf telling the developer to run `make testdata`.
package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// TB is the subset of testing.TB the helpers need (so benchmarks can use them too).
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

var _ TB = (testing.TB)(nil)

// RepoRoot returns the repository root: the nearest ancestor of the working
// directory that holds go.mod. It fails the test if there is none.
func RepoRoot(t TB) string {
	t.Helper()
	root, err := Root()
	if err != nil {
		t.Fatalf("testutil: %v", err)
	}
	return root
}

// TokenizersDir returns .cache/testdata/tokenizers under the repository root.
func TokenizersDir(t TB) string {
	t.Helper()
	return filepath.Join(RepoRoot(t), ".cache", "testdata", "tokenizers")
}

// Tokenizer returns the directory holding tokenizer.json and
// tokenizer_config.json of the test tokenizer name ("qwen3", "llama3").
// It fails the test, asking for `make testdata`, when either file is missing.
func Tokenizer(t TB, name string) string {
	t.Helper()
	dir := filepath.Join(TokenizersDir(t), name)
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json"} {
		p := filepath.Join(dir, f)
		fi, err := os.Stat(p)
		if err != nil || fi.Size() == 0 {
			t.Fatalf("test tokenizer %q is missing (%s): run `make testdata` (scripts/fetch-testdata.sh)", name, p)
		}
	}
	return dir
}
