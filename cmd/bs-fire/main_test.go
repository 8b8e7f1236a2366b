package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bsbench/bs/pkg/records"
	"github.com/bsbench/bs/pkg/sim"
)

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bs-fire-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "bs-fire")
	out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuf is a goroutine-safe buffer for bs-sim's truth log.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startSim starts bs-sim in-process on 127.0.0.1.
func startSim(t *testing.T, cfg sim.Config) (*httptest.Server, *syncBuf) {
	ts, truth, _ := startSimCloser(t, cfg)
	return ts, truth
}

// startSimCloser also returns a function that stops the server and flushes its truth log.
func startSimCloser(t *testing.T, cfg sim.Config) (*httptest.Server, *syncBuf, func()) {
	t.Helper()
	truth := &syncBuf{}
	cfg.TruthLog = truth
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	var once sync.Once
	stop := func() {
		once.Do(func() {
			ts.Close()
			s.Close()
		})
	}
	t.Cleanup(stop)
	return ts, truth, stop
}

func writePrompts(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "prompts.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func textPrompts(n, outLen int) []string {
	var lines []string
	for i := range n {
		lines = append(lines, fmt.Sprintf(`{"id":%d,"text":"hello there %d","prompt_len":3,"output_len":%d}`, i, i, outLen))
	}
	return lines
}

type result struct {
	code   int
	stdout string
	stderr string
}

func runBin(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), env...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, so.String(), se.String()}
}

func readEvents(t *testing.T, data string) (records.Header, []records.Event, []records.Trailer) {
	t.Helper()
	rd := records.NewReaderFrom[records.Event](records.StreamEvents, "out", strings.NewReader(data))
	evs, err := rd.All()
	if err != nil {
		t.Fatalf("reading the events: %v", err)
	}
	if len(rd.Headers()) != 1 {
		t.Fatalf("%d headers in %q", len(rd.Headers()), data)
	}
	return rd.Headers()[0], evs, rd.Trailers()
}

// An end-to-end run against bs-sim with an API key and a credential header: every prompt gives one
// event with the id the server saw, the header describes the run, and no secret appears anywhere.
func TestEndToEndWithSim(t *testing.T) {
	const key = "sk-very-secret-key-123456"
	const hdrSecret = "hdr-secret-value-987654"
	ts, truth, stopSim := startSimCloser(t, sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond, APIKey: key})
	prompts := writePrompts(t, textPrompts(20, 4)...)
	out := filepath.Join(t.TempDir(), "events.jsonl.zst")
	r := runBin(t, []string{"OPENAI_API_KEY=" + key, "API_KEY="},
		"--base-url", ts.URL, "--request-rate", "500", "--max-concurrency", "4", "--seed", "7",
		"--header", "X-Api-Key="+hdrSecret, "--header", "X-Plain=1", "--tag", "e2e", "-q", "-o", out, prompts)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := records.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(rc)
	rc.Close()
	h, evs, trs := readEvents(t, string(plain))
	if h.Tool != "bs-fire" || h.Run == nil || h.Run.Backend != "sglang" || h.Run.Model != "bs-sim" || h.Run.Arrival != "poisson" ||
		h.Run.MaxConcurrency != 4 || h.Run.NumPrompts != 20 || !h.Run.Stream || h.Run.WarmupRequests != 1 || h.Run.Tag != "e2e" ||
		*h.Seed != 7 || h.StartTime == nil || h.Run.Endpoint != ts.URL+"/generate" || float64(h.Run.RequestRate) != 500 {
		t.Errorf("header %+v run %+v", h, h.Run)
	}
	if !strings.Contains(strings.Join(h.Args, " "), "X-Api-Key=REDACTED") || !strings.Contains(strings.Join(h.Args, " "), "X-Plain=1") {
		t.Errorf("args %q", h.Args)
	}
	if len(evs) != 20 {
		t.Fatalf("%d events", len(evs))
	}
	ids := map[string]bool{}
	for _, ev := range evs {
		if !ev.OK || len(ev.ChunkNS) != 4 {
			t.Errorf("event %+v", ev)
		}
		ids[ev.RequestID] = true
	}
	if len(trs) != 1 || trs[0].Sent != 20 || trs[0].OK != 20 || len(trs[0].ServerInfo) == 0 {
		t.Fatalf("trailers %+v", trs)
	}
	// The truth log holds the 20 requests (and the warm-up) under the ids bs-fire recorded.
	stopSim()
	var seen int
	sc := bufio.NewScanner(strings.NewReader(truth.String()))
	for sc.Scan() {
		var tr sim.TruthRecord
		if err := json.Unmarshal(sc.Bytes(), &tr); err != nil {
			t.Fatal(err)
		}
		if ids[tr.XRequestID] {
			seen++
		} else if !strings.Contains(tr.XRequestID, "-4000-8001-") { // warm-ups are not recorded
			t.Errorf("server saw unrecorded request %q", tr.XRequestID)
		}
	}
	if seen != 20 {
		t.Errorf("truth log matched %d of 20 requests", seen)
	}
	for _, s := range []string{key, hdrSecret} {
		for name, data := range map[string]string{"output": string(plain), "raw output": string(raw), "stderr": r.stderr, "stdout": r.stdout} {
			if strings.Contains(data, s) {
				t.Errorf("secret %q found in %s", s, name)
			}
		}
	}
	if !strings.Contains(r.stderr, "sent 20, ok 20, failed 0, cancelled 0") {
		t.Errorf("summary missing: %s", r.stderr)
	}
}

