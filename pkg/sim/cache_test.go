package sim

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// nativeCached sends a non-streamed native request and returns its meta_info.cached_tokens.
func nativeCached(t *testing.T, ts *testServer, body string) int {
	t.Helper()
	r := ts.post("/generate", body)
	var v struct {
		MetaInfo struct {
			CachedTokens *int `json:"cached_tokens"`
		} `json:"meta_info"`
	}
	if err := json.Unmarshal([]byte(r.body), &v); err != nil || r.status != 200 || v.MetaInfo.CachedTokens == nil {
		t.Fatalf("status %d body %s (%v)", r.status, r.body, err)
	}
	return *v.MetaInfo.CachedTokens
}

// textBody is a native request for prompt text with one output token.
func textBody(text string) string {
	return fmt.Sprintf(`{"text":%q,"sampling_params":{"max_new_tokens":1}}`, text)
}

// TestPrefixCacheIdenticalPrompt: the second of two identical prompts hits on every block, and
// reports all its tokens but the last.
func TestPrefixCacheIdenticalPrompt(t *testing.T) {
	ts := start(t, Config{PrefixCache: true})
	prompt := strings.Repeat("abcd ", 40) // 200 bytes (blocks of 64, 64, 64, 8), 40 words
	if got := nativeCached(t, ts, textBody(prompt)); got != 0 {
		t.Errorf("first request cached %d, want 0", got)
	}
	if got := nativeCached(t, ts, textBody(prompt)); got != 39 {
		t.Errorf("identical request cached %d, want 39 (40 prompt tokens, the last always computed)", got)
	}
	recs := ts.truthRecords()
	if len(recs) != 2 || recs[0].CachedTokens != 0 || recs[1].CachedTokens != 39 || recs[1].PromptTokens != 40 {
		t.Errorf("truth records %+v, want cached 0 then 39 of 40", recs)
	}
}

// TestPrefixCacheSharedPrefix: prompts sharing a prefix hit on the whole blocks they share, and
// the cached tokens are that fraction of the prompt, rounded down.
func TestPrefixCacheSharedPrefix(t *testing.T) {
	t.Run("text", func(t *testing.T) {
		ts := start(t, Config{PrefixCache: true, CharsPerToken: 4})
		shared := strings.Repeat("s", 130) // two whole blocks and 2 bytes of the third
		ts.post("/v1/completions", `{"prompt":"`+shared+strings.Repeat("x", 171)+`","max_tokens":1}`)
		// 301 bytes, ceil(301/4) = 76 tokens; 2 blocks = 128 bytes match: floor(76·128/301) = 32.
		r := ts.post("/v1/completions", `{"prompt":"`+shared+strings.Repeat("y", 171)+`","max_tokens":1}`)
		if want := `"usage":{"prompt_tokens":76,"total_tokens":77,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":32}}}`; !strings.HasSuffix(r.body, want) {
			t.Errorf("body %s, want it to end with %s", r.body, want)
		}
	})
	t.Run("same blocks after another prefix", func(t *testing.T) {
		// A block is named by its whole prefix: the blocks of a, in another order, are not a hit.
		ts := start(t, Config{PrefixCache: true, CharsPerToken: 1})
		x, y := strings.Repeat("x", 64), strings.Repeat("y", 64)
		nativeCached(t, ts, textBody(x+y))
		if got := nativeCached(t, ts, textBody(y+x)); got != 0 {
			t.Errorf("cached %d, want 0", got)
		}
		if got := nativeCached(t, ts, textBody(x+x)); got != 64 {
			t.Errorf("cached %d, want 64 (the first block)", got)
		}
	})
	t.Run("token ids", func(t *testing.T) {
		ts := start(t, Config{PrefixCache: true})
		ids := func(tail int) string { // 40 ids, 4 key bytes each: 160 bytes; the first 30 are shared
			s := strings.Repeat("7,", 30)
			for range 10 {
				s += fmt.Sprint(tail, ",")
			}
			return "[" + strings.TrimSuffix(s, ",") + "]"
		}
		nativeCached(t, ts, `{"input_ids":`+ids(1)+`,"sampling_params":{"max_new_tokens":1}}`)
		if got := nativeCached(t, ts, `{"input_ids":`+ids(2)+`,"sampling_params":{"max_new_tokens":1}}`); got != 16 {
			t.Errorf("cached %d, want 16 (120 shared key bytes: 1 whole block of 64 of 160 bytes, 40 tokens)", got)
		}
	})
	t.Run("chat", func(t *testing.T) {
		ts := start(t, Config{PrefixCache: true, CharsPerToken: 4})
		chat := func(user string) string {
			return `{"messages":[{"role":"system","content":"` + strings.Repeat("s", 128) + `"},{"role":"user","content":"` + user + `"}],"max_tokens":1}`
		}
		ts.post("/v1/chat/completions", chat(strings.Repeat("a", 60)))
		// Key: "system\0" + 128 + "\0\1" + "user\0" + 60 + "\0\1" = 204 bytes, of which the first
		// two blocks (128 bytes) are shared; 32 + 15 = 47 tokens: floor(47·128/204) = 29.
		r := ts.post("/v1/chat/completions", chat(strings.Repeat("b", 60)))
		if want := `"prompt_tokens_details":{"cached_tokens":29}}}`; !strings.HasSuffix(r.body, want) {
			t.Errorf("body %s, want it to end with %s", r.body, want)
		}
	})
}

