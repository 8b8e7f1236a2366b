package metrics

import (
	"encoding/json"
	"math"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bsbench/bs/pkg/records"
)

const msNS = int64(time.Millisecond)

var t0 = time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)

func ip(v int) *int { return &v }

// handEvents is the hand-computed case of docs/metrics.md's extras (times in ms).
func handEvents() []records.Event {
	return []records.Event{
		{ID: 0, Seq: 0, RequestID: "a", ScheduledNS: 0, SentNS: 1 * msNS, EndNS: 301 * msNS, OK: true,
			ChunkNS: []int64{100 * msNS, 150 * msNS, 250 * msNS}, ChunkTokens: []int{1, 2, 4},
			UsageCompletionTokens: ip(7), UsagePromptTokens: ip(12), PromptLen: 10, OutputLen: 7, Lora: "a"},
		{ID: 1, Seq: 1, RequestID: "b", ScheduledNS: 100 * msNS, SentNS: 110 * msNS, EndNS: 190 * msNS, OK: true,
			ChunkNS: []int64{50 * msNS, 60 * msNS}, PromptLen: 20, OutputLen: 5, Lora: "a"},
		{ID: 2, Seq: 2, RequestID: "c", ScheduledNS: 200 * msNS, SentNS: 200 * msNS, EndNS: 700 * msNS,
			ErrorKind: records.ErrTimeout, Error: "deadline", PromptLen: 40, OutputLen: 9, Lora: "b"},
		{ID: 3, Seq: 3, RequestID: "d", ScheduledNS: 300 * msNS, SentNS: 305 * msNS, EndNS: 515 * msNS, OK: true,
			ChunkNS: []int64{200 * msNS}, ChunkTokens: []int{3}, UsageCompletionTokens: ip(3), UsagePromptTokens: ip(30),
			PromptLen: 30, OutputLen: 3, Lora: "b"},
	}
}

func handHeader(start time.Time) records.Header {
	return records.Header{Stream: records.StreamEvents, Tool: "bs-fire", Version: "test", StartTime: &start, Host: "h1",
		Run: &records.Run{Backend: "vllm-chat", Model: "m", RequestRate: 10, Arrival: "poisson", NumPrompts: 4, Stream: true}}
}

