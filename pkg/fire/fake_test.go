package fire

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// fakeBackend sends a prompt to testServer over real HTTP: POST /gen with {"n": output_len,
// "messages": k}, reading one SSE line per token. It stamps times like a real backend.
type fakeBackend struct {
	url  string
	auth string
}

func (f *fakeBackend) Name() string { return "fake" }
func (f *fakeBackend) URL() string  { return f.url }

func (f *fakeBackend) Send(ctx context.Context, c *http.Client, p *records.Prompt, msgs []records.Message, ev *records.Event, zero time.Time) string {
	body, _ := json.Marshal(map[string]any{"n": p.OutputLen, "messages": len(msgs)})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(body))
	if err != nil {
		ev.ErrorKind, ev.Error = records.ErrClient, err.Error()
		return ""
	}
	req.Header.Set("X-Request-Id", ev.RequestID)
	if f.auth != "" {
		req.Header.Set("Authorization", f.auth)
	}
	ev.SentNS = int64(time.Since(zero))
	resp, err := c.Do(req)
	if err != nil {
		ev.EndNS = int64(time.Since(zero))
		ev.ErrorKind, ev.Error = records.ErrConnect, err.Error()
		return ""
	}
	defer resp.Body.Close()
	ev.HeadersNS = int64(time.Since(zero))
	ev.Status = resp.StatusCode
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		ev.EndNS = int64(time.Since(zero))
		ev.ErrorKind, ev.Error = records.ErrHTTPStatus, string(b)
		return ""
	}
	br := bufio.NewReader(resp.Body)
	var text strings.Builder
	for {
		line, err := br.ReadString('\n')
		now := int64(time.Since(zero))
		if err != nil {
			ev.EndNS = now
			if errors.Is(err, io.EOF) {
				ev.OK = true
				return text.String()
			}
			ev.ErrorKind, ev.Error = records.ErrStreamBroken, err.Error()
			return ""
		}
		line = strings.TrimSpace(line)
		if t, ok := strings.CutPrefix(line, "data: "); ok {
			ev.ChunkNS = append(ev.ChunkNS, now-ev.SentNS)
			text.WriteString(t)
		}
	}
}

// testServer answers POST /gen by streaming n tokens. It counts requests in flight, can hold them until
// released, and records every request id and message count it saw.
type testServer struct {
	*httptest.Server
	inflight, maxInflight atomic.Int64
	hold                  chan struct{} // when non-nil, each request waits for it to be closed
	reached               chan struct{} // closed when inflight first reaches reachAt
	reachAt               int64
	reachOnce             sync.Once
	auth                  string
	mu                    sync.Mutex
	ids                   []string
	msgCounts             []int
	delay                 time.Duration // between tokens
}

func newTestServer(t *testing.T) *testServer { return newTestServerConnState(t, nil) }

// newTestServerConnState starts a testServer whose http.Server reports connection states to cs.
func newTestServerConnState(t *testing.T, cs func(net.Conn, http.ConnState)) *testServer {
	ts := &testServer{}
	ts.Server = httptest.NewUnstartedServer(http.HandlerFunc(ts.handle))
	ts.Config.ConnState = cs
	ts.Start()
	t.Cleanup(ts.Close)
	return ts
}

func (ts *testServer) handle(w http.ResponseWriter, r *http.Request) {
	if ts.auth != "" && r.Header.Get("Authorization") != ts.auth {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	var req struct{ N, Messages int }
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ts.mu.Lock()
	ts.ids = append(ts.ids, r.Header.Get("X-Request-Id"))
	ts.msgCounts = append(ts.msgCounts, req.Messages)
	ts.mu.Unlock()
	n := ts.inflight.Add(1)
	defer ts.inflight.Add(-1)
	for {
		m := ts.maxInflight.Load()
		if n <= m || ts.maxInflight.CompareAndSwap(m, n) {
			break
		}
	}
	if ts.reached != nil && n >= ts.reachAt {
		ts.reachOnce.Do(func() { close(ts.reached) })
	}
	if ts.hold != nil {
		select {
		case <-ts.hold:
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	fl := w.(http.Flusher)
	for i := range req.N {
		if ts.delay > 0 {
			time.Sleep(ts.delay)
		}
		fmt.Fprintf(w, "data: t%d\n\n", i)
		fl.Flush()
	}
}

// waitReached waits until the server has seen k requests in flight at once, or fails the test after 10 s.
func (ts *testServer) waitReached(t *testing.T) {
	t.Helper()
	select {
	case <-ts.reached:
	case <-time.After(10 * time.Second):
		t.Fatalf("the server never had %d requests in flight (max %d)", ts.reachAt, ts.maxInflight.Load())
	}
}

func textPrompts(n, outLen int) []records.Prompt {
	ps := make([]records.Prompt, n)
	for i := range ps {
		ps[i] = records.Prompt{ID: 100 + i, Text: fmt.Sprintf("prompt %d", i), PromptLen: 2, OutputLen: outLen, Group: "g"}
	}
	return ps
}

// run runs r with the fake backend against ts and returns the result and the parsed stream.
func runStream(t *testing.T, r *Runner) (*Result, records.Header, []records.Event, []records.Trailer) {
	t.Helper()
	var out bytes.Buffer
	r.Out = &out
	if r.Header.Stream == "" {
		r.Header = records.Header{Stream: records.StreamEvents, Tool: "bs-fire", Version: "test"}
	}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	rd := records.NewReaderFrom[records.Event](records.StreamEvents, "out", &out)
	evs, err := rd.All()
	if err != nil {
		t.Fatalf("reading the event stream back: %v", err)
	}
	if len(rd.Headers()) != 1 {
		t.Fatalf("%d headers", len(rd.Headers()))
	}
	return res, rd.Headers()[0], evs, rd.Trailers()
}
