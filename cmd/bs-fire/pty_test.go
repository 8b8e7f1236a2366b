//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/bsbench/bs/pkg/sim"
)

// openPTY opens a pseudo-terminal pair: the controlling side (master) and the terminal a child
// process writes to (slave).
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal on this machine: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatalf("unlocking the pseudo-terminal: %v", e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Fatalf("pseudo-terminal number: %v", e)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// A terminal window of 120 × 40, as a real one has (a fresh pseudo-terminal is 0 × 0).
	ws := [4]uint16{40, 120, 0, 0} // rows, columns, pixel width, pixel height
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, slave.Fd(), syscall.TIOCSWINSZ, uintptr(unsafe.Pointer(&ws))); e != 0 {
		t.Fatalf("setting the window size: %v", e)
	}
	return master, slave
}

// On a terminal bs-fire draws a live progress bar on stderr (done/total, rate, failures, elapsed and
// remaining time) and leaves standard output to the records.
func TestProgressBarOnTerminal(t *testing.T) {
	const n = 40
	ts, _ := startSim(t, sim.Config{TTFT: 5 * time.Millisecond, ITL: 5 * time.Millisecond, FailRate: 0.25, Seed: 3})
	prompts := writePrompts(t, textPrompts(n, 8)...)
	master, slave := openPTY(t)

	cmd := exec.Command(binPath, "--backend", "vllm", "--base-url", ts.URL, "--request-rate", "100",
		"--warmup-requests", "0", "--seed", "1", prompts)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, slave
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close() // the child holds the terminal now; reads end (EIO) once it exits

	var screen bytes.Buffer
	copied := make(chan error, 1)
	go func() { _, err := io.Copy(&screen, master); copied <- err }()
	code := waitExit(t, cmd)
	select {
	case err := <-copied:
		var pe *os.PathError
		if err != nil && !(errors.As(err, &pe) && errors.Is(pe.Err, syscall.EIO)) {
			t.Fatalf("reading the terminal: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the terminal was not closed after bs-fire exited")
	}
	if code != 0 {
		t.Fatalf("exit %d; terminal:\n%s", code, screen.String())
	}

	_, evs, trs := readEvents(t, stdout.String())
	failed := 0
	for _, e := range evs {
		if !e.OK {
			failed++
		}
	}
	if len(evs) != n || len(trs) != 1 || failed == 0 || failed == n {
		t.Fatalf("%d events (%d failed), %d trailers; want %d events, some failed", len(evs), failed, len(trs), n)
	}

	// The bar redraws in place (carriage returns); its last state is the finished run.
	out := screen.String()
	frames := strings.Split(strings.ReplaceAll(out, "\r\n", "\n"), "\r")
	last := ""
	for _, f := range frames {
		if strings.Contains(f, "requests") {
			last = f
		}
	}
	if len(frames) < 2 || last == "" {
		t.Fatalf("no progress bar redrawn on the terminal:\n%q", out)
	}
	for _, want := range []string{
		"requests (" + strconv.Itoa(failed) + " failed)", // failures, as counted in the records
		"100%",
		"(" + strconv.Itoa(n) + "/" + strconv.Itoa(n) + ", ", // done/total
		" req/s)", // rate
	} {
		if !strings.Contains(last, want) {
			t.Errorf("final bar %q lacks %q", last, want)
		}
	}
	// While running, each frame shows elapsed:remaining time, e.g. [0s:0s], and a plausible rate (the
	// bar's clock starts when it is first drawn, before the first request, not at the first result).
	timed := regexp.MustCompile(`\((\d+)/` + strconv.Itoa(n) + `, (\d+) req/s\) \[\d+s:\d+s\]`)
	running := 0
	for _, f := range frames {
		m := timed.FindStringSubmatch(f)
		if m == nil {
			continue
		}
		running++
		if rate, _ := strconv.Atoi(m[2]); rate > 10000 {
			t.Errorf("frame %q shows %d req/s for a run at 100 req/s", f, rate)
		}
	}
	if running == 0 {
		t.Errorf("no running frame with done/total, rate and [elapsed:remaining] time:\n%q", out)
	}
	// Records never go to the terminal.
	if strings.Contains(out, `"request_id"`) {
		t.Errorf("records written to the terminal:\n%s", out)
	}
}
