package sim

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAuth(t *testing.T) {
	ts := start(t, Config{APIKey: "sk-secret-123"})
	for _, tc := range []struct {
		path, auth string
		status     int
	}{
		{"/v1/completions", "", 401},
		{"/v1/completions", "Bearer wrong", 401},
		{"/v1/completions", "sk-secret-123", 401}, // raw key, as bench_serving sends $API_KEY
		{"/v1/completions", "Bearer sk-secret-123", 200},
		{"/v1/models", "", 401},
		{"/v1/models", "Bearer sk-secret-123", 200},
		{"/health", "", 200},
	} {
		var h []string
		if tc.auth != "" {
			h = []string{"Authorization", tc.auth}
		}
		var r response
		if tc.path == "/v1/completions" {
			r = ts.post(tc.path, `{"prompt":"x","max_tokens":1}`, h...)
		} else {
			r = ts.get(tc.path, h...)
		}
		if r.status != tc.status {
			t.Errorf("%s with %q: status %d, want %d", tc.path, tc.auth, r.status, tc.status)
		}
		if tc.status == 401 && r.body != `{"error":"Unauthorized"}` {
			t.Errorf("401 body %q", r.body)
		}
	}
	bodies := ts.bodies.String()
	recs := ts.truthRecords()
	if len(recs) != 4 {
		t.Fatalf("%d truth records, want 4", len(recs))
	}
	for i, want := range []string{OutcomeUnauthorized, OutcomeUnauthorized, OutcomeUnauthorized, OutcomeOK} {
		if recs[i].Outcome != want {
			t.Errorf("record %d outcome %q, want %q", i, recs[i].Outcome, want)
		}
	}
	if all := ts.truth.String() + bodies; strings.Contains(all, "sk-secret-123") || strings.Contains(all, "wrong") {
		t.Errorf("a credential reached the logs:\n%s", all)
	}
}

func TestRecordBodiesRedaction(t *testing.T) {
	ts := start(t, Config{})
	body := `{"model":"m","prompt":"héllo","max_tokens":1,"ignore_eos":true}`
	ts.post("/v1/completions?x=1", body, "Authorization", "Bearer sk-abc", "X-Api-Key", "k-999", "X-Request-Id", "r1", "X-SMG-Routing-Key", "rk")
	ts.post("/v1/completions", body, "Authorization", "sk-rawkey")
	ts.get("/v1/models")
	recs := ts.bodyRecords()
	if len(recs) != 3 {
		t.Fatalf("%d body records, want 3", len(recs))
	}
	r := recs[0]
	if r.Method != "POST" || r.Path != "/v1/completions" || r.Query != "x=1" || r.Body != body || r.BodyBase64 != "" {
		t.Errorf("record %+v", r)
	}
	for k, want := range map[string]string{"Authorization": "Bearer REDACTED", "X-Api-Key": "REDACTED", "X-Request-Id": "r1", "Content-Type": "application/json", "X-Smg-Routing-Key": "rk"} {
		if got := r.Headers.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if got := recs[1].Headers.Get("Authorization"); got != "REDACTED" {
		t.Errorf("raw Authorization recorded as %q, want REDACTED", got)
	}
	if recs[2].Method != "GET" || recs[2].Path != "/v1/models" || recs[2].Body != "" {
		t.Errorf("GET record %+v", recs[2])
	}
	if s := ts.bodies.String(); strings.Contains(s, "sk-abc") || strings.Contains(s, "k-999") || strings.Contains(s, "sk-rawkey") {
		t.Errorf("a credential reached the body log: %s", s)
	}
}

func TestFailRate(t *testing.T) {
	ts := start(t, Config{FailRate: 1, FailStatus: 503})
	for path, want := range map[string]string{
		"/generate":                           `{"error":{"message":"simulated failure (bs-sim --fail-rate)"}}`,
		"/v1/completions":                     `{"error":{"message":"simulated failure (bs-sim --fail-rate)","type":"ServiceUnavailableError","param":null,"code":503}}`,
		"/v2/models/ensemble/generate_stream": `{"error":"simulated failure (bs-sim --fail-rate)"}`,
	} {
		body := `{"text":"x","prompt":"x","text_input":"x","stream":true}`
		r := ts.post(path, body)
		if r.status != 503 || r.body != want {
			t.Errorf("%s: %d %s, want 503 %s", path, r.status, r.body, want)
		}
	}

	// A fractional rate fails a deterministic subset: the same requests on two servers with the
	// same seed, and some but not all of 200.
	failed := func(seed uint64) []int {
		ts := start(t, Config{FailRate: 0.3, Seed: seed})
		var out []int
		for i := range 200 {
			if ts.post("/v1/completions", `{"prompt":"x","max_tokens":1}`).status != 200 {
				out = append(out, i)
			}
		}
		return out
	}
	a, b := failed(7), failed(7)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("same seed, different failures:\n%v\n%v", a, b)
	}
	if len(a) < 30 || len(a) > 90 {
		t.Errorf("%d of 200 failed at rate 0.3", len(a))
	}
}

