package parity

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bsbench/bs/pkg/records"
	"github.com/bsbench/bs/pkg/sim"
)

// consoleLine is one figure of the reference's result block: its label, the key of the reference's
// result (JSONL) holding the value, and whether it is printed as an integer ({:<10}) or with two
// decimals ({:<10.2f}). Labels, keys and formats are the reference's (serving.py, benchmark()).
type consoleLine struct {
	label, key string
	integer    bool
}

var consoleLines = []consoleLine{
	{"Successful requests:", "completed", true},
	{"Benchmark duration (s):", "duration", false},
	{"Total input tokens:", "total_input_tokens", true},
	{"Total input text tokens:", "total_input_text_tokens", true},
	{"Total generated tokens:", "total_output_tokens", true},
	{"Total generated tokens (retokenized):", "total_output_tokens_retokenized", true},
	{"Request throughput (req/s):", "request_throughput", false},
	{"Input token throughput (tok/s):", "input_throughput", false},
	{"Output token throughput (tok/s):", "output_throughput", false},
	{"Peak output token throughput (tok/s):", "max_output_tokens_per_s", false},
	{"Peak concurrent requests:", "max_concurrent_requests", true},
	{"Total token throughput (tok/s):", "total_throughput", false},
	{"Concurrency:", "concurrency", false},
	{"Accept length:", "accept_length", false},
	{"Mean E2E Latency (ms):", "mean_e2e_latency_ms", false},
	{"Median E2E Latency (ms):", "median_e2e_latency_ms", false},
	{"P90 E2E Latency (ms):", "p90_e2e_latency_ms", false},
	{"P95 E2E Latency (ms):", "p95_e2e_latency_ms", false},
	{"P99 E2E Latency (ms):", "p99_e2e_latency_ms", false},
	{"Mean TTFT (ms):", "mean_ttft_ms", false},
	{"Median TTFT (ms):", "median_ttft_ms", false},
	{"P90 TTFT (ms):", "p90_ttft_ms", false},
	{"P95 TTFT (ms):", "p95_ttft_ms", false},
	{"P99 TTFT (ms):", "p99_ttft_ms", false},
	{"Mean TPOT (ms):", "mean_tpot_ms", false},
	{"Median TPOT (ms):", "median_tpot_ms", false},
	{"P90 TPOT (ms):", "p90_tpot_ms", false},
	{"P95 TPOT (ms):", "p95_tpot_ms", false},
	{"P99 TPOT (ms):", "p99_tpot_ms", false},
	{"Mean ITL (ms):", "mean_itl_ms", false},
	{"Median ITL (ms):", "median_itl_ms", false},
	{"P90 ITL (ms):", "p90_itl_ms", false},
	{"P95 ITL (ms):", "p95_itl_ms", false},
	{"P99 ITL (ms):", "p99_itl_ms", false},
	{"Max ITL (ms):", "max_itl_ms", false},
}

