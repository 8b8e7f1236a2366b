package fire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bsbench/bs/pkg/records"
)

func newRunner(ts *testServer, prompts []records.Prompt) *Runner {
	return &Runner{
		Backend: &fakeBackend{url: ts.URL + "/gen"},
		Client:  NewClient(64),
		Prompts: &SliceSource{Prompts: prompts},
		N:       len(prompts),
		Timeout: time.Minute,
		Grace:   time.Minute,
		MaxLag:  10 * time.Millisecond,
	}
}

func TestEveryPromptOneEvent(t *testing.T) {
	ts := newTestServer(t)
	prompts := textPrompts(50, 3)
	r := newRunner(ts, prompts)
	r.RequestIDPrefix = "0000run1"
	res, h, evs, trs := runStream(t, r)
	if h.StartTime == nil || h.Tool != "bs-fire" || h.Stream != records.StreamEvents {
		t.Errorf("header %+v", h)
	}
	if len(evs) != 50 {
		t.Fatalf("%d events, want 50", len(evs))
	}
	seen := map[int]bool{}
	for _, ev := range evs {
		if seen[ev.Seq] {
			t.Errorf("seq %d twice", ev.Seq)
		}
		seen[ev.Seq] = true
		if ev.ID != 100+ev.Seq || !ev.OK || len(ev.ChunkNS) != 3 || ev.Group != "g" || ev.PromptLen != 2 || ev.OutputLen != 3 {
			t.Errorf("event %+v", ev)
		}
		if ev.RequestID != fmt.Sprintf("0000run1-0000-4000-8000-%012x", ev.Seq) {
			t.Errorf("request id %q for seq %d", ev.RequestID, ev.Seq)
		}
		if ev.ScheduledNS != 0 || ev.SentNS < ev.ScheduledNS || ev.EndNS < ev.SentNS {
			t.Errorf("times %d %d %d", ev.ScheduledNS, ev.SentNS, ev.EndNS)
		}
	}
	// The server saw exactly the ids recorded.
	ts.mu.Lock()
	ids := slices.Clone(ts.ids)
	ts.mu.Unlock()
	slices.Sort(ids)
	var want []string
	for _, ev := range evs {
		want = append(want, ev.RequestID)
	}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("server ids differ from recorded ids")
	}
	if len(trs) != 1 {
		t.Fatalf("%d trailers", len(trs))
	}
	tr := trs[0]
	if tr.Sent != 50 || tr.OK != 50 || tr.Failed != 0 || tr.Cancelled != 0 || tr.NotSent != 0 || tr.Interrupted != "" ||
		tr.Lag.Count != 50 || tr.Lag.LimitNS != int64(10*time.Millisecond) || tr.EndTime.IsZero() {
		t.Errorf("trailer %+v", tr)
	}
	if tr.Lag != res.Trailer.Lag || res.Dispatched != 50 {
		t.Errorf("result %+v", res)
	}
	var maxEnd int64
	for _, ev := range evs {
		maxEnd = max(maxEnd, ev.EndNS)
	}
	if tr.DurationNS != maxEnd {
		t.Errorf("duration %d, want the last end %d", tr.DurationNS, maxEnd)
	}
}

func TestConcurrencyCap(t *testing.T) {
	ts := newTestServer(t)
	ts.hold = make(chan struct{})
	ts.reached, ts.reachAt = make(chan struct{}), 4
	r := newRunner(ts, textPrompts(40, 2))
	r.MaxConcurrency = 4
	go func() {
		// Hold the first requests until four are in flight, so the cap is reached for sure, then let
		// everything through.
		<-ts.reached
		close(ts.hold)
	}()
	_, _, evs, trs := runStream(t, r)
	if len(evs) != 40 || trs[0].OK != 40 {
		t.Fatalf("%d events, trailer %+v", len(evs), trs[0])
	}
	if m := ts.maxInflight.Load(); m != 4 {
		t.Errorf("max in flight at the server %d, want exactly the cap 4", m)
	}
}