func TestStreamErrorAfter(t *testing.T) {
	for _, tc := range []struct {
		path, body, errEvent string
		done                 bool
	}{
		{"/generate", `{"text":"x","sampling_params":{"max_new_tokens":5},"stream":true}`, `{"error":{"message":"simulated stream error (bs-sim --stream-error-after 2)"}}`, true},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"max_tokens":5,"stream":true}`, `{"error":{"message":"simulated stream error (bs-sim --stream-error-after 2)","type":"InternalServerError","param":null,"code":500}}`, true},
		{"/v2/models/ensemble/generate_stream", `{"text_input":"x","max_tokens":5,"stream":true}`, `{"error":"simulated stream error (bs-sim --stream-error-after 2)"}`, false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			ts := start(t, Config{StreamErrorAfter: 2, StreamErrorRate: 1})
			r := ts.post(tc.path, tc.body)
			checkStreamHeaders(t, r)
			ev := splitSSE(t, r.body)
			want := 3 // two content events, then the error
			if tc.path == "/v1/chat/completions" {
				want++ // the role chunk shares the first event's write
			}
			if tc.done {
				want++
			}
			if len(ev) != want || ev[want-1-btoi(tc.done)] != tc.errEvent || (tc.done && ev[want-1] != "[DONE]") {
				t.Fatalf("events %q, want %d ending with %s", ev, want, tc.errEvent)
			}
			recs := ts.truthRecords()
			if rec := recs[0]; rec.Outcome != OutcomeStreamError || rec.CompletionTokens != 2 || len(rec.ChunkNS) != 2 || rec.Status != 200 || rec.FinishReason != "" {
				t.Errorf("record %+v", rec)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestDropAfter(t *testing.T) {
	ts := start(t, Config{DropAfter: 1, DropRate: 1})
	resp, err := http.Post(ts.URL+"/v1/completions", "application/json", strings.NewReader(`{"prompt":"x","max_tokens":5,"stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("read error %v, want unexpected EOF", err)
	}
	if ev := strings.Count(string(b), "data: "); ev != 1 {
		t.Errorf("got %d events before the drop, want 1: %q", ev, b)
	}
	recs := ts.truthRecords()
	if rec := recs[0]; rec.Outcome != OutcomeDropped || rec.CompletionTokens != 1 {
		t.Errorf("record %+v", rec)
	}
}

func TestFaultRatesAreFractional(t *testing.T) {
	ts := start(t, Config{StreamErrorAfter: 0, StreamErrorRate: 0.5, Seed: 3})
	errs := 0
	for range 60 {
		r := ts.post("/v1/completions", `{"prompt":"x","max_tokens":1,"stream":true}`)
		if strings.Contains(r.body, `"error"`) {
			errs++
		}
	}
	if errs == 0 || errs == 60 {
		t.Errorf("%d of 60 streams had an error at rate 0.5", errs)
	}
}

