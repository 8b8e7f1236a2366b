package sim

import (
	"bufio"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The llama.cpp mimic's wire formats, checked byte for byte against what llama-cpp-python 0.3.36
// sent in test/llamacpp (README.md there): key order, spacing, the role-only first chat chunk, the
// empty final chunk, no usage in streams, ids.

const testUUID = "0b8a9f3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"

func llamaStart(t *testing.T, cfg Config) *testServer {
	t.Helper()
	cfg.Mimic = MimicLlamaCpp
	return start(t, cfg)
}

func TestLlamaCppCompletionsStream(t *testing.T) {
	ts := llamaStart(t, Config{Model: "ignored"})
	// stream_options.include_usage and ignore_eos are accepted and ignored.
	r := ts.post("/v1/completions", `{"model":"tiny-qwen3","prompt":"a b c","max_tokens":2,"stream":true,"ignore_eos":true,"stream_options":{"include_usage":true}}`, "X-Request-Id", testUUID)
	checkStreamHeaders(t, r)
	if got := r.header.Get("X-Request-Id"); got != testUUID {
		t.Errorf("X-Request-Id %q, want the request's %q", got, testUUID)
	}
	if r.header.Get("Cache-Control") != "no-store" || r.header.Get("X-Accel-Buffering") != "no" {
		t.Errorf("stream headers %v", r.header)
	}
	head := `data: {"id": "cmpl-` + llamaUUID(0, 0) + `", "object": "text_completion", "created": T, "model": "tiny-qwen3", "choices": `
	want := head + fmt.Sprintf(`[{"text": %q, "index": 0, "logprobs": null, "finish_reason": null}]}`, words(0, 0, 0, 1)) + "\n\n" +
		head + fmt.Sprintf(`[{"text": %q, "index": 0, "logprobs": null, "finish_reason": null}]}`, words(0, 0, 1, 2)) + "\n\n" +
		head + `[{"text": "", "index": 0, "logprobs": null, "finish_reason": "length"}]}` + "\n\n" +
		"data: [DONE]\n\n"
	checkBody(t, strings.ReplaceAll(r.body, `"created": `, `"created":`), strings.ReplaceAll(want, `"created": T`, `"created":T`))
	recs := ts.truthRecords()
	if len(recs) != 1 || recs[0].ID != llamaUUID(0, 0) || recs[0].CompletionTokens != 2 || len(recs[0].ChunkNS) != 2 || recs[0].XRequestID != testUUID {
		t.Errorf("truth %+v", recs)
	}
}

func TestLlamaCppChatStream(t *testing.T) {
	ts := llamaStart(t, Config{})
	// max_completion_tokens is ignored; max_tokens counts.
	r := ts.post("/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":2,"max_completion_tokens":1,"stream":true,"stream_options":{"include_usage":true}}`)
	checkStreamHeaders(t, r)
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(r.header.Get("X-Request-Id")) {
		t.Errorf("generated X-Request-Id %q, want 32 hex digits", r.header.Get("X-Request-Id"))
	}
	head := `data: {"id": "chatcmpl-` + llamaUUID(0, 0) + `", "model": "m", "created": T, "object": "chat.completion.chunk", "choices": `
	want := head + `[{"index": 0, "delta": {"role": "assistant"}, "logprobs": null, "finish_reason": null}]}` + "\n\n" +
		head + fmt.Sprintf(`[{"index": 0, "delta": {"content": %q}, "logprobs": null, "finish_reason": null}]}`, words(0, 0, 0, 1)) + "\n\n" +
		head + fmt.Sprintf(`[{"index": 0, "delta": {"content": %q}, "logprobs": null, "finish_reason": null}]}`, words(0, 0, 1, 2)) + "\n\n" +
		head + `[{"index": 0, "delta": {}, "logprobs": null, "finish_reason": "length"}]}` + "\n\n" +
		"data: [DONE]\n\n"
	checkBody(t, strings.ReplaceAll(r.body, `"created": `, `"created":`), strings.ReplaceAll(want, `"created": T`, `"created":T`))
}

func TestLlamaCppUnary(t *testing.T) {
	ts := llamaStart(t, Config{})
	r := ts.post("/v1/completions", `{"model":"m","prompt":"a b c","max_tokens":2}`)
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d %v", r.status, r.header)
	}
	checkBody(t, r.body, fmt.Sprintf(`{"id":"cmpl-%s","object":"text_completion","created":T,"model":"m","choices":[{"text":%q,"index":0,"logprobs":null,"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`,
		llamaUUID(0, 0), words(0, 0, 0, 2)))
	r = ts.post("/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"a b"}],"max_tokens":1}`)
	checkBody(t, r.body, fmt.Sprintf(`{"id":"chatcmpl-%s","object":"chat.completion","created":T,"model":"m","choices":[{"index":0,"message":{"content":%q,"role":"assistant"},"logprobs":null,"finish_reason":"length"}],"usage":{"prompt_tokens":2,"completion_tokens":1,"total_tokens":3}}`,
		llamaUUID(0, 1), words(0, 1, 0, 1)))
}

func TestLlamaCppMaxTokens(t *testing.T) {
	ts := llamaStart(t, Config{MaxModelLen: 20, DefaultOutputLen: 5})
	for _, tc := range []struct {
		path, body string
		want       int
	}{
		{"/v1/completions", `{"prompt":"a b c"}`, 16},                   // llama-cpp-python's default, not DefaultOutputLen
		{"/v1/completions", `{"prompt":"a b c","max_tokens":0}`, 17},    // until the context is full
		{"/v1/completions", `{"prompt":"a b c","max_tokens":null}`, 17}, // same
		{"/v1/completions", `{"prompt":"a b c","max_tokens":4}`, 4},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"a b c"}]}`, 17},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"a b c"}],"max_completion_tokens":2}`, 17},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"a b c"}],"max_tokens":3,"stream":true}`, 3},
	} {
		if r := ts.post(tc.path, tc.body); r.status != 200 {
			t.Fatalf("%s %s: status %d %q", tc.path, tc.body, r.status, r.body)
		}
	}
	recs := ts.truthRecords()
	for i, want := range []int{16, 17, 17, 4, 17, 17, 3} {
		if recs[i].CompletionTokens != want || recs[i].MaxTokens != want {
			t.Errorf("request %d: %d tokens (max %d), want %d", i, recs[i].CompletionTokens, recs[i].MaxTokens, want)
		}
	}
}

func TestLlamaCppIgnoresIgnoreEOS(t *testing.T) {
	ts := llamaStart(t, Config{EOSAfter: 2})
	r := ts.post("/v1/completions", `{"prompt":"x","max_tokens":5,"ignore_eos":true,"stream":true}`)
	if !strings.Contains(r.body, `"text": "", "index": 0, "logprobs": null, "finish_reason": "stop"}]}`) {
		t.Errorf("want an EOS stop despite ignore_eos: %s", r.body)
	}
	ts.post("/v1/completions", `{"prompt":"x","max_tokens":5,"min_tokens":3}`) // min_tokens is honoured
	recs := ts.truthRecords()
	if recs[0].CompletionTokens != 2 || recs[0].FinishReason != "stop" || recs[1].CompletionTokens != 3 {
		t.Errorf("truth %+v", recs)
	}
}

func TestLlamaCppRequestID(t *testing.T) {
	ts := llamaStart(t, Config{})
	for _, tc := range []struct {
		id     string
		status int
	}{
		{"bsf-46e372b9-0", 400},
		{"not-a-uuid", 400},
		{"0b8a9f3e1c2d4e5f8a9b0c1d2e3f4a5", 400}, // 31 digits
		{testUUID, 200},
		{strings.ToUpper(testUUID), 200},
		{"0b8a9f3e1c2d4e5f8a9b0c1d2e3f4a5b", 200},
		{"urn:uuid:{" + testUUID + "}", 200},
		{"0b8a9f3e-0000-4000-8000-000000000007", 200},
	} {
		r := ts.post("/v1/completions", `{"prompt":"x","max_tokens":1}`, "X-Request-Id", tc.id)
		if r.status != tc.status {
			t.Errorf("X-Request-Id %q: status %d, want %d", tc.id, r.status, tc.status)
		}
		if tc.status == 400 && (r.body != "" || r.contentLength != 0) {
			t.Errorf("X-Request-Id %q: 400 body %q, want empty", tc.id, r.body)
		}
		if tc.status == 200 && r.header.Get("X-Request-Id") != tc.id {
			t.Errorf("X-Request-Id %q echoed as %q", tc.id, r.header.Get("X-Request-Id"))
		}
	}
	if r := ts.get("/v1/models", "X-Request-Id", "x-1"); r.status != 400 {
		t.Errorf("GET /v1/models with a bad X-Request-Id: %d, want 400 on every path", r.status)
	}
	recs := ts.truthRecords()
	if len(recs) != 8 || recs[0].Outcome != OutcomeBadRequest || recs[0].Status != 400 || recs[0].XRequestID != "bsf-46e372b9-0" || recs[3].Outcome != OutcomeOK {
		t.Errorf("truth %+v", recs)
	}
}

func TestLlamaCppInfo(t *testing.T) {
	ts := llamaStart(t, Config{Model: "tiny-qwen3"})
	if r := ts.get("/v1/models"); r.status != 200 || r.body != `{"object":"list","data":[{"id":"tiny-qwen3","object":"model","owned_by":"me","permissions":[]}]}` {
		t.Errorf("/v1/models: %d %s", r.status, r.body)
	}
	for _, p := range []string{"/health", "/metrics", "/server_info", "/model_info", "/v1/models/tiny-qwen3", "/flush_cache"} {
		if r := ts.get(p); r.status != 404 || r.body != `{"detail":"Not Found"}` {
			t.Errorf("GET %s: %d %s, want 404", p, r.status, r.body)
		}
	}
	for _, p := range []string{"/generate", "/v2/models/ensemble/generate_stream", "/v1/models/model:predict"} {
		if r := ts.post(p, `{"text":"x","text_input":"x","prompt":"x"}`); r.status != 404 {
			t.Errorf("POST %s: %d, want 404", p, r.status)
		}
	}
	if n := len(ts.truthRecords()); n != 0 {
		t.Errorf("%d truth records for non-generation paths", n)
	}
}

func TestLlamaCppContextExceeded(t *testing.T) {
	ts := llamaStart(t, Config{MaxModelLen: 10})
	r := ts.post("/v1/chat/completions", `{"messages":[{"role":"user","content":"a b c"}],"max_tokens":8}`)
	want := `{"error":{"message":"This model's maximum context length is 10 tokens, however you requested 11 tokens (3 in your prompt; 8 for the completion). Please reduce your prompt; or completion length.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`
	if r.status != 400 || r.body != want {
		t.Errorf("non-stream: %d %s", r.status, r.body)
	}
	r = ts.post("/v1/completions", `{"prompt":"a b c","max_tokens":8,"stream":true}`)
	checkStreamHeaders(t, r)
	if r.body != "" {
		t.Errorf("stream: body %q, want an event stream with no data", r.body)
	}
	recs := ts.truthRecords()
	if len(recs) != 2 || recs[1].Outcome != OutcomeBadRequest || recs[1].Status != 200 || recs[1].CompletionTokens != 0 {
		t.Errorf("truth %+v", recs)
	}
}

var pingRE = regexp.MustCompile(`^: ping - \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}\+00:00$`)

// TestLlamaCppPings checks the ": ping" comments: on a stream between tokens, and on a stream that
// waits for its turn behind another (the case that makes sglang.bench_serving fail on llama.cpp).
// Pings are scheduled on the same timeline as the tokens, so their order is deterministic.
func TestLlamaCppPings(t *testing.T) {
	ts := llamaStart(t, Config{PingInterval: 10 * time.Millisecond, ITL: 25 * time.Millisecond})
	read := func(body string) (pings, data []int, lines []string) {
		sc := bufio.NewScanner(strings.NewReader(body))
		for sc.Scan() {
			l := sc.Text()
			if l == "" {
				continue
			}
			if strings.HasPrefix(l, ":") {
				if !pingRE.MatchString(l) {
					t.Errorf("malformed ping %q", l)
				}
				pings = append(pings, len(lines))
			} else {
				data = append(data, len(lines))
			}
			lines = append(lines, l)
		}
		return
	}
	results := make(chan string, 2)
	post := func(delay time.Duration) {
		time.Sleep(delay)
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v1/chat/completions",
			strings.NewReader(`{"messages":[{"role":"user","content":"x"}],"max_tokens":3,"stream":true}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			results <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		var b strings.Builder
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
		}
		results <- b.String()
	}
	go post(0)
	go post(5 * time.Millisecond) // queued: MaxConcurrency is 1 in the mimic
	var bodies []string
	for range 2 {
		bodies = append(bodies, <-results)
	}
	var first, queued []string
	for _, b := range bodies {
		pings, data, lines := read(b)
		if len(data) != 6 { // role, 3 tokens, finish, [DONE]
			t.Fatalf("want 6 data lines, got %d: %q", len(data), lines)
		}
		// 50 ms of tokens (0, 25, 50 ms) with a ping every 10 ms: pings between the tokens.
		if len(pings) < 3 || pings[0] > data[len(data)-1] {
			t.Errorf("pings at lines %v, data at %v: %q", pings, data, lines)
		}
		if pings[0] == 0 {
			queued = lines
		} else {
			first = lines
		}
	}
	if queued == nil || first == nil {
		t.Fatalf("want one stream that starts with a ping (queued) and one that does not:\n%q\n%q", bodies[0], bodies[1])
	}
	if recs := ts.truthRecords(); len(recs) != 2 || len(recs[0].ChunkNS) != 3 || len(recs[1].ChunkNS) != 3 {
		t.Errorf("truth %+v", recs)
	}
}

func TestAppendPyString(t *testing.T) {
	got := string(appendPyString(nil, "a\"\\\n\tü東😄\x01"))
	want := `"a\"\\\n\t\u00fc\u6771\ud83d\ude04\u0001"`
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	ts := llamaStart(t, Config{})
	r := ts.post("/v1/completions", `{"model":"мод<>","prompt":"x","max_tokens":1,"stream":true}`)
	if !strings.Contains(r.body, `"model": "\u043c\u043e\u0434<>"`) {
		t.Errorf("model not escaped as Python does: %s", r.body)
	}
}

func TestLlamaCppConfig(t *testing.T) {
	if _, err := New(Config{Mimic: "vllm"}); err == nil || !strings.Contains(err.Error(), "mimic") {
		t.Errorf("Mimic vllm: err %v", err)
	}
	s, err := New(Config{Mimic: MimicLlamaCpp})
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.MaxConcurrency != 1 || s.cfg.PingInterval != DefaultPingInterval {
		t.Errorf("defaults: max concurrency %d, ping %v", s.cfg.MaxConcurrency, s.cfg.PingInterval)
	}
	if s, _ := New(Config{Mimic: MimicLlamaCpp, MaxConcurrency: 4}); s.cfg.MaxConcurrency != 4 {
		t.Errorf("MaxConcurrency 4 overridden: %d", s.cfg.MaxConcurrency)
	}
	if u := llamaUUID(1, 2); !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(u) || !validUUID(u) {
		t.Errorf("llamaUUID %q is not a uuid4", u)
	}
}
