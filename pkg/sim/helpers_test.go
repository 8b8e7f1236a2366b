package sim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a bytes.Buffer safe for concurrent use (log sinks are written by the server).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testServer is a bs-sim server on 127.0.0.1 with in-memory truth and body logs.
type testServer struct {
	t      *testing.T
	srv    *Server
	ts     *httptest.Server
	URL    string
	truth  *syncBuffer
	bodies *syncBuffer
	closed bool
}

func start(t *testing.T, cfg Config) *testServer {
	t.Helper()
	ts := &testServer{t: t, truth: &syncBuffer{}, bodies: &syncBuffer{}}
	cfg.TruthLog = ts.truth
	cfg.RecordBodies = ts.bodies
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts.srv = srv
	// Served by the Server's own http.Server, as Serve does (and so with its connection hook:
	// streamed events are written straight to the connection); listens on 127.0.0.1:0.
	ts.ts = httptest.NewUnstartedServer(srv)
	ts.ts.Config = srv.hs
	ts.ts.Start()
	ts.URL = ts.ts.URL
	t.Cleanup(ts.close)
	return ts
}

// close stops the server and flushes its logs.
func (ts *testServer) close() {
	if ts.closed {
		return
	}
	ts.closed = true
	if err := ts.srv.Close(); err != nil {
		ts.t.Errorf("Close: %v", err)
	}
	ts.ts.Close()
}

// truthRecords closes the server and returns its truth log.
func (ts *testServer) truthRecords() []TruthRecord {
	ts.t.Helper()
	ts.close()
	var out []TruthRecord
	sc := bufio.NewScanner(strings.NewReader(ts.truth.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r TruthRecord
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			ts.t.Fatalf("truth log line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

// bodyRecords closes the server and returns its body log.
func (ts *testServer) bodyRecords() []BodyRecord {
	ts.t.Helper()
	ts.close()
	var out []BodyRecord
	for _, line := range strings.Split(strings.TrimSpace(ts.bodies.String()), "\n") {
		var r BodyRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			ts.t.Fatalf("body log line %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

type response struct {
	status        int
	header        http.Header
	contentLength int64 // -1 when the body was chunked
	body          string
}

// post sends a JSON body with optional headers (pairs) and reads the whole response.
func (ts *testServer) post(path, body string, headers ...string) response {
	ts.t.Helper()
	return ts.do(http.MethodPost, path, body, headers...)
}

func (ts *testServer) get(path string, headers ...string) response {
	ts.t.Helper()
	return ts.do(http.MethodGet, path, "", headers...)
}

func (ts *testServer) do(method, path, body string, headers ...string) response {
	ts.t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		ts.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, contentLength: resp.ContentLength, body: string(b)}
}

var (
	// The llama.cpp mimic writes Python's `"created": N`; the space is kept.
	createdRE = regexp.MustCompile(`"created":( ?)\d+`)
	e2eRE     = regexp.MustCompile(`"e2e_latency":[0-9.e-]+`)
)

// normalize replaces the time-dependent fields of a response with fixed placeholders.
func normalize(s string) string {
	s = createdRE.ReplaceAllString(s, `"created":${1}T`)
	return e2eRE.ReplaceAllString(s, `"e2e_latency":E`)
}

// sseData splits an event stream into its data payloads, checking the framing: every event is
// exactly one "data: " line followed by a blank line.
func splitSSE(t *testing.T, body string) []string {
	t.Helper()
	if !strings.HasSuffix(body, "\n\n") {
		t.Fatalf("stream does not end with a blank line: %q", body)
	}
	var out []string
	for _, ev := range strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n") {
		d, ok := strings.CutPrefix(ev, "data: ")
		if !ok || strings.Contains(d, "\n") {
			t.Fatalf("malformed event %q", ev)
		}
		out = append(out, d)
	}
	return out
}

// words returns the text the server generates for tokens [from, to) of request seq with seed.
func words(seed, seq uint64, from, to int) string {
	var b strings.Builder
	for k := from; k < to; k++ {
		b.WriteString(vocab[wordIndex(seed, seq, k)])
	}
	return b.String()
}
