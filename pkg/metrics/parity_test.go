package metrics

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bsbench/bs/pkg/records"
)

// wordTokenizer is the parity tests' tokenizer: one token per whitespace-separated word (the
// generator script counts the same way).
type wordTokenizer struct{}

func (wordTokenizer) Encode(s string, _ bool) []int { return make([]int, len(strings.Fields(s))) }

type refDist struct{ Mean, Median, Std, P90, P95, P99, Max float64 }

type refMetrics struct {
	Completed              int
	Duration               float64
	TotalInput             int     `json:"total_input"`
	TotalInputText         int     `json:"total_input_text"`
	TotalInputVision       int     `json:"total_input_vision"`
	TotalOutput            int     `json:"total_output"`
	TotalOutputRetokenized *int    `json:"total_output_retokenized"`
	RequestThroughput      float64 `json:"request_throughput"`
	InputThroughput        float64 `json:"input_throughput"`
	OutputThroughput       float64 `json:"output_throughput"`
	TotalThroughput        float64 `json:"total_throughput"`
	Concurrency            float64
	MaxOutputTokensPerS    float64 `json:"max_output_tokens_per_s"`
	MaxConcurrentRequests  int     `json:"max_concurrent_requests"`
	TTFT, TPOT, ITL, E2E   refDist
	OutputLens             []int `json:"output_lens"`
}

func loadSummary(t *testing.T, opts Options, files ...string) records.Summary {
	t.Helper()
	acc, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := acc.ReadAll(records.NewReader[records.Event](records.StreamEvents, files...)); err != nil {
		t.Fatal(err)
	}
	sums := acc.Summaries()
	if len(sums) != 1 {
		t.Fatalf("%d summaries", len(sums))
	}
	return sums[0]
}

func bitsEq(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

// TestReferenceParity checks calculate_metrics numbers computed independently with NumPy by
// scripts/gen-stats-vectors.py, bit for bit.
func TestReferenceParity(t *testing.T) {
	files, _ := filepath.Glob("testdata/parity/*.jsonl")
	if len(files) < 4 {
		t.Fatalf("parity files missing: %v", files)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".jsonl")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(strings.TrimSuffix(f, ".jsonl") + ".expected.json")
			if err != nil {
				t.Fatal(err)
			}
			var exp struct{ Metrics refMetrics }
			if err := json.Unmarshal(raw, &exp); err != nil {
				t.Fatal(err)
			}
			m := exp.Metrics
			s := loadSummary(t, Options{Compat: CompatSGLang, Tokenizer: wordTokenizer{}, Details: true}, f)
			ints := []struct {
				name      string
				got, want int
			}{
				{"completed", s.Completed, m.Completed}, {"total_input", s.TotalInput, m.TotalInput},
				{"total_input_text", s.TotalInputText, m.TotalInputText}, {"total_input_vision", s.TotalInputVision, m.TotalInputVision},
				{"total_output", s.TotalOutput, m.TotalOutput}, {"total_output_retokenized", *s.TotalOutputRetokenized, *m.TotalOutputRetokenized},
				{"max_concurrent_requests", s.MaxConcurrentRequests, m.MaxConcurrentRequests},
			}
			for _, c := range ints {
				if c.got != c.want {
					t.Errorf("%s = %d, reference %d", c.name, c.got, c.want)
				}
			}
			floats := []struct {
				name      string
				got, want float64
			}{
				{"duration", s.Duration, m.Duration}, {"request_throughput", s.RequestThroughput, m.RequestThroughput},
				{"input_throughput", s.InputThroughput, m.InputThroughput}, {"output_throughput", s.OutputThroughput, m.OutputThroughput},
				{"total_throughput", s.TotalThroughput, m.TotalThroughput}, {"concurrency", s.Concurrency, m.Concurrency},
				{"max_output_tokens_per_s", s.MaxOutputTokensPerS, m.MaxOutputTokensPerS},
			}
			for _, d := range []struct {
				name string
				got  records.Dist
				want refDist
			}{{"ttft", s.TTFT, m.TTFT}, {"tpot", s.TPOT, m.TPOT}, {"itl", s.ITL, m.ITL}, {"e2e", s.E2E, m.E2E}} {
				floats = append(floats, []struct {
					name      string
					got, want float64
				}{
					{d.name + ".mean", d.got.Mean, d.want.Mean}, {d.name + ".median", d.got.Median, d.want.Median},
					{d.name + ".std", d.got.Std, d.want.Std}, {d.name + ".p90", d.got.P90, d.want.P90},
					{d.name + ".p95", d.got.P95, d.want.P95}, {d.name + ".p99", d.got.P99, d.want.P99},
					{d.name + ".max", d.got.Max, d.want.Max},
				}...)
			}
			for _, c := range floats {
				if !bitsEq(c.got, c.want) {
					t.Errorf("%s = %.17g, reference %.17g", c.name, c.got, c.want)
				}
			}
			if got := s.Details.OutputLens; !slicesEqual(got, m.OutputLens) {
				t.Errorf("output_lens = %v, reference %v", got, m.OutputLens)
			}
		})
	}
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
