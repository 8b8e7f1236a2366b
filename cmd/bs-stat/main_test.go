package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bsbench/bs/pkg/records"
)

const parity = "../../pkg/metrics/testdata/parity/"

func runStat(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func readSummaries(t *testing.T, stream string) (records.Header, []records.Summary) {
	t.Helper()
	rd := records.NewReaderFrom[records.Summary](records.StreamSummary, "stdout", strings.NewReader(stream))
	sums, err := rd.All()
	if err != nil {
		t.Fatal(err)
	}
	if len(rd.Headers()) != 1 {
		t.Fatalf("%d headers", len(rd.Headers()))
	}
	return rd.Headers()[0], sums
}

func TestSummaryStream(t *testing.T) {
	code, out, errs := runStat(t, parity+"native.jsonl", "--compat", "sglang", "--assert", "p99(ttft)<1s", "--assert", "completed>=6")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	h, sums := readSummaries(t, out)
	if h.Tool != "bs-stat" || h.Stream != records.StreamSummary || len(h.Inputs) != 1 || h.Inputs[0].Tool != "bs-fire" {
		t.Errorf("header %+v", h)
	}
	if len(sums) != 1 || sums[0].Completed != 6 || sums[0].Compat != "sglang" || sums[0].Series == nil {
		t.Errorf("summary %+v", sums)
	}
}

func TestAssertExitCodes(t *testing.T) {
	code, out, errs := runStat(t, parity+"native.jsonl", "--assert", "p99(ttft)<1ms", "--assert", "error_rate<50%", "--assert", "max(itl)<1us")
	if code != 1 {
		t.Fatalf("broken bound: exit %d", code)
	}
	if _, sums := readSummaries(t, out); len(sums) != 1 {
		t.Error("the summary must still be written when a bound is broken")
	}
	if !strings.Contains(errs, "assertion failed: p99(ttft)<1ms: measured p99(ttft) = ") ||
		!strings.Contains(errs, "assertion failed: max(itl)<1us: measured max(itl) = 138.750ms") ||
		strings.Contains(errs, "error_rate<50%: measured") || !strings.Contains(errs, "2 assertion(s) failed") {
		t.Errorf("messages:\n%s", errs)
	}
	code, out, errs = runStat(t, parity+"native.jsonl", "--assert", "p99(ttfb)<500ms")
	if code != 2 || out != "" || !strings.Contains(errs, `assertion "p99(ttfb)<500ms": unknown metric "ttfb"`) {
		t.Errorf("unknown metric: exit %d, stdout %q, stderr %s", code, out, errs)
	}
	if code, _, errs := runStat(t, parity+"native.jsonl", "--assert", "p99(ttft)<500"); code != 2 || !strings.Contains(errs, "time unit") {
		t.Errorf("missing unit: exit %d %s", code, errs)
	}
	if code, _, _ := runStat(t, parity+"native.jsonl", "--window", "5s"); code != 2 {
		t.Errorf("bad --window: exit %d", code)
	}
	if code, _, _ := runStat(t, parity+"native.jsonl", "--slo", "ttfb=1s"); code != 2 {
		t.Errorf("bad --slo: exit %d", code)
	}
	if code, _, _ := runStat(t, parity+"native.jsonl", "--group-by", "colour"); code != 2 {
		t.Errorf("bad --group-by: exit %d", code)
	}
}

func TestMalformedInput(t *testing.T) {
	src, err := os.ReadFile(parity + "chat.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(src), "\n")
	lines[3] = strings.Replace(lines[3], `"sent_ns": `, `"sent_ns": "x", "was": `, 1)
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(bad, []byte(strings.Join(lines, "")), 0o644)
	code, out, errs := runStat(t, parity+"native.jsonl", bad)
	if code != 1 || out != "" || !strings.Contains(errs, bad+`:4: field "sent_ns"`) {
		t.Errorf("exit %d, stdout %q, stderr %s", code, out, errs)
	}
	if code, _, errs := runStat(t, filepath.Join(t.TempDir(), "missing.jsonl")); code != 1 || !strings.Contains(errs, "missing.jsonl") {
		t.Errorf("missing file: exit %d %s", code, errs)
	}
	// A summary stream is not an event stream.
	_, sumOut, _ := runStat(t, parity+"native.jsonl")
	sf := filepath.Join(t.TempDir(), "sum.jsonl")
	os.WriteFile(sf, []byte(sumOut), 0o644)
	if code, _, errs := runStat(t, sf); code != 1 || !strings.Contains(errs, `field "stream"`) {
		t.Errorf("summary as input: exit %d %s", code, errs)
	}
}

func TestZeroSuccessCLI(t *testing.T) {
	src, _ := os.ReadFile(parity + "completions.jsonl")
	s := string(src)
	s = strings.ReplaceAll(s, `"ok": true`, `"ok": false, "error_kind": "connect"`)
	f := filepath.Join(t.TempDir(), "fail.jsonl.gz")
	w, err := records.Create(f)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, s)
	w.Close()
	code, out, errs := runStat(t, f, "--slo", "ttft=1s", "--details")
	if code != 0 || !strings.Contains(errs, "no request succeeded (5 failed)") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	_, sums := readSummaries(t, out)
	b, err := json.Marshal(sums[0])
	if err != nil || strings.Contains(string(b), "NaN") || sums[0].Completed != 0 || sums[0].Errors["connect"] != 4 {
		t.Errorf("summary %s (%v)", b, err)
	}
	// An assertion on a distribution with no values fails (it does not pass vacuously).
	if code, _, errs := runStat(t, f, "--assert", "p99(ttft)<1s"); code != 1 || !strings.Contains(errs, "ttft has no values") {
		t.Errorf("exit %d: %s", code, errs)
	}
}

// Shards from two files (zstd and gzip) merge into one summary; -o writes a compressed summary.
func TestShardsAndOutputFile(t *testing.T) {
	dir := t.TempDir()
	src, _ := os.ReadFile(parity + "many.jsonl")
	lines := strings.SplitAfter(strings.TrimSuffix(string(src), "\n"), "\n")
	header := lines[0]
	write := func(name string, body []string) string {
		p := filepath.Join(dir, name)
		w, err := records.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, header+strings.Join(body, ""))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.jsonl.zst", lines[1:31])
	b := write("b.jsonl.gz", lines[31:])
	outFile := filepath.Join(dir, "sum.jsonl.zst")
	if code, _, errs := runStat(t, a, b, "-o", outFile, "-q"); code != 0 {
		t.Fatalf("exit %d %s", code, errs)
	}
	r, err := records.Open(outFile)
	if err != nil {
		t.Fatal(err)
	}
	merged, _ := io.ReadAll(r)
	r.Close()
	_, got := readSummaries(t, string(merged))
	_, wholeOut, _ := runStat(t, parity+"many.jsonl", "-q")
	_, want := readSummaries(t, wholeOut)
	if got[0].Requests != 60 || got[0].Completed != want[0].Completed || got[0].Duration != want[0].Duration ||
		got[0].MaxOutputTokensPerS != want[0].MaxOutputTokensPerS || got[0].TTFT.P99 != want[0].TTFT.P99 || len(got[0].Run.Inputs) != 2 {
		t.Errorf("merged %+v\nwhole %+v", got[0], want[0])
	}
	// --group-by file gives one summary per shard.
	_, byFile, _ := runStat(t, a, b, "--group-by", "file", "-q")
	if _, g := readSummaries(t, byFile); len(g) != 2 || g[0].Requests+g[1].Requests != 60 {
		t.Errorf("group-by file: %+v", g)
	}
}

// A tokenizer that cannot be loaded (or a build without the library) is an error naming the flag.
func TestTokenizerLoadError(t *testing.T) {
	code, _, errs := runStat(t, parity+"native.jsonl", "--tokenizer", "/nonexistent/tokenizer.json")
	if code != 1 || !strings.Contains(errs, "--tokenizer /nonexistent/tokenizer.json") {
		t.Errorf("exit %d: %s", code, errs)
	}
}