// With a cap of 1 every request but the first queues in the client: it is sent only when the previous
// one ended, in arrival order, and that wait is recorded as sent_ns > scheduled_ns.
func TestQueueingIsRecorded(t *testing.T) {
	ts := newTestServer(t)
	ts.delay = time.Millisecond
	r := newRunner(ts, textPrompts(6, 2))
	r.MaxConcurrency = 1
	_, _, evs, trs := runStream(t, r)
	slices.SortFunc(evs, func(a, b records.Event) int { return a.Seq - b.Seq })
	for i := 1; i < len(evs); i++ {
		if evs[i].ScheduledNS != 0 {
			t.Errorf("seq %d scheduled at %d", i, evs[i].ScheduledNS)
		}
		if evs[i].SentNS < evs[i-1].EndNS {
			t.Errorf("seq %d sent at %d before seq %d ended at %d", i, evs[i].SentNS, i-1, evs[i-1].EndNS)
		}
		if evs[i].SentNS <= evs[i].ScheduledNS {
			t.Errorf("seq %d: sent_ns %d not after scheduled_ns %d", i, evs[i].SentNS, evs[i].ScheduledNS)
		}
	}
	// Only the first request found a free slot; the others' waits are not schedule lag.
	if trs[0].Lag.Count != 1 {
		t.Errorf("lag counted over %d requests, want 1", trs[0].Lag.Count)
	}
}

func TestScheduleIsFollowed(t *testing.T) {
	ts := newTestServer(t)
	r := newRunner(ts, textPrompts(4, 1))
	r.Times = []time.Duration{0, 20 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond}
	_, _, evs, trs := runStream(t, r)
	for _, ev := range evs {
		if ev.ScheduledNS != int64(r.Times[ev.Seq]) {
			t.Errorf("seq %d scheduled at %d, want %d", ev.Seq, ev.ScheduledNS, r.Times[ev.Seq])
		}
		if ev.SentNS < ev.ScheduledNS {
			t.Errorf("seq %d sent at %d, before it was due at %d", ev.Seq, ev.SentNS, ev.ScheduledNS)
		}
	}
	if trs[0].SendRate <= 0 {
		t.Errorf("send rate %v", trs[0].SendRate)
	}
}

// The first interrupt stops dispatching and lets requests in flight finish; prompts never sent have no
// event and are counted in the trailer.
func TestInterruptGraceful(t *testing.T) {
	ts := newTestServer(t)
	ts.hold = make(chan struct{})
	ts.reached, ts.reachAt = make(chan struct{}), 3
	r := newRunner(ts, textPrompts(10, 2))
	r.Times = []time.Duration{0, 0, 0, time.Hour} // the 4th onwards are never due
	intr := make(chan struct{}, 2)
	r.Interrupts = intr
	go func() {
		ts.waitReached(t)
		intr <- struct{}{}
		time.Sleep(20 * time.Millisecond) // let the runner see it before the requests end
		close(ts.hold)
	}()
	res, _, evs, trs := runStream(t, r)
	if len(evs) != 3 {
		t.Fatalf("%d events, want 3", len(evs))
	}
	for _, ev := range evs {
		if !ev.OK {
			t.Errorf("in-flight request did not finish: %+v", ev)
		}
	}
	tr := trs[0]
	if tr.Interrupted != records.InterruptSignal || tr.NotSent != 7 || tr.OK != 3 || tr.Sent != 3 {
		t.Errorf("trailer %+v", tr)
	}
	if s := res.Summary(); !strings.Contains(s, "not sent 7") || !strings.Contains(s, "stopped early (signal)") {
		t.Errorf("summary %q", s)
	}
}

