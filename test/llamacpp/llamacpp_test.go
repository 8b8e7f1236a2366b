// Package llamacpp runs the bs pipeline — bs-gen | bs-fire, then bs-stat and bs-report, as built
// binaries — against a real third-party server, llama.cpp's Python server (llama-cpp-python, set
// up by setup.sh and started by serve.sh in this folder), and against bs-sim --mimic llamacpp,
// which imitates it, with the same assertions. See README.md for the server and its stream format.
//
// The real-server test needs `bash test/llamacpp/setup.sh` (once: it compiles llama-cpp-python);
// without it the test is skipped, unless BS_REQUIRE_LLAMACPP=1, when it fails. The mimic test
// always runs.
//
// Output token counts. Non-streamed responses carry usage: every request must report exactly
// the requested 24 completion tokens (the model never samples EOS and the server honours
// max_tokens). llama.cpp's streams carry no usage even though bs-fire asks for it, so bs counts
// one token per chunk; that count is checked against the server's own usage for the same prompt
// in the non-streamed run: sampling is greedy (temperature 0) and the server runs one sequence
// on one thread, so both runs generate the same text, which is checked too. Completions streams
// must match exactly. Chat streams may carry two tokens in one chunk now and then (llama-cpp-python
// holds text back and sends it with the next token; seen for 1 token in 192), so bs's chunk count
// may fall short of the usage: it must not exceed it and may miss at most 5%. The retokenized
// count (bs-stat --tokenizer on the text recorded by bs-fire --record-text) is not an exact oracle
// — re-encoding joined text merges or splits tokens at their boundaries (198 for 192 here) — so it
// is checked to lie within 10% of bs's count.
package llamacpp

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bsbench/bs/pkg/records"
	"github.com/bsbench/bs/pkg/testutil"
)

const (
	numPrompts = 8
	inputLen   = 32
	outputLen  = 24
	model      = "tiny-qwen3"
)

var binDir string

func TestMain(m *testing.M) {
	os.Exit(testutil.RunWithTools(m, &binDir, "bs-gen", "bs-fire", "bs-stat", "bs-report", "bs-sim"))
}

func bin(name string) string { return filepath.Join(binDir, name) }

// TestLlamaCppServer runs the suite against the real llama.cpp server.
func TestLlamaCppServer(t *testing.T) {
	url := startLlamaCpp(t)
	runSuite(t, func(t *testing.T) string { return url }, true)
}

// TestLlamaCppMimic runs the same suite against bs-sim --mimic llamacpp, started afresh for each
// run. Its words depend on the arrival order, so only the counts (not the texts) of the streamed and
// non-streamed runs are compared. Pings every 5 ms, between tokens 3 ms apart, and a queue (the mimic serves one
// request at a time, bs-fire sends two) put ": ping" comments both inside streams and before the
// first data line of a waiting stream — what makes the reference fail vllm-chat on llama.cpp.
func TestLlamaCppMimic(t *testing.T) {
	runSuite(t, func(t *testing.T) string {
		return startSim(t, "--mimic", "llamacpp", "--model", model, "--max-model-len", "2048",
			"--ttft", "10ms", "--itl", "3ms", "--ping-interval", "5ms")
	}, false)
}

// startLlamaCpp sets up (setup.sh --no-build) and starts (serve.sh) the real server on a free
// loopback port and returns its base URL; the test's cleanup stops it.
func startLlamaCpp(t *testing.T) string {
	t.Helper()
	require := os.Getenv("BS_REQUIRE_LLAMACPP") == "1"
	unavailable := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if require {
			t.Fatalf("BS_REQUIRE_LLAMACPP=1 but llama.cpp's server cannot be set up: %s", msg)
		}
		t.Skipf("llama.cpp's server is not set up (%s); run `bash test/llamacpp/setup.sh` once (it compiles llama-cpp-python), or set BS_REQUIRE_LLAMACPP=1 to make this a failure", msg)
	}
	setupStart := time.Now()
	cmd := exec.Command("bash", "setup.sh", "--no-build")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if out, err := cmd.Output(); err != nil {
		unavailable("setup.sh --no-build: %v: %s%s", err, stderr.String(), out)
	}
	t.Logf("setup.sh --no-build: %v", time.Since(setupStart).Round(time.Millisecond))

	dir := t.TempDir()
	pidFile := filepath.Join(dir, "server.pid")
	logFile := filepath.Join(dir, "server.log")
	cmd = exec.Command("bash", "serve.sh", "--pid-file", pidFile, "--log", logFile)
	stderr.Reset()
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	t.Cleanup(func() {
		stop := exec.Command("bash", "serve.sh", "--stop", "--pid-file", pidFile)
		if b, err := stop.CombinedOutput(); err != nil {
			t.Errorf("serve.sh --stop: %v: %s", err, b)
		}
		if t.Failed() {
			if b, err := os.ReadFile(logFile); err == nil {
				t.Logf("server log:\n%s", b)
			}
		}
	})
	if err != nil {
		unavailable("serve.sh: %v: %s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	url := lines[len(lines)-1]
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("serve.sh printed %q, want a loopback base URL", out)
	}
	t.Logf("llama.cpp server at %s (setup and start %v)", url, time.Since(setupStart).Round(time.Millisecond))
	return url
}

