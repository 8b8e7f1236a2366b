// Command fire-vs-truth measures bs-fire against bs-sim's truth log: it builds both binaries, starts
// bs-sim on 127.0.0.1 with a truth log, runs bs-fire on generated prompts, and compares every request's
// client-side timings with what the server really did (matched by X-Request-Id). It prints the timing
// errors and the cost of each side: bs-fire's CPU (user+sys, from getrusage of the child) per request
// and per streamed event, its peak RSS (ru_maxrss = VmHWM), events consumed per second, schedule lag;
// bs-sim's CPU over the same window (from /proc/PID/stat); and what the rest of the machine used
// meanwhile (from /proc/stat), so a figure taken on a busy machine can be read for what it is.
//
//	go run ./bench/fire-vs-truth                                            # the target: 1,024 streams × 256 tokens, TTFT 50 ms, ITL 10 ms
//	go run ./bench/fire-vs-truth -streams 10000 -itl 200ms -tokens 25       # memory at 10,000 streams
//	go run ./bench/fire-vs-truth -streams 64 -itl 0 -ttft 0 -tokens 2000    # events/s ceiling
//	go run ./bench/fire-vs-truth -tokens 1 -prompts 20000 -streams 256      # CPU per request
//	go run ./bench/fire-vs-truth -fire-cpu 1 -sim-cpu 0                     # each side pinned to its own core
//	go run ./bench/fire-vs-truth -sim-bin /tmp/bs-sim                       # the same server for runs of different bs-fire versions
//	go run ./bench/fire-vs-truth -fire-env GOMAXPROCS=1                     # bs-fire on one P
//	go run ./bench/fire-vs-truth -fire-wrap 'perf stat -e syscalls:sys_enter_read -o /tmp/reads'  # count bs-fire's read(2)
//	go run ./bench/fire-vs-truth -cpu-profile /tmp/fire.prof                 # then: go tool pprof -top /tmp/fire.prof
//
// Client timings are stamped when bytes are read from the socket; truth times when bs-sim's write(2)
// returned. The difference is the cost of the loopback, the kernel, and both processes' scheduling on
// the same machine, so on a loaded 2-core machine it measures the machine as much as bs-fire.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bsbench/bs/pkg/records"
	"github.com/bsbench/bs/pkg/sim"
)

type config struct {
	backend          string
	streams, prompts int
	tokens, words    int
	itl, ttft        time.Duration
	rate             string
	keep             bool
	fireCPU, simCPU  string
	cpuProfile       string
	fireArgs         string
	fireEnv          string
	fireWrap         string
	perChunk         int
	simBin           string
}

func main() {
	var c config
	flag.IntVar(&c.streams, "streams", 1024, "concurrent streams (--max-concurrency; with rate inf all are sent at once)")
	flag.IntVar(&c.prompts, "prompts", 0, "prompts to send (default: -streams)")
	flag.IntVar(&c.tokens, "tokens", 256, "output tokens per request")
	flag.IntVar(&c.words, "prompt-len", 128, "prompt length in words (bs-sim counts a word as a token)")
	flag.DurationVar(&c.itl, "itl", 10*time.Millisecond, "bs-sim time between tokens")
	flag.DurationVar(&c.ttft, "ttft", 50*time.Millisecond, "bs-sim time to first token")
	flag.IntVar(&c.perChunk, "tokens-per-chunk", 1, "bs-sim --tokens-per-chunk")
	flag.StringVar(&c.rate, "rate", "inf", "bs-fire --request-rate")
	flag.BoolVar(&c.keep, "keep", false, "keep the work directory (events, truth log)")
	flag.StringVar(&c.backend, "backend", "sglang", "bs-fire --backend (sglang's native stream carries the cumulative text, so its per-event cost grows with the output length; sglang-oai-chat sends deltas)")
	flag.StringVar(&c.fireCPU, "fire-cpu", "", "pin bs-fire to these CPUs (taskset -c LIST)")
	flag.StringVar(&c.simCPU, "sim-cpu", "", "pin bs-sim to these CPUs (taskset -c LIST)")
	flag.StringVar(&c.cpuProfile, "cpu-profile", "", "write bs-fire's CPU profile to FILE (bs-fire --cpu-profile)")
	flag.StringVar(&c.fireArgs, "fire-args", "", "extra bs-fire arguments, space-separated")
	flag.StringVar(&c.fireWrap, "fire-wrap", "", "run bs-fire under this command, space-separated (e.g. 'perf stat -e syscalls:sys_enter_read -o /tmp/reads'); its CPU then counts too")
	flag.StringVar(&c.fireEnv, "fire-env", "", "extra environment variables for bs-fire, space-separated (e.g. GOMAXPROCS=1)")
	flag.StringVar(&c.simBin, "sim-bin", "", "use this bs-sim binary instead of building ./cmd/bs-sim (the same server for runs of different bs-fire versions)")
	flag.Parse()
	if c.prompts == 0 {
		c.prompts = c.streams
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "fire-vs-truth:", err)
		os.Exit(1)
	}
}

