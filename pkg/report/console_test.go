package report

import (
	"bytes"
	"flag"
	"os"
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
