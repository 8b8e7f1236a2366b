package backends

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bsbench/bs/pkg/records"
)

const secret = "Bearer sk-secret-1234"

// rawServer accepts connections on 127.0.0.1, reads one request and hands the connection to handle.
func rawServer(t *testing.T, handle func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				io.Copy(io.Discard, req.Body)
				handle(c)
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

func sendCtx(t *testing.T, ctx context.Context, name string, mod func(*Options), url string, p *records.Prompt) (*records.Event, string) {
	t.Helper()
	opts := baseOpts()
	opts.BaseURL = url
	opts.Authorization = secret
	opts.Header = http.Header{"X-Api-Key": {"key-abcdef"}}
	if mod != nil {
		mod(&opts)
	}
	be, err := New(name, opts)
	if err != nil {
		t.Fatal(err)
	}
	ev := &records.Event{RequestID: "r"}
	text := be.Send(ctx, &http.Client{Transport: &http.Transport{}}, p, nil, ev, time.Now())
	if err := ev.Validate(); err != nil {
		t.Fatalf("invalid event: %v", err)
	}
	if strings.Contains(ev.Error, "sk-secret-1234") || strings.Contains(ev.Error, "key-abcdef") {
		t.Fatalf("error message leaks a secret: %s", ev.Error)
	}
	return ev, text
}

func expectFail(t *testing.T, ev *records.Event, kind, has string) {
	t.Helper()
	if ev.OK || ev.ErrorKind != kind || !strings.Contains(ev.Error, has) {
		t.Fatalf("got ok=%v kind=%q error=%q; want kind %q containing %q", ev.OK, ev.ErrorKind, ev.Error, kind, has)
	}
}

var textPrompt = &records.Prompt{ID: 9, Text: "hello", OutputLen: 8, PromptLen: 1}

func TestErrConnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	for _, name := range Names() {
		ev, _ := sendCtx(t, context.Background(), name, nil, url, textPrompt)
		expectFail(t, ev, records.ErrConnect, "connection refused")
		if ev.Status != 0 || ev.HeadersNS != 0 || ev.SentNS <= 0 || ev.EndNS < ev.SentNS {
			t.Errorf("%s: status %d headers %d sent %d end %d", name, ev.Status, ev.HeadersNS, ev.SentNS, ev.EndNS)
		}
	}
}

// blockingServer answers with the given prefix of a stream (nothing when empty) and then holds the
// response open until the client goes away. started receives a value when a request arrives.
func blockingServer(t *testing.T, prefix string) (*httptest.Server, chan struct{}) {
	started := make(chan struct{}, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if prefix != "" {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, prefix)
			w.(http.Flusher).Flush()
		}
		started <- struct{}{}
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv, started
}

// expiringCtx is a context whose deadline passes when expire is called.
type expiringCtx struct {
	context.Context
	done chan struct{}
	once sync.Once
}

func newExpiringCtx() *expiringCtx {
	return &expiringCtx{Context: context.Background(), done: make(chan struct{})}
}

func (c *expiringCtx) expire()                     { c.once.Do(func() { close(c.done) }) }
func (c *expiringCtx) Done() <-chan struct{}       { return c.done }
func (c *expiringCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *expiringCtx) Value(key any) any           { return nil }
func (c *expiringCtx) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

func TestErrTimeout(t *testing.T) {
	// Before the response headers: the server never answers.
	srv, _ := blockingServer(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	ev, _ := sendCtx(t, ctx, "sglang", nil, srv.URL, textPrompt)
	cancel()
	expectFail(t, ev, records.ErrTimeout, "timed out")
	// Mid-stream: the deadline passes once the first chunk has been read.
	srv, _ = blockingServer(t, "data: {\"text\":\"a\",\"meta_info\":{\"completion_tokens\":1}}\n\n")
	ectx := newExpiringCtx()
	opts := baseOpts()
	opts.BaseURL = srv.URL
	be, _ := New("sglang", opts)
	ev = &records.Event{}
	client := &http.Client{Transport: &cancelAfterRead{rt: &http.Transport{}, cancel: ectx.expire}}
	be.Send(ectx, client, textPrompt, nil, ev, time.Now())
	expectFail(t, ev, records.ErrTimeout, "timed out while reading")
	if len(ev.ChunkNS) != 1 || ev.Status != 200 || ev.HeadersNS == 0 {
		t.Errorf("mid-stream timeout: chunks %v status %d", ev.ChunkNS, ev.Status)
	}
}

// cancelAfterRead cancels the request's context once the body has delivered its first event; the
// data of that read still reaches the parser.
type cancelAfterRead struct {
	rt     http.RoundTripper
	cancel context.CancelFunc
}

type cancellingBody struct {
	io.ReadCloser
	cancel context.CancelFunc
	buf    []byte
}

func (c *cancelAfterRead) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.rt.RoundTrip(r)
	if err == nil {
		resp.Body = &cancellingBody{ReadCloser: resp.Body, cancel: c.cancel}
	}
	return resp, err
}

