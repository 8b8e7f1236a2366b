package backends

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/bsbench/bs/pkg/records"
)

func ip(n int) *int { return &n }

// want is the expected outcome of parsing one response.
type want struct {
	chunkNS   []int64 // exact, with the fake clock (nil: only the count is checked)
	chunks    int
	tokens    []int
	text      string
	chunkText []string // checked when RecordText is on
	usageC    *int
	usageP    *int
	cached    *int
	tiers     *records.CacheTiers
	verify    *int
	spec      float64
	finish    string
	respID    string
	endNS     int64 // exact, with the fake clock
	errKind   string
	errHas    string
}

func (w want) check(t *testing.T, ev *records.Event, text string, exactTimes, recordText bool) {
	t.Helper()
	if w.errKind != "" {
		if ev.OK || ev.ErrorKind != w.errKind || !strings.Contains(ev.Error, w.errHas) {
			t.Fatalf("got ok=%v kind=%q error=%q; want kind %q with %q", ev.OK, ev.ErrorKind, ev.Error, w.errKind, w.errHas)
		}
	} else if !ev.OK {
		t.Fatalf("request failed: %s: %s", ev.ErrorKind, ev.Error)
	}
	if err := ev.Validate(); err != nil {
		t.Fatalf("invalid event: %v", err)
	}
	if len(ev.ChunkNS) != w.chunks {
		t.Fatalf("%d chunks %v, want %d", len(ev.ChunkNS), ev.ChunkNS, w.chunks)
	}
	if exactTimes {
		if w.chunkNS != nil && !reflect.DeepEqual(ev.ChunkNS, w.chunkNS) {
			t.Errorf("chunk_ns %v, want %v", ev.ChunkNS, w.chunkNS)
		}
		if w.endNS != 0 && ev.EndNS != w.endNS {
			t.Errorf("end_ns %d, want %d", ev.EndNS, w.endNS)
		}
	} else if n := len(ev.ChunkNS); n > 0 && ev.EndNS-ev.SentNS < ev.ChunkNS[n-1] {
		t.Errorf("end %d before the last chunk %d", ev.EndNS-ev.SentNS, ev.ChunkNS[n-1])
	}
	if !reflect.DeepEqual(ev.ChunkTokens, w.tokens) {
		t.Errorf("chunk_tokens %v, want %v", ev.ChunkTokens, w.tokens)
	}
	if text != w.text {
		t.Errorf("text %q, want %q", text, w.text)
	}
	if recordText {
		if ev.Text != w.text {
			t.Errorf("event text %q, want %q", ev.Text, w.text)
		}
		if w.chunkText != nil && !reflect.DeepEqual(ev.ChunkText, w.chunkText) {
			t.Errorf("chunk_text %q, want %q", ev.ChunkText, w.chunkText)
		}
	} else if ev.Text != "" || ev.ChunkText != nil {
		t.Errorf("text recorded without RecordText")
	}
	eqp := func(name string, got, want *int) {
		if (got == nil) != (want == nil) || (got != nil && *got != *want) {
			g, w := "nil", "nil"
			if got != nil {
				g = fmt.Sprint(*got)
			}
			if want != nil {
				w = fmt.Sprint(*want)
			}
			t.Errorf("%s = %s, want %s", name, g, w)
		}
	}
	eqp("usage_completion_tokens", ev.UsageCompletionTokens, w.usageC)
	eqp("usage_prompt_tokens", ev.UsagePromptTokens, w.usageP)
	eqp("cached_tokens", ev.CachedTokens, w.cached)
	if !reflect.DeepEqual(ev.CachedDetails, w.tiers) {
		t.Errorf("cached_tokens_details %+v, want %+v", ev.CachedDetails, w.tiers)
	}
	eqp("spec_verify_ct", ev.SpecVerifyCt, w.verify)
	if (ev.SpecAcceptLength == nil) != (w.spec == 0) || (ev.SpecAcceptLength != nil && *ev.SpecAcceptLength != w.spec) {
		t.Errorf("spec_accept_length %v, want %v", ev.SpecAcceptLength, w.spec)
	}
	if ev.FinishReason != w.finish {
		t.Errorf("finish_reason %q, want %q", ev.FinishReason, w.finish)
	}
	if ev.ResponseID != w.respID {
		t.Errorf("response_id %q, want %q", ev.ResponseID, w.respID)
	}
}