// TestPrefixCacheFlush: /flush_cache (and vLLM's /reset_prefix_cache) empty the cache.
func TestPrefixCacheFlush(t *testing.T) {
	ts := start(t, Config{PrefixCache: true})
	prompt := textBody(strings.Repeat("word ", 30)) // 30 tokens
	for _, path := range []string{"/flush_cache", "/reset_prefix_cache"} {
		nativeCached(t, ts, prompt)
		if got := nativeCached(t, ts, prompt); got != 29 {
			t.Fatalf("before %s: cached %d, want 29", path, got)
		}
		if r := ts.post(path, ""); r.status != 200 {
			t.Fatalf("%s: status %d", path, r.status)
		}
		if got := nativeCached(t, ts, prompt); got != 0 {
			t.Errorf("after %s: cached %d, want 0", path, got)
		}
	}
}

// TestPrefixCacheCapacity: a cache that cannot take a request's new blocks is cleared first, and
// a request longer than the cache inserts only its first blocks.
func TestPrefixCacheCapacity(t *testing.T) {
	ts := start(t, Config{PrefixCache: true, PrefixCacheBlocks: 4, CharsPerToken: 1})
	a, b := textBody(strings.Repeat("a", 150)), textBody(strings.Repeat("b", 150)) // 3 blocks each
	nativeCached(t, ts, a)
	if got := nativeCached(t, ts, a); got != 149 {
		t.Fatalf("a again: cached %d, want 149", got)
	}
	nativeCached(t, ts, b) // 3 + 3 blocks > 4: cleared, then b's blocks inserted
	if got := nativeCached(t, ts, a); got != 0 {
		t.Errorf("a after b: cached %d, want 0 (the full cache was cleared)", got)
	}
	long := textBody(strings.Repeat("c", 300)) // 5 blocks: only the first 4 fit
	nativeCached(t, ts, long)
	if got := nativeCached(t, ts, long); got != 256 {
		t.Errorf("long prompt again: cached %d, want 256 (4 blocks of 64 characters)", got)
	}
	// Cleared before b, before a after b, before long, and before long again (its 5th block is new).
	if ts.srv.cache.clears != 4 {
		t.Errorf("cache cleared %d times, want 4", ts.srv.cache.clears)
	}
}