// startSim runs bs-sim on a free loopback port and returns its base URL; the test's cleanup
// stops it.
func startSim(t *testing.T, args ...string) string {
	t.Helper()
	url, _ := testutil.StartSim(t, bin("bs-sim"), args...)
	return url
}

// run is the result of one bs-gen | bs-fire run, then bs-stat and bs-report.
type run struct {
	backend string
	stream  bool
	events  []records.Event
	header  records.Header
	summary map[string]any
	console string
}

// runSuite runs vllm and vllm-chat, streaming and not, against the server newServer returns for
// each run, and checks each run and each streamed run against its non-streamed twin.
func runSuite(t *testing.T, newServer func(*testing.T) string, real bool) {
	tok := testutil.Tokenizer(t, "qwen3")
	for _, backend := range []string{"vllm", "vllm-chat"} {
		t.Run(backend, func(t *testing.T) {
			var runs [2]*run
			for i, stream := range []bool{false, true} {
				name := "stream"
				if !stream {
					name = "no-stream"
				}
				t.Run(name, func(t *testing.T) {
					r := fire(t, newServer(t), tok, backend, stream)
					checkRun(t, r, real)
					runs[i] = r
				})
			}
			if runs[0] != nil && runs[1] != nil {
				compareCounts(t, runs[0], runs[1], backend, real)
			}
		})
	}
}

// fire runs the pipeline for one backend and mode and reads back what it wrote.
func fire(t *testing.T, url, tok, backend string, stream bool) *run {
	t.Helper()
	dir := t.TempDir()
	events := filepath.Join(dir, "events.jsonl")
	summary := filepath.Join(dir, "summary.jsonl")
	flags := ""
	if !stream {
		flags += " --disable-stream"
	}
	if backend == "vllm-chat" {
		// llama.cpp ignores max_completion_tokens (what bs-fire sends for chat, as the reference
		// does): without max_tokens every chat request would run until its context is full.
		flags += fmt.Sprintf(` --extra-request-body '{"max_tokens":%d}'`, outputLen)
	}
	// Two requests in flight: the server serves one at a time, so the second waits its turn.
	pipeline := fmt.Sprintf(`set -eo pipefail
%[1]s/bs-gen --dataset-name random-ids --tokenizer %[2]q --num-prompts %[3]d --random-input-len %[4]d \
    --random-output-len %[5]d --random-range-ratio 1 --seed 1 -q \
  | %[1]s/bs-fire --backend %[6]s --base-url %[7]s --model %[8]s --max-concurrency 2 --warmup-requests 1 \
    --record-text -q %[9]s -o %[10]q
%[1]s/bs-stat --tokenizer %[2]q -q %[10]q | tee %[11]q | %[1]s/bs-report`,
		binDir, tok, numPrompts, inputLen, outputLen, backend, url, model, flags, events, summary)
	cmd := exec.Command("bash", "-c", pipeline)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		hint := ""
		if strings.Contains(stderr.String(), "HTTP 400: Bad Request: \n") {
			hint = "\n(an empty 400 is llama-cpp-python refusing an X-Request-Id that is not a UUID; see README.md)"
		}
		t.Fatalf("pipeline: %v\nstderr:\n%s%s", err, stderr.String(), hint)
	}
	t.Logf("%s stream=%v: pipeline %v", backend, stream, time.Since(start).Round(time.Millisecond))
	r := &run{backend: backend, stream: stream, console: stdout.String()}
	r.events, r.header = readEvents(t, events)
	r.summary = readSummary(t, summary)
	return r
}

func readEvents(t *testing.T, path string) ([]records.Event, records.Header) {
	t.Helper()
	rd := records.NewReader[records.Event](records.StreamEvents, path)
	evs, err := rd.All()
	if err != nil {
		t.Fatal(err)
	}
	var h records.Header
	if hs := rd.Headers(); len(hs) > 0 {
		h = hs[0]
	}
	if n := len(rd.Trailers()); n != 1 {
		t.Errorf("%s: %d trailers, want 1", path, n)
	} else if tr := rd.Trailers()[0]; tr.Sent != numPrompts || tr.OK != numPrompts {
		t.Errorf("trailer: sent %d ok %d, want %d each", tr.Sent, tr.OK, numPrompts)
	}
	return evs, h
}

