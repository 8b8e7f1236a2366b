package metrics

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bsbench/bs/pkg/records"
)

// Assertion is one CI bound of bs-stat --assert, such as "p99(ttft)<500ms", "error_rate<0.01" or
// "output_throughput>=1000". Grammar:
//
//	assertion := operand op number [unit]
//	operand   := scalar | stat "(" distribution ")"
//	stat      := mean | median | std | min | max | count | p<N>   (N in [0, 100], e.g. p99.9)
//	op        := < | <= | > | >= | == | !=
//	unit      := ns | us | µs | ms | s   (time metrics, required)  |  %   (fractions)
//
// The names are listed in Scalars and Distributions (docs/metrics.md documents each).
type Assertion struct {
	// Text is the assertion as given.
	Text string
	// Stat is the statistic of a distribution ("" for a scalar metric).
	Stat string
	// Metric is the scalar or distribution name.
	Metric string
	// Op is the comparison operator.
	Op string
	// Bound is the right-hand side in base units (seconds for times, a fraction for %).
	Bound float64
	// pct is the percentile of a p<N> statistic.
	pct float64
}

// metricInfo describes a name of the --assert vocabulary.
type metricInfo struct {
	time     bool // seconds: needs a time unit
	fraction bool // 0..1: % allowed
	get      func(s *records.Summary) (float64, bool)
	help     string
}

func intv(f func(s *records.Summary) int) func(*records.Summary) (float64, bool) {
	return func(s *records.Summary) (float64, bool) { return float64(f(s)), true }
}

func fv(f func(s *records.Summary) float64) func(*records.Summary) (float64, bool) {
	return func(s *records.Summary) (float64, bool) { return f(s), true }
}

// Scalars are the scalar metric names of the --assert vocabulary.
var Scalars = map[string]metricInfo{
	"requests":                        {get: intv(func(s *records.Summary) int { return s.Requests }), help: "requests counted (successes and failures)"},
	"completed":                       {get: intv(func(s *records.Summary) int { return s.Completed }), help: "successful requests"},
	"failed":                          {get: intv(func(s *records.Summary) int { return s.Failed }), help: "failed requests"},
	"error_rate":                      {fraction: true, get: fv(func(s *records.Summary) float64 { return s.ErrorRate }), help: "failed / requests"},
	"duration":                        {time: true, get: fv(func(s *records.Summary) float64 { return s.Duration }), help: "first send to last response end"},
	"total_input_tokens":              {get: intv(func(s *records.Summary) int { return s.TotalInput }), help: "Σ prompt_len of successes"},
	"total_input_text_tokens":         {get: intv(func(s *records.Summary) int { return s.TotalInputText }), help: "Σ text prompt length of successes"},
	"total_input_vision_tokens":       {get: intv(func(s *records.Summary) int { return s.TotalInputVision }), help: "Σ vision prompt length of successes"},
	"total_output_tokens":             {get: intv(func(s *records.Summary) int { return s.TotalOutput }), help: "Σ output tokens of successes"},
	"total_output_tokens_retokenized": {get: func(s *records.Summary) (float64, bool) { return optI(s.TotalOutputRetokenized) }, help: "Σ retokenized output (needs --tokenizer)"},
	"request_throughput":              {get: fv(func(s *records.Summary) float64 { return s.RequestThroughput }), help: "completed / duration"},
	"input_throughput":                {get: fv(func(s *records.Summary) float64 { return s.InputThroughput }), help: "input tokens / duration"},
	"output_throughput":               {get: fv(func(s *records.Summary) float64 { return s.OutputThroughput }), help: "output tokens / duration"},
	"total_throughput":                {get: fv(func(s *records.Summary) float64 { return s.TotalThroughput }), help: "(input + output tokens) / duration"},
	"concurrency":                     {get: fv(func(s *records.Summary) float64 { return s.Concurrency }), help: "Σ E2E / duration"},
	"max_output_tokens_per_s":         {get: fv(func(s *records.Summary) float64 { return s.MaxOutputTokensPerS }), help: "peak output tokens in a 1-second bucket"},
	"max_concurrent_requests":         {get: intv(func(s *records.Summary) int { return s.MaxConcurrentRequests }), help: "peak requests overlapping a 1-second bucket"},
	"peak_in_flight":                  {get: intv(func(s *records.Summary) int { return s.PeakInFlight }), help: "most requests in flight at one instant (failures included)"},
	"accept_length":                   {get: func(s *records.Summary) (float64, bool) { return optF(s.AcceptLength) }, help: "speculative-decoding accept length (server)"},
	"goodput": {get: func(s *records.Summary) (float64, bool) {
		if s.SLO == nil {
			return 0, false
		}
		return s.SLO.Goodput, true
	}, help: "requests meeting every --slo bound / duration"},
	"slo_attainment": {fraction: true, get: func(s *records.Summary) (float64, bool) {
		if s.SLO == nil {
			return 0, false
		}
		return s.SLO.Attainment, true
	}, help: "requests meeting every --slo bound / requests"},
	"cache_hit_rate": {fraction: true, get: func(s *records.Summary) (float64, bool) {
		if s.Cache == nil {
			return 0, false
		}
		return s.Cache.HitRate, true
	}, help: "cached prompt tokens / prompt tokens (servers that report cache hits)"},
	"total_cached_tokens": {get: func(s *records.Summary) (float64, bool) {
		if s.Cache == nil {
			return 0, false
		}
		return float64(s.Cache.CachedTokens), true
	}, help: "Σ cached prompt tokens the server reported"},
	"schedule_lag_p50": {time: true, get: lagv(func(l *records.ScheduleLag) float64 { return l.P50 }), help: "median schedule lag"},
	"schedule_lag_p99": {time: true, get: lagv(func(l *records.ScheduleLag) float64 { return l.P99 }), help: "99th percentile schedule lag"},
	"schedule_lag_max": {time: true, get: lagv(func(l *records.ScheduleLag) float64 { return l.Max }), help: "largest schedule lag"},
	"achieved_rate":    {get: lagv(func(l *records.ScheduleLag) float64 { return l.AchievedRate }), help: "requests sent per second"},
	"client_bound": {get: lagv(func(l *records.ScheduleLag) float64 {
		if l.ClientBound {
			return 1
		}
		return 0
	}), help: "1 when the client was the bottleneck, else 0"},
	"prompt_drifted": {get: driftv(func(d *records.Drift) int { return d.PromptDrifted }), help: "successes whose server prompt count differs from prompt_len"},
	"output_drifted": {get: driftv(func(d *records.Drift) int { return d.OutputDrifted }), help: "successes whose server output count differs from output_len"},
}

