package sim

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

const sseType = "text/event-stream; charset=utf-8"

func checkStreamHeaders(t *testing.T, r response) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d, body %q", r.status, r.body)
	}
	if got := r.header.Get("Content-Type"); got != sseType {
		t.Errorf("Content-Type %q, want %q", got, sseType)
	}
	if r.contentLength != -1 || r.header.Get("Content-Length") != "" {
		t.Errorf("stream has a Content-Length (%d); want a chunked body", r.contentLength)
	}
}

func checkBody(t *testing.T, got, want string) {
	t.Helper()
	if got = normalize(got); got != want {
		t.Errorf("body mismatch\n got: %s\nwant: %s", got, want)
	}
}

func TestNativeStream(t *testing.T) {
	ts := start(t, Config{})
	r := ts.post("/generate", `{"text":"hello there world","sampling_params":{"max_new_tokens":3,"ignore_eos":true,"temperature":0},"stream":true,"lora_path":null}`, "X-Request-Id", "req-1")
	checkStreamHeaders(t, r)
	if got := r.header.Get("X-Request-Id"); got != "req-1" {
		t.Errorf("X-Request-Id %q, want req-1", got)
	}
	// Seed 0, first request: the words are fixed by the vocabulary and the hash; this literal
	// catches any change to either.
	want := `data: {"text":" the","output_ids":[1000],"meta_info":{"id":"req-1","finish_reason":null,"prompt_tokens":3,"weight_version":"default","completion_tokens":1,"cached_tokens":0}}` + "\n\n" +
		`data: {"text":" the world","output_ids":[1000,1107],"meta_info":{"id":"req-1","finish_reason":null,"prompt_tokens":3,"weight_version":"default","completion_tokens":2,"cached_tokens":0}}` + "\n\n" +
		`data: {"text":" the world who","output_ids":[1000,1107,1045],"meta_info":{"id":"req-1","finish_reason":{"type":"length","length":3},"prompt_tokens":3,"weight_version":"default","completion_tokens":3,"cached_tokens":0,"e2e_latency":E}}` + "\n\n" +
		"data: [DONE]\n\n"
	checkBody(t, r.body, want)
}

func TestNativeUnaryAndInputIDs(t *testing.T) {
	ts := start(t, Config{})
	r := ts.post("/generate", `{"input_ids":[5,6,7,8,9],"sampling_params":{"max_new_tokens":2}}`, "X-Request-Id", "u")
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" || r.contentLength != int64(len(r.body)) {
		t.Fatalf("status %d, type %q, length %d for %q", r.status, r.header.Get("Content-Type"), r.contentLength, r.body)
	}
	text := words(0, 0, 0, 2)
	want := fmt.Sprintf(`{"text":%q,"output_ids":[%d,%d],"meta_info":{"id":"u","finish_reason":{"type":"length","length":2},"prompt_tokens":5,"weight_version":"default","completion_tokens":2,"cached_tokens":0,"e2e_latency":E}}`,
		text, firstTokenID+wordIndex(0, 0, 0), firstTokenID+wordIndex(0, 0, 1))
	checkBody(t, r.body, want)
}

func TestCompletionsStream(t *testing.T) {
	for _, tc := range []struct {
		name, opts  string
		usage, cont bool
	}{
		{"no options", ``, false, false},
		{"include_usage false", `,"stream_options":{"include_usage":false}`, false, false},
		{"include_usage", `,"stream_options":{"include_usage":true}`, true, false},
		{"continuous without include_usage", `,"stream_options":{"continuous_usage_stats":true}`, false, false},
		{"continuous", `,"stream_options":{"include_usage":true,"continuous_usage_stats":true}`, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := start(t, Config{})
			r := ts.post("/v1/completions", `{"model":"m1","prompt":"one two three four","max_tokens":2,"stream":true,"ignore_eos":true,"best_of":1,"temperature":0.0`+tc.opts+`}`, "X-Request-Id", "c")
			checkStreamHeaders(t, r)
			usage := func(c int) string {
				if !tc.cont {
					return ""
				}
				return fmt.Sprintf(`,"usage":{"prompt_tokens":4,"total_tokens":%d,"completion_tokens":%d}`, 4+c, c)
			}
			head := `data: {"id":"cmpl-c","object":"text_completion","created":T,"model":"m1","choices":`
			want := head + fmt.Sprintf(`[{"index":0,"text":%q,"logprobs":null,"finish_reason":null,"stop_reason":null}]`, words(0, 0, 0, 1)) + usage(1) + "}\n\n" +
				head + fmt.Sprintf(`[{"index":0,"text":%q,"logprobs":null,"finish_reason":"length","stop_reason":null}]`, words(0, 0, 1, 2)) + usage(2) + "}\n\n"
			if tc.usage {
				want += head + `[],"usage":{"prompt_tokens":4,"total_tokens":6,"completion_tokens":2}}` + "\n\n"
			}
			want += "data: [DONE]\n\n"
			checkBody(t, r.body, want)
		})
	}
}