// printed formats v as the reference prints it: "{}" for integers, "{:.2f}" otherwise. Go's 'f'
// formatting and Python's are both the exact decimal value of the double, correctly rounded.
func printed(v float64, integer bool) string {
	if integer {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// samePrinted reports whether bs's value prints as the reference's. When the two raw values differ
// only in the last bits of a double (relative 1e-9: a different summation order) but straddle a
// rounding boundary, the printed digits may differ by one; that is accepted, and said so.
func samePrinted(ref, got float64, integer bool) (bool, string) {
	if printed(ref, integer) == printed(got, integer) {
		return true, ""
	}
	if !integer && math.Abs(ref-got) <= 1e-9*math.Max(1, math.Abs(ref)) {
		return true, fmt.Sprintf("raw values %v and %v differ by %.3g, across a rounding boundary", ref, got, ref-got)
	}
	return false, ""
}

// pyJSON parses a line the reference's json.dumps wrote (which may contain Infinity and NaN).
func pyJSON(b []byte, v any) error {
	re := regexp.MustCompile(`(:\s*)(-?Infinity|NaN)\b`)
	b = re.ReplaceAll(b, []byte(`$1"$2"`))
	return json.Unmarshal(b, v)
}

func num(v any) (float64, bool) {
	f, ok := v.(float64)
	return f, ok
}

// refMetricsOut is what diff/ref_metrics.py writes.
type refMetricsOut struct {
	Backend        string         `json:"backend"`
	Events         int            `json:"events"`
	Result         map[string]any `json:"result"`
	OutputLens     []int          `json:"output_lens"`
	PeaksRealStart map[string]any `json:"peaks_real_start"`
}

type metricsCase struct {
	name    string
	backend string
	fire    []string
	sim     sim.Config
	rate    string // --request-rate (default 150)
}

// metricsSim: jittered timings, two tokens per streamed event (so the native per-token ITL split
// and the k = 0 rules matter), EOS after 7 tokens (requests ask for up to 12 with
// --disable-ignore-eos, so the server's counts differ from the requested lengths and each backend's
// counting rule matters), a speculative accept length (the reference's retokenized ITL on
// sglang-oai), 10 % of requests failing with HTTP 500.
var metricsSim = sim.Config{
	TTFT: 3 * time.Millisecond, ITL: time.Millisecond, Jitter: sim.Jitter{Frac: 0.5}, Seed: 5,
	TokensPerChunk: 2, EOSAfter: 7, SpecAcceptLength: 2.5, FailRate: 0.1, FailStatus: 500,
}

// TestMetricsCalculate: the reference's own calculate_metrics (imported from the venv by
// diff/ref_metrics.py), fed with request outputs built from a bs event file the way the reference's
// request function would have filled them, agrees with bs-stat --compat sglang and bs-report on the
// same events: every figure of the console block and of the JSONL result line to the reference's
// printed precision (counts exactly, the rest to 2 decimals), and the per-request output lengths
// (--output-details) exactly. The duration is bs's (passed to calculate_metrics), so throughputs
// compare the formulas, not the two clients' clocks.
func TestMetricsCalculate(t *testing.T) {
	t.Parallel()
	needReference(t)
	reference(t)

	cases := []metricsCase{
		{"sglang", "sglang", nil, metricsSim, ""},
		{"sglang-no-stream", "sglang", []string{"--disable-stream"}, metricsSim, ""},
		{"sglang-oai-spec", "sglang-oai", nil, metricsSim, ""}, // accept length > 0: retokenized ITL
		{"vllm", "vllm", nil, metricsSim, ""},
		{"vllm-no-stream", "vllm", []string{"--disable-stream"}, metricsSim, ""},
		{"vllm-chat", "vllm-chat", nil, metricsSim, ""},
		{"vllm-chat-no-stream", "vllm-chat", []string{"--disable-stream"}, metricsSim, ""},
		{"trt", "trt", []string{"--model", "bs-sim", "--ready-check-timeout-sec", "0"}, metricsSim, ""},
		{"truss", "truss", []string{"--model", "bs-sim"}, metricsSim, ""},
		{"trt-2s", "trt", []string{"--model", "bs-sim", "--ready-check-timeout-sec", "0"}, metricsSim, "20"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			checkCalculate(t, c)
		})
	}
}

func checkCalculate(t *testing.T, c metricsCase) {
	dir := caseDir(t, "metrics", c.name)
	srv, err := startSim(c.sim)
	if err != nil {
		t.Fatal(err)
	}
	gen := []string{"--dataset-name", "random", "--dataset-path", sharegpt, "--num-prompts", "40",
		"--random-input-len", "32", "--random-output-len", "12", "--random-range-ratio", "0.3", "--seed", "31",
		"--backend", c.backend}
	rate := c.rate
	if rate == "" {
		rate = "150"
	}
	fire := append([]string{"--backend", c.backend, "--base-url", srv.URL, "--disable-ignore-eos",
		"--request-rate", rate, "--max-concurrency", "6", "--warmup-requests", "0", "--record-text"}, c.fire...)
	events, err := runBS(dir, nil, gen, fire)
	srv.stop()
	if err != nil {
		t.Fatal(err)
	}
	summary := filepath.Join(dir, "summary.jsonl")
	if _, err := runTool(dir, "bs-stat", "--compat", "sglang", "--tokenizer", tokDir, "--details", "-q", "-o", summary, events); err != nil {
		t.Fatal(err)
	}
	line := filepath.Join(dir, "bs-result.jsonl")
	console, err := runTool(dir, "bs-report", "--output-file", line, "--output-details", summary)
	if err != nil {
		t.Fatal(err)
	}
	sum := readSummary(t, summary)

	// The reference's calculate_metrics on the same events, with bs's duration.
	refOut := filepath.Join(dir, "ref-metrics.json")
	r := driver.do(map[string]any{"op": "metrics", "cwd": filepath.Join(dir, "ref-cwd"), "log": filepath.Join(dir, "ref-metrics.log"),
		"args": []string{"--events", events, "--duration", strconv.FormatFloat(sum.Duration, 'g', -1, 64), "--tokenizer", tokDir, "--out", refOut}})
	if !r.OK {
		b, _ := os.ReadFile(filepath.Join(dir, "ref-metrics.log"))
		t.Fatalf("ref_metrics.py: %s\n%s", r.Error, lastLines(string(b), 20))
	}
	var ref refMetricsOut
	readJSON(t, refOut, &ref)
	var bsLine map[string]any
	b, err := os.ReadFile(line)
	if err != nil {
		t.Fatal(err)
	}
	if err := pyJSON(bytes.TrimSpace(b), &bsLine); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	// The console-only figure, from the summary.
	bsLine["max_itl_ms"] = sum.ITL.Max * 1000

	// Known difference (reported to the lead, not fixed): on trt and truss the reference never sets
	// start_time, so its peak metrics place every request at t = 0; bs-stat --compat sglang uses the
	// real send times. For those two backends bs's peaks are compared with calculate_metrics given
	// the real send times, and the reference's own values are logged.
	for k, v := range ref.PeaksRealStart {
		if fmt.Sprint(v) != fmt.Sprint(ref.Result[k]) {
			t.Logf("known difference: %s on %s: the reference reports %v (every request at t = 0), with real start times %v",
				k, c.backend, ref.Result[k], v)
		}
		ref.Result[k] = v
	}

	if ref.Events != 40 || int(ref.Result["completed"].(float64)) < 20 {
		t.Fatalf("the reference read %d events with %v successes; want 40 events, most successful", ref.Events, ref.Result["completed"])
	}
	if f := int(ref.Result["completed"].(float64)); f == 40 {
		t.Errorf("no request failed: the case is meant to include failures (bs-sim --fail-rate)")
	}

	// 1. The JSONL result line, key by key.
	checked := 0
	for _, cl := range consoleLines {
		rv, ok := ref.Result[cl.key]
		if !ok {
			t.Fatalf("ref_metrics.py wrote no %s", cl.key)
		}
		if rv == nil {
			if bv := bsLine[cl.key]; bv != nil {
				t.Errorf("%s: reference null, bs %v", cl.key, bv)
			}
			continue
		}
		rf, _ := num(rv)
		bf, ok := num(bsLine[cl.key])
		if !ok {
			t.Errorf("%s: reference %v, bs's result line has %v", cl.key, rv, bsLine[cl.key])
			continue
		}
		same, note := samePrinted(rf, bf, cl.integer)
		if !same {
			t.Errorf("%s: reference %s (%v), bs %s (%v)", cl.key, printed(rf, cl.integer), rf, printed(bf, cl.integer), bf)
		} else if note != "" {
			t.Logf("%s: %s", cl.key, note)
		}
		checked++
	}

	// 2. The console block: each line's printed value, as the reference would print it.
	printedLines := parseConsole(string(console))
	for _, cl := range consoleLines {
		rv := ref.Result[cl.key]
		got, ok := printedLines[cl.label]
		if cl.key == "accept_length" {
			rf, _ := num(rv)
			if (rv != nil && rf != 0) != ok {
				t.Errorf("console %q: reference prints it: %v, bs prints it: %v", cl.label, rv != nil && rf != 0, ok)
			}
			if !ok {
				continue
			}
		}
		if !ok {
			t.Errorf("console: no %q line in bs-report's block:\n%s", cl.label, console)
			continue
		}
		rf, _ := num(rv)
		want := printed(rf, cl.integer)
		if got != want {
			if bf, ok := num(bsLine[cl.key]); ok {
				if same, note := samePrinted(rf, bf, cl.integer); same && note != "" {
					t.Logf("console %q: %s", cl.label, note)
					continue
				}
			}
			t.Errorf("console %q: reference prints %s, bs-report %s", cl.label, want, got)
		}
	}

	// 3. Per-request output lengths (--output-details), in dispatch order.
	var bsLens []int
	if v, ok := bsLine["output_lens"].([]any); ok {
		for _, x := range v {
			f, _ := num(x)
			bsLens = append(bsLens, int(f))
		}
	}
	if fmt.Sprint(bsLens) != fmt.Sprint(ref.OutputLens) {
		t.Errorf("output_lens: reference %v, bs %v", ref.OutputLens, bsLens)
	}
	t.Logf("%d figures and %d output lengths compared (completed %v, total output %v, mean ITL %.4f ms)",
		checked, len(bsLens), ref.Result["completed"], ref.Result["total_output_tokens"], ref.Result["mean_itl_ms"])
}

// parseConsole maps each "Label: value" line of a result block to its value.
func parseConsole(s string) map[string]string {
	out := map[string]string{}
	for _, l := range strings.Split(s, "\n") {
		if len(l) < 41 || !strings.Contains(l[:40], ":") {
			continue
		}
		label := strings.TrimSpace(l[:40])
		out[label] = strings.TrimSpace(l[40:])
	}
	return out
}

func readSummary(t *testing.T, path string) records.Summary {
	t.Helper()
	rd := records.NewReader[records.Summary](records.StreamSummary, path)
	rd.Unmarshal = func(line []byte, v *records.Summary) error { return json.Unmarshal(line, v) }
	var s records.Summary
	if err := rd.Next(&s); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// refDetails is the reference's JSONL line with --output-details (the fields used here).
type refDetails struct {
	Completed         int         `json:"completed"`
	TotalOutputTokens int         `json:"total_output_tokens"`
	InputLens         []int       `json:"input_lens"`
	OutputLens        []int       `json:"output_lens"`
	TTFTs             []float64   `json:"ttfts"`
	ITLs              [][]float64 `json:"itls"`
	Errors            []string    `json:"errors"`
	GeneratedTexts    []string    `json:"generated_texts"`
	Result            map[string]any
}

// TestMetricsFromDetails: the reference runs against bs-sim with --output-details; its per-request
// arrays are converted into bs event records and bs-stat --compat sglang must reproduce the
// reference's own summary figures that the arrays determine.
//
// Conversion, per request i (all requests sent at t = 0, one event per array entry, in order):
// ok = (errors[i] == ""); chunk_ns[0] = round(ttfts[i]·1e9) and chunk_ns[j] = round((ttfts[i] +
// itls[i][0] + … + itls[i][j-1])·1e9), one chunk per ITL entry (bs-sim sends one token per event
// here, so native per-token ITL entries are exactly the chunk gaps); native: chunk_tokens 1 each and
// usage_completion_tokens = output_lens[i]; output_len = output_lens[i]; prompt_len = input_lens[i];
// text = generated_texts[i]; end_ns = the last chunk (the arrays hold no end-to-end latency).
//
// Compared (exact / 2 decimals): completed, total_output_tokens, TTFT mean, median, std, p90, p95,
// p99, ITL mean, median, std, p90, p95, p99. Not comparable from the arrays, so not compared:
// E2E, TPOT, concurrency and throughputs (no latency, no start times, no duration), input totals
// (input_lens hold the server's prompt counts where it reports them, the totals the dataset's),
// peak metrics (no start times).
func TestMetricsFromDetails(t *testing.T) {
	t.Parallel()
	needReference(t)
	reference(t)
	for _, backend := range []string{"sglang", "vllm-chat"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			dir := caseDir(t, "details", backend)
			cfg := sim.Config{TTFT: 3 * time.Millisecond, ITL: time.Millisecond, Jitter: sim.Jitter{Frac: 0.5}, Seed: 9,
				TokensPerChunk: 1, FailRate: 0.1, FailStatus: 500}
			srv, err := startSim(cfg)
			if err != nil {
				t.Fatal(err)
			}
			jsonl, err := runReference(dir, nil, "--base-url", srv.URL, "--backend", backend, "--dataset-name", "random",
				"--dataset-path", sharegpt, "--num-prompts", "30", "--random-input-len", "32", "--random-output-len", "12",
				"--random-range-ratio", "0.3", "--seed", "41", "--request-rate", "200", "--max-concurrency", "6", "--warmup-requests", "0")
			srv.stop()
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(jsonl)
			if err != nil {
				t.Fatal(err)
			}
			var d refDetails
			if err := pyJSON(bytes.TrimSpace(b), &d); err != nil {
				t.Fatal(err)
			}
			if err := pyJSON(bytes.TrimSpace(b), &d.Result); err != nil {
				t.Fatal(err)
			}
			n := len(d.TTFTs)
			if n != 30 || len(d.ITLs) != n || len(d.Errors) != n || len(d.OutputLens) != n || len(d.InputLens) != n {
				t.Fatalf("details arrays: %d ttfts, %d itls, %d errors, %d output_lens, %d input_lens; want 30 each",
					n, len(d.ITLs), len(d.Errors), len(d.OutputLens), len(d.InputLens))
			}
			if d.Completed == n || d.Completed < n/2 {
				t.Fatalf("completed %d of %d: the case is meant to include some failures (bs-sim --fail-rate 0.1)", d.Completed, n)
			}
			events := filepath.Join(dir, "converted.jsonl")
			writeConverted(t, events, backend, d)
			summary := filepath.Join(dir, "summary.jsonl")
			if _, err := runTool(dir, "bs-stat", "--compat", "sglang", "-q", "-o", summary, events); err != nil {
				t.Fatal(err)
			}
			s := readSummary(t, summary)
			type fig struct {
				key     string
				got     float64
				integer bool
			}
			figs := []fig{
				{"completed", float64(s.Completed), true},
				{"total_output_tokens", float64(s.TotalOutput), true},
				{"mean_ttft_ms", s.TTFT.Mean * 1000, false}, {"median_ttft_ms", s.TTFT.Median * 1000, false},
				{"std_ttft_ms", s.TTFT.Std * 1000, false}, {"p90_ttft_ms", s.TTFT.P90 * 1000, false},
				{"p95_ttft_ms", s.TTFT.P95 * 1000, false}, {"p99_ttft_ms", s.TTFT.P99 * 1000, false},
				{"mean_itl_ms", s.ITL.Mean * 1000, false}, {"median_itl_ms", s.ITL.Median * 1000, false},
				{"std_itl_ms", s.ITL.Std * 1000, false}, {"p90_itl_ms", s.ITL.P90 * 1000, false},
				{"p95_itl_ms", s.ITL.P95 * 1000, false}, {"p99_itl_ms", s.ITL.P99 * 1000, false},
			}
			for _, f := range figs {
				rf, ok := num(d.Result[f.key])
				if !ok {
					t.Fatalf("the reference's line has no %s", f.key)
				}
				// The conversion rounds each time to 1 ns; that moves a figure by at most 1e-6 ms.
				if same, _ := samePrinted(rf, f.got, f.integer); !same && !(math.Abs(rf-f.got) < 2e-6 && !f.integer) {
					t.Errorf("%s: reference %s (%v), bs-stat %s (%v)", f.key, printed(rf, f.integer), rf, printed(f.got, f.integer), f.got)
				}
			}
			t.Logf("%d figures agree (completed %d of %d, mean TTFT %.4f ms, mean ITL %.4f ms)", len(figs), d.Completed, n,
				s.TTFT.Mean*1000, s.ITL.Mean*1000)
		})
	}
}