func optI(p *int) (float64, bool) {
	if p == nil {
		return 0, false
	}
	return float64(*p), true
}

func optF(p *float64) (float64, bool) {
	if p == nil {
		return 0, false
	}
	return *p, true
}

func lagv(f func(*records.ScheduleLag) float64) func(*records.Summary) (float64, bool) {
	return func(s *records.Summary) (float64, bool) {
		if s.ScheduleLag == nil {
			return 0, false
		}
		return f(s.ScheduleLag), true
	}
}

func driftv(f func(*records.Drift) int) func(*records.Summary) (float64, bool) {
	return func(s *records.Summary) (float64, bool) {
		if s.Drift == nil {
			return 0, true // nothing reported, nothing drifted
		}
		return float64(f(s.Drift)), true
	}
}

// errorKinds are the names allowed after "errors." (count of failures of that kind).
var errorKinds = []string{records.ErrConnect, records.ErrTimeout, records.ErrHTTPStatus, records.ErrStreamBroken,
	records.ErrServerEvent, records.ErrDecode, records.ErrCancelled, records.ErrClient}

// Distributions are the distribution names of the --assert vocabulary; all but output_len are in
// seconds.
var Distributions = map[string]func(s *records.Summary) *records.Dist{
	"e2e":        func(s *records.Summary) *records.Dist { return &s.E2E },
	"ttft":       func(s *records.Summary) *records.Dist { return &s.TTFT },
	"tpot":       func(s *records.Summary) *records.Dist { return &s.TPOT },
	"itl":        func(s *records.Summary) *records.Dist { return &s.ITL },
	"itl_chunk":  func(s *records.Summary) *records.Dist { return &s.ITLChunk },
	"itl_token":  func(s *records.Summary) *records.Dist { return &s.ITLToken },
	"ttft_sched": func(s *records.Summary) *records.Dist { return &s.TTFTSched },
	"e2e_sched":  func(s *records.Summary) *records.Dist { return &s.E2ESched },
	"queue":      func(s *records.Summary) *records.Dist { return &s.Queue },
	"output_len": func(s *records.Summary) *records.Dist { return &s.OutputLen },
}

