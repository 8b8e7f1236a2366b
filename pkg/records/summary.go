package records

import (
	"encoding/json"
	"time"
)

// Summary is one result of bs-stat: the metrics of a run, or of one group of its requests
// (--group-by). It is a record of a summary stream (bs-stat → bs-report).
//
// Every duration is in seconds (float64), as the reference computes them; reports multiply by 1000 for
// milliseconds at the last step, so their numbers match the reference to the bit. docs/metrics.md
// gives the formula of every field.
type Summary struct {
	// Group is the group this summary covers when bs-stat ran with --group-by; nil for the whole input.
	Group *GroupKey `json:"group,omitempty"`
	// Compat is "sglang" when counted with --compat sglang (the reference's per-backend rules).
	Compat string `json:"compat,omitempty"`
	// Run describes the load, from the event streams' headers.
	Run SummaryRun `json:"run"`
	// Window is the time window of events counted (--skip-first, --skip-last, --window), if any.
	Window *Window `json:"window,omitempty"`

	// Requests is the number of events counted (successes and failures, inside the window).
	Requests int `json:"requests"`
	// Completed is the number of successful requests.
	Completed int `json:"completed"`
	// Failed is Requests - Completed.
	Failed int `json:"failed"`
	// ErrorRate is Failed / Requests (0 when there are no requests).
	ErrorRate float64 `json:"error_rate"`
	// Errors counts failures by Event.ErrorKind.
	Errors map[string]int `json:"errors,omitempty"`

	// FirstSent and LastEnd bound the counted events in wall-clock time.
	FirstSent *time.Time `json:"first_sent,omitempty"`
	LastEnd   *time.Time `json:"last_end,omitempty"`
	// Duration is LastEnd - FirstSent in seconds: first request sent to last response ended.
	Duration float64 `json:"duration"`

	// Token totals over successful requests. Input counts are the prompts' client-side lengths.
	TotalInput       int `json:"total_input_tokens"`
	TotalInputText   int `json:"total_input_text_tokens"`
	TotalInputVision int `json:"total_input_vision_tokens"`
	TotalOutput      int `json:"total_output_tokens"`
	// TotalOutputRetokenized is the output re-counted with the tokenizer; nil without --tokenizer or
	// without recorded text.
	TotalOutputRetokenized *int `json:"total_output_tokens_retokenized"`

	// Throughputs: per second of Duration.
	RequestThroughput           float64  `json:"request_throughput"`
	InputThroughput             float64  `json:"input_throughput"`
	OutputThroughput            float64  `json:"output_throughput"`
	TotalThroughput             float64  `json:"total_throughput"`
	OutputThroughputRetokenized *float64 `json:"output_throughput_retokenized,omitempty"`
	TotalThroughputRetokenized  *float64 `json:"total_throughput_retokenized,omitempty"`
	// Concurrency is the sum of E2E latencies over Duration (average requests in flight).
	Concurrency float64 `json:"concurrency"`
	// MaxOutputTokensPerS and MaxConcurrentRequests are the reference's 1-second-bucket peaks.
	MaxOutputTokensPerS   float64 `json:"max_output_tokens_per_s"`
	MaxConcurrentRequests int     `json:"max_concurrent_requests"`
	// PeakInFlight is the true peak of requests in flight: the most requests (failures included)
	// whose [sent, end) intervals overlap at one instant.
	PeakInFlight int `json:"peak_in_flight"`
	// AcceptLength is the speculative-decoding accept length the server reported after the run.
	AcceptLength *float64 `json:"accept_length"`

	// Latency distributions over successful requests, in seconds.
	E2E  Dist `json:"e2e"`
	TTFT Dist `json:"ttft"`
	TPOT Dist `json:"tpot"`
	// ITL is the pooled inter-token latency the reference's way (per token on native /generate, per
	// chunk on OpenAI-style backends).
	ITL Dist `json:"itl"`
	// ITLChunk pools every gap between consecutive output chunks, undivided.
	ITLChunk Dist `json:"itl_chunk"`
	// ITLToken pools chunk gaps divided by the chunk's token count (one entry per token) when the
	// count is known, and the undivided gap otherwise.
	ITLToken Dist `json:"itl_token"`
	// TTFTSched and E2ESched count from the scheduled send time instead of the actual one.
	TTFTSched Dist `json:"ttft_sched"`
	E2ESched  Dist `json:"e2e_sched"`
	// Queue is the client-side wait between the scheduled and the actual send time.
	Queue Dist `json:"queue"`
	// OutputLen is the distribution of output tokens per successful request.
	OutputLen Dist `json:"output_len"`

	// ScheduleLag says how late bs-fire sent requests against its schedule, and whether the client
	// was the bottleneck.
	ScheduleLag *ScheduleLag `json:"schedule_lag,omitempty"`
	// SLO is the goodput / SLO attainment, when --slo was given.
	SLO *SLOResult `json:"slo,omitempty"`
	// Drift compares server-reported token counts with the client's expectations.
	Drift *Drift `json:"drift,omitempty"`
	// Cache is the prefix-cache hit rate, when the run asked for it (--cache-report) or any
	// successful response reported cached tokens.
	Cache *CacheReport `json:"cache,omitempty"`

	// Notes explain anything unusual about the numbers (no successes, zero duration, mixed inputs…).
	Notes []string `json:"notes,omitempty"`
	// Series holds bounded, downsampled time series and CDF points for charts.
	Series *Series `json:"series,omitempty"`
	// Details holds the reference's --output-details arrays (only with bs-stat --details).
	Details *Details `json:"details,omitempty"`
}