func TestCompletionsPromptForms(t *testing.T) {
	ts := start(t, Config{})
	for _, tc := range []struct{ prompt, want string }{
		{`"a b  c\nd"`, `"prompt_tokens":4`},
		{`["x y"]`, `"prompt_tokens":2`},
		{`[1,2,3,4,5,6]`, `"prompt_tokens":6`},
	} {
		r := ts.post("/v1/completions", `{"prompt":`+tc.prompt+`,"max_tokens":1}`)
		if r.status != 200 || !strings.Contains(r.body, tc.want) || !strings.Contains(r.body, `"model":"bs-sim"`) {
			t.Errorf("prompt %s: status %d body %s, want %s", tc.prompt, r.status, r.body, tc.want)
		}
	}
}

func TestCompletionsUnary(t *testing.T) {
	ts := start(t, Config{Model: "served"})
	r := ts.post("/v1/completions", `{"prompt":"p q","max_tokens":3}`, "X-Request-Id", "n")
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d type %q", r.status, r.header.Get("Content-Type"))
	}
	want := fmt.Sprintf(`{"id":"cmpl-n","object":"text_completion","created":T,"model":"served","choices":[{"index":0,"text":%q,"logprobs":null,"finish_reason":"length","stop_reason":null}],"usage":{"prompt_tokens":2,"total_tokens":5,"completion_tokens":3}}`, words(0, 0, 0, 3))
	checkBody(t, r.body, want)
}

func TestChatStream(t *testing.T) {
	ts := start(t, Config{})
	body := `{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,AAAA"}},{"type":"text","text":"what is this"}]}],"max_completion_tokens":2,"stream":true,"stream_options":{"include_usage":true}}`
	r := ts.post("/v1/chat/completions", body, "X-Request-Id", "q")
	checkStreamHeaders(t, r)
	head := `data: {"id":"chatcmpl-q","object":"chat.completion.chunk","created":T,"model":"m","choices":`
	want := head + `[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}` + "\n\n" +
		head + fmt.Sprintf(`[{"index":0,"delta":{"content":%q},"logprobs":null,"finish_reason":null}]}`, words(0, 0, 0, 1)) + "\n\n" +
		head + fmt.Sprintf(`[{"index":0,"delta":{"content":%q},"logprobs":null,"finish_reason":"length","stop_reason":null}]}`, words(0, 0, 1, 2)) + "\n\n" +
		head + `[],"usage":{"prompt_tokens":5,"total_tokens":7,"completion_tokens":2}}` + "\n\n" +
		"data: [DONE]\n\n"
	checkBody(t, r.body, want)
}