// TestPrefixCachePrefill: PrefillPerToken applies to the uncached prompt tokens only.
func TestPrefixCachePrefill(t *testing.T) {
	s, err := New(Config{PrefixCache: true, TTFT: 10 * time.Millisecond, PrefillPerToken: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tc := range []struct {
		cached int
		want   time.Duration
	}{{0, 50 * time.Millisecond}, {39, 11 * time.Millisecond}, {25, 25 * time.Millisecond}} {
		g := &gen{s: s, p: genParams{promptTokens: 40, maxTokens: 3}, cached: tc.cached}
		g.plan()
		if g.ttftDur != tc.want || g.offset(2) != tc.want {
			t.Errorf("40 prompt tokens, %d cached: first token at %v (third at %v), want %v", tc.cached, g.ttftDur, g.offset(2), tc.want)
		}
	}
}

// TestPrefixCacheWire: what the responses say about the cache, with and without the flag.
func TestPrefixCacheWire(t *testing.T) {
	prompt := strings.Repeat("p ", 10) // 10 tokens, 20 bytes: one block
	completions := `{"prompt":"` + prompt + `","max_tokens":1,"return_cached_tokens_details":true`
	chat := `{"messages":[{"role":"user","content":"` + prompt + `"}],"max_tokens":1,"return_cached_tokens_details":true`
	sglext := `,"sglext":{"cached_tokens_details":{"device":9,"host":0}}`
	usage := `"usage":{"prompt_tokens":10,"total_tokens":11,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":9}}`

	t.Run("off", func(t *testing.T) {
		ts := start(t, Config{})
		for range 2 {
			if got := nativeCached(t, ts, textBody(prompt)); got != 0 {
				t.Errorf("native cached_tokens %d without the flag, want 0", got)
			}
			for _, r := range []response{
				ts.post("/v1/completions", completions+`}`),
				ts.post("/v1/completions", completions+`,"stream":true,"stream_options":{"include_usage":true}}`),
				ts.post("/v1/chat/completions", chat+`}`),
				ts.post("/v1/chat/completions", chat+`,"stream":true}`),
			} {
				if strings.Contains(r.body, "prompt_tokens_details") || strings.Contains(r.body, "sglext") {
					t.Errorf("without --prefix-cache: %s", r.body)
				}
			}
		}
		for _, rec := range ts.truthRecords() {
			if rec.CachedTokens != 0 {
				t.Errorf("truth record %+v has cached tokens without the flag", rec)
			}
		}
	})

	t.Run("on", func(t *testing.T) {
		ts := start(t, Config{PrefixCache: true})
		ts.post("/v1/completions", `{"prompt":"`+prompt+`","max_tokens":1}`) // caches the prompt
		// Not streamed: usage with prompt_tokens_details, then sglext.
		r := ts.post("/v1/completions", completions+`}`, "X-Request-Id", "a")
		checkBody(t, r.body, fmt.Sprintf(`{"id":"cmpl-a","object":"text_completion","created":T,"model":"bs-sim","choices":[{"index":0,"text":%q,"logprobs":null,"finish_reason":"length","stop_reason":null}],`, words(0, 1, 0, 1))+usage+sglext+`}`)
		// Without return_cached_tokens_details: usage only.
		r = ts.post("/v1/completions", `{"prompt":"`+prompt+`","max_tokens":1}`)
		if !strings.HasSuffix(r.body, usage+`}`) {
			t.Errorf("body %s, want usage %s and no sglext", r.body, usage)
		}
		// Streamed with include_usage: sglext on the usage-only chunk.
		r = ts.post("/v1/completions", completions+`,"stream":true,"stream_options":{"include_usage":true}}`, "X-Request-Id", "b")
		head := `data: {"id":"cmpl-b","object":"text_completion","created":T,"model":"bs-sim","choices":`
		checkBody(t, r.body, head+fmt.Sprintf(`[{"index":0,"text":%q,"logprobs":null,"finish_reason":"length","stop_reason":null}]}`, words(0, 3, 0, 1))+"\n\n"+
			head+`[],`+usage+sglext+"}\n\n"+"data: [DONE]\n\n")
		// Chat streamed without include_usage: sglext on the last content chunk. (The chat key has
		// the role: the first chat request caches it.)
		ts.post("/v1/chat/completions", chat+`}`)
		r = ts.post("/v1/chat/completions", chat+`,"stream":true}`, "X-Request-Id", "c")
		ev := splitSSE(t, r.body)
		if len(ev) != 3 || strings.Contains(ev[0], "sglext") || !strings.HasSuffix(ev[1], `"finish_reason":"length","stop_reason":null}]`+sglext+`}`) {
			t.Errorf("chat stream %q: want sglext on the last content chunk only", r.body)
		}
		// Native: meta_info.cached_tokens.
		if got := nativeCached(t, ts, textBody(prompt)); got != 9 {
			t.Errorf("native cached_tokens %d, want 9", got)
		}
	})
}