// When the grace period runs out, requests still in flight are cancelled and recorded as such.
func TestInterruptGraceExpires(t *testing.T) {
	ts := newTestServer(t)
	ts.hold = make(chan struct{}) // never released
	ts.reached, ts.reachAt = make(chan struct{}), 3
	r := newRunner(ts, textPrompts(3, 2))
	r.Grace = 30 * time.Millisecond
	intr := make(chan struct{}, 2)
	r.Interrupts = intr
	go func() {
		ts.waitReached(t)
		intr <- struct{}{}
	}()
	_, _, evs, trs := runStream(t, r)
	checkAllCancelled(t, evs, 3)
	if trs[0].Cancelled != 3 || trs[0].Interrupted != records.InterruptSignal || trs[0].ServerInfo != nil {
		t.Errorf("trailer %+v", trs[0])
	}
}

// A second interrupt cancels at once, however long the grace period.
func TestInterruptTwice(t *testing.T) {
	ts := newTestServer(t)
	ts.hold = make(chan struct{})
	ts.reached, ts.reachAt = make(chan struct{}), 2
	r := newRunner(ts, textPrompts(2, 2))
	r.Grace = time.Hour
	intr := make(chan struct{}, 2)
	r.Interrupts = intr
	go func() {
		ts.waitReached(t)
		intr <- struct{}{}
		intr <- struct{}{}
	}()
	_, _, evs, trs := runStream(t, r)
	checkAllCancelled(t, evs, 2)
	if trs[0].Cancelled != 2 {
		t.Errorf("trailer %+v", trs[0])
	}
	close(ts.hold)
}

func checkAllCancelled(t *testing.T, evs []records.Event, n int) {
	t.Helper()
	if len(evs) != n {
		t.Fatalf("%d events, want %d", len(evs), n)
	}
	for _, ev := range evs {
		if ev.OK || ev.ErrorKind != records.ErrCancelled || ev.EndNS < ev.SentNS {
			t.Errorf("event not recorded as cancelled: %+v", ev)
		}
	}
}

// An interrupt while the dispatcher waits for a slot stops it: the waiting prompts are never sent.
func TestInterruptWhileQueued(t *testing.T) {
	ts := newTestServer(t)
	ts.hold = make(chan struct{}) // the first request never ends by itself
	defer close(ts.hold)
	ts.reached, ts.reachAt = make(chan struct{}), 1
	r := newRunner(ts, textPrompts(5, 1))
	r.MaxConcurrency = 1
	r.Grace = 10 * time.Millisecond
	intr := make(chan struct{}, 2)
	r.Interrupts = intr
	go func() {
		ts.waitReached(t)
		intr <- struct{}{}
	}()
	_, _, evs, trs := runStream(t, r)
	checkAllCancelled(t, evs, 1)
	if trs[0].NotSent != 4 || len(ts.ids) != 1 {
		t.Fatalf("trailer %+v, server saw %v", trs[0], ts.ids)
	}
}

func TestTimeout(t *testing.T) {
	ts := newTestServer(t)
	ts.hold = make(chan struct{})
	defer close(ts.hold)
	r := newRunner(ts, textPrompts(2, 1))
	r.Timeout = 20 * time.Millisecond
	_, _, evs, trs := runStream(t, r)
	for _, ev := range evs {
		if ev.ErrorKind != records.ErrTimeout || !strings.Contains(ev.Error, "--timeout") {
			t.Errorf("event %+v", ev)
		}
	}
	if trs[0].Failed != 2 || trs[0].Interrupted != "" {
		t.Errorf("trailer %+v", trs[0])
	}
}

// Failures are events too: a server answering 401 gives failed events, and the run completes.
func TestFailuresRecorded(t *testing.T) {
	ts := newTestServer(t)
	ts.auth = "Bearer right"
	r := newRunner(ts, textPrompts(3, 1))
	r.Backend = &fakeBackend{url: ts.URL + "/gen", auth: "Bearer wrong"}
	_, _, evs, trs := runStream(t, r)
	for _, ev := range evs {
		if ev.OK || ev.Status != 401 || ev.ErrorKind != records.ErrHTTPStatus {
			t.Errorf("event %+v", ev)
		}
	}
	if trs[0].Failed != 3 || trs[0].Sent != 3 {
		t.Errorf("trailer %+v", trs[0])
	}
}