// UnknownMetricError is an assertion naming a metric outside the vocabulary.
type UnknownMetricError struct {
	Assertion, Name string
}

func (e *UnknownMetricError) Error() string {
	return fmt.Sprintf("assertion %q: unknown metric %q (see docs/metrics.md for the names)", e.Assertion, e.Name)
}

var ops = []string{"<=", ">=", "==", "!=", "<", ">"}

// ParseAssertion parses one --assert expression. An unknown metric gives an *UnknownMetricError;
// any other mistake a plain error naming the assertion.
func ParseAssertion(text string) (Assertion, error) {
	a := Assertion{Text: text}
	bad := func(format string, args ...any) (Assertion, error) {
		return a, fmt.Errorf("assertion %q: %s", text, fmt.Sprintf(format, args...))
	}
	s := strings.TrimSpace(text)
	opAt, opLen := -1, 0
	for i := 0; i < len(s) && opAt < 0; i++ {
		for _, op := range ops {
			if strings.HasPrefix(s[i:], op) {
				opAt, opLen, a.Op = i, len(op), op
				break
			}
		}
	}
	if opAt < 0 {
		return bad("no comparison (use one of %s)", strings.Join(ops, " "))
	}
	lhs, rhs := strings.TrimSpace(s[:opAt]), strings.TrimSpace(s[opAt+opLen:])
	if open := strings.IndexByte(lhs, '('); open >= 0 {
		if !strings.HasSuffix(lhs, ")") {
			return bad("missing ')'")
		}
		a.Stat = strings.TrimSpace(lhs[:open])
		a.Metric = strings.TrimSpace(lhs[open+1 : len(lhs)-1])
		switch {
		case slices.Contains([]string{"mean", "median", "std", "min", "max", "count"}, a.Stat):
		case strings.HasPrefix(a.Stat, "p"):
			p, err := strconv.ParseFloat(a.Stat[1:], 64)
			if err != nil || !(p >= 0 && p <= 100) {
				return bad("%q is not a statistic (mean, median, std, min, max, count, p<N> with N in [0, 100])", a.Stat)
			}
			a.pct = p
		default:
			return bad("%q is not a statistic (mean, median, std, min, max, count, p<N>)", a.Stat)
		}
		if _, ok := Distributions[a.Metric]; !ok {
			if _, scalar := Scalars[a.Metric]; scalar {
				return bad("%s is a single value, write it without %s(…)", a.Metric, a.Stat)
			}
			return a, &UnknownMetricError{Assertion: text, Name: a.Metric}
		}
	} else {
		a.Metric = lhs
		if _, ok := Distributions[lhs]; ok {
			return bad("%s is a distribution: use mean(%s), p99(%s), max(%s)…", lhs, lhs, lhs, lhs)
		}
		_, ok := Scalars[lhs]
		if kind, isErr := strings.CutPrefix(lhs, "errors."); isErr {
			ok = slices.Contains(errorKinds, kind)
		}
		if !ok {
			return a, &UnknownMetricError{Assertion: text, Name: lhs}
		}
	}
	// Number and unit.
	end := 0
	for end < len(rhs) && strings.ContainsRune("0123456789.+-eE", rune(rhs[end])) {
		end++
	}
	// "e" may start a unit only if no digit follows; units here never start with e, so keep it.
	num, unit := rhs[:end], strings.TrimSpace(rhs[end:])
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(v) {
		return bad("%q is not a number", rhs)
	}
	isTime := a.isTime()
	switch unit {
	case "":
		if isTime {
			return bad("give a time unit (ns, us, ms, s) for %s", a.Metric)
		}
	case "ns", "us", "µs", "ms", "s":
		if !isTime {
			return bad("%s is not a time: drop the unit %q", a.Metric, unit)
		}
		d := map[string]time.Duration{"ns": time.Nanosecond, "us": time.Microsecond, "µs": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[unit]
		v = v * float64(d) / float64(time.Second)
	case "%":
		if !(a.Stat == "" && Scalars[a.Metric].fraction) {
			return bad("%% applies only to error_rate, slo_attainment and cache_hit_rate")
		}
		v /= 100
	default:
		return bad("unknown unit %q (ns, us, ms, s, %%)", unit)
	}
	a.Bound = v
	return a, nil
}

func (a Assertion) isTime() bool {
	if a.Stat != "" {
		return a.Metric != "output_len" && a.Stat != "count"
	}
	return Scalars[a.Metric].time
}

// Percentile returns the percentile a p<N> assertion needs (so bs-stat can compute it).
func (a Assertion) Percentile() (float64, bool) {
	if strings.HasPrefix(a.Stat, "p") {
		return a.pct, true
	}
	return 0, false
}

// ErrNoValue is returned by Eval when the summary has no value for the assertion's metric.
var ErrNoValue = errors.New("no value")

// Value returns the assertion's left-hand side in s, in base units.
func (a Assertion) Value(s *records.Summary) (float64, error) {
	if a.Stat == "" {
		if kind, ok := strings.CutPrefix(a.Metric, "errors."); ok {
			return float64(s.Errors[kind]), nil
		}
		v, ok := Scalars[a.Metric].get(s)
		if !ok {
			return 0, fmt.Errorf("%w: %s is not available in this summary", ErrNoValue, a.Metric)
		}
		return v, nil
	}
	d := Distributions[a.Metric](s)
	if a.Stat == "count" {
		return float64(d.Count), nil
	}
	if d.Empty || d.Count == 0 {
		return 0, fmt.Errorf("%w: %s has no values", ErrNoValue, a.Metric)
	}
	switch a.Stat {
	case "mean":
		return d.Mean, nil
	case "median":
		return d.Median, nil
	case "std":
		return d.Std, nil
	case "min":
		return d.Min, nil
	case "max":
		return d.Max, nil
	}
	switch a.pct {
	case 90:
		return d.P90, nil
	case 95:
		return d.P95, nil
	case 99:
		return d.P99, nil
	}
	for _, q := range d.Percentiles {
		if q.P == a.pct {
			return q.V, nil
		}
	}
	return 0, fmt.Errorf("%w: the summary has no p%s of %s (add it to --percentiles)", ErrNoValue, strconv.FormatFloat(a.pct, 'f', -1, 64), a.Metric)
}

// Check evaluates the assertion on s. It returns nil when the bound holds, else an error saying what
// was measured.
func (a Assertion) Check(s *records.Summary) error {
	v, err := a.Value(s)
	if err != nil {
		return fmt.Errorf("%s: %w", a.Text, err)
	}
	var ok bool
	switch a.Op {
	case "<":
		ok = v < a.Bound
	case "<=":
		ok = v <= a.Bound
	case ">":
		ok = v > a.Bound
	case ">=":
		ok = v >= a.Bound
	case "==":
		ok = v == a.Bound
	case "!=":
		ok = v != a.Bound
	}
	if ok {
		return nil
	}
	return fmt.Errorf("%s: measured %s", a.Text, a.format(v))
}

func (a Assertion) format(v float64) string {
	name := a.Metric
	if a.Stat != "" {
		name = a.Stat + "(" + a.Metric + ")"
	}
	switch {
	case a.isTime():
		return fmt.Sprintf("%s = %sms", name, strconv.FormatFloat(v*1000, 'f', 3, 64))
	case a.Stat == "" && Scalars[a.Metric].fraction:
		return fmt.Sprintf("%s = %s (%s%%)", name, strconv.FormatFloat(v, 'g', 6, 64), strconv.FormatFloat(v*100, 'f', 2, 64))
	}
	return fmt.Sprintf("%s = %s", name, strconv.FormatFloat(v, 'g', 10, 64))
}

// ParseSLO parses --slo "ttft=200ms,tpot=50ms,e2e=2s,itl=100ms" into bounds in seconds.
func ParseSLO(s string) (map[string]float64, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	out := map[string]float64{}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("--slo %q: want metric=duration pairs, e.g. ttft=200ms,tpot=50ms", s)
		}
		if !sloKeys[k] {
			return nil, fmt.Errorf("--slo: unknown metric %q (want ttft, tpot, e2e, itl, ttft_sched or e2e_sched)", k)
		}
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("--slo %s=%s: want a positive duration such as 200ms", k, v)
		}
		out[k] = d.Seconds()
	}
	return out, nil
}