func writeEvents(t *testing.T, path string, h records.Header, evs []records.Event, tr *records.Trailer) string {
	t.Helper()
	f, err := records.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := records.NewWriter(f)
	if err := w.WriteHeader(h); err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		if err := w.Write(&evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if tr != nil {
		if err := w.WriteTrailer(*tr); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func summaries(t *testing.T, opts Options, files ...string) []records.Summary {
	t.Helper()
	acc, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := acc.ReadAll(NewEventReader(files...)); err != nil {
		t.Fatal(err)
	}
	return acc.Summaries()
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

func checkF(t *testing.T, name string, got, want float64) {
	t.Helper()
	if !near(got, want) {
		t.Errorf("%s = %.17g, want %.17g", name, got, want)
	}
}

func TestExtrasHandComputed(t *testing.T) {
	f := writeEvents(t, filepath.Join(t.TempDir(), "ev.jsonl"), handHeader(t0), handEvents(), nil)
	s := summaries(t, Options{SLO: map[string]float64{"ttft": 0.120, "e2e": 0.250}, Percentiles: []float64{50, 100}}, f)[0]

	if s.Requests != 4 || s.Completed != 3 || s.Failed != 1 || s.ErrorRate != 0.25 {
		t.Errorf("counts %d/%d/%d rate %v", s.Requests, s.Completed, s.Failed, s.ErrorRate)
	}
	if !reflect.DeepEqual(s.Errors, map[string]int{"timeout": 1}) {
		t.Errorf("errors %v", s.Errors)
	}
	checkF(t, "duration", s.Duration, 0.699)
	// bs output rule: usage 7; no usage and no chunk tokens → 2 chunks; usage 3.
	if s.TotalOutput != 12 || s.TotalInput != 60 {
		t.Errorf("total output %d input %d, want 12 and 60", s.TotalOutput, s.TotalInput)
	}
	// Per-chunk ITL: 50, 100 (request 0) and 10 ms (request 1).
	checkF(t, "itl_chunk.mean", s.ITLChunk.Mean, (0.05+0.1+0.01)/3)
	checkF(t, "itl_chunk.max", s.ITLChunk.Max, 0.1)
	if s.ITLChunk.Count != 3 {
		t.Errorf("itl_chunk count %d", s.ITLChunk.Count)
	}
	// Per-token ITL: 50 ms / 2 tokens twice, 100 ms / 4 tokens four times, then 10 ms (no counts).
	if s.ITLToken.Count != 7 {
		t.Errorf("itl_token count %d, want 7", s.ITLToken.Count)
	}
	checkF(t, "itl_token.mean", s.ITLToken.Mean, (6*0.025+0.01)/7)
	checkF(t, "itl_token.max", s.ITLToken.Max, 0.025)
	// vllm-chat: the reference ITL is per chunk.
	checkF(t, "itl.mean", s.ITL.Mean, s.ITLChunk.Mean)
	// TTFT and the scheduled-time variants.
	checkF(t, "ttft.mean", s.TTFT.Mean, (0.1+0.05+0.2)/3)
	checkF(t, "ttft_sched.max", s.TTFTSched.Max, 0.205)
	checkF(t, "ttft_sched.min", s.TTFTSched.Min, 0.06)
	checkF(t, "ttft_sched.mean", s.TTFTSched.Mean, (0.101+0.06+0.205)/3)
	checkF(t, "e2e_sched.mean", s.E2ESched.Mean, (0.301+0.09+0.215)/3)
	checkF(t, "e2e.max", s.E2E.Max, 0.3)
	if s.Queue.Count != 4 {
		t.Errorf("queue count %d (all requests)", s.Queue.Count)
	}
	checkF(t, "queue.max", s.Queue.Max, 0.01)
	checkF(t, "queue.mean", s.Queue.Mean, (0.001+0.01+0+0.005)/4)
	// TPOT: (300-100)/6, (80-50)/1, (210-200)/2 ms.
	checkF(t, "tpot.max", s.TPOT.Max, 0.2/6)
	checkF(t, "tpot.min", s.TPOT.Min, 0.005)
	checkF(t, "concurrency", s.Concurrency, (0.3+0.08+0.21)/0.699)
	// Extra percentiles: p50 of TTFT {50, 100, 200} ms is 100 ms; p100 is the max.
	if len(s.TTFT.Percentiles) != 2 || s.TTFT.Percentiles[0].V != 0.1 || s.TTFT.Percentiles[1].V != 0.2 {
		t.Errorf("ttft percentiles %+v", s.TTFT.Percentiles)
	}
	// Peaks: every output event and request is inside the first second.
	if s.MaxOutputTokensPerS != 6 || s.MaxConcurrentRequests != 3 {
		t.Errorf("peaks %v tokens/s, %d requests", s.MaxOutputTokensPerS, s.MaxConcurrentRequests)
	}
	// True peak in flight: a [1, 301) overlaps b [110, 190), then the failed c [200, 700) overlaps a
	// and later d [305, 515); never three at once.
	if s.PeakInFlight != 2 {
		t.Errorf("peak in flight %d, want 2", s.PeakInFlight)
	}
	// Schedule lag (no trailer, no cap): lags 1, 10, 0, 5 ms → p50 3 ms, p99 9.85 ms, max 10 ms.
	l := s.ScheduleLag
	if l == nil || l.Source != "events" {
		t.Fatalf("lag %+v", l)
	}
	checkF(t, "lag.p50", l.P50, 0.003)
	checkF(t, "lag.p99", l.P99, 0.00985)
	checkF(t, "lag.max", l.Max, 0.01)
	checkF(t, "achieved_rate", l.AchievedRate, 3/0.304)
	if l.ClientBound {
		t.Error("client_bound with p99 9.85 ms < 10 ms")
	}
	// SLO ttft ≤ 120 ms, e2e ≤ 250 ms: only request 1 meets both.
	if s.SLO == nil || s.SLO.Met != 1 || s.SLO.MetBy["ttft"] != 2 || s.SLO.MetBy["e2e"] != 2 {
		t.Fatalf("slo %+v", s.SLO)
	}
	checkF(t, "goodput", s.SLO.Goodput, 1/0.699)
	checkF(t, "attainment", s.SLO.Attainment, 0.25)
	// Drift: request 0's server prompt count 12 ≠ 10.
	d := s.Drift
	if d == nil || d.PromptChecked != 2 || d.PromptDrifted != 1 || d.OutputChecked != 2 || d.OutputDrifted != 0 ||
		d.ServerInput != 42 || d.ServerOutput != 10 || len(d.Events) != 1 || d.Events[0].ID != 0 {
		t.Errorf("drift %+v", d)
	}

	// --compat sglang on vllm-chat: no usage → the requested 5 tokens; TPOT (80-50)/4 ms.
	c := summaries(t, Options{Compat: CompatSGLang}, f)[0]
	if c.TotalOutput != 15 {
		t.Errorf("compat total output %d, want 15", c.TotalOutput)
	}
	checkF(t, "compat tpot.min", c.TPOT.Min, 0.005)
	checkF(t, "compat tpot.median", c.TPOT.Median, 0.03/4)
}

func TestWindowsAndGroups(t *testing.T) {
	f := writeEvents(t, filepath.Join(t.TempDir(), "ev.jsonl"), handHeader(t0), handEvents(), nil)
	count := func(o Options) int { return summaries(t, o, f)[0].Requests }
	if n := count(Options{SkipFirst: 100 * time.Millisecond}); n != 3 {
		t.Errorf("skip-first 100ms kept %d, want 3", n)
	}
	if n := count(Options{Window: &[2]time.Duration{0, 200 * time.Millisecond}}); n != 3 {
		t.Errorf("window 0,200ms kept %d, want 3", n)
	}
	if n := count(Options{SkipLast: 450 * time.Millisecond}); n != 3 {
		t.Errorf("skip-last 450ms kept %d, want 3", n)
	}
	s := summaries(t, Options{SkipFirst: 100 * time.Millisecond, SkipLast: 450 * time.Millisecond}, f)[0]
	if s.Requests != 2 || s.Window == nil || !near(s.Window.Start, 0.1) || !near(s.Window.End, 0.249) {
		t.Errorf("combined window: %d requests, %+v", s.Requests, s.Window)
	}
	checkF(t, "windowed duration", s.Duration, 0.59) // 110 ms → 700 ms
	g := summaries(t, Options{GroupBy: "lora"}, f)
	if len(g) != 2 || g[0].Group.Value != "a" || g[1].Group.Value != "b" || g[0].Completed != 2 || g[1].Completed != 1 || g[1].Failed != 1 {
		t.Fatalf("groups %+v", g)
	}
	checkF(t, "group a duration", g[0].Duration, 0.3)
	if s := summaries(t, Options{Window: &[2]time.Duration{5 * time.Second, 6 * time.Second}}, f)[0]; s.Requests != 0 || !hasNote(s, "window selects no events") {
		t.Errorf("empty window: %+v", s.Notes)
	}
}

func hasNote(s records.Summary, sub string) bool {
	for _, n := range s.Notes {
		if strings.Contains(n, sub) {
			return true
		}
	}
	return false
}

// finite fails on any NaN or infinity anywhere in the summary (json.Marshal rejects them too).
func finite(t *testing.T, s records.Summary) {
	t.Helper()
	if _, err := json.Marshal(s); err != nil {
		t.Fatalf("summary does not marshal: %v", err)
	}
}

func TestZeroSuccess(t *testing.T) {
	evs := handEvents()
	for i := range evs {
		evs[i].OK, evs[i].ErrorKind, evs[i].ChunkNS, evs[i].ChunkTokens = false, records.ErrHTTPStatus, nil, nil
	}
	f := writeEvents(t, filepath.Join(t.TempDir(), "ev.jsonl"), handHeader(t0), evs, nil)
	for _, o := range []Options{{}, {Compat: CompatSGLang, Series: true, Details: true, SLO: map[string]float64{"ttft": 1}}} {
		s := summaries(t, o, f)[0]
		finite(t, s)
		if s.Completed != 0 || s.Failed != 4 || s.ErrorRate != 1 || !s.E2E.Empty || !s.TTFT.Empty || s.RequestThroughput != 0 || s.Concurrency != 0 {
			t.Errorf("zero-success summary %+v", s)
		}
		if !hasNote(s, "no request succeeded (4 failed)") {
			t.Errorf("notes %v", s.Notes)
		}
	}
	// No events at all.
	empty := writeEvents(t, filepath.Join(t.TempDir(), "empty.jsonl"), handHeader(t0), nil, nil)
	s := summaries(t, Options{Details: true, Series: true}, empty)[0]
	finite(t, s)
	if s.Requests != 0 || !hasNote(s, "no events") || s.Run.Backend != "vllm-chat" {
		t.Errorf("empty input summary %+v", s)
	}
}

// Shards written by two bs-fire processes that started 250 ms apart, compressed differently, must give
// the same summary as one stream holding every event.
func TestCompressedShardMerge(t *testing.T) {
	dir := t.TempDir()
	evs := handEvents()
	whole := writeEvents(t, filepath.Join(dir, "all.jsonl"), handHeader(t0), evs, nil)
	shift := 250 * msNS
	second := make([]records.Event, 0, 2)
	for _, e := range evs[2:] {
		e.ScheduledNS -= shift
		e.SentNS -= shift
		e.EndNS -= shift
		second = append(second, e)
	}
	h2 := handHeader(t0.Add(time.Duration(shift)))
	h2.Host = "h2"
	a := writeEvents(t, filepath.Join(dir, "a.jsonl.zst"), handHeader(t0), evs[:2], nil)
	b := writeEvents(t, filepath.Join(dir, "b.jsonl.gz"), h2, second, nil)
	want := summaries(t, Options{}, whole)[0]
	got := summaries(t, Options{}, a, b)[0]
	if !reflect.DeepEqual(got.Run.Hosts, []string{"h1", "h2"}) || len(got.Run.Inputs) != 2 {
		t.Errorf("run %+v", got.Run)
	}
	got.Run, want.Run = records.SummaryRun{}, records.SummaryRun{}
	got.Notes, want.Notes = nil, nil
	if !reflect.DeepEqual(got, want) {
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		t.Errorf("merged shards differ:\n got %s\nwant %s", gj, wj)
	}
	// The same shards concatenated in one input (cat a b | bs-stat) also merge.
	if s := summaries(t, Options{GroupBy: "host"}, a, b); len(s) != 2 || s[0].Completed != 2 || s[1].Completed != 1 {
		t.Errorf("group-by host: %+v", s)
	}
}

func TestTrailerLag(t *testing.T) {
	acc := 2.5
	tr := &records.Trailer{Sent: 4, SendRate: 9.5, AcceptLength: &acc, ServerInfo: json.RawMessage(`{"x":1}`),
		Lag: records.LagStats{Count: 4, P50NS: 2 * msNS, P99NS: 30 * msNS, MaxNS: 40 * msNS, LimitNS: 20 * msNS, ClientBottleneck: true}}
	h := handHeader(t0)
	h.Run.MaxConcurrency = 2
	f := writeEvents(t, filepath.Join(t.TempDir(), "ev.jsonl"), h, handEvents(), tr)
	s := summaries(t, Options{}, f)[0]
	l := s.ScheduleLag
	if l == nil || l.Source != "trailer" || !l.ClientBound || l.P99 != 0.03 || l.Threshold != 0.02 || l.AchievedRate != 9.5 {
		t.Errorf("lag %+v", l)
	}
	if s.AcceptLength == nil || *s.AcceptLength != 2.5 || string(s.Run.ServerInfo) != `{"x":1}` {
		t.Errorf("accept length / server info from the trailer: %v %s", s.AcceptLength, s.Run.ServerInfo)
	}
	// Without a trailer and with a concurrency cap the lag is unknown.
	f2 := writeEvents(t, filepath.Join(t.TempDir(), "ev2.jsonl"), h, handEvents(), nil)
	if s := summaries(t, Options{}, f2)[0]; s.ScheduleLag != nil || !hasNote(s, "schedule lag unknown") {
		t.Errorf("capped run without trailer: %+v %v", s.ScheduleLag, s.Notes)
	}
}

// --compat sglang on sglang-oai with a positive accept length: each chunk gap is split over the
// chunk text's retokenized length (fact sheet §5.1); a chunk with no tokens keeps its gap (the
// reference would divide by zero) and a note says so.
func TestRetokenizedITL(t *testing.T) {
	h := handHeader(t0)
	h.Run.Backend = "sglang-oai"
	ev := []records.Event{{ID: 0, Seq: 0, RequestID: "a", SentNS: 0, EndNS: 300 * msNS, OK: true,
		ChunkNS:   []int64{100 * msNS, 150 * msNS, 250 * msNS, 260 * msNS},
		ChunkText: []string{"a", "b c", "d e f g", ""}, Text: "a b c d e f g", PromptLen: 5, OutputLen: 9}}
	al := 2.0
	f := writeEvents(t, filepath.Join(t.TempDir(), "ev.jsonl"), h, ev, &records.Trailer{AcceptLength: &al})
	s := summaries(t, Options{Compat: CompatSGLang, Tokenizer: wordTokenizer{}}, f)[0]
	if s.ITL.Count != 7 || s.ITL.Max != 0.025 || s.ITL.Min != 0.01 || !hasNote(s, "1 chunks retokenized to no tokens") {
		t.Errorf("retokenized ITL %+v notes %v", s.ITL, s.Notes)
	}
	if *s.TotalOutputRetokenized != 7 || s.TotalOutput != 9 {
		t.Errorf("retokenized total %d, output %d", *s.TotalOutputRetokenized, s.TotalOutput)
	}
	// Without --compat the reference ITL stays per chunk.
	b := summaries(t, Options{Tokenizer: wordTokenizer{}}, f)[0]
	if b.ITL.Count != 3 || b.ITL.Max != 0.1 {
		t.Errorf("bs ITL %+v", b.ITL)
	}
}

// A request that ends at the instant another is sent does not overlap it; requests sent together do.
func TestPeakInFlightEdges(t *testing.T) {
	ev := func(id int, sent, end int64) records.Event {
		return records.Event{ID: id, Seq: id, RequestID: strconv.Itoa(id), SentNS: sent * msNS, EndNS: end * msNS,
			OK: true, ChunkNS: []int64{(end - sent) * msNS}, PromptLen: 1, OutputLen: 1}
	}
	for _, c := range []struct {
		name   string
		events []records.Event
		want   int
	}{
		{"back to back", []records.Event{ev(0, 0, 10), ev(1, 10, 20), ev(2, 20, 30)}, 1},
		{"sent together", []records.Event{ev(0, 0, 10), ev(1, 0, 10), ev(2, 0, 5)}, 3},
		{"nested", []records.Event{ev(0, 0, 100), ev(1, 10, 20), ev(2, 15, 30), ev(3, 20, 40)}, 3},
	} {
		f := writeEvents(t, filepath.Join(t.TempDir(), "ev.jsonl"), handHeader(t0), c.events, nil)
		if got := summaries(t, Options{}, f)[0].PeakInFlight; got != c.want {
			t.Errorf("%s: peak in flight %d, want %d", c.name, got, c.want)
		}
	}
}

// The cache report sums the successes' prompt tokens (the server's count where positive) and cached
// tokens, and the tiers of the responses that split them; storage is named by the last response that
// had a storage hit.
func TestCacheReport(t *testing.T) {
	ev := func(id, prompt int, usage, cached *int, tiers *records.CacheTiers, ok bool) records.Event {
		e := records.Event{ID: id, Seq: id, RequestID: strconv.Itoa(id), SentNS: int64(id) * msNS, EndNS: int64(id+5) * msNS,
			OK: ok, ChunkNS: []int64{msNS}, PromptLen: prompt, OutputLen: 1, UsagePromptTokens: usage,
			CachedTokens: cached, CachedDetails: tiers}
		if !ok {
			e.ErrorKind, e.ChunkNS = records.ErrHTTPStatus, nil
		}
		return e
	}
	n := func(v int) *int { return &v }
	evs := []records.Event{
		ev(0, 100, n(120), n(64), &records.CacheTiers{Device: 60, Host: 4}, true),
		ev(1, 100, n(0), n(10), &records.CacheTiers{Device: 2, Host: 0, Storage: 8, StorageBackend: "mooncake"}, true),
		ev(2, 50, nil, nil, nil, true),                              // no report: prompt tokens still count
		ev(3, 80, n(80), n(80), nil, false),                         // failures count nowhere
		ev(4, 40, n(40), n(0), nil, true),                           // a reported miss
		ev(5, 30, nil, n(3), &records.CacheTiers{Storage: 3}, true), // storage without a backend name
	}
	path := writeEvents(t, filepath.Join(t.TempDir(), "ev.jsonl"), handHeader(t0), evs, nil)
	c := summaries(t, Options{}, path)[0].Cache
	if c == nil {
		t.Fatal("no cache report although responses reported cached tokens")
	}
	// Prompt tokens: 120 (server) + 100 (server said 0: the client's) + 50 + 40 + 30.
	want := records.CacheReport{PromptTokens: 340, CachedTokens: 77, HitRate: 77.0 / 340, Reporting: 4,
		Tiers: &records.CacheTiers{Device: 62, Host: 4, Storage: 11}}
	if !reflect.DeepEqual(*c, want) {
		t.Errorf("cache report %+v (tiers %+v), want %+v (tiers %+v)", *c, *c.Tiers, want, *want.Tiers)
	}

	// Without any report and without --cache-report there is no cache section; with it, zeros.
	plain := writeEvents(t, filepath.Join(t.TempDir(), "plain.jsonl"), handHeader(t0), evs[2:3], nil)
	if c := summaries(t, Options{}, plain)[0].Cache; c != nil {
		t.Errorf("cache report %+v without any reported hit", *c)
	}
	h := handHeader(t0)
	h.Run.CacheReport = true
	asked := writeEvents(t, filepath.Join(t.TempDir(), "asked.jsonl"), h, evs[2:3], nil)
	s := summaries(t, Options{}, asked)[0]
	if c := s.Cache; c == nil || *c != (records.CacheReport{PromptTokens: 50}) || !s.Run.CacheReport {
		t.Errorf("with --cache-report: %+v, run %+v", c, s.Run.CacheReport)
	}
}