// readSummary returns the one summary line after the header.
func readSummary(t *testing.T, path string) map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 2 || lines[0]["kind"] != "header" {
		t.Fatalf("%s: want a header and one summary, got %d lines", path, len(lines))
	}
	return lines[1]
}

// num reads a number at a path of keys in a summary.
func num(t *testing.T, m map[string]any, keys ...string) float64 {
	t.Helper()
	var v any = m
	for _, k := range keys {
		o, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("summary: %v is not an object", keys)
		}
		v = o[k]
	}
	f, ok := v.(float64)
	if !ok {
		t.Fatalf("summary %v = %v, want a number", keys, v)
	}
	return f
}

// outputCount is bs's output token count for an event (docs/metrics.md): the server's usage if it
// reported one, else Σ chunk_tokens, else the number of chunks.
func outputCount(e *records.Event) int {
	if e.UsageCompletionTokens != nil {
		return *e.UsageCompletionTokens
	}
	if len(e.ChunkTokens) > 0 {
		n := 0
		for _, c := range e.ChunkTokens {
			n += c
		}
		return n
	}
	return len(e.ChunkNS)
}

// checkRun checks one run on its own: every request succeeded, usage where llama.cpp sends it and
// nowhere else, timings positive and ordered, the summary's totals and the console block.
func checkRun(t *testing.T, r *run, real bool) {
	t.Helper()
	if len(r.events) != numPrompts {
		t.Fatalf("%d events, want %d", len(r.events), numPrompts)
	}
	if r.header.Run == nil || r.header.Run.Backend != r.backend || r.header.Run.Stream != r.stream {
		t.Errorf("event header run = %+v, want backend %s stream %v", r.header.Run, r.backend, r.stream)
	}
	total, chunkGaps := 0, 0
	for i := range r.events {
		e := &r.events[i]
		if !e.OK || e.Status != 200 || e.FinishReason != "length" {
			t.Fatalf("prompt %d: ok %v status %d finish %q error %s %s", e.ID, e.OK, e.Status, e.FinishReason, e.ErrorKind, e.Error)
		}
		if e.PromptLen != inputLen || e.OutputLen != outputLen {
			t.Errorf("prompt %d: prompt_len %d output_len %d", e.ID, e.PromptLen, e.OutputLen)
		}
		e2e := e.EndNS - e.SentNS
		if len(e.ChunkNS) == 0 || e.ChunkNS[0] <= 0 || e.ChunkNS[0] > e2e {
			t.Fatalf("prompt %d: chunk_ns %v, e2e %d: want a positive TTFT no later than the end", e.ID, e.ChunkNS, e2e)
		}
		if e.Text == "" || len(e.ChunkText) != len(e.ChunkNS) || strings.Join(e.ChunkText, "") != e.Text {
			t.Errorf("prompt %d: recorded text %q does not join its %d chunk texts %q", e.ID, e.Text, len(e.ChunkNS), e.ChunkText)
		}
		if r.stream {
			// llama.cpp never sends usage in a stream, although bs-fire asks for it.
			if e.UsageCompletionTokens != nil || e.UsagePromptTokens != nil || e.ChunkTokens != nil {
				t.Errorf("prompt %d: stream reported usage %v/%v or chunk tokens %v; llama.cpp sends none", e.ID, e.UsagePromptTokens, e.UsageCompletionTokens, e.ChunkTokens)
			}
			if e.ChunkNS[0] >= e2e {
				t.Errorf("prompt %d: TTFT %d not below E2E %d", e.ID, e.ChunkNS[0], e2e)
			}
			for j := 1; j < len(e.ChunkNS); j++ {
				if e.ChunkNS[j] <= e.ChunkNS[j-1] {
					t.Errorf("prompt %d: chunk %d at %d ns, not after chunk %d at %d ns", e.ID, j, e.ChunkNS[j], j-1, e.ChunkNS[j-1])
				}
			}
			if last := e.ChunkNS[len(e.ChunkNS)-1]; last > e2e {
				t.Errorf("prompt %d: last chunk at %d after the end %d", e.ID, last, e2e)
			}
			chunkGaps += len(e.ChunkNS) - 1
		} else {
			// One body, with usage: exactly the tokens asked for (the model never samples EOS).
			if len(e.ChunkNS) != 1 || e.ChunkNS[0] != e2e {
				t.Errorf("prompt %d: non-streamed response with chunks %v, e2e %d: want one chunk at the end", e.ID, e.ChunkNS, e2e)
			}
			if e.UsageCompletionTokens == nil || *e.UsageCompletionTokens != outputLen {
				t.Errorf("prompt %d: usage completion tokens %v, want %d", e.ID, e.UsageCompletionTokens, outputLen)
			}
			if e.UsagePromptTokens == nil {
				t.Errorf("prompt %d: no prompt usage", e.ID)
			} else if real {
				// The prompt text re-encodes to exactly prompt_len tokens with the server's own
				// vocabulary and no BOS; chatml wraps a user message in 13 more tokens.
				want := inputLen
				if r.backend == "vllm-chat" {
					want += 13
				}
				if *e.UsagePromptTokens != want {
					t.Errorf("prompt %d: server counted %d prompt tokens, want %d", e.ID, *e.UsagePromptTokens, want)
				}
			}
		}
		total += outputCount(e)
	}

	s := r.summary
	if c, f := num(t, s, "completed"), num(t, s, "failed"); c != numPrompts || f != 0 {
		t.Errorf("summary: completed %v failed %v", c, f)
	}
	if got := num(t, s, "total_output_tokens"); got != float64(total) {
		t.Errorf("summary total_output_tokens %v, events add up to %d", got, total)
	}
	if retok := num(t, s, "total_output_tokens_retokenized"); retok < 0.9*float64(total) || retok > 1.1*float64(total) {
		t.Errorf("retokenized output %v is more than 10%% off bs's count %d", retok, total)
	}
	ttft, e2e := num(t, s, "ttft", "mean"), num(t, s, "e2e", "mean")
	if ttft <= 0 || ttft > e2e || (r.stream && ttft >= e2e) {
		t.Errorf("summary: mean TTFT %v s, mean E2E %v s", ttft, e2e)
	}
	if n := num(t, s, "itl", "count"); n != float64(chunkGaps) {
		t.Errorf("summary: %v ITL entries, want %d (chunks − 1 per stream)", n, chunkGaps)
	}
	if r.stream {
		if lo := num(t, s, "itl", "min"); lo <= 0 {
			t.Errorf("summary: ITL min %v, want > 0", lo)
		}
		if num(t, s, "tpot", "mean") <= 0 {
			t.Errorf("summary: TPOT mean not positive")
		}
	}

	for _, want := range []string{
		"============ Serving Benchmark Result ============",
		fmt.Sprintf("%-40s %-10s", "Backend:", r.backend),
		fmt.Sprintf("%-40s %-10d", "Successful requests:", numPrompts),
		fmt.Sprintf("%-40s %-10d", "Total generated tokens:", total),
		"Mean TTFT (ms):",
	} {
		if !strings.Contains(r.console, want) {
			t.Errorf("console block lacks %q:\n%s", want, r.console)
		}
	}
}