// TestQueueOrder checks that with one running slot, requests run one at a time in arrival order.
func TestQueueOrder(t *testing.T) {
	ts := start(t, Config{MaxConcurrency: 1, ITL: time.Millisecond})
	const n = 4
	var wg sync.WaitGroup
	bodies := make([]string, n)
	for i := range n {
		// Stream headers are sent once the request has its place in the queue, so once they
		// arrive the next request is sure to queue behind this one.
		req, _ := http.NewRequest("POST", ts.URL+"/generate", strings.NewReader(`{"text":"x","sampling_params":{"max_new_tokens":3},"stream":true}`))
		req.Header.Set("X-Request-Id", fmt.Sprint("q", i))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			bodies[i] = string(b)
		}()
	}
	wg.Wait()
	recs := ts.truthRecords()
	if len(recs) != n {
		t.Fatalf("%d records, want %d", len(recs), n)
	}
	byID := map[string]TruthRecord{}
	for _, r := range recs {
		byID[r.ID] = r
	}
	for i := 1; i < n; i++ {
		prev, cur := byID[fmt.Sprint("q", i-1)], byID[fmt.Sprint("q", i)]
		if cur.ReceivedNS < prev.ReceivedNS || cur.AdmittedNS < prev.EndNS {
			t.Errorf("q%d (received %d, admitted %d) overlaps q%d (end %d)", i, cur.ReceivedNS, cur.AdmittedNS, i-1, prev.EndNS)
		}
		if !strings.HasSuffix(bodies[i], "data: [DONE]\n\n") {
			t.Errorf("q%d incomplete: %q", i, bodies[i])
		}
	}
}

func TestSlotsFIFO(t *testing.T) {
	var s slots
	s.limit = 1
	never := make(chan struct{})
	if !s.wait(s.join(), never, never) {
		t.Fatal("first join failed")
	}
	const n = 5
	order := make(chan int, n)
	cancelled := make(chan struct{})
	for i := range n {
		cancel := never
		if i == 2 {
			cancel = cancelled
		}
		go func() {
			if s.wait(s.join(), cancel, never) {
				order <- i
				s.release()
			}
		}()
		waitFor(t, func() bool { _, w := s.load(); return w == i+1 })
	}
	close(cancelled) // waiter 2 gives up and leaves the queue
	waitFor(t, func() bool { _, w := s.load(); return w == n-1 })
	s.release()
	var got []int
	for range n - 1 {
		got = append(got, <-order)
	}
	if fmt.Sprint(got) != "[0 1 3 4]" {
		t.Errorf("served in order %v, want [0 1 3 4]", got)
	}
	waitFor(t, func() bool { r, w := s.load(); return r == 0 && w == 0 })
}

// waitFor polls cond (state reached by other goroutines) for up to 5 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
	}
}

func TestTruthLog(t *testing.T) {
	ts := start(t, Config{TTFT: time.Millisecond, ITL: 200 * time.Microsecond, Jitter: Jitter{Frac: 0.5}, TokensPerChunk: 2})
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path, body := "/v1/completions", `{"prompt":"a b","max_tokens":5,"stream":true}`
			if i%3 == 1 {
				path, body = "/generate", `{"text":"a","sampling_params":{"max_new_tokens":4}}`
			}
			if r := ts.post(path, body, "X-Request-Id", fmt.Sprint("t", i)); r.status != 200 {
				t.Errorf("status %d", r.status)
			}
		}()
	}
	wg.Wait()
	recs := ts.truthRecords()
	if len(recs) != 12 {
		t.Fatalf("%d records, want 12", len(recs))
	}
	seqs := map[uint64]bool{}
	for _, r := range recs {
		seqs[r.Seq] = true
		if r.ID != r.XRequestID || r.Outcome != OutcomeOK || r.Status != 200 || r.FinishReason != "length" {
			t.Errorf("record %+v", r)
		}
		if !(r.ReceivedNS <= r.AdmittedNS && r.AdmittedNS <= r.FirstTokenNS && r.FirstTokenNS == r.ChunkNS[0]) {
			t.Errorf("record %s: received %d, admitted %d, first token %d out of order", r.ID, r.ReceivedNS, r.AdmittedNS, r.FirstTokenNS)
		}
		sum := 0
		for i, c := range r.ChunkTokens {
			sum += c
			if i > 0 && r.ChunkNS[i] < r.ChunkNS[i-1] {
				t.Errorf("record %s: chunk times decrease: %v", r.ID, r.ChunkNS)
			}
		}
		if last := r.ChunkNS[len(r.ChunkNS)-1]; r.EndNS < last {
			t.Errorf("record %s: end %d before last chunk %d", r.ID, r.EndNS, last)
		}
		wantChunks := "[2 2 1]"
		if !r.Stream {
			wantChunks = "[4]"
		}
		if sum != r.CompletionTokens || fmt.Sprint(r.ChunkTokens) != wantChunks || len(r.ChunkNS) != len(r.ChunkTokens) {
			t.Errorf("record %s: chunks %v (%d) vs completion tokens %d", r.ID, r.ChunkTokens, len(r.ChunkNS), r.CompletionTokens)
		}
		if r.PromptTokens == 0 || r.MaxTokens != r.CompletionTokens {
			t.Errorf("record %s: prompt %d max %d", r.ID, r.PromptTokens, r.MaxTokens)
		}
	}
	if len(seqs) != 12 {
		t.Errorf("sequence numbers not unique: %v", seqs)
	}
}

