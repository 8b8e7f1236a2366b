// Command fire-vs-truth measures bs-fire against bs-sim's truth log: it builds both binaries, starts
// bs-sim on 127.0.0.1 with a truth log, runs bs-fire on generated prompts, and compares every request's
// client-side timings with what the server really did (matched by X-Request-Id). It prints the timing
// errors and bs-fire's own cost: CPU per request and per streamed event, peak RSS, events consumed per
// second, and schedule lag.
//
//	go run ./bench/fire-vs-truth                              # 1,024 streams, 10 ms ITL
//	go run ./bench/fire-vs-truth -streams 10000 -itl 200ms -tokens 25
//	go run ./bench/fire-vs-truth -streams 64 -itl 0 -ttft 0 -tokens 2000 -backend sglang-oai-chat  # events/s ceiling
//
// Client timings are stamped when bytes are read from the socket; truth times when bs-sim's write(2)
// returned. The difference is the cost of the loopback, the kernel, and both processes' scheduling on
// the same machine, so on a loaded 2-core machine it measures the machine as much as bs-fire.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/bsbench/bs/pkg/records"
	"github.com/bsbench/bs/pkg/sim"
)

func main() {
	streams := flag.Int("streams", 1024, "concurrent streams (prompts, all sent at once, --max-concurrency = streams)")
	prompts := flag.Int("prompts", 0, "prompts to send (default: -streams)")
	tokens := flag.Int("tokens", 100, "output tokens per request")
	itl := flag.Duration("itl", 10*time.Millisecond, "bs-sim time between tokens")
	ttft := flag.Duration("ttft", 20*time.Millisecond, "bs-sim time to first token")
	rate := flag.String("rate", "inf", "bs-fire --request-rate")
	keep := flag.Bool("keep", false, "keep the work directory (events, truth log)")
	backend := flag.String("backend", "sglang", "bs-fire --backend (sglang's native stream carries the cumulative text, so its per-event cost grows with the output length; sglang-oai-chat sends deltas)")
	flag.Parse()
	if *prompts == 0 {
		*prompts = *streams
	}
	if err := run(*backend, *streams, *prompts, *tokens, *itl, *ttft, *rate, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "fire-vs-truth:", err)
		os.Exit(1)
	}
}

