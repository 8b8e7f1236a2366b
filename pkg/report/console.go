// Package report formats bs-stat summaries: the reference benchmark's console block and JSONL result
// (byte-compatible with SGLang bench_serving, fact sheet §6–§7), and JSON, CSV, Markdown, HTML and
// side-by-side comparisons.
package report

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/bsbench/bs/pkg/metrics"
	"github.com/bsbench/bs/pkg/records"
)

// center centres s in a field of width n filled with c; the extra fill goes right, as Python's
// '{:c^n}' does.
func center(s string, n int, c byte) string {
	pad := n - len(s)
	if pad <= 0 {
		return s
	}
	l := pad / 2
	return strings.Repeat(string(c), l) + s + strings.Repeat(string(c), pad-l)
}

// pyLeft is Python's '{:<n}' for a string: left-justified, padded with spaces to n (never cut).
func pyLeft(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return s + strings.Repeat(" ", n-len(s))
}

// f2 is Python's '{:.2f}' (correctly rounded, like strconv).
func f2(x float64) string {
	if math.IsInf(x, 1) {
		return "inf"
	}
	if math.IsInf(x, -1) {
		return "-inf"
	}
	if math.IsNaN(x) {
		return "nan"
	}
	return strconv.FormatFloat(x, 'f', 2, 64)
}

type lineWriter struct {
	w   io.Writer
	err error
}

func (l *lineWriter) line(s string) {
	if l.err == nil {
		_, l.err = io.WriteString(l.w, s+"\n")
	}
}

// row writes '{:<40} {:<10}'.
func (l *lineWriter) row(label, value string) { l.line(pyLeft(label, 40) + " " + pyLeft(value, 10)) }

// RequestRateString is how the reference prints the request rate: "trace" with trace timestamps,
// else Python's str() of the float ("inf", "16.0").
func RequestRateString(r records.SummaryRun) string {
	if r.UseTraceTimestamps {
		return "trace"
	}
	return PyRepr(float64(r.RequestRate))
}

// ms converts a statistic in seconds to milliseconds the way the reference does (value * 1000).
func ms(x float64) float64 { return x * 1000 }