type parseCase struct {
	name    string
	backend string
	mod     func(*Options)
	wire    string
	stream  bool
	want    want
}

func parseCases() []parseCase {
	compat := func(o *Options) { o.Compat = CompatSGLang }
	noStream := func(o *Options) { o.Stream = false }
	nativeWant := want{
		chunkNS: []int64{10, 30, 50, 70, 90}, chunks: 5, tokens: []int{1, 2, 0, 1, 1},
		text: "Hello wörld\n", chunkText: []string{"Hel", "lo", "", " wör", "ld\n"},
		usageC: ip(5), usageP: ip(7), cached: ip(3), verify: ip(3), spec: 1.6666666666666667,
		finish: "length", respID: "7c2f1e", endNS: 115,
	}
	sglCompl := want{
		chunkNS: []int64{10, 30, 50}, chunks: 3, text: " The sky is blue",
		chunkText: []string{" The", " sky", " is blue"}, usageC: ip(4), usageP: ip(5), cached: ip(2),
		finish: "length", respID: "a1b2", endNS: 95,
	}
	sglComplCompat := sglCompl
	sglComplCompat.usageC = nil // the reference reads usage only from chunks with text (bug §10.3)
	chat := want{
		chunkNS: []int64{30, 50, 70, 90}, chunks: 4, text: "Let me think.2+2 = 4",
		chunkText: []string{"Let me", " think.", "2+2", " = 4"}, usageC: ip(6), usageP: ip(9),
		finish: "stop", respID: "chatcmpl-9", endNS: 155,
	}
	trt := want{chunkNS: []int64{10, 50}, chunks: 2, text: "Hello there", chunkText: []string{"Hello", " there"}, endNS: 55}
	trtCompat := trt
	trtCompat.chunkNS, trtCompat.chunks, trtCompat.chunkText = []int64{10, 30, 50}, 3, []string{"Hello", "", " there"}
	truss := want{chunkNS: []int64{10, 30}, chunks: 2, text: "Hi!", chunkText: []string{"Hi", "!"}, usageC: ip(2), usageP: ip(3), finish: "stop", respID: "t1", endNS: 35}
	trussCompat := truss
	trussCompat.usageC = nil
	return []parseCase{
		{"native", "sglang", nil, wireNative, true, nativeWant},
		{"native-compat", "sglang-native", compat, wireNative, true, nativeWant},
		{"native-crlf", "sglang", nil, strings.ReplaceAll(wireNative, "\n", "\r\n"), true, nativeWant},
		{"sglang-completions", "sglang-oai", nil, wireSGLangCompletions, true, sglCompl},
		{"sglang-completions-compat", "sglang-oai", compat, wireSGLangCompletions, true, sglComplCompat},
		{"vllm-completions-usage-chunk", "vllm", nil, wireVLLMCompletions, true, want{
			chunkNS: []int64{10, 30}, chunks: 2, text: " The sky", chunkText: []string{" The", " sky"},
			usageC: ip(2), usageP: ip(5), finish: "length", respID: "cmpl-1", endNS: 75}},
		{"vllm-continuous-usage", "vllm", nil, wireVLLMContinuous, true, want{
			chunkNS: []int64{10, 30, 50}, chunks: 3, tokens: []int{1, 2, 1}, text: " The sky is blue",
			usageC: ip(4), usageP: ip(5), finish: "length", respID: "cmpl-2", endNS: 95}},
		{"chat-reasoning-content", "sglang-oai-chat", nil, wireChat, true, chat},
		{"chat-reasoning-content-compat", "vllm-chat", compat, wireChat, true, chat},
		{"chat-crlf", "lmdeploy-chat", nil, strings.ReplaceAll(wireChat, "\n", "\r\n"), true, chat},
		{"chat-reasoning", "vllm-chat", nil, wireChatReasoning, true, want{
			chunkNS: []int64{10, 30, 50}, chunks: 3, text: "HmmOkYes", chunkText: []string{"Hmm", "Ok", "Yes"},
			finish: "stop", respID: "c2", endNS: 75}},
		{"trt", "trt", nil, wireTRT, true, trt},
		{"trt-compat", "trt", compat, wireTRT, true, trtCompat},
		{"truss", "truss", nil, wireTruss, true, truss},
		{"truss-compat", "truss", compat, wireTruss, true, trussCompat},
		{"native-body", "sglang", noStream, bodyNative, false, want{
			chunkNS: []int64{10}, chunks: 1, tokens: []int{2}, text: "Hello world", chunkText: []string{"Hello world"},
			usageC: ip(2), usageP: ip(7), cached: ip(0), verify: ip(1), spec: 2, finish: "stop", respID: "n1", endNS: 15}},
		{"completions-body", "lmdeploy", noStream, bodyCompletions, false, want{
			chunkNS: []int64{10}, chunks: 1, tokens: []int{2}, text: " blue", chunkText: []string{" blue"},
			usageC: ip(2), usageP: ip(5), finish: "length", respID: "cmpl-3", endNS: 15}},
		{"chat-body", "sglang-oai-chat", noStream, bodyChat, false, want{
			chunkNS: []int64{10}, chunks: 1, tokens: []int{7}, text: "2+2 is 4.4", chunkText: []string{"2+2 is 4.4"},
			usageC: ip(7), usageP: ip(9), cached: ip(4), verify: ip(2), spec: 3.5, finish: "stop", respID: "chatcmpl-4", endNS: 15}},
		{"chat-sglext-cache", "sglang-oai-chat", noStream, `{"id":"c","choices":[{"index":0,"message":{"content":"x"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":4}},"sglext":{"cached_tokens_details":{"device":3,"host":2,"storage":null}}}`, false, want{
			chunkNS: []int64{10}, chunks: 1, tokens: []int{1}, text: "x", chunkText: []string{"x"},
			usageC: ip(1), usageP: ip(9), cached: ip(5), tiers: &records.CacheTiers{Device: 3, Host: 2}, finish: "stop", respID: "c", endNS: 15}},
		{"native-cache-tiers", "sglang", noStream, `{"text":"x","output_ids":[1],"meta_info":{"id":"n2","finish_reason":{"type":"length","length":1},"prompt_tokens":20,"completion_tokens":1,"cached_tokens":16,"cached_tokens_details":{"device":8,"host":0,"storage":8,"storage_backend":"mooncake\u0021"}}}`, false, want{
			chunkNS: []int64{10}, chunks: 1, tokens: []int{1}, text: "x", chunkText: []string{"x"},
			usageC: ip(1), usageP: ip(20), cached: ip(16), tiers: &records.CacheTiers{Device: 8, Storage: 8, StorageBackend: "mooncake!"},
			finish: "length", respID: "n2", endNS: 15}},
		{"chat-sglext-empty", "sglang-oai-chat", noStream, `{"id":"c","choices":[{"index":0,"message":{"content":"x"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":4}},"sglext":{"cached_tokens_details":{}}}`, false, want{
			chunkNS: []int64{10}, chunks: 1, tokens: []int{1}, text: "x", chunkText: []string{"x"},
			usageC: ip(1), usageP: ip(9), cached: ip(4), finish: "stop", respID: "c", endNS: 15}},
		{"trt-json-body", "trt", nil, `{"model_name":"ensemble","text_output":"Hi there"}`, false, want{
			chunkNS: []int64{10}, chunks: 1, text: "Hi there", chunkText: []string{"Hi there"}, endNS: 15}},
	}
}