func (b *cancellingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.buf = append(b.buf, p[:n]...)
	if strings.Contains(string(b.buf), "\n\n") {
		b.cancel()
	}
	return n, err
}

func TestErrCancelled(t *testing.T) {
	// Before the response headers.
	srv, started := blockingServer(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	ev, _ := sendCtx(t, ctx, "vllm-chat", nil, srv.URL, textPrompt)
	expectFail(t, ev, records.ErrCancelled, "cancelled")
	if ev.HeadersNS != 0 {
		t.Errorf("headers %d", ev.HeadersNS)
	}
	// Mid-stream, after the first chunk was read.
	srv, _ = blockingServer(t, "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n")
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	opts := baseOpts()
	opts.BaseURL = srv.URL
	be, _ := New("vllm-chat", opts)
	ev = &records.Event{}
	client := &http.Client{Transport: &cancelAfterRead{rt: &http.Transport{}, cancel: cancel}}
	text := be.Send(ctx, client, textPrompt, nil, ev, time.Now())
	expectFail(t, ev, records.ErrCancelled, "cancelled while reading")
	if len(ev.ChunkNS) != 1 || text != "a" || ev.Status != 200 {
		t.Errorf("mid-stream cancel: chunks %v text %q status %d", ev.ChunkNS, text, ev.Status)
	}
}

func TestErrHTTPStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "overloaded; you sent "+r.Header.Get("Authorization")+" and "+r.Header.Get("X-Api-Key")+" "+strings.Repeat("é", 2000)+"\n")
	}))
	defer srv.Close()
	for _, name := range Names() {
		ev, _ := sendCtx(t, context.Background(), name, nil, srv.URL, textPrompt)
		expectFail(t, ev, records.ErrHTTPStatus, "Service Unavailable: overloaded; you sent ")
		if name != "trt" && !strings.Contains(ev.Error, "you sent REDACTED and REDACTED éé") {
			t.Errorf("%s: secrets not redacted: %.80s", name, ev.Error)
		}
		body := strings.TrimPrefix(ev.Error, "Service Unavailable: ")
		if !strings.HasSuffix(body, "é…") || len(body) > errBodyMax+len("…")+20 || ev.Status != 503 {
			t.Errorf("%s: body not cut to 1 KB at a rune boundary (%d bytes): …%s", name, len(body), body[len(body)-10:])
		}
	}
	// A custom reason phrase is kept, as the reference's response.reason.
	url := rawServer(t, func(c net.Conn) {
		io.WriteString(c, "HTTP/1.1 429 Slow Down\r\nContent-Length: 4\r\nContent-Type: text/plain\r\n\r\nbusy")
	})
	ev, _ := sendCtx(t, context.Background(), "vllm", nil, url, textPrompt)
	expectFail(t, ev, records.ErrHTTPStatus, "Slow Down: busy")
	if ev.Error != "Slow Down: busy" {
		t.Errorf("message %q", ev.Error)
	}
}