// Console writes the reference's "Serving Benchmark Result" block for s, byte for byte (labels, order,
// '{:<40} {:<10}' padding with its trailing spaces, .2f values, centred section headers, conditional
// lines), followed, unless s was computed with --compat sglang, by a block of bs extras.
func Console(w io.Writer, s *records.Summary) error {
	l := &lineWriter{w: w}
	if s.Group != nil {
		l.line(fmt.Sprintf("\n[group %s=%s]", s.Group.By, s.Group.Value))
	}
	run := s.Run
	emb := metrics.IsEmbedding(run.Backend)
	l.line("\n" + center(" Serving Benchmark Result ", 50, '='))
	l.row("Backend:", run.Backend)
	l.row("Traffic request rate:", RequestRateString(run))
	mc := "not set"
	if run.MaxConcurrency > 0 {
		mc = strconv.Itoa(run.MaxConcurrency)
	}
	l.row("Max request concurrency:", mc)
	l.row("Successful requests:", strconv.Itoa(s.Completed))
	l.row("Benchmark duration (s):", f2(s.Duration))
	l.row("Total input tokens:", strconv.Itoa(s.TotalInput))
	l.row("Total input text tokens:", strconv.Itoa(s.TotalInputText))
	if run.DatasetName == "image" || run.DatasetName == "mmmu" {
		l.row("Total input vision tokens:", strconv.Itoa(s.TotalInputVision))
	}
	if !emb {
		l.row("Total generated tokens:", strconv.Itoa(s.TotalOutput))
		retok := "n/a"
		if s.TotalOutputRetokenized != nil {
			retok = strconv.Itoa(*s.TotalOutputRetokenized)
		}
		l.row("Total generated tokens (retokenized):", retok)
	}
	l.row("Request throughput (req/s):", f2(s.RequestThroughput))
	l.row("Input token throughput (tok/s):", f2(s.InputThroughput))
	if !emb {
		l.row("Output token throughput (tok/s):", f2(s.OutputThroughput))
		l.row("Peak output token throughput (tok/s):", f2(s.MaxOutputTokensPerS))
	}
	l.row("Peak concurrent requests:", strconv.Itoa(s.MaxConcurrentRequests))
	if !emb {
		l.row("Total token throughput (tok/s):", f2(s.TotalThroughput))
	}
	l.row("Concurrency:", f2(s.Concurrency))
	if s.AcceptLength != nil && *s.AcceptLength != 0 {
		l.row("Accept length:", f2(*s.AcceptLength))
	}
	l.line(center("End-to-End Latency", 50, '-'))
	l.row("Mean E2E Latency (ms):", f2(ms(s.E2E.Mean)))
	l.row("Median E2E Latency (ms):", f2(ms(s.E2E.Median)))
	l.row("P90 E2E Latency (ms):", f2(ms(s.E2E.P90)))
	l.row("P95 E2E Latency (ms):", f2(ms(s.E2E.P95)))
	l.row("P99 E2E Latency (ms):", f2(ms(s.E2E.P99)))
	if !emb {
		for _, sec := range []struct {
			title, name string
			d           *records.Dist
		}{
			{"Time to First Token", "TTFT", &s.TTFT},
			{"Time per Output Token (excl. 1st token)", "TPOT", &s.TPOT},
			{"Inter-Token Latency", "ITL", &s.ITL},
		} {
			l.line(center(sec.title, 50, '-'))
			l.row("Mean "+sec.name+" (ms):", f2(ms(sec.d.Mean)))
			l.row("Median "+sec.name+" (ms):", f2(ms(sec.d.Median)))
			l.row("P90 "+sec.name+" (ms):", f2(ms(sec.d.P90)))
			l.row("P95 "+sec.name+" (ms):", f2(ms(sec.d.P95)))
			l.row("P99 "+sec.name+" (ms):", f2(ms(sec.d.P99)))
			if sec.name == "ITL" {
				l.row("Max ITL (ms):", f2(ms(sec.d.Max)))
			}
		}
	}
	if run.CacheReport && s.Cache != nil {
		cacheSection(l, s.Cache)
	}
	l.line(strings.Repeat("=", 50))
	if s.Compat != metrics.CompatSGLang {
		extras(l, s)
	}
	return l.err
}

// cacheSection writes the reference's "Cache Hit Details" section (bs-fire --cache-report): counts as
// '{:<40} {:<10}', percentages as '{:<40} {:.1f}%'; the tiers only when some response split its hit
// and something was cached, storage only when positive.
func cacheSection(l *lineWriter, c *records.CacheReport) {
	pct := func(label string, v float64) {
		l.line(pyLeft(label, 40) + " " + strconv.FormatFloat(v, 'f', 1, 64) + "%")
	}
	t := c.Tiers
	tiers := t != nil && c.CachedTokens > 0
	storage := "  Storage:"
	if tiers && t.StorageBackend != "" {
		storage = "  Storage (" + t.StorageBackend + "):"
	}
	l.line(center("Cache Hit Details", 50, '-'))
	l.row("Total prompt tokens:", strconv.Itoa(c.PromptTokens))
	l.row("Total cached tokens:", strconv.Itoa(c.CachedTokens))
	if tiers {
		l.row("  Device:", strconv.Itoa(t.Device))
		l.row("  Host:", strconv.Itoa(t.Host))
		if t.Storage > 0 {
			l.row(storage, strconv.Itoa(t.Storage))
		}
	}
	pct("Cache hit rate:", c.HitRate*100)
	if tiers {
		total := float64(c.CachedTokens)
		pct("  Device:", float64(t.Device)/total*100)
		pct("  Host:", float64(t.Host)/total*100)
		if t.Storage > 0 {
			pct(storage, float64(t.Storage)/total*100)
		}
	}
}