func TestChatContinuousUsageAndMaxTokens(t *testing.T) {
	ts := start(t, Config{})
	// max_completion_tokens wins over max_tokens, as in vLLM.
	r := ts.post("/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"max_tokens":9,"max_completion_tokens":1,"stream":true,"stream_options":{"include_usage":true,"continuous_usage_stats":true}}`)
	ev := splitSSE(t, r.body)
	if len(ev) != 4 {
		t.Fatalf("got %d events, want role, content, usage, [DONE]: %q", len(ev), r.body)
	}
	for i, wantUsage := range []string{
		`"usage":{"prompt_tokens":1,"total_tokens":1,"completion_tokens":0}`,
		`"usage":{"prompt_tokens":1,"total_tokens":2,"completion_tokens":1}`,
		`"choices":[],"usage":{"prompt_tokens":1,"total_tokens":2,"completion_tokens":1}`,
	} {
		if !strings.Contains(ev[i], wantUsage) {
			t.Errorf("event %d = %s, want %s", i, ev[i], wantUsage)
		}
	}
}

func TestChatUnary(t *testing.T) {
	ts := start(t, Config{})
	r := ts.post("/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"a b c"}],"max_tokens":2}`, "X-Request-Id", "z")
	want := fmt.Sprintf(`{"id":"chatcmpl-z","object":"chat.completion","created":T,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":%q},"logprobs":null,"finish_reason":"length","stop_reason":null}],"usage":{"prompt_tokens":3,"total_tokens":5,"completion_tokens":2}}`, words(0, 0, 0, 2))
	checkBody(t, r.body, want)
}

func tritonEvent(text string) string {
	return fmt.Sprintf(`data: {"context_logits":0.0,"cum_log_probs":0.0,"generation_logits":0.0,"model_name":"ensemble","model_version":"1","output_log_probs":0.0,"sequence_end":false,"sequence_id":0,"sequence_start":false,"text_output":%q}`, text) + "\n\n"
}

func TestTritonStream(t *testing.T) {
	// The body bench_serving sends for the trt backend.
	body := `{"accumulate_tokens":true,"text_input":"a b c","temperature":0.000001,"top_p":1.0,"max_tokens":3,"stream":true,"min_length":3,"end_id":1048576}`
	t.Run("delta", func(t *testing.T) {
		ts := start(t, Config{EOSAfter: 1}) // min_length 3 overrides the simulated EOS
		r := ts.post("/v2/models/ensemble/generate_stream", body)
		checkStreamHeaders(t, r)
		checkBody(t, r.body, tritonEvent(words(0, 0, 0, 1))+tritonEvent(words(0, 0, 1, 2))+tritonEvent(words(0, 0, 2, 3)))
	})
	t.Run("accumulate", func(t *testing.T) {
		ts := start(t, Config{TritonAccumulate: true})
		r := ts.post("/v2/models/ensemble/generate_stream", body)
		checkBody(t, r.body, tritonEvent(words(0, 0, 0, 1))+tritonEvent(words(0, 0, 0, 2))+tritonEvent(words(0, 0, 0, 3)))
	})
	t.Run("stream false: one event", func(t *testing.T) {
		ts := start(t, Config{})
		r := ts.post("/v2/models/ensemble/generate_stream", `{"text_input":"a","parameters":{"max_tokens":2,"stream":false}}`)
		want := strings.Replace(tritonEvent(words(0, 0, 0, 2)), `"output_log_probs":0.0`, `"output_log_probs":[0.0,0.0]`, 1)
		checkBody(t, r.body, want)
	})
	t.Run("generate", func(t *testing.T) {
		ts := start(t, Config{})
		r := ts.post("/v2/models/ensemble/generate", `{"text_input":"a","max_tokens":1}`)
		if r.header.Get("Content-Type") != "application/json" {
			t.Errorf("Content-Type %q", r.header.Get("Content-Type"))
		}
		checkBody(t, r.body, strings.TrimSuffix(strings.TrimPrefix(tritonEvent(words(0, 0, 0, 1)), "data: "), "\n\n"))
	})
}

func TestTruss(t *testing.T) {
	ts := start(t, Config{})
	r := ts.post("/v1/models/model:predict", `{"model":"m","prompt":"x","temperature":0.0,"best_of":1,"max_tokens":2,"stream":true,"ignore_eos":true}`, "X-Request-Id", "t")
	checkStreamHeaders(t, r)
	head := `data: {"id":"cmpl-t","object":"text_completion","created":T,"model":"m","choices":`
	want := head + fmt.Sprintf(`[{"index":0,"text":%q,"logprobs":null,"finish_reason":null,"stop_reason":null}]}`, words(0, 0, 0, 1)) + "\n\n" +
		head + fmt.Sprintf(`[{"index":0,"text":%q,"logprobs":null,"finish_reason":"length","stop_reason":null}]}`, words(0, 0, 1, 2)) + "\n\n" +
		"data: [DONE]\n\n"
	checkBody(t, r.body, want)
	recs := ts.truthRecords()
	if len(recs) != 1 || recs[0].Endpoint != "truss" {
		t.Errorf("truth records %+v, want one truss record", recs)
	}
}

func TestTokensPerChunk(t *testing.T) {
	ts := start(t, Config{TokensPerChunk: 3})
	r := ts.post("/generate", `{"text":"x","sampling_params":{"max_new_tokens":7},"stream":true}`)
	ev := splitSSE(t, r.body)
	if len(ev) != 4 || ev[3] != "[DONE]" {
		t.Fatalf("events %q, want 3 chunks and [DONE]", ev)
	}
	for i, want := range []string{`"completion_tokens":3,`, `"completion_tokens":6,`, `"completion_tokens":7,`} {
		if !strings.Contains(ev[i], want) {
			t.Errorf("event %d %s lacks %s", i, ev[i], want)
		}
	}
	if !strings.Contains(ev[2], fmt.Sprintf(`"text":%q`, words(0, 0, 0, 7))) {
		t.Errorf("last event %s lacks the full text", ev[2])
	}
	recs := ts.truthRecords()
	if got := fmt.Sprint(recs[0].ChunkTokens); got != "[3 3 1]" {
		t.Errorf("chunk_tokens %s, want [3 3 1]", got)
	}
}

func TestMaxTokensZero(t *testing.T) {
	ts := start(t, Config{})
	r := ts.post("/v1/completions", `{"prompt":"x","max_tokens":0,"stream":true}`, "X-Request-Id", "0")
	checkBody(t, r.body, `data: {"id":"cmpl-0","object":"text_completion","created":T,"model":"bs-sim","choices":[{"index":0,"text":"","logprobs":null,"finish_reason":"length","stop_reason":null}]}`+"\n\ndata: [DONE]\n\n")
	recs := ts.truthRecords()
	if recs[0].CompletionTokens != 0 || len(recs[0].ChunkNS) != 0 || recs[0].FirstTokenNS != 0 {
		t.Errorf("record %+v: want no token chunks", recs[0])
	}
}

func TestDefaultOutputLenAndEOS(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       string
	}{
		{"default length", `{"text":"x","stream":false,"sampling_params":{"ignore_eos":true}}`, `"finish_reason":{"type":"length","length":5}`},
		{"eos", `{"text":"x","sampling_params":{"max_new_tokens":10}}`, `"finish_reason":{"type":"stop","matched":2}`},
		{"ignore_eos", `{"text":"x","sampling_params":{"max_new_tokens":10,"ignore_eos":true}}`, `"finish_reason":{"type":"length","length":10}`},
		{"min_new_tokens", `{"text":"x","sampling_params":{"max_new_tokens":10,"min_new_tokens":4}}`, `"finish_reason":{"type":"stop","matched":2},"prompt_tokens":1,"weight_version":"default","completion_tokens":4`},
		{"max below eos", `{"text":"x","sampling_params":{"max_new_tokens":2}}`, `"finish_reason":{"type":"length","length":2}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := start(t, Config{DefaultOutputLen: 5, EOSAfter: 3})
			r := ts.post("/generate", tc.body)
			if !strings.Contains(r.body, tc.want) {
				t.Errorf("body %s lacks %s", r.body, tc.want)
			}
		})
	}
	ts := start(t, Config{EOSAfter: 3})
	r := ts.post("/v1/completions", `{"prompt":"x","max_tokens":10,"min_tokens":1}`)
	if !strings.Contains(r.body, `"finish_reason":"stop"`) || !strings.Contains(r.body, `"completion_tokens":3}`) {
		t.Errorf("completions with EOS: %s", r.body)
	}
	r = ts.post("/v1/completions", `{"prompt":"x","max_tokens":10,"ignore_eos":true}`)
	if !strings.Contains(r.body, `"finish_reason":"length"`) || !strings.Contains(r.body, `"completion_tokens":10}`) {
		t.Errorf("completions ignoring EOS: %s", r.body)
	}
	recs := ts.truthRecords()
	if recs[0].FinishReason != "stop" || recs[1].FinishReason != "length" {
		t.Errorf("finish reasons %q %q", recs[0].FinishReason, recs[1].FinishReason)
	}
}

func TestSpecAcceptLength(t *testing.T) {
	ts := start(t, Config{SpecAcceptLength: 3})
	r := ts.post("/generate", `{"text":"x","sampling_params":{"max_new_tokens":10}}`)
	// verify steps = ceil(10/3) = 4; accept length = 10/4.
	if !strings.Contains(r.body, `"e2e_latency":`) || !strings.HasSuffix(r.body, `,"spec_accept_length":2.5,"spec_verify_ct":4}}`) {
		t.Errorf("body %s lacks the spec fields", r.body)
	}
	info := ts.get("/server_info")
	if !strings.Contains(info.body, `"internal_states":[{"avg_spec_accept_length":3}]`) {
		t.Errorf("server_info %s lacks avg_spec_accept_length", info.body)
	}
}

func TestInfoEndpoints(t *testing.T) {
	ts := start(t, Config{Model: "org/model", TokenizerPath: "org/tok", MaxModelLen: 4096, MaxConcurrency: 8})
	for _, tc := range []struct {
		method, path string
		status       int
		ctype, body  string
	}{
		{"GET", "/health", 200, "", ""},
		{"GET", "/health_generate", 200, "", ""},
		{"GET", "/v1/models", 200, "application/json", `{"object":"list","data":[{"id":"org/model","object":"model","created":T,"owned_by":"bs-sim","root":"org/model","parent":null,"max_model_len":4096}]}`},
		{"GET", "/v1/models/org/model", 200, "application/json", `{"id":"org/model","object":"model","created":T,"owned_by":"bs-sim","root":"org/model","parent":null,"max_model_len":4096}`},
		{"GET", "/v1/models/other", 404, "application/json", `{"error":{"message":"The model 'other' does not exist","type":"invalid_request_error","param":"model","code":"model_not_found"}}`},
		{"GET", "/model_info", 200, "application/json", `{"model_path":"org/model","tokenizer_path":"org/tok","is_generation":true,"preferred_sampling_params":null,"weight_version":"default"}`},
		{"GET", "/get_model_info", 200, "application/json", `{"model_path":"org/model","tokenizer_path":"org/tok","is_generation":true,"preferred_sampling_params":null,"weight_version":"default"}`},
		{"POST", "/flush_cache", 200, "text/plain; charset=utf-8", "Cache flushed.\nPlease check backend logs for more details. (When there are running or waiting requests, the operation will not be performed.)\n"},
		{"POST", "/reset_prefix_cache", 200, "text/plain; charset=utf-8", ""},
		{"POST", "/start_profile", 200, "text/plain; charset=utf-8", "Start profiling.\n"},
		{"POST", "/stop_profile", 200, "text/plain; charset=utf-8", "Stop profiling. This will take some time.\n"},
		{"GET", "/nope", 404, "application/json", `{"detail":"Not Found"}`},
		{"GET", "/generate", 405, "application/json", `{"detail":"Method Not Allowed"}`},
		{"POST", "/v1/models", 405, "application/json", `{"detail":"Method Not Allowed"}`},
	} {
		body := ""
		if tc.method == "POST" {
			body = "{}"
		}
		r := ts.do(tc.method, tc.path, body)
		if r.status != tc.status || r.header.Get("Content-Type") != tc.ctype || normalize(r.body) != tc.body {
			t.Errorf("%s %s: got %d %q %q, want %d %q %q", tc.method, tc.path, r.status, r.header.Get("Content-Type"), r.body, tc.status, tc.ctype, tc.body)
		}
	}
	info := ts.get("/server_info")
	for _, want := range []string{`"model_path":"org/model"`, `"max_running_requests":8`, `"internal_states":[{}]`, `"speculative_algorithm":null`, `"max_concurrency":8`} {
		if !strings.Contains(info.body, want) {
			t.Errorf("server_info %s lacks %s", info.body, want)
		}
	}
	if r := ts.get("/get_server_info"); r.status != 200 || !strings.HasPrefix(r.body, `{"model_path":"org/model"`) {
		t.Errorf("get_server_info: %d %s", r.status, r.body)
	}
}

func TestBadRequests(t *testing.T) {
	ts := start(t, Config{})
	for _, tc := range []struct{ path, body, msg string }{
		{"/generate", `{"text":["a","b"]}`, `{"error":{"message":"field \"text\": a list of prompts (batch request) is not supported by bs-sim; send one string per request"}}`},
		{"/generate", `{"sampling_params":{}}`, `{"error":{"message":"Either text, input_ids or input_embeds should be provided."}}`},
		{"/generate", `{"input_ids":[[1,2],[3]]}`, `{"error":{"message":"field \"input_ids\": batched token-id lists are not supported by bs-sim; send one prompt per request"}}`},
		{"/generate", `{"text":"x","sampling_params":{"max_new_tokens":"many"}}`, `{"error":{"message":"field \"sampling_params.max_new_tokens\": expected int, got JSON \"many\""}}`},
		{"/generate", ``, `{"error":{"message":"request body is empty; a JSON object is required"}}`},
		{"/v1/completions", `{"prompt":["a","b"]}`, `{"error":{"message":"field \"prompt\": a list of 2 prompts (batch request) is not supported by bs-sim; send one prompt per request","type":"BadRequestError","param":null,"code":400}}`},
		{"/v1/completions", `{"prompt":"a","max_tokens":-3}`, `{"error":{"message":"the maximum number of tokens must not be negative, got -3","type":"BadRequestError","param":null,"code":400}}`},
		{"/v1/completions", `{"prompt":"a","max_tokens":-1}`, `{"error":{"message":"the maximum number of tokens must not be negative, got -1","type":"BadRequestError","param":null,"code":400}}`},
		{"/v1/completions", `{"prompt":"a","max_tokens":1.5}`, `{"error":{"message":"field \"max_tokens\": expected int, got JSON 1.5","type":"BadRequestError","param":null,"code":400}}`},
		{"/v1/completions", `{"prompt":"a","stream":"yes"}`, `{"error":{"message":"field \"stream\": expected bool, got JSON string","type":"BadRequestError","param":null,"code":400}}`},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":5}]}`, `{"error":{"message":"field \"messages[0].content\": expected a string or a list of content parts","type":"BadRequestError","param":null,"code":400}}`},
		{"/v2/models/ensemble/generate_stream", `{"max_tokens":3}`, `{"error":"field \"text_input\": required"}`},
		{"/v2/models/ensemble/generate_stream", `{"text_input":"a","max_tokens":true}`, `{"error":"field \"max_tokens\": expected int, got JSON true"}`},
	} {
		r := ts.post(tc.path, tc.body)
		if r.status != 400 || r.body != tc.msg || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("POST %s %s: got %d %s, want 400 %s", tc.path, tc.body, r.status, r.body, tc.msg)
		}
	}
	for _, rec := range ts.truthRecords() {
		if rec.Outcome != OutcomeBadRequest || rec.Status != 400 || rec.Error == "" {
			t.Errorf("record %+v: want bad_request", rec)
		}
	}
}