// GroupKey names a group of --group-by.
type GroupKey struct {
	// By is what was grouped on: lora, group, session, backend, host or file.
	By string `json:"by"`
	// Value is the group's value ("" for events without one).
	Value string `json:"value"`
}

// Window is the selection of events by send time, as offsets in seconds from the first send.
type Window struct {
	// Start and End bound SentNS (Start inclusive, End exclusive), in seconds after the first request
	// was sent.
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

// SummaryRun describes the run a summary comes from: the fields a report prints or that the
// reference writes into its JSONL result.
type SummaryRun struct {
	Backend  string `json:"backend,omitempty"`
	Model    string `json:"model,omitempty"`
	BaseURL  string `json:"base_url,omitempty"`
	Endpoint string `json:"endpoint,omitempty"`
	// DatasetName is the prompt stream's dataset (bs-gen --dataset-name).
	DatasetName string `json:"dataset_name,omitempty"`
	// RequestRate is the target request rate (+Inf: all at once).
	RequestRate Rate   `json:"request_rate"`
	Arrival     string `json:"arrival,omitempty"`
	// UseTraceTimestamps makes reports print the rate as "trace", as the reference does.
	UseTraceTimestamps bool `json:"use_trace_timestamps,omitempty"`
	MaxConcurrency     int  `json:"max_concurrency,omitempty"`
	// NumPrompts is the number of requests the runs intended to send (summed over inputs).
	NumPrompts int    `json:"num_prompts"`
	Stream     bool   `json:"stream"`
	Tag        string `json:"tag,omitempty"`
	// CacheReport is set when an input's bs-fire ran with --cache-report.
	CacheReport bool `json:"cache_report,omitempty"`
	// Dataset-generation arguments the reference writes into its JSONL result; nil when unknown.
	SharegptOutputLen *int     `json:"sharegpt_output_len,omitempty"`
	RandomInputLen    *int     `json:"random_input_len,omitempty"`
	RandomOutputLen   *int     `json:"random_output_len,omitempty"`
	RandomRangeRatio  *float64 `json:"random_range_ratio,omitempty"`
	ImageCount        *int     `json:"image_count,omitempty"`
	ImageResolution   string   `json:"image_resolution,omitempty"`
	// ServerInfo is the JSON the server returned from GET /server_info after the run, verbatim.
	ServerInfo json.RawMessage `json:"server_info,omitempty"`
	// Inputs are the files read (one per input stream) and Hosts the machines that wrote them.
	Inputs []string `json:"inputs,omitempty"`
	Hosts  []string `json:"hosts,omitempty"`
	// StartTime is the earliest header start time of the inputs.
	StartTime *time.Time `json:"start_time,omitempty"`
}

// Dist summarises a distribution of values (seconds for latencies, tokens for lengths), with NumPy's
// definitions: population standard deviation, linear-interpolation percentiles.
type Dist struct {
	Count int `json:"count"`
	// Empty is true when there were no values; every statistic is then 0, as the reference reports
	// an empty TTFT/TPOT/ITL list.
	Empty  bool    `json:"empty,omitempty"`
	Mean   float64 `json:"mean"`
	Median float64 `json:"median"`
	Std    float64 `json:"std"`
	P90    float64 `json:"p90"`
	P95    float64 `json:"p95"`
	P99    float64 `json:"p99"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	// Percentiles are the extra percentiles asked for with --percentiles.
	Percentiles []Quantile `json:"percentiles,omitempty"`
}

// Quantile is one percentile of a distribution: V is the P-th percentile (P in [0, 100]).
type Quantile struct {
	P float64 `json:"p"`
	V float64 `json:"v"`
}

// ScheduleLag is how late requests were sent relative to their schedule.
type ScheduleLag struct {
	// Source is "trailer" (bs-fire's own dispatch-lag measurement) or "events" (SentNS - ScheduledNS,
	// only meaningful without a concurrency cap).
	Source string  `json:"source"`
	P50    float64 `json:"p50"`
	P99    float64 `json:"p99"`
	Max    float64 `json:"max"`
	// Threshold is the p99 lag (seconds) above which the client is judged the bottleneck.
	Threshold float64 `json:"threshold"`
	// ClientBound is true when P99 > Threshold: the client could not keep its schedule.
	ClientBound bool `json:"client_bound"`
	// AchievedRate is requests sent per second between the first and the last send.
	AchievedRate float64 `json:"achieved_rate"`
}

// SLOResult is the goodput against the --slo bounds.
type SLOResult struct {
	// Bounds are the SLO bounds in seconds, by metric (ttft, tpot, e2e, itl).
	Bounds map[string]float64 `json:"bounds"`
	// Met is the number of requests that succeeded and met every bound.
	Met int `json:"met"`
	// Goodput is Met / Duration (requests per second).
	Goodput float64 `json:"goodput"`
	// Attainment is Met / Requests (failures count as misses).
	Attainment float64 `json:"attainment"`
	// MetBy counts, per bound, the successful requests that met it.
	MetBy map[string]int `json:"met_by"`
}

// Drift compares the token counts the server reported with the client's expectations.
type Drift struct {
	// PromptChecked is the number of successful requests with a server prompt count; PromptDrifted
	// those whose count differs from the prompt's prompt_len.
	PromptChecked int `json:"prompt_checked"`
	PromptDrifted int `json:"prompt_drifted"`
	// OutputChecked is the number of successful requests with a server completion count;
	// OutputDrifted those whose count differs from the requested output_len.
	OutputChecked int `json:"output_checked"`
	OutputDrifted int `json:"output_drifted"`
	// ServerInput and ServerOutput are the totals the server reported (over requests that reported).
	ServerInput  int `json:"server_input_tokens"`
	ServerOutput int `json:"server_output_tokens"`
	// Events lists the first drifted requests (at most 100).
	Events []DriftEvent `json:"events,omitempty"`
}

// DriftEvent is one request whose server-reported lengths differ from the expected ones.
type DriftEvent struct {
	ID           int  `json:"id"`
	Seq          int  `json:"seq"`
	PromptLen    int  `json:"prompt_len"`
	ServerPrompt *int `json:"server_prompt_tokens,omitempty"`
	OutputLen    int  `json:"output_len"`
	ServerOutput *int `json:"server_output_tokens,omitempty"`
}

// Series holds compact chart data: at most a few hundred to a thousand points per series.
type Series struct {
	// BucketSeconds is the width of the throughput/concurrency buckets (1 unless downsampled).
	BucketSeconds float64 `json:"bucket_seconds"`
	// OutputTokensPerS and ConcurrentRequests are per-bucket averages of the reference's 1-second
	// counts, from the first send.
	OutputTokensPerS   []float64 `json:"output_tokens_per_s"`
	ConcurrentRequests []float64 `json:"concurrent_requests"`
	// CDFs: points (value in seconds, cumulative fraction).
	TTFTCDF [][2]float64 `json:"ttft_cdf,omitempty"`
	ITLCDF  [][2]float64 `json:"itl_cdf,omitempty"`
	E2ECDF  [][2]float64 `json:"e2e_cdf,omitempty"`
	// Latency is a sample of requests over time: (seconds after the first send, E2E seconds, TTFT
	// seconds or -1, ok 1/0). Failures are always kept (up to the cap).
	Latency [][4]float64 `json:"latency,omitempty"`
}

// Details are the reference's --output-details arrays: one entry per request, failures included, in
// dispatch order. Times are in seconds.
type Details struct {
	InputLens      []int       `json:"input_lens"`
	OutputLens     []int       `json:"output_lens"`
	TTFTs          []float64   `json:"ttfts"`
	ITLs           [][]float64 `json:"itls"`
	GeneratedTexts []string    `json:"generated_texts"`
	Errors         []string    `json:"errors"`
}

// CacheReport is the prefix-cache hit of the successful requests, as the reference's --cache-report
// counts it (docs/metrics.md).
type CacheReport struct {
	// PromptTokens sums the prompt lengths: the server's count where it gave one, else the client's.
	PromptTokens int `json:"total_prompt_tokens"`
	// CachedTokens sums the cached prompt tokens the responses reported (0 where they did not).
	CachedTokens int `json:"total_cached_tokens"`
	// HitRate is CachedTokens / PromptTokens (0 without prompt tokens).
	HitRate float64 `json:"hit_rate"`
	// Reporting is the number of successful responses that reported a cache hit (possibly 0 tokens).
	Reporting int `json:"reporting"`
	// Tiers is set when some response split its hit by tier (SGLang's hierarchical cache).
	Tiers *CacheTiers `json:"tiers,omitempty"`
}