func run(backend string, streams, nPrompts, tokens int, itl, ttft time.Duration, rate string, keep bool) error {
	dir, err := os.MkdirTemp("", "fire-vs-truth")
	if err != nil {
		return err
	}
	if keep {
		fmt.Println("work directory:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	for _, tool := range []string{"bs-fire", "bs-sim"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, tool), "./cmd/"+tool)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s (run from the repository root): %v\n%s", tool, err, out)
		}
	}

	// bs-sim with a truth log.
	addrFile, truthFile := filepath.Join(dir, "addr"), filepath.Join(dir, "truth.jsonl")
	simCmd := exec.Command(filepath.Join(dir, "bs-sim"), "--host", "127.0.0.1", "--port", "0", "--addr-file", addrFile,
		"--ttft", ttft.String(), "--itl", itl.String(), "--truth-log", truthFile)
	simCmd.Stdout, simCmd.Stderr = io.Discard, os.Stderr
	if err := simCmd.Start(); err != nil {
		return err
	}
	defer simCmd.Process.Kill()
	var base string
	for i := 0; i < 100 && base == ""; i++ {
		time.Sleep(50 * time.Millisecond)
		if b, err := os.ReadFile(addrFile); err == nil {
			base = strings.TrimSpace(string(b))
		}
	}
	if base == "" {
		return errors.New("bs-sim did not start")
	}

	// Prompts.
	promptFile := filepath.Join(dir, "prompts.jsonl")
	var sb strings.Builder
	for i := range nPrompts {
		fmt.Fprintf(&sb, `{"id":%d,"text":"benchmark prompt number %d","prompt_len":4,"output_len":%d}`+"\n", i, i, tokens)
	}
	if err := os.WriteFile(promptFile, []byte(sb.String()), 0o644); err != nil {
		return err
	}

	// bs-fire.
	eventFile := filepath.Join(dir, "events.jsonl")
	fireCmd := exec.Command(filepath.Join(dir, "bs-fire"), "--backend", backend, "--base-url", base, "--request-rate", rate,
		"--max-concurrency", fmt.Sprint(streams), "--warmup-requests", "1", "-q", "-o", eventFile, promptFile)
	var fireErr strings.Builder
	fireCmd.Stderr = &fireErr
	t0 := time.Now()
	if err := fireCmd.Run(); err != nil {
		return fmt.Errorf("bs-fire: %v\n%s", err, fireErr.String())
	}
	wall := time.Since(t0)
	ru := fireCmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())

	// Stop bs-sim so its truth log is complete.
	simCmd.Process.Signal(syscall.SIGTERM)
	simCmd.Wait()

	truth, err := readTruth(truthFile)
	if err != nil {
		return err
	}
	h, evs, tr, err := readEvents(eventFile)
	if err != nil {
		return err
	}
	start := h.StartTime.UnixNano()

	var ttftErr, e2eErr, itlErr, deliver []float64
	var chunks, matched, okN int
	for _, ev := range evs {
		chunks += len(ev.ChunkNS)
		if !ev.OK {
			continue
		}
		okN++
		t, ok := truth[ev.RequestID]
		if !ok || len(t.ChunkNS) != len(ev.ChunkNS) {
			continue
		}
		matched++
		ttftErr = append(ttftErr, ms(ev.ChunkNS[0]-(t.FirstTokenNS-t.ReceivedNS)))
		e2eErr = append(e2eErr, ms((ev.EndNS-ev.SentNS)-(t.EndNS-t.ReceivedNS)))
		for i := range ev.ChunkNS {
			deliver = append(deliver, ms(start+ev.SentNS+ev.ChunkNS[i]-t.ChunkNS[i]))
			if i > 0 {
				itlErr = append(itlErr, ms((ev.ChunkNS[i]-ev.ChunkNS[i-1])-(t.ChunkNS[i]-t.ChunkNS[i-1])))
			}
		}
	}

	fmt.Printf("bs-fire vs bs-sim truth: backend %s, %d prompts, %d concurrent streams, %d tokens each, TTFT %v, ITL %v, rate %s\n",
		backend, nPrompts, streams, tokens, ttft, itl, rate)
	fmt.Printf("requests: %d events, %d ok, %d matched to the truth log by X-Request-Id\n\n", len(evs), okN, matched)
	fmt.Println("timing error (client − truth), ms      n       mean     p50      p99      max|err|")
	row("TTFT (first chunk from send)", ttftErr)
	row("ITL (each chunk gap)", itlErr)
	row("E2E (end − send)", e2eErr)
	row("chunk delivery (read − written)", deliver)
	dur := time.Duration(tr.DurationNS)
	fmt.Printf("\nclient cost: wall %.2fs (run %.2fs), CPU %.2fs user+sys = %.0f%% of one core over the run\n",
		wall.Seconds(), dur.Seconds(), cpu.Seconds(), 100*cpu.Seconds()/wall.Seconds())
	fmt.Printf("  CPU per request %.1f µs, per SSE event %.2f µs (%d events), events consumed %.0f/s\n",
		float64(cpu.Microseconds())/float64(len(evs)), float64(cpu.Nanoseconds())/1e3/float64(max(chunks, 1)), chunks,
		float64(chunks)/dur.Seconds())
	fmt.Printf("  peak RSS %.1f MiB\n", float64(ru.Maxrss)/1024)
	fmt.Printf("  schedule lag (requests that found a free slot: %d) p50 %.3f ms, p99 %.3f ms, max %.3f ms; client bottleneck: %v\n",
		tr.Lag.Count, ms(tr.Lag.P50NS), ms(tr.Lag.P99NS), ms(tr.Lag.MaxNS), tr.Lag.ClientBottleneck)
	if tr.Failed+tr.Cancelled > 0 {
		fmt.Printf("  WARNING: %d failed, %d cancelled\n", tr.Failed, tr.Cancelled)
	}
	return nil
}

func ms(ns int64) float64 { return float64(ns) / 1e6 }

func row(name string, v []float64) {
	if len(v) == 0 {
		fmt.Printf("%-36s %7d\n", name, 0)
		return
	}
	s := slices.Clone(v)
	slices.Sort(s)
	var sum, maxAbs float64
	for _, x := range s {
		sum += x
		maxAbs = max(maxAbs, math.Abs(x))
	}
	fmt.Printf("%-36s %7d %8.3f %8.3f %8.3f %8.3f\n", name, len(s), sum/float64(len(s)), pct(s, 50), pct(s, 99), maxAbs)
}

func pct(sorted []float64, q float64) float64 {
	pos := float64(len(sorted)-1) * q / 100
	lo := int(pos)
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (sorted[hi]-sorted[lo])*(pos-float64(lo))
}

func readTruth(path string) (map[string]sim.TruthRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]sim.TruthRecord{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var t sim.TruthRecord
		if err := json.Unmarshal(sc.Bytes(), &t); err != nil {
			return nil, fmt.Errorf("truth log: %w", err)
		}
		out[t.XRequestID] = t
	}
	return out, sc.Err()
}

func readEvents(path string) (records.Header, []records.Event, records.Trailer, error) {
	rd := records.NewReader[records.Event](records.StreamEvents, path)
	defer rd.Close()
	var evs []records.Event
	for {
		var ev records.Event
		err := rd.Next(&ev)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return records.Header{}, nil, records.Trailer{}, err
		}
		evs = append(evs, ev)
	}
	if len(rd.Headers()) != 1 || len(rd.Trailers()) != 1 {
		return records.Header{}, nil, records.Trailer{}, errors.New("events: want one header and one trailer")
	}
	return rd.Headers()[0], evs, rd.Trailers()[0], nil
}