// A multi-turn prompt through a chat backend: one event per round.
func TestMultiTurnWithSim(t *testing.T) {
	ts, _ := startSim(t, sim.Config{})
	prompts := writePrompts(t, `{"id":0,"turns":[[{"role":"user","content":"a"}],[{"role":"user","content":"b"}]],"prompt_len":2,"output_len":3}`)
	r := runBin(t, nil, "--backend", "sglang-oai-chat", "--base-url", ts.URL, "-q", "--warmup-requests", "0", prompts)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	_, evs, _ := readEvents(t, r.stdout)
	if len(evs) != 2 || evs[0].Turn != 1 || evs[1].Turn != 2 || !evs[0].OK || !evs[1].OK {
		t.Fatalf("events %+v", evs)
	}
}

func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// Invalid flags and prompts the backend cannot send are refused with exit 2 before any network: the
// base URL points at a closed port, so reaching the ready check would give exit 1 instead.
func TestUsageErrors(t *testing.T) {
	base := closedPort(t)
	text := writePrompts(t, textPrompts(2, 1)...)
	ids := writePrompts(t, `{"id":0,"ids":[1,2,3],"prompt_len":3,"output_len":1}`)
	turns := writePrompts(t, `{"id":0,"turns":[[{"role":"user","content":"a"}]],"prompt_len":1,"output_len":1}`)
	images := writePrompts(t, `{"id":0,"text":"a","images":["data:image/png;base64,AAAA"],"prompt_len":1,"output_len":1}`)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown backend", []string{"--backend", "nope", text}, "unknown backend"},
		{"embeddings", []string{"--backend", "vllm-embedding", text}, "not supported"},
		{"ids on completions", []string{"--backend", "vllm", ids}, `field "ids"`},
		{"turns on native", []string{"--backend", "sglang", turns}, `field "turns"`},
		{"images on completions", []string{"--backend", "sglang-oai", images}, `field "images"`},
		{"extra body not an object", []string{"--extra-request-body", "[1]", text}, "JSON object"},
		{"trt without model", []string{"--backend", "trt", text}, "needs --model"},
		{"negative rate", []string{"--request-rate", "-1", text}, "--request-rate"},
		{"bad burstiness", []string{"--request-rate", "5", "--burstiness", "0", text}, "--burstiness"},
		{"tokenize-prompt", []string{"--tokenize-prompt", text}, "bs-gen flag"},
		{"unknown flag", []string{"--bogus", text}, "unknown flag"},
		{"reference-style headers", []string{"--header", "A=1", "B=2", text}, "--header once per"},
		{"bad lora", []string{"--lora-name", "a", "--lora-request-distribution", "distinct", text}, "at least two"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runBin(t, nil, append([]string{"--base-url", base}, tc.args...)...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", r.code, r.stderr, tc.want)
			}
		})
	}
}

