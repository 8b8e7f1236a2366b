package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/bsbench/bs/pkg/records"
)

// Metric is one row of the tabular formats (Markdown, CSV, comparisons): a key (CSV column, the
// --assert vocabulary name where there is one), a label, a unit and how to read it from a summary.
type Metric struct {
	Key   string
	Label string
	// Unit is "ms" for latencies (reported ×1000), "" otherwise.
	Unit string
	// Int marks integer counts.
	Int bool
	// Dir says which way is better: -1 lower (latencies, errors), +1 higher (throughputs), 0 neither
	// (counts, duration).
	Dir int
	Get func(s *records.Summary) (float64, bool)
}

func always(f func(s *records.Summary) float64) func(*records.Summary) (float64, bool) {
	return func(s *records.Summary) (float64, bool) { return f(s), true }
}

func distRows(key, name string, d func(s *records.Summary) *records.Dist, withMax bool) []Metric {
	stat := func(label, k string, f func(d *records.Dist) float64) Metric {
		return Metric{Key: k + "_" + key + "_ms", Label: label + " " + name + " (ms)", Unit: "ms", Dir: -1,
			Get: func(s *records.Summary) (float64, bool) { return ms(f(d(s))), true }}
	}
	rows := []Metric{
		stat("Mean", "mean", func(d *records.Dist) float64 { return d.Mean }),
		stat("Median", "median", func(d *records.Dist) float64 { return d.Median }),
		stat("Std", "std", func(d *records.Dist) float64 { return d.Std }),
		stat("P90", "p90", func(d *records.Dist) float64 { return d.P90 }),
		stat("P95", "p95", func(d *records.Dist) float64 { return d.P95 }),
		stat("P99", "p99", func(d *records.Dist) float64 { return d.P99 }),
	}
	if withMax {
		rows = append(rows, stat("Max", "max", func(d *records.Dist) float64 { return d.Max }))
	}
	return rows
}