func TestErrStreamBroken(t *testing.T) {
	// A clean end without [DONE].
	noDone := strings.ReplaceAll(wireNative, "data: [DONE]\n\n", "")
	srv := newSSEServer(t, noDone, 0, "text/event-stream")
	ev, _ := sendCtx(t, context.Background(), "sglang", nil, srv.URL, textPrompt)
	expectFail(t, ev, records.ErrStreamBroken, "without data: [DONE]")
	if len(ev.ChunkNS) != 5 {
		t.Errorf("chunks before the break not kept: %v", ev.ChunkNS)
	}
	for _, name := range []string{"sglang-oai", "vllm-chat"} {
		srv := newSSEServer(t, "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"text\":\"a\",\"delta\":{\"content\":\"a\"}}]}\n\n", 0, "text/event-stream")
		ev, _ := sendCtx(t, context.Background(), name, nil, srv.URL, textPrompt)
		expectFail(t, ev, records.ErrStreamBroken, "without data: [DONE]")
	}
	// trt and truss have no terminator: a clean end is a complete response...
	for _, c := range []struct{ name, wire string }{{"trt", wireTRT}, {"truss", wireTruss}} {
		srv := newSSEServer(t, c.wire, 0, "text/event-stream")
		if ev, _ := sendCtx(t, context.Background(), c.name, nil, srv.URL, textPrompt); !ev.OK {
			t.Errorf("%s: %s", c.name, ev.Error)
		}
	}
	// ...but a chunked body cut in the middle is not, for every backend.
	cut := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data:{\"text_output\":\"a\",\"text\":\"a\",\"choices\":[{\"text\":\"a\"}],\"meta_info\":{\"completion_tokens\":1}}\n\n")
		w.(http.Flusher).Flush()
		c, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			c.Write([]byte("40\r\ndata: {\"te")) // a chunk that never ends
			c.Close()
		}
	}))
	defer cut.Close()
	for _, name := range []string{"trt", "truss", "sglang"} {
		ev, _ := sendCtx(t, context.Background(), name, nil, cut.URL, textPrompt)
		expectFail(t, ev, records.ErrStreamBroken, "reading the response")
	}
	// A connection reset mid-stream.
	url := rawServer(t, func(c net.Conn) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 100000\r\n\r\n")
		io.WriteString(c, "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"text\":\"a\"}]}\n\n")
		time.Sleep(20 * time.Millisecond) // let the client read the first event before the reset
		c.(*net.TCPConn).SetLinger(0)
	})
	ev, _ = sendCtx(t, context.Background(), "vllm", nil, url, textPrompt)
	expectFail(t, ev, records.ErrStreamBroken, "") // "connection reset", before or after the headers
}

func TestErrServerEvent(t *testing.T) {
	cases := []struct {
		name, wire, ct, has string
	}{
		{"sglang", "data: {\"text\":\"a\",\"meta_info\":{\"completion_tokens\":1}}\n\ndata: {\"error\": {\"message\": \"CUDA out of memory\", \"code\": 500}}\n\ndata: [DONE]\n\n", "text/event-stream", "CUDA out of memory"},
		{"vllm-chat", "data: {\"error\":{\"object\":\"error\",\"message\":\"token " + secret + " rejected\",\"type\":\"BadRequestError\",\"param\":null,\"code\":400}}\n\ndata: [DONE]\n\n", "text/event-stream", "token REDACTED rejected"},
		{"sglang-oai", "data: {\"error\":{\"message\":\"boom\"}}\n\n", "text/event-stream", "boom"},
		{"trt", "data:{\"error\":\"in ensemble 'ensemble', failed\"}\n\n", "text/event-stream", "in ensemble 'ensemble', failed"},
		{"sglang-oai-chat", `{"error":{"message":"bad request body"}}`, "application/json", "bad request body"},
		{"truss", "{\"error\": 42}\n", "text/event-stream", "server error in the response: 42"},
	}
	for _, c := range cases {
		srv := newSSEServer(t, c.wire, 0, c.ct)
		ev, _ := sendCtx(t, context.Background(), c.name, nil, srv.URL, textPrompt)
		expectFail(t, ev, records.ErrServerEvent, c.has)
		if ev.Status != 200 {
			t.Errorf("%s: status %d", c.name, ev.Status)
		}
	}
}

func TestErrDecode(t *testing.T) {
	cases := []struct {
		name, wire, ct, has string
		stream              bool
	}{
		{"sglang", "data: {\"text\": \"a\"\n\n", "text/event-stream", "undecodable", true},
		{"sglang", "data: [1,2]\n\n", "text/event-stream", "not an object", true},
		{"vllm", "data: {\"id\":\"x\",\"choices\":[]}\n\ndata: [DONE]\n\n", "text/event-stream", "without choices or usage", true},
		{"vllm", "data: {\"id\":\"x\"}\n\ndata: [DONE]\n\n", "text/event-stream", "without choices or usage", true},
		{"vllm-chat", "data: {\"choices\":{\"a\":1}}\n\n", "text/event-stream", "choices is not a list", true},
		{"sglang", "data: {\"text\":\"a\\q\",\"meta_info\":{}}\n\ndata: [DONE]\n\n", "text/event-stream", "", true},
		{"sglang-oai-chat", "not json", "application/json", "undecodable", false},
		{"sglang-oai-chat", `{"id":"x","choices":[]}`, "application/json", "without choices", false},
		{"sglang", "", "application/json", "empty response body", false},
		{"vllm", `{"choices":[{"text":"a"}]} {}`, "application/json", "data after", false},
	}
	for i, c := range cases {
		srv := newSSEServer(t, c.wire, 0, c.ct)
		mod := func(o *Options) { o.Stream = c.stream }
		ev, _ := sendCtx(t, context.Background(), c.name, mod, srv.URL, textPrompt)
		if ev.OK || ev.ErrorKind != records.ErrDecode || !strings.Contains(ev.Error, c.has) {
			t.Errorf("case %d: got %v %q %q", i, ev.OK, ev.ErrorKind, ev.Error)
		}
	}
}