// extras writes the bs metrics the reference does not have, in the same line format.
func extras(l *lineWriter, s *records.Summary) {
	l.line(center(" bs extras ", 50, '='))
	l.row("Requests sent:", strconv.Itoa(s.Requests))
	l.row("Failed requests:", strconv.Itoa(s.Failed))
	l.row("Error rate:", f2(s.ErrorRate*100)+"%")
	kinds := make([]string, 0, len(s.Errors))
	for k := range s.Errors {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		l.row("  "+k+":", strconv.Itoa(s.Errors[k]))
	}
	l.row("Peak requests in flight:", strconv.Itoa(s.PeakInFlight))
	if s.Window != nil {
		l.row("Window (s after first send):", f2(s.Window.Start)+" - "+f2(s.Window.End))
	}
	l.line(center("Latency variants", 50, '-'))
	for _, v := range []struct {
		label string
		d     *records.Dist
	}{
		{"ITL per chunk", &s.ITLChunk}, {"ITL per token", &s.ITLToken},
		{"TTFT from schedule", &s.TTFTSched}, {"E2E from schedule", &s.E2ESched}, {"Client queue time", &s.Queue},
	} {
		l.row("Mean "+v.label+" (ms):", f2(ms(v.d.Mean)))
		l.row("P99 "+v.label+" (ms):", f2(ms(v.d.P99)))
	}
	if len(s.TTFT.Percentiles) > 0 {
		l.line(center("Percentiles", 50, '-'))
		for _, v := range []struct {
			name string
			d    *records.Dist
		}{{"E2E", &s.E2E}, {"TTFT", &s.TTFT}, {"TPOT", &s.TPOT}, {"ITL", &s.ITL}} {
			for _, q := range v.d.Percentiles {
				l.row("P"+PyPercent(q.P)+" "+v.name+" (ms):", f2(ms(q.V)))
			}
		}
	}
	if lag := s.ScheduleLag; lag != nil {
		l.line(center("Client", 50, '-'))
		l.row("Schedule lag P50 (ms):", f2(ms(lag.P50)))
		l.row("Schedule lag P99 (ms):", f2(ms(lag.P99)))
		l.row("Schedule lag max (ms):", f2(ms(lag.Max)))
		l.row("Achieved send rate (req/s):", f2(lag.AchievedRate))
		verdict := "no"
		if lag.ClientBound {
			verdict = "YES (p99 lag > " + f2(ms(lag.Threshold)) + " ms)"
		}
		l.row("Client was the bottleneck:", verdict)
	}
	if slo := s.SLO; slo != nil {
		l.line(center("SLO", 50, '-'))
		keys := make([]string, 0, len(slo.Bounds))
		for k := range slo.Bounds {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			l.row("  "+k+" <= "+f2(ms(slo.Bounds[k]))+" ms:", strconv.Itoa(slo.MetBy[k])+" met")
		}
		l.row("Requests meeting every SLO:", strconv.Itoa(slo.Met))
		l.row("Goodput (req/s):", f2(slo.Goodput))
		l.row("SLO attainment:", f2(slo.Attainment*100)+"%")
	}
	if c := s.Cache; c != nil && !s.Run.CacheReport {
		l.line(center("Prefix cache", 50, '-'))
		l.row("Total prompt tokens:", strconv.Itoa(c.PromptTokens))
		l.row("Total cached tokens:", strconv.Itoa(c.CachedTokens))
		l.row("Cache hit rate:", f2(c.HitRate*100)+"%")
		l.row("Responses reporting a hit:", fmt.Sprintf("%d of %d", c.Reporting, s.Completed))
	}
	if d := s.Drift; d != nil {
		l.line(center("Token counts", 50, '-'))
		l.row("Server prompt tokens:", strconv.Itoa(d.ServerInput))
		l.row("Prompt length drifted:", fmt.Sprintf("%d of %d", d.PromptDrifted, d.PromptChecked))
		l.row("Server output tokens:", strconv.Itoa(d.ServerOutput))
		l.row("Output length drifted:", fmt.Sprintf("%d of %d", d.OutputDrifted, d.OutputChecked))
	}
	for _, n := range s.Notes {
		l.line("note: " + n)
	}
	l.line(strings.Repeat("=", 50))
}

// PyPercent formats a percentile number for labels: 99 → "99", 99.9 → "99.9".
func PyPercent(p float64) string { return strconv.FormatFloat(p, 'f', -1, 64) }