// compareCounts checks each streamed request's token count — one per chunk, since llama.cpp sends
// no usage in streams — against the usage the server reported for the same prompt without
// streaming, and that both runs generated the same text.
func compareCounts(t *testing.T, plain, streamed *run, backend string, real bool) {
	t.Helper()
	usage := map[int]int{}
	text := map[int]string{}
	for _, e := range plain.events {
		if e.UsageCompletionTokens != nil {
			usage[e.ID] = *e.UsageCompletionTokens
		}
		text[e.ID] = e.Text
	}
	sumUsage, sumChunks := 0, 0
	for _, e := range streamed.events {
		u, ok := usage[e.ID]
		if !ok {
			t.Errorf("prompt %d: no non-streamed usage to compare with", e.ID)
			continue
		}
		// bs-sim's words depend on arrival order, which two concurrent requests do not fix: only the
		// real model (greedy, one sequence at a time) must repeat its text.
		if real && e.Text != text[e.ID] {
			t.Errorf("prompt %d: streamed text %q differs from the non-streamed %q (greedy decoding should repeat it)", e.ID, e.Text, text[e.ID])
		}
		n := outputCount(&e)
		sumUsage += u
		sumChunks += n
		switch {
		case n > u:
			t.Errorf("prompt %d: bs counted %d tokens in the stream, the server generated %d", e.ID, n, u)
		case n < u && (backend != "vllm-chat" || !real):
			t.Errorf("prompt %d: bs counted %d tokens in the stream, the server generated %d (one chunk per token expected)", e.ID, n, u)
		}
	}
	t.Logf("%s: streamed chunks %d, non-streamed usage %d", backend, sumChunks, sumUsage)
	if float64(sumChunks) < 0.95*float64(sumUsage) {
		t.Errorf("%s: streams carried %d chunks for %d tokens; more than 5%% merged", backend, sumChunks, sumUsage)
	}
}