func TestBadInputLine(t *testing.T) {
	p := writePrompts(t, textPrompts(1, 1)[0], `{"id":1,"text":"b","prompt_len":"x","output_len":1}`)
	r := runBin(t, nil, "--base-url", closedPort(t), "--request-rate", "10", p)
	if r.code != 1 || !strings.Contains(r.stderr, "prompts.jsonl:2") || !strings.Contains(r.stderr, `"prompt_len"`) {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestTraceWithoutTimestamps(t *testing.T) {
	r := runBin(t, nil, "--base-url", closedPort(t), "--use-trace-timestamps", writePrompts(t, textPrompts(1, 1)...))
	if r.code != 1 || !strings.Contains(r.stderr, "prompts.jsonl:1") || !strings.Contains(r.stderr, `"timestamp_ms"`) {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestUnreachableServer(t *testing.T) {
	r := runBin(t, nil, "--base-url", closedPort(t), "--ready-check-timeout-sec", "1", writePrompts(t, textPrompts(1, 1)...))
	if r.code != 1 || !strings.Contains(r.stderr, "not ready") || r.stdout != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// Every warm-up request failing (here: no API key) stops bs-fire before the run, with the first error.
func TestWarmupFails(t *testing.T) {
	ts, _ := startSim(t, sim.Config{APIKey: "k-123456789"})
	r := runBin(t, []string{"OPENAI_API_KEY=", "API_KEY="}, "--base-url", ts.URL, "--model", "m", "--ready-check-timeout-sec", "0",
		writePrompts(t, textPrompts(2, 1)...))
	if r.code != 1 || !strings.Contains(r.stderr, "warm-up failed") || !strings.Contains(r.stderr, "401") || r.stdout != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// startStreaming starts bs-fire against bs-sim (20 ms between tokens) with its stdout on a pipe, and
// returns the command, the read end of the pipe and its stderr.
func startStreaming(t *testing.T, outLen int, extra ...string) (*exec.Cmd, *os.File, *syncBuf) {
	t.Helper()
	ts, _ := startSim(t, sim.Config{ITL: 20 * time.Millisecond})
	prompts := writePrompts(t, textPrompts(200, outLen)...)
	args := append([]string{"--base-url", ts.URL, "--request-rate", "100", "--warmup-requests", "0", "-q", prompts}, extra...)
	cmd := exec.Command(binPath, args...)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = w
	stderr := &syncBuf{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() {
		cmd.Process.Kill()
		r.Close()
	})
	return cmd, r, stderr
}

func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(60 * time.Second):
		t.Fatal("bs-fire did not exit")
		return -1
	}
}

func readLine(t *testing.T, r io.Reader) string {
	t.Helper()
	var b []byte
	one := make([]byte, 1)
	for {
		n, err := r.Read(one)
		if n == 1 {
			if one[0] == '\n' {
				return string(b)
			}
			b = append(b, one[0])
		}
		if err != nil {
			t.Fatalf("reading bs-fire's output: %v (got %q)", err, b)
		}
	}
}

// Closing bs-fire's output pipe ends the run cleanly: it stops, says why, and exits with status 141.
func TestClosedPipe(t *testing.T) {
	cmd, out, stderr := startStreaming(t, 50) // streams of 1 s
	if line := readLine(t, out); !strings.Contains(line, `"kind":"header"`) {
		t.Fatalf("first line %q", line)
	}
	out.Close()
	code := waitExit(t, cmd)
	msg := stderr.String()
	if code != 141 || !strings.Contains(msg, "output was closed (broken pipe)") || strings.Contains(msg, "panic") {
		t.Errorf("exit %d, stderr %q", code, msg)
	}
}

// SIGINT: requests in flight get --grace to finish, then are cancelled and recorded; prompts never sent
// have no event; the stream ends with a trailer; exit status 130.
func TestSIGINT(t *testing.T) {
	cmd, out, stderr := startStreaming(t, 500, "--grace", "100ms") // streams of 10 s
	br := bufio.NewReader(out)
	header, err := br.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // let some requests start
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(br)
	code := waitExit(t, cmd)
	if code != 130 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	_, evs, trs := readEvents(t, header+string(rest))
	if len(evs) == 0 || len(trs) != 1 {
		t.Fatalf("%d events, trailers %+v", len(evs), trs)
	}
	tr := trs[0]
	if tr.Interrupted != records.InterruptSignal || tr.Cancelled != len(evs) || tr.Sent+tr.NotSent != 200 || tr.NotSent == 0 {
		t.Errorf("trailer %+v", tr)
	}
	for _, ev := range evs {
		if ev.ErrorKind != records.ErrCancelled {
			t.Errorf("event %+v", ev)
		}
	}
	if !strings.Contains(stderr.String(), fmt.Sprintf("not sent %d (no events)", tr.NotSent)) {
		t.Errorf("summary %q", stderr.String())
	}
}

func TestParseHeaders(t *testing.T) {
	h := parseHeaders([]string{"A=1", "B=x=y", "=novalue", "C=", "D", " E = 2 "})
	if h.Get("A") != "1" || h.Get("B") != "x=y" || h.Get("E") != "2" || len(h) != 3 {
		t.Errorf("headers %v", h)
	}
}

func TestAuthorization(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("API_KEY", "")
	if authorization("") != "" {
		t.Error("no key")
	}
	t.Setenv("API_KEY", "raw-value")
	if authorization("") != "raw-value" {
		t.Error("API_KEY is sent as is")
	}
	t.Setenv("OPENAI_API_KEY", "sk1")
	if authorization("") != "Bearer sk1" {
		t.Error("OPENAI_API_KEY wins over API_KEY, as Bearer")
	}
	if authorization("flag") != "Bearer flag" {
		t.Error("--api-key wins")
	}
}

func TestRedactArgs(t *testing.T) {
	got := redactArgs([]string{"--api-key", "sk-1", "--base-url", "http://u:pw@h:1", "--base-url=http://u:pw@h:2", "--header", "Authorization=Bearer x"})
	want := "--api-key REDACTED --base-url http://u:xxxxx@h:1 --base-url=http://u:xxxxx@h:2 --header Authorization=REDACTED"
	if strings.Join(got, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
}

// An interrupt before the run (here: during the ready check) ends bs-fire at once with 130 and no output.
func TestSIGINTBeforeRun(t *testing.T) {
	cmd := exec.Command(binPath, "--base-url", closedPort(t), "--ready-check-timeout-sec", "600", writePrompts(t, textPrompts(1, 1)...))
	var so, se syncBuf
	cmd.Stdout, cmd.Stderr = &so, &se
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	time.Sleep(300 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	if code := waitExit(t, cmd); code != 130 || so.String() != "" || !strings.Contains(se.String(), "interrupted") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, so.String(), se.String())
	}
}

// An interrupt while bs-fire waits for prompts on a pipe that stays open ends it at once with 130.
func TestSIGINTWhileReading(t *testing.T) {
	cmd := exec.Command(binPath, "--base-url", closedPort(t), "--request-rate", "5")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	cmd.Stdin = pr
	var se syncBuf
	cmd.Stderr = &se
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	t.Cleanup(func() { cmd.Process.Kill() })
	fmt.Fprintln(pw, textPrompts(1, 1)[0]) // one prompt, and the pipe stays open
	time.Sleep(300 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	if code := waitExit(t, cmd); code != 130 || !strings.Contains(se.String(), "interrupted while reading prompts") {
		t.Errorf("exit %d, stderr %q", code, se.String())
	}
}
