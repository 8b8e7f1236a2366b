// Package e2e runs the whole pipeline — bs-gen | bs-fire | bs-stat | bs-report — as built binaries
// against a real bs-sim on 127.0.0.1, and checks what bs-fire measured against bs-sim's truth log.
package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bsbench/bs/pkg/records"
	"github.com/bsbench/bs/pkg/sim"
	"github.com/bsbench/bs/pkg/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var binDir string

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(testutil.RunWithTools(m, &binDir, "bs-gen", "bs-fire", "bs-stat", "bs-report", "bs-sim"))
}

func bin(name string) string { return filepath.Join(binDir, name) }

// startSim runs bs-sim (see testutil.StartSim) and returns its URL and a function that stops it.
func startSim(t *testing.T, args ...string) (string, func()) {
	t.Helper()
	return testutil.StartSim(t, bin("bs-sim"), args...)
}

// readTruth reads a bs-sim truth log, by X-Request-Id.
func readTruth(t *testing.T, path string) map[string]sim.TruthRecord {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]sim.TruthRecord{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var r sim.TruthRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("truth log: %v", err)
		}
		out[r.XRequestID] = r
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func readEvents(t *testing.T, path string) ([]records.Event, *records.Reader[records.Event]) {
	t.Helper()
	r := records.NewReader[records.Event](records.StreamEvents, path)
	evs, err := r.All()
	if err != nil {
		t.Fatal(err)
	}
	return evs, r
}

// TestPipelineAgainstTruth is the foundation's acceptance test: the four tools joined by real pipes,
// up to 64 concurrent streams against bs-sim, every request recorded exactly once, TTFT and ITL within
// 1 ms of what bs-sim really did, and the console block in the reference's layout.
//
// Arrivals are Poisson at 200 req/s, which keeps about 60 of the 64 slots busy (each request lasts
// 20 ms + 63 × 5 ms). A synchronized burst of 64 would measure something else: the time bs-sim's own
// process needs to start 64 handlers on 2 cores, which is real server-side latency that a client
// rightly counts in TTFT but that the truth log's "received" instant does not include.
func TestPipelineAgainstTruth(t *testing.T) {
	tok := testutil.Tokenizer(t, "qwen3")
	dir := t.TempDir()
	truth := filepath.Join(dir, "truth.jsonl")
	url, stopSim := startSim(t, "--ttft", "20ms", "--itl", "5ms", "--truth-log", truth)

	const n, in, out = 256, 128, 64
	events := filepath.Join(dir, "events.jsonl")
	pipeline := fmt.Sprintf(`set -o pipefail
%[1]s/bs-gen --dataset-name random-ids --tokenizer %[2]q --num-prompts %[3]d --random-input-len %[4]d \
    --random-output-len %[5]d --random-range-ratio 1 --seed 7 -q \
  | %[1]s/bs-fire --backend sglang --base-url %[6]s --max-concurrency 64 --request-rate 200 --warmup-requests 0 --record-text -q \
  | tee >(cat > %[7]q) \
  | %[1]s/bs-stat --tokenizer %[2]q -q \
  | %[1]s/bs-report`, binDir, tok, n, in, out, url, events)
	console := runPipeline(t, pipeline)

	waitFile(t, events)
	evs, reader := readEvents(t, events)

	// Stop bs-sim so its truth log is complete, then compare.
	stopSim()
	tr := readTruth(t, truth)
	if len(evs) != n || len(tr) != n {
		t.Fatalf("events written %d, requests bs-sim received %d, want %d each", len(evs), len(tr), n)
	}
	if len(reader.Trailers()) != 1 {
		t.Fatalf("want one trailer closing the event stream, got %d", len(reader.Trailers()))
	}

	var ttftErr, itlErr []float64
	for _, e := range evs {
		if !e.OK {
			t.Fatalf("request %s failed: %s %s", e.RequestID, e.ErrorKind, e.Error)
		}
		r, ok := tr[e.RequestID]
		if !ok {
			t.Fatalf("event %s has no request in the truth log", e.RequestID)
		}
		if len(r.ChunkNS) != len(e.ChunkNS) {
			t.Fatalf("%s: bs-fire saw %d chunks, bs-sim sent %d", e.RequestID, len(e.ChunkNS), len(r.ChunkNS))
		}
		ttftErr = append(ttftErr, ms(e.ChunkNS[0])-ms(r.ChunkNS[0]-r.ReceivedNS))
		for i := 1; i < len(e.ChunkNS); i++ {
			itlErr = append(itlErr, ms(e.ChunkNS[i]-e.ChunkNS[i-1])-ms(r.ChunkNS[i]-r.ChunkNS[i-1]))
		}
	}
	for name, errs := range map[string][]float64{"TTFT": ttftErr, "ITL": itlErr} {
		mean, p50, p99 := summarize(errs)
		t.Logf("%s error vs truth (ms): mean %.3f, median %.3f, p99 %.3f over %d values", name, mean, p50, p99, len(errs))
		// The typical request must be within 1 ms of the truth. The mean is held to that bound only
		// for ITL: a TTFT tail of a few ms (the server process's own scheduling on a shared 2-core
		// machine, before its handler stamps "received") moves the mean but not the median.
		if math.Abs(p50) > 1 || (name == "ITL" && math.Abs(mean) > 1) {
			t.Errorf("%s measured by bs-fire is off bs-sim's truth by mean %.3f ms / median %.3f ms; want within 1 ms", name, mean, p50)
		}
	}

	checkGolden(t, "console.golden", maskTimings(console))
	// The cap holds: never more than 64 requests in flight at one instant (the reference's
	// 1-second-bucket "Peak concurrent requests" may read higher).
	if m := regexp.MustCompile(`Peak requests in flight: +(\d+)`).FindStringSubmatch(console); m == nil {
		t.Errorf("no peak in flight in the console block")
	} else if v, _ := strconv.Atoi(m[1]); v < 1 || v > 64 {
		t.Errorf("peak requests in flight %d, want 1..64 (--max-concurrency 64)", v)
	}
	if !strings.Contains(console, "Successful requests:                     256") {
		t.Errorf("console block:\n%s", console)
	}
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if st, err := os.Stat(path); err == nil && st.Size() > 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s was not written", path)
}