// A multi-turn conversation holds one slot, sends its rounds in order with the growing history (1, 3,
// 5 messages: each round adds a user message and the previous reply), one event per round.
func TestMultiTurn(t *testing.T) {
	ts := newTestServer(t)
	conv := records.Prompt{ID: 7, PromptLen: 3, OutputLen: 2, Turns: [][]records.Message{
		{records.TextMessage("user", "a")}, {records.TextMessage("user", "b")}, {records.TextMessage("user", "c")}}}
	r := newRunner(ts, []records.Prompt{conv})
	r.MaxConcurrency = 1
	r.RequestIDPrefix = "000000mt"
	_, _, evs, trs := runStream(t, r)
	if len(evs) != 3 {
		t.Fatalf("%d events", len(evs))
	}
	for i, ev := range evs {
		if ev.Turn != i+1 || ev.Seq != 0 || ev.ID != 7 || !ev.OK || ev.RequestID != fmt.Sprintf("000000mt-%04x-4000-8000-000000000000", i+1) {
			t.Errorf("round %d: %+v", i+1, ev)
		}
		if i > 0 && (ev.SentNS < evs[i-1].EndNS || ev.ScheduledNS < evs[i-1].EndNS) {
			t.Errorf("round %d sent before round %d ended", i+1, i)
		}
	}
	if !slices.Equal(ts.msgCounts, []int{1, 3, 5}) {
		t.Errorf("message counts seen by the server %v, want [1 3 5]", ts.msgCounts)
	}
	if trs[0].Sent != 3 || trs[0].Lag.Count != 1 {
		t.Errorf("trailer %+v", trs[0])
	}
}

// A bad record in the middle of a streamed input stops dispatching; what was sent is still recorded.
func TestInputErrorStopsRun(t *testing.T) {
	ts := newTestServer(t)
	in := `{"id":0,"text":"a","prompt_len":1,"output_len":1}` + "\n" + `{"id":1,"text":"b","prompt_len":"x"}` + "\n"
	rd := records.NewReaderFrom[records.Prompt](records.StreamPrompts, "p.jsonl", strings.NewReader(in))
	r := newRunner(ts, nil)
	r.Prompts, r.N = FuncSource(rd.Next), 0
	res, _, evs, trs := runStream(t, r)
	var de *records.DecodeError
	if !errors.As(res.Err, &de) || de.Line != 2 || de.Field != "prompt_len" {
		t.Fatalf("error %v, want a decode error at line 2, field prompt_len", res.Err)
	}
	if len(evs) != 1 || trs[0].Interrupted != records.InterruptInputError {
		t.Errorf("events %d trailer %+v", len(evs), trs[0])
	}
}

// epipeWriter accepts the header, then fails like a closed pipe.
type epipeWriter struct{ n int }

func (w *epipeWriter) Write(p []byte) (int, error) {
	w.n++
	if w.n > 1 {
		return 0, syscall.EPIPE
	}
	return len(p), nil
}

// A closed output stops the run at once: nothing more is dispatched and requests in flight are cancelled.
func TestOutputClosed(t *testing.T) {
	ts := newTestServer(t)
	r := newRunner(ts, textPrompts(3, 1))
	r.Times = []time.Duration{0, time.Hour}
	r.Out = &epipeWriter{}
	r.Header = records.Header{Stream: records.StreamEvents}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Trailer.Interrupted != records.InterruptOutputClosed || !records.IsBrokenPipe(res.Err) || res.Trailer.NotSent != 2 {
		t.Errorf("result %+v err %v", res.Trailer, res.Err)
	}
}