func TestErrClient(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	cases := []struct {
		name string
		p    records.Prompt
		has  string
	}{
		{"vllm-chat", records.Prompt{ID: 1, IDs: []int{1, 2}}, "cannot send token ids"},
		{"sglang-oai", records.Prompt{ID: 2, IDs: []int{1, 2}}, "cannot send token ids"},
		{"sglang", records.Prompt{ID: 3, Text: "a", ExtraBody: json.RawMessage(`[1]`)}, "prompt 3: extra_body"},
		{"vllm-chat", records.Prompt{ID: 4, Turns: [][]records.Message{{records.TextMessage("user", "a")}}}, "multi-turn"},
		{"vllm-chat", records.Prompt{ID: 5, Messages: []records.Message{{Role: "user", Content: json.RawMessage(`{bad`)}}}, "message 0"},
		{"trt", records.Prompt{ID: 6, Text: "a", Lora: "x"}, "no LoRA support"},
		{"sglang", records.Prompt{ID: 7, Text: "a", ExtraBody: json.RawMessage(`{"a":`)}, "extra_body"},
	}
	for _, c := range cases {
		ev, text := sendCtx(t, context.Background(), c.name, nil, srv.URL, &c.p)
		expectFail(t, ev, records.ErrClient, c.has)
		if ev.SentNS != ev.EndNS || ev.Status != 0 || text != "" {
			t.Errorf("%s: sent %d end %d status %d", c.name, ev.SentNS, ev.EndNS, ev.Status)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("%d requests reached the server", hits.Load())
	}
}

// TestOneByteTCP serves a stream over a raw connection, one byte per write, ended by closing the
// connection (no Content-Length, no chunking).
func TestOneByteTCP(t *testing.T) {
	wire := strings.ReplaceAll(wireChat, "\n", "\r\n")
	url := rawServer(t, func(c net.Conn) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")
		for i := 0; i < len(wire); i++ {
			if _, err := c.Write([]byte{wire[i]}); err != nil {
				return
			}
		}
	})
	ev, text := sendCtx(t, context.Background(), "sglang-oai-chat", func(o *Options) { o.RecordText = true }, url, textPrompt)
	w := parseCases()[7].want // chat-reasoning-content
	w.check(t, ev, text, false, true)
}

// TestConnectionReuse checks that bodies are read to the end so one connection serves many requests.
func TestConnectionReuse(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, wireSGLangCompletions)
	}))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	opts := baseOpts()
	opts.BaseURL = srv.URL
	be, _ := New("sglang-oai", opts)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	for i := 0; i < 20; i++ {
		ev := &records.Event{}
		be.Send(context.Background(), client, textPrompt, nil, ev, time.Now())
		if !ev.OK {
			t.Fatal(ev.Error)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 20 sequential requests", n)
	}
}

// TestFatalChunkDoesNotWait checks that after an in-band error the request ends at once, even if
// the server keeps the stream open.
func TestFatalChunkDoesNotWait(t *testing.T) {
	srv, _ := blockingServer(t, "data: {\"error\":{\"message\":\"boom\"}}\n\n")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ev, _ := sendCtx(t, ctx, "sglang", nil, srv.URL, textPrompt)
	expectFail(t, ev, records.ErrServerEvent, "boom") // a timeout here would mean it waited
}

// TestContentTypeMismatch: a JSON body where a stream was asked for, and a stream where a body was.
func TestContentTypeMismatch(t *testing.T) {
	srv := newSSEServer(t, bodyCompletions, 0, "application/json")
	ev, text := sendCtx(t, context.Background(), "vllm", nil, srv.URL, textPrompt)
	if !ev.OK || text != " blue" || len(ev.ChunkNS) != 1 {
		t.Errorf("JSON answer to a stream request: %+v", ev)
	}
	srv = newSSEServer(t, wireSGLangCompletions, 0, "text/event-stream; charset=utf-8")
	ev, text = sendCtx(t, context.Background(), "sglang-oai", func(o *Options) { o.Stream = false }, srv.URL, textPrompt)
	if !ev.OK || text != " The sky is blue" || len(ev.ChunkNS) != 3 {
		t.Errorf("stream answer to a non-stream request: %+v", ev)
	}
}
