package report

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/bsbench/bs/pkg/metrics"
	"github.com/bsbench/bs/pkg/records"
)

var update = flag.Bool("update", false, "rewrite the bs-extras golden file")

// The bs console (reference block + extras block) is pinned by a golden file; the reference block
// part is checked against Python's own format strings in TestReferenceOutputs.
func TestConsoleExtrasGolden(t *testing.T) {
	s := summarize(t, metrics.Options{SLO: map[string]float64{"ttft": 0.2, "tpot": 0.02}, Percentiles: []float64{50, 99.9},
		GroupBy: "session"}, "../metrics/testdata/parity/many.jsonl")
	var buf bytes.Buffer
	for i := range s {
		if err := Console(&buf, &s[i]); err != nil {
			t.Fatal(err)
		}
	}
	const golden = "testdata/console_extras.golden"
	if *update {
		os.WriteFile(golden, buf.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if buf.String() != string(want) {
		t.Errorf("console differs from %s (go test -update to rewrite after checking):\n%s", golden, buf.String())
	}
}

func TestConsoleConditionalLines(t *testing.T) {
	acc := 3.25
	s := records.Summary{Compat: metrics.CompatSGLang, AcceptLength: &acc,
		Run: records.SummaryRun{Backend: "sglang-embedding", DatasetName: "mmmu", RequestRate: 16, UseTraceTimestamps: false}}
	var buf bytes.Buffer
	if err := Console(&buf, &s); err != nil {
		t.Fatal(err)
	}
	want := `
============ Serving Benchmark Result ============
Backend:                                 sglang-embedding
Traffic request rate:                    16.0      
Max request concurrency:                 not set   
Successful requests:                     0         
Benchmark duration (s):                  0.00      
Total input tokens:                      0         
Total input text tokens:                 0         
Total input vision tokens:               0         
Request throughput (req/s):              0.00      
Input token throughput (tok/s):          0.00      
Peak concurrent requests:                0         
Concurrency:                             0.00      
Accept length:                           3.25      
----------------End-to-End Latency----------------
Mean E2E Latency (ms):                   0.00      
Median E2E Latency (ms):                 0.00      
P90 E2E Latency (ms):                    0.00      
P95 E2E Latency (ms):                    0.00      
P99 E2E Latency (ms):                    0.00      
==================================================
`
	if buf.String() != want {
		t.Errorf("got:\n%q\nwant:\n%q", buf.String(), want)
	}
	s.Run.UseTraceTimestamps = true
	if got := RequestRateString(s.Run); got != "trace" {
		t.Errorf("rate %q", got)
	}
}

// With --cache-report the reference block ends with its "Cache Hit Details" section (counts padded
// to 10, percentages with one decimal and no padding); the JSONL result gets its cache_report.
func TestCacheReportSection(t *testing.T) {
	c := &records.CacheReport{PromptTokens: 340, CachedTokens: 77, HitRate: 77.0 / 340, Reporting: 4,
		Tiers: &records.CacheTiers{Device: 62, Host: 4, Storage: 11, StorageBackend: "mooncake"}}
	s := records.Summary{Compat: metrics.CompatSGLang, Cache: c,
		Run: records.SummaryRun{Backend: "sglang-oai", RequestRate: 16, CacheReport: true}}
	var buf bytes.Buffer
	if err := Console(&buf, &s); err != nil {
		t.Fatal(err)
	}
	want := "Max ITL (ms):                            0.00      \n" +
		"----------------Cache Hit Details-----------------\n" +
		"Total prompt tokens:                     340       \n" +
		"Total cached tokens:                     77        \n" +
		"  Device:                                62        \n" +
		"  Host:                                  4         \n" +
		"  Storage (mooncake):                    11        \n" +
		"Cache hit rate:                          22.6%\n" +
		"  Device:                                80.5%\n" +
		"  Host:                                  5.2%\n" +
		"  Storage (mooncake):                    14.3%\n" +
		"==================================================\n"
	if got := buf.String(); !strings.HasSuffix(got, want) {
		t.Errorf("console ends:\n%s\nwant:\n%s", got[max(0, len(got)-len(want)-200):], want)
	}
	line, err := ResultLine(&s, false)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON := `"max_concurrent_requests": 0, "cache_report": {"total_prompt_tokens": 340, "total_cached_tokens": 77, ` +
		`"cache_hit_rate_pct": 22.65, "device_cached_tokens": 62, "host_cached_tokens": 4, "storage_cached_tokens": 11, ` +
		`"storage_backend": "mooncake"}}` + "\n"
	if !strings.HasSuffix(line, wantJSON) {
		t.Errorf("JSONL line ends %q\nwant %q", line[max(0, len(line)-len(wantJSON)):], wantJSON)
	}

	// No tier split: no tier lines, null tiers; without --cache-report the section is not in the
	// reference block but in the bs extras.
	c.Tiers = nil
	buf.Reset()
	if err := Console(&buf, &s); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); strings.Contains(got, "Device") || !strings.Contains(got, "Cache hit rate:                          22.6%\n") {
		t.Errorf("console without tiers:\n%s", got)
	}
	if line, _ = ResultLine(&s, false); !strings.Contains(line, `"device_cached_tokens": null, "host_cached_tokens": null, "storage_cached_tokens": null, "storage_backend": null}`) {
		t.Errorf("JSONL without tiers: %s", line)
	}
	s.Run.CacheReport, s.Compat, s.Completed = false, "", 5
	buf.Reset()
	if err := Console(&buf, &s); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); strings.Contains(got, "Cache Hit Details") || !strings.Contains(got, "Cache hit rate:                          22.65%    \n") ||
		!strings.Contains(got, "Responses reporting a hit:               4 of 5    \n") {
		t.Errorf("console without --cache-report:\n%s", got)
	}
	if line, _ = ResultLine(&s, false); strings.Contains(line, "cache_report") {
		t.Errorf("JSONL has a cache_report without --cache-report: %s", line)
	}
}