func TestKeepAlive(t *testing.T) {
	ts := start(t, Config{})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	reused := 0
	for i := range 6 {
		path, body := "/v1/completions", `{"prompt":"x","max_tokens":3,"stream":true}`
		switch i % 3 {
		case 1:
			path, body = "/generate", `{"text":"x","sampling_params":{"max_new_tokens":2}}`
		case 2:
			path, body = "/v2/models/ensemble/generate_stream", `{"text_input":"x","max_tokens":2}`
		}
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
			if info.Reused {
				reused++
			}
		}}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "POST", ts.URL+path, strings.NewReader(body))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if reused != 5 {
		t.Errorf("%d of 5 later requests reused the connection", reused)
	}
}

func TestClientDisconnect(t *testing.T) {
	ts := start(t, Config{ITL: 20 * time.Millisecond})
	resp, err := http.Post(ts.URL+"/v1/completions", "application/json", strings.NewReader(`{"prompt":"x","max_tokens":1000,"stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil { // the first event
		t.Fatal(err)
	}
	resp.Body.Close()
	waitFor(t, func() bool { r, _ := ts.srv.slots.load(); return r == 0 })
	recs := ts.truthRecords()
	if rec := recs[0]; rec.Outcome != OutcomeClientClosed || rec.CompletionTokens >= 1000 {
		t.Errorf("record %+v", rec)
	}
}

func TestShutdown(t *testing.T) {
	truth := &syncBuffer{}
	srv, err := New(Config{ITL: 50 * time.Millisecond, TruthLog: truth})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	resp, err := http.Post("http://"+l.Addr().String()+"/v1/completions", "application/json", strings.NewReader(`{"prompt":"x","max_tokens":1000,"stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v, want the deadline error (a stream was still running)", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve: %v", err)
	}
	if !regexp.MustCompile(`"outcome":"shutdown"`).MatchString(truth.String()) {
		t.Errorf("truth log %q lacks the abandoned request", truth.String())
	}
	// After Close, requests get 503.
	rec := &recorder{header: http.Header{}}
	srv.ServeHTTP(rec, mustRequest(t, "GET", "/health"))
	if rec.status != http.StatusServiceUnavailable {
		t.Errorf("status after close %d, want 503", rec.status)
	}
}

type recorder struct {
	header http.Header
	status int
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *recorder) WriteHeader(s int)           { r.status = s }

func mustRequest(t *testing.T, method, path string) *http.Request {
	req, err := http.NewRequest(method, "http://127.0.0.1"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestConfigValidation(t *testing.T) {
	bad := []Config{
		{TTFT: -1}, {ITL: -time.Second}, {TokensPerChunk: -1}, {FailRate: 1.5}, {FailStatus: 200},
		{StreamErrorAfter: -1, StreamErrorRate: 1}, {DropRate: -0.1}, {SpecAcceptLength: 0.5}, {Jitter: Jitter{Frac: 2}},
		{MaxConcurrency: -2}, {CharsPerToken: -1},
	}
	for _, c := range bad {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted an invalid config", c)
		}
	}
	_, err := New(Config{TTFT: -1, FailRate: 2})
	if err == nil || !strings.Contains(err.Error(), "ttft:") || !strings.Contains(err.Error(), "fail-rate:") {
		t.Errorf("error %v should name both fields", err)
	}
}

func TestParseJitter(t *testing.T) {
	for in, want := range map[string]Jitter{
		"": {}, "0": {}, "0.1": {Frac: 0.1}, "25%": {Frac: 0.25}, "2ms": {Dur: 2 * time.Millisecond}, "1": {Frac: 1},
	} {
		got, err := ParseJitter(in)
		if err != nil || got != want {
			t.Errorf("ParseJitter(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"1.5", "-0.1", "abc", "-2ms", "200%"} {
		if _, err := ParseJitter(in); err == nil {
			t.Errorf("ParseJitter(%q) accepted", in)
		}
	}
	var j Jitter
	if err := j.UnmarshalText([]byte("3ms")); err != nil || j.String() != "3ms" {
		t.Errorf("UnmarshalText: %v %v", j, err)
	}
}

func TestTimeline(t *testing.T) {
	srv, err := New(Config{TTFT: 10 * time.Millisecond, PrefillPerToken: time.Millisecond, ITL: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	g := &gen{s: srv, p: genParams{promptTokens: 5, maxTokens: 4}}
	g.plan()
	for i, want := range []time.Duration{15, 17, 19, 21} {
		if got := g.offset(i); got != want*time.Millisecond {
			t.Errorf("offset(%d) = %v, want %vms", i, got, want)
		}
	}
	jit, _ := New(Config{TTFT: 10 * time.Millisecond, ITL: 2 * time.Millisecond, Jitter: Jitter{Frac: 0.5}, Seed: 9})
	offsets := func(seq uint64) []time.Duration {
		g := &gen{s: jit, seq: seq, p: genParams{maxTokens: 50}}
		g.plan()
		var out []time.Duration
		for i := range 50 {
			out = append(out, g.offset(i))
		}
		return out
	}
	a, b, c := offsets(1), offsets(1), offsets(2)
	if fmt.Sprint(a) != fmt.Sprint(b) || fmt.Sprint(a) == fmt.Sprint(c) {
		t.Error("jitter is not a deterministic function of (seed, request)")
	}
	varied := false
	for i := range a {
		if i > 0 && (a[i]-a[i-1] < time.Millisecond || a[i]-a[i-1] > 3*time.Millisecond) {
			t.Errorf("gap %d = %v outside 2ms±50%%", i, a[i]-a[i-1])
		}
		if i > 0 && a[i]-a[i-1] != 2*time.Millisecond {
			varied = true
		}
	}
	if !varied || a[0] < 5*time.Millisecond || a[0] > 15*time.Millisecond {
		t.Errorf("offsets %v: want jittered gaps and TTFT in 10ms±50%%", a[:5])
	}
}

func TestVocab(t *testing.T) {
	seen := map[string]bool{}
	word := regexp.MustCompile(`^ [a-z]+$`)
	for _, w := range vocab {
		if !word.MatchString(w) || seen[w] {
			t.Errorf("vocab entry %q is not a unique ' word'", w)
		}
		seen[w] = true
	}
	// The word sequence is a pure function of (seed, request, index) and uses the whole list.
	used := map[int]bool{}
	for k := range 5000 {
		used[wordIndex(1, 2, k)] = true
	}
	if len(used) != len(vocab) || words(1, 2, 0, 30) != words(1, 2, 0, 30) || words(1, 2, 0, 30) == words(1, 3, 0, 30) {
		t.Errorf("word choice: %d of %d words used", len(used), len(vocab))
	}
}