// Metrics returns the rows shown by the tabular formats, for summaries like s (extra percentiles
// asked for with --percentiles are added after each distribution's fixed ones).
func Metrics(s *records.Summary) []Metric {
	rows := []Metric{
		{Key: "requests", Label: "Requests sent", Int: true, Get: always(func(s *records.Summary) float64 { return float64(s.Requests) })},
		{Key: "completed", Label: "Successful requests", Int: true, Dir: 1, Get: always(func(s *records.Summary) float64 { return float64(s.Completed) })},
		{Key: "failed", Label: "Failed requests", Int: true, Dir: -1, Get: always(func(s *records.Summary) float64 { return float64(s.Failed) })},
		{Key: "error_rate", Label: "Error rate", Dir: -1, Get: always(func(s *records.Summary) float64 { return s.ErrorRate })},
		{Key: "duration", Label: "Benchmark duration (s)", Get: always(func(s *records.Summary) float64 { return s.Duration })},
		{Key: "total_input_tokens", Label: "Total input tokens", Int: true, Get: always(func(s *records.Summary) float64 { return float64(s.TotalInput) })},
		{Key: "total_output_tokens", Label: "Total generated tokens", Int: true, Get: always(func(s *records.Summary) float64 { return float64(s.TotalOutput) })},
		{Key: "total_output_tokens_retokenized", Label: "Total generated tokens (retokenized)", Int: true, Get: func(s *records.Summary) (float64, bool) {
			if s.TotalOutputRetokenized == nil {
				return 0, false
			}
			return float64(*s.TotalOutputRetokenized), true
		}},
		{Key: "request_throughput", Label: "Request throughput (req/s)", Dir: 1, Get: always(func(s *records.Summary) float64 { return s.RequestThroughput })},
		{Key: "input_throughput", Label: "Input token throughput (tok/s)", Dir: 1, Get: always(func(s *records.Summary) float64 { return s.InputThroughput })},
		{Key: "output_throughput", Label: "Output token throughput (tok/s)", Dir: 1, Get: always(func(s *records.Summary) float64 { return s.OutputThroughput })},
		{Key: "max_output_tokens_per_s", Label: "Peak output token throughput (tok/s)", Dir: 1, Get: always(func(s *records.Summary) float64 { return s.MaxOutputTokensPerS })},
		{Key: "max_concurrent_requests", Label: "Peak concurrent requests", Int: true, Get: always(func(s *records.Summary) float64 { return float64(s.MaxConcurrentRequests) })},
		{Key: "peak_in_flight", Label: "Peak requests in flight (instant)", Int: true, Get: always(func(s *records.Summary) float64 { return float64(s.PeakInFlight) })},
		{Key: "total_throughput", Label: "Total token throughput (tok/s)", Dir: 1, Get: always(func(s *records.Summary) float64 { return s.TotalThroughput })},
		{Key: "concurrency", Label: "Concurrency", Get: always(func(s *records.Summary) float64 { return s.Concurrency })},
		{Key: "accept_length", Label: "Accept length", Dir: 1, Get: func(s *records.Summary) (float64, bool) {
			if s.AcceptLength == nil {
				return 0, false
			}
			return *s.AcceptLength, true
		}},
	}
	type dd struct {
		key, name string
		max       bool
		d         func(s *records.Summary) *records.Dist
	}
	dists := []dd{
		{"e2e_latency", "E2E Latency", false, func(s *records.Summary) *records.Dist { return &s.E2E }},
		{"ttft", "TTFT", false, func(s *records.Summary) *records.Dist { return &s.TTFT }},
		{"tpot", "TPOT", false, func(s *records.Summary) *records.Dist { return &s.TPOT }},
		{"itl", "ITL", true, func(s *records.Summary) *records.Dist { return &s.ITL }},
		{"itl_chunk", "ITL per chunk", true, func(s *records.Summary) *records.Dist { return &s.ITLChunk }},
		{"itl_token", "ITL per token", true, func(s *records.Summary) *records.Dist { return &s.ITLToken }},
		{"ttft_sched", "TTFT from schedule", false, func(s *records.Summary) *records.Dist { return &s.TTFTSched }},
		{"e2e_sched", "E2E from schedule", false, func(s *records.Summary) *records.Dist { return &s.E2ESched }},
		{"queue", "Client queue time", false, func(s *records.Summary) *records.Dist { return &s.Queue }},
	}
	for _, d := range dists {
		rows = append(rows, distRows(d.key, d.name, d.d, d.max)...)
		if s == nil {
			continue
		}
		for i, q := range d.d(s).Percentiles {
			label := PyPercent(q.P)
			rows = append(rows, Metric{Key: "p" + strings.ReplaceAll(label, ".", "_") + "_" + d.key + "_ms",
				Label: "P" + label + " " + d.name + " (ms)", Unit: "ms", Dir: -1,
				Get: func(s *records.Summary) (float64, bool) {
					ps := d.d(s).Percentiles
					if i >= len(ps) || ps[i].P != q.P {
						return 0, false
					}
					return ms(ps[i].V), true
				}})
		}
	}
	rows = append(rows,
		Metric{Key: "schedule_lag_p99_ms", Label: "Schedule lag P99 (ms)", Unit: "ms", Dir: -1, Get: func(s *records.Summary) (float64, bool) {
			if s.ScheduleLag == nil {
				return 0, false
			}
			return ms(s.ScheduleLag.P99), true
		}},
		Metric{Key: "achieved_rate", Label: "Achieved send rate (req/s)", Dir: 1, Get: func(s *records.Summary) (float64, bool) {
			if s.ScheduleLag == nil {
				return 0, false
			}
			return s.ScheduleLag.AchievedRate, true
		}},
		Metric{Key: "goodput", Label: "Goodput (req/s)", Dir: 1, Get: func(s *records.Summary) (float64, bool) {
			if s.SLO == nil {
				return 0, false
			}
			return s.SLO.Goodput, true
		}},
		Metric{Key: "slo_attainment", Label: "SLO attainment", Dir: 1, Get: func(s *records.Summary) (float64, bool) {
			if s.SLO == nil {
				return 0, false
			}
			return s.SLO.Attainment, true
		}},
		Metric{Key: "total_cached_tokens", Label: "Total cached tokens", Int: true, Dir: 1, Get: func(s *records.Summary) (float64, bool) {
			if s.Cache == nil {
				return 0, false
			}
			return float64(s.Cache.CachedTokens), true
		}},
		Metric{Key: "cache_hit_rate", Label: "Cache hit rate", Dir: 1, Get: func(s *records.Summary) (float64, bool) {
			if s.Cache == nil {
				return 0, false
			}
			return s.Cache.HitRate, true
		}},
	)
	return rows
}

