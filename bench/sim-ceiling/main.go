// Command sim-ceiling measures bs-sim's own limits: it builds bs-sim, starts it on 127.0.0.1 as a
// child process with a truth log, drives N concurrent streamed /v1/completions requests at it with
// a lean client (line scanning, no JSON decoding, keep-alive connections), and reports:
//
//   - events/s and requests/s the pair sustained (wall clock);
//
//   - bs-sim's CPU time (user+system, from /proc) per event, and the events/s that would saturate
//     the machine's cores with bs-sim alone (cores / CPU per event): the server's ceiling, which
//     the wall-clock figure underestimates because the client shares the cores;
//
//   - how late bs-sim emitted events against their schedule, from its truth log: lateness of event k
//     = chunk_ns[k] − (admitted_ns + TTFT + k·ITL).
//
//     go run ./bench/sim-ceiling                                  # ceiling: ITL 0, 64 streams × 256 tokens
//     go run ./bench/sim-ceiling -streams 2000 -itl 50ms -ttft 50ms -tokens 60 -requests 4000
//     go run ./bench/sim-ceiling -floor 1500 -streams 1024 -itl 10ms  # the kernel's share: plain writes, no bs-sim
//
// The client runs on the same machine; on a loaded machine all wall-clock figures fall, while CPU
// per event stays meaningful.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bsbench/bs/pkg/sim"
)

func main() {
	streams := flag.Int("streams", 64, "concurrent client streams")
	requests := flag.Int("requests", 0, "requests to send in all (default: 16 × streams)")
	tokens := flag.Int("tokens", 256, "output tokens per request")
	itl := flag.Duration("itl", 0, "bs-sim --itl")
	ttft := flag.Duration("ttft", 0, "bs-sim --ttft")
	perChunk := flag.Int("tokens-per-chunk", 1, "bs-sim --tokens-per-chunk")
	spin := flag.Duration("spin", 0, "bs-sim --spin")
	floorSize := flag.Int("floor", 0, "measure the floor instead: no bs-sim, no HTTP, -tokens writes of this many bytes to each of -streams loopback connections every -itl (see floor.go)")
	floorAddr := flag.String("floor-reader", "", "internal: the reader process of -floor")
	flag.Parse()
	if *requests == 0 {
		*requests = 16 * *streams
	}
	var err error
	switch {
	case *floorAddr != "":
		err = floorReader(*floorAddr, *streams)
	case *floorSize > 0:
		err = floor(*streams, *tokens, *floorSize, *itl)
	default:
		err = run(*streams, *requests, *tokens, *perChunk, *itl, *ttft, *spin)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sim-ceiling:", err)
		os.Exit(1)
	}
}

func run(streams, requests, tokens, perChunk int, itl, ttft, spin time.Duration) error {
	dir, err := os.MkdirTemp("", "sim-ceiling")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bs-sim")
	build := exec.Command("go", "build", "-o", bin, "github.com/bsbench/bs/cmd/bs-sim")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building bs-sim: %w", err)
	}
	truthPath := filepath.Join(dir, "truth.jsonl")
	cmd := exec.Command(bin, "--port", "0", "--truth-log", truthPath, "--itl", itl.String(), "--ttft", ttft.String(),
		"--tokens-per-chunk", strconv.Itoa(perChunk), "--spin", spin.String())
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Process.Kill() //nolint:errcheck // only if we return early
	line, err := bufio.NewReader(stdout).ReadString('\n')
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		return fmt.Errorf("bs-sim did not print its address: %q %v", line, err)
	}

	cpu0, err := procCPU(cmd.Process.Pid)
	if err != nil {
		return err
	}
	var ru0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	start := time.Now()
	events, err := load(base, streams, requests, tokens)
	elapsed := time.Since(start)
	if err != nil {
		return err
	}
	cpu1, err := procCPU(cmd.Process.Pid)
	if err != nil {
		return err
	}
	var ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("bs-sim: %w", err)
	}
	late, err := lateness(truthPath, ttft, itl)
	if err != nil {
		return err
	}

	serverCPU := cpu1 - cpu0
	clientCPU := rusageCPU(ru1) - rusageCPU(ru0)
	cores := runtime.NumCPU()
	fmt.Printf("streams %d, requests %d × %d tokens, %d token(s)/event, ttft %v, itl %v, spin %v, %d cores\n",
		streams, requests, tokens, perChunk, ttft, itl, spin, cores)
	fmt.Printf("wall %.2fs: %.0f events/s, %.0f requests/s\n", elapsed.Seconds(), float64(events)/elapsed.Seconds(), float64(requests)/elapsed.Seconds())
	fmt.Printf("bs-sim CPU %.2fs (%.0f%% of one core): %.2f µs/event → ceiling %.0f events/s on %d cores alone\n",
		serverCPU.Seconds(), 100*serverCPU.Seconds()/elapsed.Seconds(), float64(serverCPU.Microseconds())/float64(events),
		float64(cores)*float64(events)/serverCPU.Seconds(), cores)
	fmt.Printf("client CPU %.2fs: %.2f µs/event\n", clientCPU.Seconds(), float64(clientCPU.Microseconds())/float64(events))
	slices.Sort(late)
	q := func(p float64) time.Duration { return late[int(p*float64(len(late)-1))] }
	fmt.Printf("emission lateness over %d events: p50 %v, p90 %v, p99 %v, max %v\n", len(late), q(0.5), q(0.9), q(0.99), q(1))
	return nil
}

// load sends requests streamed completions from streams workers and counts content events.
func load(base string, streams, requests, tokens int) (int64, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: streams, DisableCompression: true}}
	body := fmt.Sprintf(`{"model":"m","prompt":"hello world","max_tokens":%d,"ignore_eos":true,"stream":true}`, tokens)
	var next, events atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			br := bufio.NewReaderSize(nil, 16<<10)
			for next.Add(1) <= int64(requests) {
				resp, err := client.Post(base+"/v1/completions", "application/json", strings.NewReader(body))
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				br.Reset(resp.Body)
				var n int64
				for {
					line, err := br.ReadSlice('\n')
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						firstErr.CompareAndSwap(nil, err)
						return
					}
					if bytes.HasPrefix(line, []byte("data: {")) {
						n++
					}
				}
				resp.Body.Close()
				events.Add(n)
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, err
	}
	return events.Load(), nil
}

// lateness reads the truth log and returns, for every event, how late it left against its schedule.
func lateness(path string, ttft, itl time.Duration) ([]time.Duration, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []time.Duration
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var r sim.TruthRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if r.Outcome != sim.OutcomeOK {
			return nil, fmt.Errorf("%s: request %s ended %q", path, r.ID, r.Outcome)
		}
		last := -1 // index of the last token of each event
		for k, t := range r.ChunkNS {
			last += r.ChunkTokens[k]
			due := r.AdmittedNS + int64(ttft) + int64(last)*int64(itl)
			out = append(out, time.Duration(t-due))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("empty truth log")
	}
	return out, nil
}

// procCPU returns the user+system CPU time of a process, from /proc/<pid>/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading bs-sim's CPU time: %w", err)
	}
	// Fields after the parenthesised command name; utime and stime are fields 14 and 15.
	rest := b[bytes.LastIndexByte(b, ')')+2:]
	f := strings.Fields(string(rest))
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("parsing /proc/%d/stat: %w", pid, err)
	}
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks, nil
}

func rusageCPU(r syscall.Rusage) time.Duration {
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}