// command returns exec.Command(bin, args...), run under taskset -c cpus when cpus is set.
func command(cpus, bin string, args ...string) *exec.Cmd {
	if cpus == "" {
		return exec.Command(bin, args...)
	}
	return exec.Command("taskset", append([]string{"-c", cpus, bin}, args...)...)
}

func run(c config) error {
	dir, err := os.MkdirTemp("", "fire-vs-truth")
	if err != nil {
		return err
	}
	if c.keep {
		fmt.Println("work directory:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	simBin := filepath.Join(dir, "bs-sim")
	tools := []string{"bs-fire", "bs-sim"}
	if c.simBin != "" {
		simBin, tools = c.simBin, tools[:1]
	}
	for _, tool := range tools {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, tool), "./cmd/"+tool)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s (run from the repository root): %v\n%s", tool, err, out)
		}
	}

	// Prompts: -prompt-len words each (bs-sim's default prompt-token estimate is the word count).
	promptFile := filepath.Join(dir, "prompts.jsonl")
	var sb strings.Builder
	words := strings.TrimSpace(strings.Repeat("benchmark ", max(c.words-1, 0)))
	for i := range c.prompts {
		text := strconv.Itoa(i)
		if words != "" {
			text += " " + words
		}
		fmt.Fprintf(&sb, `{"id":%d,"text":%q,"prompt_len":%d,"output_len":%d}`+"\n", i, text, max(c.words, 1), c.tokens)
	}
	if err := os.WriteFile(promptFile, []byte(sb.String()), 0o644); err != nil {
		return err
	}

	// bs-sim with a truth log.
	addrFile, truthFile := filepath.Join(dir, "addr"), filepath.Join(dir, "truth.jsonl")
	simCmd := command(c.simCPU, simBin, "--host", "127.0.0.1", "--port", "0", "--addr-file", addrFile,
		"--ttft", c.ttft.String(), "--itl", c.itl.String(), "--tokens-per-chunk", strconv.Itoa(c.perChunk), "--truth-log", truthFile)
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

	// bs-fire.
	eventFile := filepath.Join(dir, "events.jsonl")
	args := []string{"--backend", c.backend, "--base-url", base, "--request-rate", c.rate,
		"--max-concurrency", fmt.Sprint(c.streams), "--warmup-requests", "1", "-q", "-o", eventFile}
	if c.cpuProfile != "" {
		args = append(args, "--cpu-profile", c.cpuProfile)
	}
	args = append(args, strings.Fields(c.fireArgs)...)
	args = append(args, promptFile)
	fireBin := filepath.Join(dir, "bs-fire")
	if wrap := strings.Fields(c.fireWrap); len(wrap) > 0 {
		args = append(append(wrap[1:len(wrap):len(wrap)], fireBin), args...)
		fireBin = wrap[0]
	}
	fireCmd := command(c.fireCPU, fireBin, args...)
	if c.fireEnv != "" {
		fireCmd.Env = append(os.Environ(), strings.Fields(c.fireEnv)...)
	}
	var fireErr strings.Builder
	fireCmd.Stderr = &fireErr

	load0 := loadAvg()
	sim0, err := procCPU(simCmd.Process.Pid)
	if err != nil {
		return err
	}
	mach0, err := machineCPU()
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := fireCmd.Run(); err != nil {
		return fmt.Errorf("bs-fire: %v\n%s", err, fireErr.String())
	}
	wall := time.Since(t0)
	sim1, _ := procCPU(simCmd.Process.Pid)
	mach1, _ := machineCPU()
	load1 := loadAvg()
	ru := fireCmd.ProcessState.SysUsage().(*syscall.Rusage)
	fireUser, fireSys := time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
	cpu := fireUser + fireSys
	simCPU := sim1 - sim0
	busy := mach1.busy - mach0.busy
	others := max(busy-cpu-simCPU, 0)

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

	var ttftErr, e2eErr, itlErr, deliver, transit, firstDeliver []float64
	var ttftC, ttftT, itlC, itlT []float64
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
		ttftC = append(ttftC, ms(ev.ChunkNS[0]))
		ttftT = append(ttftT, ms(t.FirstTokenNS-t.ReceivedNS))
		ttftErr = append(ttftErr, ms(ev.ChunkNS[0]-(t.FirstTokenNS-t.ReceivedNS)))
		// The TTFT error is exactly the sum of these two: the request's way in (bs-fire's send stamp to
		// bs-sim's handler start: writing, the kernel, bs-sim accepting and reading it) and the first
		// chunk's way out (bs-sim's write to bs-fire's read).
		transit = append(transit, ms(t.ReceivedNS-(start+ev.SentNS)))
		firstDeliver = append(firstDeliver, ms(start+ev.SentNS+ev.ChunkNS[0]-t.FirstTokenNS))
		e2eErr = append(e2eErr, ms((ev.EndNS-ev.SentNS)-(t.EndNS-t.ReceivedNS)))
		for i := range ev.ChunkNS {
			deliver = append(deliver, ms(start+ev.SentNS+ev.ChunkNS[i]-t.ChunkNS[i]))
			if i > 0 {
				itlC = append(itlC, ms(ev.ChunkNS[i]-ev.ChunkNS[i-1]))
				itlT = append(itlT, ms(t.ChunkNS[i]-t.ChunkNS[i-1]))
				itlErr = append(itlErr, ms((ev.ChunkNS[i]-ev.ChunkNS[i-1])-(t.ChunkNS[i]-t.ChunkNS[i-1])))
			}
		}
	}

	pin := ""
	if c.fireCPU != "" || c.simCPU != "" {
		pin = fmt.Sprintf(", bs-fire on CPU %s, bs-sim on CPU %s", orAll(c.fireCPU), orAll(c.simCPU))
	}
	fmt.Printf("bs-fire vs bs-sim truth: backend %s, %d prompts of %d words, %d concurrent streams, %d tokens each (%d per event), TTFT %v, ITL %v, rate %s%s\n",
		c.backend, c.prompts, c.words, c.streams, c.tokens, c.perChunk, c.ttft, c.itl, c.rate, pin)
	if c.fireEnv != "" {
		fmt.Printf("bs-fire environment: %s\n", c.fireEnv)
	}
	fmt.Printf("machine: %d CPUs, load average before %s, after %s\n", runtime.NumCPU(), load0, load1)
	fmt.Printf("requests: %d events, %d ok, %d matched to the truth log by X-Request-Id\n\n", len(evs), okN, matched)
	fmt.Println("timing error (client − truth), ms      n       mean     p50      p99      max|err|")
	row("TTFT (first chunk from send)", ttftErr)
	row("ITL (each chunk gap)", itlErr)
	row("E2E (end − send)", e2eErr)
	row("chunk delivery (read − written)", deliver)
	row("  = request in (recv − sent)", transit)
	row("  + first chunk out", firstDeliver)
	fmt.Println("\nclient vs truth, ms                     n       mean     p50      p99      max")
	row("TTFT client", ttftC)
	row("TTFT truth", ttftT)
	row("ITL client", itlC)
	row("ITL truth", itlT)
	dur := time.Duration(tr.DurationNS)
	n := float64(len(evs))
	fmt.Printf("\nbs-fire: wall %.2fs (run %.2fs), CPU %.2fs (user %.2fs + sys %.2fs) = %.0f%% of one core over the run\n",
		wall.Seconds(), dur.Seconds(), cpu.Seconds(), fireUser.Seconds(), fireSys.Seconds(), 100*cpu.Seconds()/wall.Seconds())
	fmt.Printf("  CPU per request %.1f µs (user %.1f + sys %.1f), per SSE event %.2f µs (user %.2f + sys %.2f) (%d events)\n",
		us(cpu)/n, us(fireUser)/n, us(fireSys)/n,
		us(cpu)/float64(max(chunks, 1)), us(fireUser)/float64(max(chunks, 1)), us(fireSys)/float64(max(chunks, 1)), chunks)
	fmt.Printf("  events consumed %.0f/s over the run; client-only ceiling at this CPU per event: %.0f/s on %d cores\n",
		float64(chunks)/dur.Seconds(), float64(runtime.NumCPU())*1e6/(us(cpu)/float64(max(chunks, 1))), runtime.NumCPU())
	fmt.Printf("  peak RSS (ru_maxrss = VmHWM) %.1f MiB = %.1f KiB per stream\n", float64(ru.Maxrss)/1024, float64(ru.Maxrss)/float64(c.streams))
	fmt.Printf("  schedule lag (requests that found a free slot: %d) p50 %.3f ms, p99 %.3f ms, max %.3f ms; client bottleneck: %v\n",
		tr.Lag.Count, ms(tr.Lag.P50NS), ms(tr.Lag.P99NS), ms(tr.Lag.MaxNS), tr.Lag.ClientBottleneck)
	fmt.Printf("bs-sim over the same window: CPU %.2fs = %.0f%% of one core, %.2f µs per event\n",
		simCPU.Seconds(), 100*simCPU.Seconds()/wall.Seconds(), us(simCPU)/float64(max(chunks, 1)))
	fmt.Printf("rest of the machine over the same window: CPU %.2fs = %.0f%% of one core (busy %.0f%% of %d cores in all)\n",
		others.Seconds(), 100*others.Seconds()/wall.Seconds(), 100*busy.Seconds()/wall.Seconds()/float64(runtime.NumCPU()), runtime.NumCPU())
	if tr.Failed+tr.Cancelled > 0 {
		fmt.Printf("  WARNING: %d failed, %d cancelled\n", tr.Failed, tr.Cancelled)
	}
	return nil
}

