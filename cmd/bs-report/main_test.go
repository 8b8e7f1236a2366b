package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const parity = "../../pkg/metrics/testdata/parity/"

// bsStat builds the summary stream of an event file with the bs-stat command in this module.
func bsStat(t *testing.T, args ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "summary.jsonl")
	cmd := exec.Command("go", append([]string{"run", "../bs-stat", "-q", "-o", out}, args...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bs-stat %v: %v\n%s", args, err, b)
	}
	return out
}

func runReport(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestPipeline(t *testing.T) {
	native := bsStat(t, parity+"native.jsonl", "--compat", "sglang")
	many := bsStat(t, parity+"many.jsonl", "--slo", "ttft=200ms")

	// Console: the reference's block byte for byte (the golden is written by Python's format strings;
	// without --tokenizer the retokenized line reads n/a).
	code, out, errs := runReport(t, native)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	golden, err := os.ReadFile("../../pkg/report/testdata/console_native.golden")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(string(golden), "Total generated tokens (retokenized):    36        ", "Total generated tokens (retokenized):    n/a       ", 1)
	if out != want {
		t.Errorf("console:\n%s\nwant:\n%s", out, want)
	}

	// --output-file appends one reference JSONL line per run.
	dir := t.TempDir()
	res := filepath.Join(dir, "res.jsonl")
	for range 2 {
		if code, _, errs := runReport(t, native, "--output-file", res); code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
	}
	lines, _ := os.ReadFile(res)
	ls := strings.Split(strings.TrimSuffix(string(lines), "\n"), "\n")
	if len(ls) != 2 || ls[0] != ls[1] || !strings.HasPrefix(ls[0], `{"tag": "parity", "backend": "sglang", "dataset_name": "random", "request_rate": Infinity, "max_concurrency": 4,`) {
		t.Errorf("appended lines: %q", ls)
	}
	// --output-details needs a summary made with --details.
	if code, _, errs := runReport(t, native, "--output-file", res, "--output-details"); code != 1 || !strings.Contains(errs, "--details") {
		t.Errorf("details without --details: exit %d %s", code, errs)
	}
	withDetails := bsStat(t, parity+"native.jsonl", "--compat", "sglang", "--details")
	if code, _, errs := runReport(t, withDetails, "--output-file", res, "--output-details"); code != 0 {
		t.Fatalf("exit %d %s", code, errs)
	}
	lines, _ = os.ReadFile(res)
	last := strings.Split(strings.TrimSuffix(string(lines), "\n"), "\n")[2]
	if !strings.Contains(last, `"output_lens": [7, 7, 1, 0, 16, 2, 0, 5], "ttfts": [0.115, 0.203, 0.086, 0.0,`) ||
		!strings.Contains(last, `"errors": ["", "", "", "boom 3", "", "", "boom 6", ""]`) {
		t.Errorf("details line: %s", last)
	}

	// --output-file auto: the reference's file name, in the current directory.
	wd, _ := os.Getwd()
	t.Cleanup(func() { os.Chdir(wd) })
	abs, _ := filepath.Abs(native)
	os.Chdir(dir)
	if code, _, errs := runReport(t, abs, "--output-file", "auto"); code != 0 {
		t.Fatalf("exit %d %s", code, errs)
	}
	os.Chdir(wd)
	name := "sglang_" + time.Now().Format("0102") + "_8_256_32.jsonl"
	if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
		entries, _ := os.ReadDir(dir)
		t.Errorf("auto file %s not written (%v)", name, entries)
	}

	// Other formats.
	code, out, _ = runReport(t, many, "--format", "csv")
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || len(recs) != 2 || recs[0][7] != "requests" || recs[1][7] != "60" {
		t.Errorf("csv: %v %v", err, recs)
	}
	code, out, _ = runReport(t, many, "--format", "json")
	var js map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &js) != nil || js["completed"] != float64(50) {
		t.Errorf("json: %s", out)
	}
	code, out, _ = runReport(t, many, "--format", "markdown")
	if code != 0 || !strings.Contains(out, "| Successful requests | 50 |") || !strings.Contains(out, "| Goodput (req/s) |") {
		t.Errorf("markdown:\n%s", out)
	}
	code, out, _ = runReport(t, many, "--format", "html")
	if code != 0 || strings.Count(out, `<svg class="chart"`) != 6 {
		t.Errorf("html: %d charts", strings.Count(out, `<svg class="chart"`))
	}

	// Comparison: baseline first, absolute and relative differences.
	code, out, errs = runReport(t, "--compare", many, native)
	if code != 0 {
		t.Fatalf("compare exit %d %s", code, errs)
	}
	if !regexp.MustCompile(`Successful requests\s+50\s+6\s+-44\s+-88\.0% worse`).MatchString(out) ||
		!regexp.MustCompile(`Mean TTFT \(ms\)\s+161\.28\s+129\.67\s+-31\.62\s+-19\.6% better`).MatchString(out) {
		t.Errorf("compare:\n%s", out)
	}
	if code, out, _ := runReport(t, "--compare", many, native, "--format", "markdown"); code != 0 || !strings.Contains(out, "| Successful requests | 50 | 6 | -44 | -88.0% worse |") {
		t.Errorf("compare markdown:\n%s", out)
	}
	if code, _, errs := runReport(t, "--compare", many); code != 1 || !strings.Contains(errs, "at least two") {
		t.Errorf("compare one: exit %d %s", code, errs)
	}
}

func TestBadInput(t *testing.T) {
	// An event stream is not a summary stream.
	if code, _, errs := runReport(t, parity+"native.jsonl"); code != 1 || !strings.Contains(errs, `field "stream"`) {
		t.Errorf("exit %d: %s", code, errs)
	}
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(bad, []byte(`{"kind":"header","format":1,"stream":"summary","tool":"bs-stat","version":"x"}`+"\n"+`{"completed":"many"}`+"\n"), 0o644)
	if code, _, errs := runReport(t, bad); code != 1 || !strings.Contains(errs, bad+`:2: field "completed"`) {
		t.Errorf("exit %d: %s", code, errs)
	}
	if code, _, _ := runReport(t, "--format", "pdf", bad); code != 2 {
		t.Errorf("bad format: exit %d", code)
	}
}