// parseWith runs the parser on wire bytes with a fake clock: every read of a line (or of the whole
// body) advances it by 10 ns, so chunk and end times are exact. SentNS is 5.
func parseWith(t *testing.T, backendName string, mod func(*Options), wire string, stream bool, wrap func(io.Reader) io.Reader) (*records.Event, string) {
	t.Helper()
	opts := baseOpts()
	if mod != nil {
		mod(&opts)
	}
	be, err := New(backendName, opts)
	if err != nil {
		t.Fatal(err)
	}
	st := statePool.Get().(*reqState)
	defer putState(st)
	st.noText = opts.NoText && !opts.RecordText // as Send sets it for a single-turn request
	ev := &records.Event{OutputLen: 16, SentNS: 5}
	clock := int64(5)
	now := func() int64 { clock += 10; return clock }
	var r io.Reader = strings.NewReader(wire)
	if wrap != nil {
		r = wrap(r)
	}
	text := be.(*backend).parse(context.Background(), st, ev, r, stream, now)
	return ev, text
}

// TestParseExact parses recorded wire bytes with a fake clock and checks every field exactly, with
// whole reads and with 1-byte reads, with and without --record-text.
func TestParseExact(t *testing.T) {
	for _, c := range parseCases() {
		for _, mode := range []string{"text", "notext", "recordtext"} {
			rt := mode == "recordtext"
			for _, oneByte := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/1byte=%v", c.name, mode, oneByte), func(t *testing.T) {
					mod := func(o *Options) {
						if c.mod != nil {
							c.mod(o)
						}
						o.RecordText = rt
						o.NoText = mode == "notext"
					}
					var wrap func(io.Reader) io.Reader
					if oneByte {
						wrap = iotest.OneByteReader
					}
					ev, text := parseWith(t, c.backend, mod, c.wire, c.stream, wrap)
					w := c.want
					if mode == "notext" && w.errKind == "" {
						w.text = "" // everything else is the same without the text
					}
					w.check(t, ev, text, true, rt)
				})
			}
		}
	}
}