func TestBodyTooLarge(t *testing.T) {
	ts := start(t, Config{MaxBodyBytes: 10})
	if r := ts.post("/generate", `{"text":"0123456789"}`); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", r.status)
	}
}

func TestCharsPerToken(t *testing.T) {
	ts := start(t, Config{CharsPerToken: 4})
	r := ts.post("/generate", `{"text":"abcdefghij","sampling_params":{"max_new_tokens":1}}`)
	if !strings.Contains(r.body, `"prompt_tokens":3,`) { // ceil(10/4)
		t.Errorf("body %s: want prompt_tokens 3", r.body)
	}
}

func TestMisc(t *testing.T) {
	ts := start(t, Config{Spin: 500 * time.Microsecond, ITL: time.Millisecond})
	// Integral floats are accepted as integers (max_tokens 2.0).
	r := ts.post("/v1/completions", `{"prompt":"x","max_tokens":2.0}`)
	if !strings.Contains(r.body, `"completion_tokens":2}`) {
		t.Errorf("max_tokens 2.0: %s", r.body)
	}
	// Triton version paths and the native rid.
	r = ts.post("/v2/models/ensemble/versions/1/generate_stream", `{"text_input":"x","max_tokens":1}`)
	if r.status != 200 || len(splitSSE(t, r.body)) != 1 {
		t.Errorf("versioned Triton path: %d %q", r.status, r.body)
	}
	r = ts.post("/generate", `{"text":"x","rid":"my-rid","sampling_params":{"max_new_tokens":1}}`, "X-Request-Id", "hdr")
	if !strings.Contains(r.body, `"id":"my-rid"`) || r.header.Get("X-Request-Id") != "my-rid" {
		t.Errorf("rid: %s %v", r.body, r.header)
	}
	recs := ts.truthRecords()
	if len(recs) != 3 || recs[2].ID != "my-rid" || recs[2].XRequestID != "hdr" {
		t.Errorf("records %+v", recs)
	}
}