func ms(ns int64) float64 { return float64(ns) / 1e6 }

func summarize(v []float64) (mean, p50, p99 float64) {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	for _, x := range s {
		mean += x
	}
	mean /= float64(len(s))
	return mean, s[len(s)/2], s[int(float64(len(s)-1)*0.99)]
}

// deterministic lists the console labels whose values do not depend on timing.
var deterministic = map[string]bool{
	"Backend:": true, "Traffic request rate:": true, "Max request concurrency:": true,
	"Successful requests:": true, "Total input tokens:": true, "Total input text tokens:": true,
	"Total generated tokens:": true, "Total generated tokens (retokenized):": true,
	"Requests sent:": true, "Failed requests:": true, "Error rate:": true,
	"Client was the bottleneck:": true, "Output length drifted:": true, "Server output tokens:": true,
	// bs-sim reports cached_tokens 0 on every native response: a 0 % hit rate, from all 256.
	"Total prompt tokens:": true, "Total cached tokens:": true, "Cache hit rate:": true, "Responses reporting a hit:": true,
}

// maskTimings keeps the layout (labels, widths, order) and the deterministic values, and replaces
// every timing-dependent value by "~" padded to the same 10-character field.
func maskTimings(block string) string {
	var b strings.Builder
	for _, line := range strings.Split(block, "\n") {
		if len(line) > 41 && line[40] == ' ' && strings.HasSuffix(strings.TrimRight(line[:40], " "), ":") {
			label := strings.TrimRight(line[:40], " ")
			if !deterministic[label] {
				line = line[:41] + fmt.Sprintf("%-10s", "~")
			}
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./test/e2e -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("console block differs from %s:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestPrefixCacheAgainstTruth runs bs-fire --cache-report against bs-sim --prefix-cache on a
// generated-shared-prefix workload (2 groups of 4 prompts sharing a 256-token system prompt) and
// checks the cached tokens at every stage against bs-sim's truth log: each event's cached_tokens
// (and, on the OpenAI chat endpoint, sglext's device tier) equals what bs-sim reported for that
// request, bs-stat's totals are the truth log's sums, and bs-report prints them in the "Cache Hit
// Details" section.
//
// bs-sim looks requests up in its cache one at a time and caches a prompt's blocks at lookup, so
// whatever the concurrency, exactly the first request of each group misses and the 3 others hit.
func TestPrefixCacheAgainstTruth(t *testing.T) {
	tok := testutil.Tokenizer(t, "qwen3")
	for _, backend := range []string{"sglang-oai-chat", "sglang"} {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			truth := filepath.Join(dir, "truth.jsonl")
			url, stopSim := startSim(t, "--ttft", "1ms", "--itl", "1ms", "--prefix-cache", "--truth-log", truth)

			const groups, perGroup = 2, 4
			events, summary := filepath.Join(dir, "events.jsonl"), filepath.Join(dir, "summary.jsonl")
			pipeline := fmt.Sprintf(`set -o pipefail
%[1]s/bs-gen --dataset-name generated-shared-prefix --tokenizer %[2]q --gsp-num-groups %[3]d \
    --gsp-prompts-per-group %[4]d --gsp-system-prompt-len 256 --gsp-question-len 32 --gsp-output-len 4 --seed 3 -q \
  | %[1]s/bs-fire --backend %[5]s --base-url %[6]s --cache-report --max-concurrency 4 --warmup-requests 0 -q \
  | tee %[7]q \
  | %[1]s/bs-stat --tokenizer %[2]q -q \
  | tee %[8]q \
  | %[1]s/bs-report`, binDir, tok, groups, perGroup, backend, url, events, summary)
			console := runPipeline(t, pipeline)
			evs, _ := readEvents(t, events)
			stopSim()
			tr := readTruth(t, truth)
			const n = groups * perGroup
			if len(evs) != n || len(tr) != n {
				t.Fatalf("events written %d, requests bs-sim received %d, want %d each", len(evs), len(tr), n)
			}

			var cached, prompt, hits int
			for _, e := range evs {
				r, ok := tr[e.RequestID]
				if !ok || !e.OK {
					t.Fatalf("event %s: ok %v (%s %s), in the truth log %v", e.RequestID, e.OK, e.ErrorKind, e.Error, ok)
				}
				if e.CachedTokens == nil || *e.CachedTokens != r.CachedTokens {
					t.Errorf("%s: bs-fire recorded cached_tokens %v, bs-sim reported %d", e.RequestID, fmtPtr(e.CachedTokens), r.CachedTokens)
				}
				if backend == "sglang-oai-chat" {
					// --cache-report asked for sglext's tiers: bs-sim puts every hit on the device.
					if d := e.CachedDetails; d == nil || d.Device != r.CachedTokens || d.Host != 0 || d.Storage != 0 {
						t.Errorf("%s: cached_tokens_details %+v, want device %d", e.RequestID, d, r.CachedTokens)
					}
				}
				cached += r.CachedTokens
				prompt += r.PromptTokens
				if r.CachedTokens > 0 {
					hits++
				}
			}
			if hits != n-groups {
				t.Errorf("%d requests hit the cache, want %d (all but the first of each group)", hits, n-groups)
			}

			s := readSummary(t, summary)
			c := s.Cache
			if c == nil || c.CachedTokens != cached || c.PromptTokens != prompt || c.HitRate <= 0 ||
				c.HitRate != float64(cached)/float64(prompt) {
				t.Fatalf("summary cache %+v, want %d cached of %d prompt tokens (truth log)", c, cached, prompt)
			}

			start := strings.Index(console, "Cache Hit Details")
			if start < 0 {
				t.Fatalf("no Cache Hit Details section in the console block:\n%s", console)
			}
			section := console[start:]
			section = section[:strings.Index(section, "=====")]
			for _, want := range []string{
				fmt.Sprintf("%-40s %-10d\n", "Total prompt tokens:", prompt),
				fmt.Sprintf("%-40s %-10d\n", "Total cached tokens:", cached),
				fmt.Sprintf("%-40s %.1f%%\n", "Cache hit rate:", float64(cached)/float64(prompt)*100),
			} {
				if !strings.Contains(section, want) {
					t.Errorf("Cache Hit Details section lacks %q:\n%s", want, section)
				}
			}
		})
	}
}

func fmtPtr(p *int) string {
	if p == nil {
		return "none"
	}
	return strconv.Itoa(*p)
}

func readSummary(t *testing.T, path string) records.Summary {
	t.Helper()
	rd := records.NewReader[records.Summary](records.StreamSummary, path)
	var s records.Summary
	if err := rd.Next(&s); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}

// runPipeline runs a bash pipeline (with pipefail set by the caller) and returns its standard output;
// a failure stops the test with the pipeline's standard error.
func runPipeline(t *testing.T, pipeline string) string {
	t.Helper()
	cmd := exec.Command("bash", "-c", pipeline)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pipeline: %v\nstderr:\n%s", err, stderr.String())
	}
	return stdout.String()
}