// Without the text (NoText), a native stream still fails when its final cumulative text does not
// decode, and only then: an earlier chunk's bad escape is replaced by the next chunk's text.
func TestNoTextStillChecksEscapes(t *testing.T) {
	chunk := func(text string, n int) string {
		return fmt.Sprintf("data: {\"text\":\"%s\",\"meta_info\":{\"id\":\"x\",\"completion_tokens\":%d}}\n\n", text, n)
	}
	for _, c := range []struct {
		name, wire string
		fails      bool
	}{
		{"good", chunk(`a`, 1) + chunk(`a\u00e9`, 2) + "data: [DONE]\n\n", false},
		{"bad then good", chunk(`a\q`, 1) + chunk(`ab`, 2) + "data: [DONE]\n\n", false},
		{"bad at the end", chunk(`a`, 1) + chunk(`a\u12`, 2) + "data: [DONE]\n\n", true},
	} {
		for _, noText := range []bool{false, true} {
			ev, _ := parseWith(t, "sglang", func(o *Options) { o.NoText = noText }, c.wire, true, nil)
			if failed := ev.ErrorKind == records.ErrDecode; failed != c.fails || (!c.fails && !ev.OK) {
				t.Errorf("%s (NoText %v): ok %v, error %s %q; want failure %v", c.name, noText, ev.OK, ev.ErrorKind, ev.Error, c.fails)
			}
		}
	}
}

// sseServer serves body on every request, written in pieces of size n (0: all at once), each
// flushed, with the given content type. It records the last request's body and headers.
type sseServer struct {
	*httptest.Server
	gotBody   chan []byte
	gotHeader chan http.Header
}

