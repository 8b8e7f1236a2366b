package testutil

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// StartSim runs the bs-sim binary on a free loopback port with args and returns its base URL and a
// function that stops it (SIGINT, so it flushes its truth log; killed after 15 s). The test's cleanup
// stops it too, and logs bs-sim's output if the test failed.
func StartSim(t testing.TB, binary string, args ...string) (url string, stop func()) {
	t.Helper()
	addrFile := filepath.Join(t.TempDir(), "addr")
	cmd := exec.Command(binary, append([]string{"--port", "0", "--addr-file", addrFile}, args...)...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("bs-sim output:\n%s", logs.String())
		}
	})
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(addrFile); err == nil && len(b) > 0 {
			return strings.TrimSpace(string(b)), stop
		}
	}
	t.Fatalf("bs-sim did not start:\n%s", logs.String())
	return "", nil
}
