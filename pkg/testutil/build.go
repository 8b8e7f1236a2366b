package testutil

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Root returns the repository root (the nearest ancestor of the working directory holding go.mod),
// for callers without a testing.TB such as TestMain.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if fi, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && !fi.IsDir() {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// BuildTools builds the named bs commands (e.g. "bs-gen", "bs-sim") into dir, the way `make build`
// does: bs-gen and bs-stat (with the tokenizers tag) link libtokenizers.a, found with
// scripts/build-libtokenizers.sh (which builds it if needed); the others build with CGO_ENABLED=0.
func BuildTools(dir string, tools ...string) error {
	root, err := Root()
	if err != nil {
		return err
	}
	var toklib string
	for _, tool := range tools {
		env := os.Environ()
		args := []string{"build", "-o", filepath.Join(dir, tool)}
		switch tool {
		case "bs-gen", "bs-stat":
			if toklib == "" {
				out, err := exec.Command("bash", filepath.Join(root, "scripts", "build-libtokenizers.sh")).Output()
				if err != nil {
					return fmt.Errorf("scripts/build-libtokenizers.sh: %w", err)
				}
				lines := strings.Split(strings.TrimSpace(string(out)), "\n")
				toklib = lines[len(lines)-1]
			}
			env = append(env, "CGO_LDFLAGS=-L"+toklib)
			if tool == "bs-stat" {
				args = append(args, "-tags", "tokenizers")
			}
		default:
			env = append(env, "CGO_ENABLED=0")
		}
		cmd := exec.Command("go", append(args, "./cmd/"+tool)...)
		cmd.Dir, cmd.Env = root, env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s: %v\n%s", tool, err, out)
		}
	}
	return nil
}

// RunWithTools is a TestMain body for tests that drive the built commands: it builds tools into a
// temporary folder, stores the folder in *binDir, runs the tests, removes the folder and returns the
// exit code for os.Exit.
func RunWithTools(m interface{ Run() int }, binDir *string, tools ...string) int {
	dir, err := os.MkdirTemp("", "bs-test-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	*binDir = dir
	if err := BuildTools(dir, tools...); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}