func orAll(s string) string {
	if s == "" {
		return "any"
	}
	return s
}

func ms(ns int64) float64        { return float64(ns) / 1e6 }
func us(d time.Duration) float64 { return float64(d) / 1e3 }

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// clockTick is USER_HZ, the unit of /proc CPU times (100 on every Linux ABI Go supports).
const clockTick = 100

// procCPU returns the user+system CPU time of process pid so far.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may contain spaces) start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTick, nil
}

type machine struct{ busy time.Duration }

// machineCPU returns the CPU time all cores spent not idle, from /proc/stat.
func machineCPU() (machine, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machine{}, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return machine{}, errors.New("/proc/stat: unexpected first line")
	}
	var busy int64
	for i, s := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest times are already counted in user
			break
		}
		v, _ := strconv.ParseInt(s, 10, 64)
		busy += v
	}
	return machine{busy: time.Duration(busy) * time.Second / clockTick}, nil
}

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
	evs, err := rd.All()
	if err != nil {
		return records.Header{}, nil, records.Trailer{}, err
	}
	if len(rd.Headers()) != 1 || len(rd.Trailers()) != 1 {
		return records.Header{}, nil, records.Trailer{}, errors.New("events: want one header and one trailer")
	}
	return rd.Headers()[0], evs, rd.Trailers()[0], nil
}