// fmtValue formats a metric value for tables: integers as is, others with 2 decimals (4 significant
// digits below 0.01 so small fractions stay visible).
func fmtValue(m Metric, v float64, ok bool) string {
	if !ok {
		return "n/a"
	}
	if m.Int {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	if v != 0 && math.Abs(v) < 0.01 {
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	return f2(v)
}

// Title names a summary in tables and charts: its label (file name in comparisons), group, tag.
func Title(s *records.Summary, label string) string {
	parts := []string{}
	if label != "" {
		parts = append(parts, label)
	}
	if s.Group != nil {
		parts = append(parts, s.Group.By+"="+s.Group.Value)
	}
	if s.Run.Tag != "" && label == "" {
		parts = append(parts, s.Run.Tag)
	}
	if len(parts) == 0 {
		parts = append(parts, s.Run.Backend)
	}
	return strings.Join(parts, " ")
}

// JSON writes each summary as one JSON line (the summary stream without its header).
func JSON(w io.Writer, sums []records.Summary) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range sums {
		if err := enc.Encode(&sums[i]); err != nil {
			return err
		}
	}
	return nil
}

// CSV writes a header row and one row per summary: group columns, run columns, then every metric of
// Metrics (latencies in ms). Values are written with full precision.
func CSV(w io.Writer, sums []records.Summary, labels []string) error {
	cw := csv.NewWriter(w)
	var rows []Metric
	if len(sums) > 0 {
		rows = Metrics(&sums[0])
	}
	head := []string{"input", "group_by", "group", "backend", "model", "request_rate", "max_concurrency"}
	for _, m := range rows {
		head = append(head, m.Key)
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	for i := range sums {
		s := &sums[i]
		gb, gv := "", ""
		if s.Group != nil {
			gb, gv = s.Group.By, s.Group.Value
		}
		label := ""
		if i < len(labels) {
			label = labels[i]
		}
		rec := []string{label, gb, gv, s.Run.Backend, s.Run.Model, RequestRateString(s.Run), strconv.Itoa(s.Run.MaxConcurrency)}
		for _, m := range rows {
			v, ok := m.Get(s)
			if !ok {
				rec = append(rec, "")
				continue
			}
			rec = append(rec, strconv.FormatFloat(v, 'g', -1, 64))
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Markdown writes one table per summary (metric | value), then its notes.
func Markdown(w io.Writer, sums []records.Summary) error {
	l := &lineWriter{w: w}
	for i := range sums {
		s := &sums[i]
		l.line("## " + mdEscape(Title(s, "")))
		l.line("")
		l.line(fmt.Sprintf("Backend `%s`, model `%s`, request rate %s, max concurrency %s.", s.Run.Backend, s.Run.Model,
			RequestRateString(s.Run), concurrencyString(s.Run)))
		l.line("")
		l.line("| Metric | Value |")
		l.line("| --- | ---: |")
		for _, m := range Metrics(s) {
			v, ok := m.Get(s)
			if !ok && m.Key != "total_output_tokens_retokenized" {
				continue
			}
			l.line("| " + mdEscape(m.Label) + " | " + fmtValue(m, v, ok) + " |")
		}
		if len(s.Notes) > 0 {
			l.line("")
			for _, n := range s.Notes {
				l.line("- " + mdEscape(n))
			}
		}
		l.line("")
	}
	return l.err
}

func concurrencyString(r records.SummaryRun) string {
	if r.MaxConcurrency > 0 {
		return strconv.Itoa(r.MaxConcurrency)
	}
	return "not set"
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