// writeConverted writes the reference's per-request arrays as a bs event stream (see
// TestMetricsFromDetails for the conversion).
func writeConverted(t *testing.T, path, backend string, d refDetails) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	hdr := records.Header{Kind: "header", Format: records.FormatVersion, Stream: records.StreamEvents, Tool: "parity-convert",
		Version: "test", StartTime: &start,
		Run: &records.Run{Backend: backend, Model: "bs-sim", RequestRate: 200, Arrival: "poisson", NumPrompts: len(d.TTFTs), Stream: true}}
	writeLine(t, w, hdr)
	native := backend == "sglang"
	for i := range d.TTFTs {
		ev := records.Event{ID: i, Seq: i, RequestID: fmt.Sprintf("ref-%d", i), PromptLen: d.InputLens[i], OutputLen: d.OutputLens[i]}
		if d.Errors[i] != "" {
			ev.ErrorKind, ev.Error = records.ErrHTTPStatus, "reference: "+firstLine(d.Errors[i])
			writeLine(t, w, ev)
			continue
		}
		ev.OK, ev.Status = true, 200
		acc := d.TTFTs[i]
		ev.ChunkNS = append(ev.ChunkNS, int64(math.Round(acc*1e9)))
		for _, g := range d.ITLs[i] {
			acc += g
			ev.ChunkNS = append(ev.ChunkNS, int64(math.Round(acc*1e9)))
		}
		ev.EndNS = ev.ChunkNS[len(ev.ChunkNS)-1]
		if native {
			ev.ChunkTokens = make([]int, len(ev.ChunkNS))
			for j := range ev.ChunkTokens {
				ev.ChunkTokens[j] = 1
			}
			out := d.OutputLens[i]
			ev.UsageCompletionTokens = &out
		}
		ev.Text = d.GeneratedTexts[i]
		writeLine(t, w, ev)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func writeLine(t *testing.T, w io.Writer, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(append(b, '\n'))
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}