func newSSEServer(t *testing.T, body string, n int, contentType string) *sseServer {
	t.Helper()
	s := &sseServer{gotBody: make(chan []byte, 100), gotHeader: make(chan http.Header, 100)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.gotBody <- b
		s.gotHeader <- r.Header.Clone()
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(200)
		fl := w.(http.Flusher)
		if n <= 0 {
			io.WriteString(w, body)
			return
		}
		for i := 0; i < len(body); i += n {
			j := min(i+n, len(body))
			io.WriteString(w, body[i:j])
			fl.Flush()
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func sendOnce(t *testing.T, name string, mod func(*Options), url string, p *records.Prompt) (*records.Event, string) {
	t.Helper()
	opts := baseOpts()
	opts.BaseURL = url
	if mod != nil {
		mod(&opts)
	}
	be, err := New(name, opts)
	if err != nil {
		t.Fatal(err)
	}
	ev := &records.Event{ID: p.ID, RequestID: "rid-1"}
	zero := time.Now()
	text := be.Send(context.Background(), http.DefaultClient, p, nil, ev, zero)
	return ev, text
}

// TestParseWire serves the recorded bytes from a real HTTP server on 127.0.0.1, whole, in 7-byte
// pieces and one byte per flush, and checks the event (times only for order).
func TestParseWire(t *testing.T) {
	for _, c := range parseCases() {
		for _, n := range []int{0, 7, 1} {
			t.Run(fmt.Sprintf("%s/piece=%d", c.name, n), func(t *testing.T) {
				ct := "text/event-stream"
				if !c.stream {
					ct = "application/json"
				}
				srv := newSSEServer(t, c.wire, n, ct)
				mod := func(o *Options) {
					if c.mod != nil {
						c.mod(o)
					}
					o.RecordText = true
				}
				p := &records.Prompt{ID: 3, Text: "hi", OutputLen: 16, PromptLen: 2}
				ev, text := sendOnce(t, c.backend, mod, srv.URL, p)
				c.want.check(t, ev, text, false, true)
				if ev.Status != 200 || ev.HeadersNS < ev.SentNS || ev.SentNS <= 0 {
					t.Errorf("status %d sent %d headers %d", ev.Status, ev.SentNS, ev.HeadersNS)
				}
				if len(ev.ChunkNS) > 0 && ev.SentNS+ev.ChunkNS[0] < ev.HeadersNS {
					t.Errorf("first chunk before the headers")
				}
				if ev.PromptLen != 2 || ev.OutputLen != 16 {
					t.Errorf("prompt fields not copied: %+v", ev)
				}
				if h := <-srv.gotHeader; h.Get("X-Request-Id") != "rid-1" || h.Get("Content-Type") != "application/json" {
					t.Errorf("headers %v", h)
				}
			})
		}
	}
}

// TestLargeEvent checks a 100 KB event (longer than the read buffer) from a real server.
func TestLargeEvent(t *testing.T) {
	big := strings.Repeat("abcdefghij", 10_000) + "é"
	wire := `data: {"text":"` + big + `","meta_info":{"id":"x","completion_tokens":20000,"prompt_tokens":1}}` + "\n\n" +
		`data: {"text":"` + big + `!","meta_info":{"id":"x","completion_tokens":20001,"prompt_tokens":1}}` + "\n\ndata: [DONE]\n\n"
	for _, n := range []int{0, 4096} {
		srv := newSSEServer(t, wire, n, "text/event-stream")
		ev, text := sendOnce(t, "sglang", nil, srv.URL, &records.Prompt{Text: "x", OutputLen: 20001})
		want{chunks: 2, tokens: []int{20000, 1}, text: big + "!", usageC: ip(20001), usageP: ip(1), respID: "x"}.check(t, ev, text, false, false)
	}
	wire = `data: {"id":"c","choices":[{"index":0,"delta":{"content":"` + big + `"}}]}` + "\n\ndata: [DONE]\n\n"
	srv := newSSEServer(t, wire, 0, "text/event-stream")
	ev, text := sendOnce(t, "vllm-chat", nil, srv.URL, &records.Prompt{Text: "x", OutputLen: 5})
	want{chunks: 1, text: big, respID: "c"}.check(t, ev, text, false, false)
}

// TestReuseEvent checks that Send clears the result fields of a reused event.
func TestReuseEvent(t *testing.T) {
	srv := newSSEServer(t, wireVLLMCompletions, 0, "text/event-stream")
	be, _ := New("vllm", Options{BaseURL: srv.URL, Stream: true, IgnoreEOS: true})
	ev := &records.Event{ChunkNS: []int64{1, 2, 3}, ChunkTokens: []int{1, 1, 1}, ErrorKind: "x", Error: "old", CachedTokens: ip(9)}
	be.Send(context.Background(), nil, &records.Prompt{Text: "a", OutputLen: 2}, nil, ev, time.Now())
	if !ev.OK || len(ev.ChunkNS) != 2 || ev.ChunkTokens != nil || ev.CachedTokens != nil || ev.Error != "" {
		t.Fatalf("stale fields: %+v", ev)
	}
}

// FuzzParse feeds arbitrary bytes to every parser, streamed and whole: no panic, and the event is
// always consistent.
func FuzzParse(f *testing.F) {
	for _, c := range parseCases() {
		f.Add([]byte(c.wire))
	}
	f.Fuzz(func(t *testing.T, wire []byte) {
		for _, name := range []string{"sglang", "vllm", "vllm-chat", "trt", "truss"} {
			for _, stream := range []bool{true, false} {
				ev, _ := parseWith(t, name, func(o *Options) { o.RecordText = true }, string(wire), stream, nil)
				if err := ev.Validate(); err != nil {
					t.Fatalf("%s stream=%v: %v", name, stream, err)
				}
				if !ev.OK && ev.ErrorKind == "" {
					t.Fatalf("failure without a kind")
				}
			}
		}
	})
}

// Chunk times and token counts kept as words while streaming come out exact: gaps longer than a word
// holds (4.29 s), a first chunk long after the send, token counts that are the same for a while, then
// differ, then go down.
func TestChunkWords(t *testing.T) {
	for _, v := range []int64{0, 1, wideMark - 1, wideMark, wideMark + 1, 1 << 40, -1, math.MinInt64, math.MaxInt64} {
		w := appendWord([]uint32{7}, v)
		if got, next := wordAt(w, 1); got != v || next != len(w) {
			t.Errorf("%d: read back %d, next %d of %d", v, got, next, len(w))
		}
	}
	be, err := New("sglang", baseOpts())
	if err != nil {
		t.Fatal(err)
	}
	wire := "data: {\"text\":\"a\",\"meta_info\":{\"completion_tokens\":2}}\n\n" +
		"data: {\"text\":\"ab\",\"meta_info\":{\"completion_tokens\":4}}\n\n" +
		"data: {\"text\":\"abc\",\"meta_info\":{\"completion_tokens\":6}}\n\n" +
		"data: {\"text\":\"abcd\",\"meta_info\":{\"completion_tokens\":5}}\n\n" +
		"data: [DONE]\n\n"
	clocks := []int64{5e9 + 100, 5e9 + 101, 20e9, 20e9, 30e9, 30e9 + 1, 30e9 + 2, 30e9 + 3}
	now := func() int64 {
		if len(clocks) == 0 {
			return 40e9
		}
		t := clocks[0]
		clocks = clocks[1:]
		return t
	}
	st := statePool.Get().(*reqState)
	defer putState(st)
	ev := &records.Event{OutputLen: 4, SentNS: 100}
	be.(*backend).parse(context.Background(), st, ev, strings.NewReader(wire), true, now)
	// Lines are stamped as read: chunks at clocks 0, 2, 4, 6 (the blank lines take the others).
	want := []int64{5e9, 20e9 - 100, 30e9 - 100, 30e9 + 2 - 100}
	if !ev.OK || !slices.Equal(ev.ChunkNS, want) || !slices.Equal(ev.ChunkTokens, []int{2, 2, 2, -1}) {
		t.Errorf("ok %v %s: chunk_ns %v, want %v; chunk_tokens %v", ev.OK, ev.Error, ev.ChunkNS, want, ev.ChunkTokens)
	}
}
