package report

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/bsbench/bs/pkg/records"
)

// ResultLine returns the reference's JSONL result object for s (fact sheet §7.2): the same keys in
// the same order, serialised as Python's json.dumps does (", " and ": " separators, ensure_ascii, float
// repr, Infinity for an infinite request rate), with the newline. Latency statistics are the summary's
// seconds × 1000, as the reference computes them. With details (the reference's --output-details) the
// per-request arrays follow (ttfts and itls in seconds); the summary must carry them (bs-stat
// --details). Unknown values (no tokenizer, no dataset arguments in the input) are null.
func ResultLine(s *records.Summary, details bool) (string, error) {
	run := s.Run
	d := &PyDict{}
	if run.Tag != "" {
		d.Set("tag", run.Tag)
	} else {
		d.Set("tag", nil)
	}
	d.Set("backend", run.Backend)
	if run.DatasetName != "" {
		d.Set("dataset_name", run.DatasetName)
	} else {
		d.Set("dataset_name", nil)
	}
	if run.UseTraceTimestamps {
		d.Set("request_rate", "trace")
	} else {
		d.Set("request_rate", float64(run.RequestRate))
	}
	if run.MaxConcurrency > 0 {
		d.Set("max_concurrency", run.MaxConcurrency)
	} else {
		d.Set("max_concurrency", nil)
	}
	d.Set("sharegpt_output_len", run.SharegptOutputLen)
	d.Set("random_input_len", run.RandomInputLen)
	d.Set("random_output_len", run.RandomOutputLen)
	d.Set("random_range_ratio", run.RandomRangeRatio)
	d.Set("server_info", run.ServerInfo)
	d.Set("duration", s.Duration)
	d.Set("completed", s.Completed)
	d.Set("total_input_tokens", s.TotalInput)
	d.Set("total_input_text_tokens", s.TotalInputText)
	d.Set("total_input_vision_tokens", s.TotalInputVision)
	d.Set("total_output_tokens", s.TotalOutput)
	d.Set("total_output_tokens_retokenized", s.TotalOutputRetokenized)
	d.Set("request_throughput", s.RequestThroughput)
	d.Set("input_throughput", s.InputThroughput)
	d.Set("output_throughput", s.OutputThroughput)
	d.Set("total_throughput", s.TotalThroughput)
	for _, m := range []struct {
		name string
		d    *records.Dist
	}{{"e2e_latency", &s.E2E}, {"ttft", &s.TTFT}, {"tpot", &s.TPOT}, {"itl", &s.ITL}} {
		d.Set("mean_"+m.name+"_ms", ms(m.d.Mean))
		d.Set("median_"+m.name+"_ms", ms(m.d.Median))
		d.Set("std_"+m.name+"_ms", ms(m.d.Std))
		d.Set("p90_"+m.name+"_ms", ms(m.d.P90))
		d.Set("p95_"+m.name+"_ms", ms(m.d.P95))
		d.Set("p99_"+m.name+"_ms", ms(m.d.P99))
	}
	d.Set("concurrency", s.Concurrency)
	d.Set("accept_length", s.AcceptLength)
	d.Set("max_output_tokens_per_s", s.MaxOutputTokensPerS)
	d.Set("max_concurrent_requests", s.MaxConcurrentRequests)
	if c := s.Cache; s.Run.CacheReport && c != nil {
		// The reference's cache_report: the rate in percent rounded to 2 places (Python's round), the
		// tiers null unless some response split its hit, storage null unless positive.
		cr := &PyDict{}
		cr.Set("total_prompt_tokens", c.PromptTokens)
		cr.Set("total_cached_tokens", c.CachedTokens)
		rate, _ := strconv.ParseFloat(strconv.FormatFloat(c.HitRate*100, 'f', 2, 64), 64)
		cr.Set("cache_hit_rate_pct", rate)
		var dev, host, stor *int
		var backend any // null or the name
		if t := c.Tiers; t != nil {
			dev, host = &t.Device, &t.Host
			if t.Storage > 0 {
				stor = &t.Storage
				if t.StorageBackend != "" {
					backend = t.StorageBackend
				}
			}
		}
		cr.Set("device_cached_tokens", dev)
		cr.Set("host_cached_tokens", host)
		cr.Set("storage_cached_tokens", stor)
		cr.Set("storage_backend", backend)
		d.Set("cache_report", cr)
	}
	if details {
		det := s.Details
		if det == nil {
			return "", fmt.Errorf("the summary has no per-request details: run bs-stat with --details")
		}
		d.Set("input_lens", det.InputLens)
		d.Set("output_lens", det.OutputLens)
		d.Set("ttfts", det.TTFTs)
		d.Set("itls", det.ITLs)
		d.Set("generated_texts", det.GeneratedTexts)
		d.Set("errors", det.Errors)
	}
	line, err := PyDumps(d)
	if err != nil {
		return "", err
	}
	return line + "\n", nil
}

// AutoFileName is the reference's output file name when none is given (fact sheet §7.1), with MMDD
// the local date of now.
func AutoFileName(s *records.Summary, now time.Time) string {
	run := s.Run
	mmdd := now.Format("0102")
	n := func(p *int) string {
		if p == nil {
			return "None"
		}
		return fmt.Sprint(*p)
	}
	switch {
	case run.DatasetName == "image":
		return fmt.Sprintf("%s_%s_%d_%s_%s_%simgs_%s.jsonl", run.Backend, mmdd, run.NumPrompts,
			n(run.RandomInputLen), n(run.RandomOutputLen), n(run.ImageCount), run.ImageResolution)
	case strings.HasPrefix(run.DatasetName, "random"):
		return fmt.Sprintf("%s_%s_%d_%s_%s.jsonl", run.Backend, mmdd, run.NumPrompts,
			n(run.RandomInputLen), n(run.RandomOutputLen))
	}
	return fmt.Sprintf("%s_%s_%d_%s.jsonl", run.Backend, mmdd, run.NumPrompts, run.DatasetName)
}

// AppendResults appends one result line per summary to path (created if missing), as the reference
// always opens its output file in append mode. path "auto" uses AutoFileName of the first summary; the
// name written to is returned. details adds the --output-details arrays.
func AppendResults(path string, sums []records.Summary, details bool, now time.Time) (string, error) {
	if len(sums) == 0 {
		return "", fmt.Errorf("no summary to write")
	}
	if path == "auto" {
		path = AutoFileName(&sums[0], now)
	}
	var b strings.Builder
	for i := range sums {
		line, err := ResultLine(&sums[i], details)
		if err != nil {
			return path, err
		}
		b.WriteString(line)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return path, err
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return path, err
	}
	return path, f.Close()
}