// The after-run hook's server info lands in the trailer.
func TestAfterRun(t *testing.T) {
	ts := newTestServer(t)
	r := newRunner(ts, textPrompts(1, 1))
	al := 3.25
	r.AfterRun = func(ctx context.Context) ([]byte, *float64) { return []byte(`{"a":1}`), &al }
	_, _, _, trs := runStream(t, r)
	if string(trs[0].ServerInfo) != `{"a":1}` || *trs[0].AcceptLength != 3.25 {
		t.Errorf("trailer %+v", trs[0])
	}
}

// Events reach the output as they complete, not at the end: with a server that holds the second
// request, the first event is readable while the run is still going.
func TestEventsFlushedPromptly(t *testing.T) {
	ts := newTestServer(t)
	pr, pw := io.Pipe()
	r := newRunner(ts, textPrompts(2, 1))
	r.Times = []time.Duration{0, 50 * time.Millisecond}
	release := make(chan struct{})
	r.Backend = &gateBackend{fakeBackend: fakeBackend{url: ts.URL + "/gen"}, gate: release}
	r.Out = pw
	r.Header = records.Header{Stream: records.StreamEvents}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(context.Background())
		pw.Close()
	}()
	rd := records.NewReaderFrom[records.Event](records.StreamEvents, "pipe", pr)
	var ev records.Event
	if err := rd.Next(&ev); err != nil {
		t.Fatal(err)
	}
	if ev.Seq != 0 {
		t.Errorf("first event seq %d", ev.Seq)
	}
	close(release) // only now may the second request finish
	for rd.Next(&ev) == nil {
	}
	<-done
}

// gateBackend holds every request but the first until gate is closed.
type gateBackend struct {
	fakeBackend
	gate chan struct{}
}

func (g *gateBackend) Send(ctx context.Context, c *http.Client, p *records.Prompt, msgs []records.Message, ev *records.Event, zero time.Time) string {
	if ev.Seq > 0 {
		<-g.gate
	}
	return g.fakeBackend.Send(ctx, c, p, msgs, ev, zero)
}

func TestWarmup(t *testing.T) {
	ts := newTestServer(t)
	b := &fakeBackend{url: ts.URL + "/gen"}
	p := WarmupPrompt(records.Prompt{ID: 1, Text: "x", OutputLen: 100, ExtraBody: []byte(`{"a":1}`)}, "lora1")
	if p.OutputLen != 32 || p.ExtraBody != nil || p.Lora != "lora1" {
		t.Fatalf("warm-up prompt %+v", p)
	}
	if err := Warmup(context.Background(), b, NewClient(2), p, 3, 2, time.Minute, "w"); err != nil {
		t.Fatal(err)
	}
	if len(ts.ids) != 3 || ts.maxInflight.Load() > 2 {
		t.Errorf("server saw %v, max in flight %d", ts.ids, ts.maxInflight.Load())
	}
	ts.auth = "Bearer k"
	err := Warmup(context.Background(), b, NewClient(2), p, 2, 0, time.Minute, "w")
	if err == nil || !strings.Contains(err.Error(), "warm-up failed") || !strings.Contains(err.Error(), "HTTP 401") {
		t.Errorf("error %v", err)
	}
}

func TestLagSummary(t *testing.T) {
	var lags []int64
	for i := range 101 {
		lags = append(lags, int64(i)*1000) // 0, 1 µs, …, 100 µs
	}
	s := LagSummary(lags, 98*time.Microsecond)
	if s.Count != 101 || s.P50NS != 50000 || s.P99NS != 99000 || s.MaxNS != 100000 || !s.ClientBottleneck {
		t.Errorf("%+v", s)
	}
	if LagSummary(lags, 99*time.Microsecond).ClientBottleneck {
		t.Error("p99 equal to the limit is not a bottleneck")
	}
	res := Result{Trailer: records.Trailer{Lag: s}}
	if w := res.Warning(); !strings.Contains(w, "the client was the bottleneck") {
		t.Errorf("warning %q", w)
	}
	if LagSummary(nil, time.Millisecond).Count != 0 {
		t.Error("empty")
	}
}
