package sim

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawResponse is an HTTP/1.x response read byte by byte from the connection.
type rawResponse struct {
	head   string   // status line and header lines, without Date
	chunks []string // the chunks of a chunked body, in order, without framing
	body   string   // the body of a response that is not chunked (read to EOF)
}

// readRawResponse reads one response from br, checking the chunked framing exactly: each chunk is
// a lower-case hex size line, the data, CRLF, and the body ends with "0\r\n\r\n".
func readRawResponse(t *testing.T, br *bufio.Reader) rawResponse {
	t.Helper()
	var r rawResponse
	chunked := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the head: %v (so far %q)", err, r.head)
		}
		if line == "\r\n" {
			break
		}
		if strings.HasPrefix(line, "Date: ") {
			continue
		}
		if line == "Transfer-Encoding: chunked\r\n" {
			chunked = true
		}
		r.head += line
	}
	if !chunked {
		b, err := io.ReadAll(br)
		if err != nil {
			t.Fatalf("reading the body: %v", err)
		}
		r.body = string(b)
		return r
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading a chunk size: %v", err)
		}
		hex, ok := strings.CutSuffix(line, "\r\n")
		n, perr := strconv.ParseUint(hex, 16, 32)
		if !ok || perr != nil || strconv.FormatUint(n, 16) != hex {
			t.Fatalf("malformed chunk size line %q", line)
		}
		data := make([]byte, n+2)
		if _, err := io.ReadFull(br, data); err != nil {
			t.Fatalf("reading a chunk of %d bytes: %v", n, err)
		}
		if string(data[n:]) != "\r\n" {
			t.Fatalf("chunk of %d bytes not followed by CRLF: %q", n, data)
		}
		if n == 0 {
			return r
		}
		r.chunks = append(r.chunks, string(data[:n]))
	}
}

// rawRequest writes a request for path with body, in protocol proto ("HTTP/1.1"), to c. Its
// X-Request-Id is a UUID, as the llama.cpp mimic requires.
func rawRequest(t *testing.T, c net.Conn, proto, path, body string) {
	t.Helper()
	req := fmt.Sprintf("POST %s %s\r\nHost: sim\r\nContent-Type: application/json\r\nX-Request-Id: 123e4567-e89b-12d3-a456-426614174000\r\nContent-Length: %d\r\n\r\n%s",
		path, proto, len(body), body)
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
}

// pingTimeRE matches the wall-clock time in a llama.cpp ": ping" comment.
var pingTimeRE = regexp.MustCompile(`ping - [0-9 :.-]+\+00:00`)

// TestStreamBytesDirectAndNetHTTP checks that a streamed response written straight to the
// connection (the Server's own http.Server, as Serve runs it) is byte for byte what net/http
// sends when the Server is a plain http.Handler: the same head, one chunk per event with the
// same data, the same end, for every protocol, the llama.cpp mimic's pings and the in-band
// error. Two requests go over one connection, so keep-alive after a direct stream is covered.
func TestStreamBytesDirectAndNetHTTP(t *testing.T) {
	for _, tc := range []struct {
		name, path, body string
		cfg              Config
	}{
		{"native", "/generate", `{"text":"a b c","sampling_params":{"max_new_tokens":40,"ignore_eos":true},"stream":true}`, Config{}},
		{"native eos", "/generate", `{"text":"a b c","sampling_params":{"max_new_tokens":40},"stream":true}`, Config{EOSAfter: 5}},
		{"native 3 per event", "/generate", `{"text":"a b c","sampling_params":{"max_new_tokens":10,"ignore_eos":true},"stream":true}`, Config{TokensPerChunk: 3}},
		{"completions usage", "/v1/completions", `{"model":"m","prompt":"a b","max_tokens":5,"stream":true,"stream_options":{"include_usage":true,"continuous_usage_stats":true}}`, Config{}},
		{"chat", "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":5,"stream":true}`, Config{}},
		{"triton", "/v2/models/ensemble/generate_stream", `{"text_input":"a b","max_tokens":5,"stream":true}`, Config{}},
		{"stream error", "/generate", `{"text":"a","sampling_params":{"max_new_tokens":9},"stream":true}`, Config{StreamErrorAfter: 2, StreamErrorRate: 1}},
		{"llama.cpp pings", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"max_tokens":3,"stream":true}`,
			Config{Mimic: MimicLlamaCpp, ITL: 12 * time.Millisecond, PingInterval: 5 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := func(direct bool) []rawResponse {
				srv, err := New(tc.cfg)
				if err != nil {
					t.Fatal(err)
				}
				hs := httptest.NewUnstartedServer(srv)
				if direct {
					hs.Config = srv.hs
				}
				hs.Start()
				defer hs.Close()
				defer srv.Close()
				c, err := net.Dial("tcp", hs.Listener.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(time.Minute)) // a failure must not hang the test
				br := bufio.NewReader(c)
				var out []rawResponse
				for range 2 {
					rawRequest(t, c, "HTTP/1.1", tc.path, tc.body)
					r := readRawResponse(t, br)
					for i, ch := range r.chunks {
						r.chunks[i] = pingTimeRE.ReplaceAllString(normalize(ch), "ping - T")
					}
					out = append(out, r)
				}
				return out
			}
			direct, plain := run(true), run(false)
			for i := range direct {
				d, p := direct[i], plain[i]
				if d.head != p.head {
					t.Errorf("request %d: head\ndirect:   %q\nnet/http: %q", i, d.head, p.head)
				}
				if len(d.chunks) < 2 || strings.Join(d.chunks, "|") != strings.Join(p.chunks, "|") {
					t.Errorf("request %d: chunks\ndirect:   %q\nnet/http: %q", i, d.chunks, p.chunks)
				}
			}
		})
	}
}

// TestStreamHTTP10 checks that an HTTP/1.0 request, whose response net/http cannot chunk, gets its
// events unframed and the connection closed after them, also on the Server's own http.Server.
func TestStreamHTTP10(t *testing.T) {
	ts := start(t, Config{})
	c, err := net.Dial("tcp", ts.ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rawRequest(t, c, "HTTP/1.0", "/generate", `{"text":"a","sampling_params":{"max_new_tokens":2,"ignore_eos":true},"stream":true}`)
	r := readRawResponse(t, bufio.NewReader(c)) // reads the body to EOF: the server closed
	if r.chunks != nil || !strings.HasPrefix(r.head, "HTTP/1.0 200 OK\r\n") {
		t.Fatalf("head %q, chunks %q", r.head, r.chunks)
	}
	events := splitSSE(t, r.body)
	if len(events) != 3 || events[2] != "[DONE]" {
		t.Errorf("events %q", events)
	}
}

// TestStreamConn checks which requests have their events written to the connection directly.
func TestStreamConn(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	for _, tc := range []struct {
		name         string
		major, minor int
		ctx          context.Context
		want         net.Conn
	}{
		{"HTTP/1.1 from Serve", 1, 1, withConn(context.Background(), a), a},
		{"HTTP/1.0", 1, 0, withConn(context.Background(), a), nil},
		{"HTTP/2", 2, 0, withConn(context.Background(), a), nil},
		{"plain handler", 1, 1, context.Background(), nil},
	} {
		r := httptest.NewRequestWithContext(tc.ctx, http.MethodPost, "/generate", nil)
		r.ProtoMajor, r.ProtoMinor = tc.major, tc.minor
		if got := streamConn(r); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestStopWakesSleepingRequest checks that a request waiting for its first token (TTFT one hour)
// ends as soon as its client goes away or the server closes, streamed or not: the wait is on a
// timer alone, which the client's and the server's stop must fire (gen.wakeOnStop).
func TestStopWakesSleepingRequest(t *testing.T) {
	const stream = `{"prompt":"x","max_tokens":3,"stream":true}`
	const unary = `{"prompt":"x","max_tokens":3}`
	for _, tc := range []struct {
		name, body, outcome string
		closeServer         bool
	}{
		{"client closes a stream", stream, OutcomeClientClosed, false},
		{"client closes a unary request", unary, OutcomeClientClosed, false},
		{"server closes during a stream", stream, OutcomeShutdown, true},
		{"server closes during a unary request", unary, OutcomeShutdown, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := start(t, Config{TTFT: time.Hour})
			c, err := net.Dial("tcp", ts.ts.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			rawRequest(t, c, "HTTP/1.1", "/v1/completions", tc.body)
			waitFor(t, func() bool { r, _ := ts.srv.slots.load(); return r == 1 }) // admitted, asleep
			if tc.closeServer {
				closed := make(chan error, 1)
				go func() { closed <- ts.srv.Close() }() // waits for the handler
				select {
				case err := <-closed:
					if err != nil {
						t.Fatal(err)
					}
				case <-time.After(30 * time.Second):
					ts.closed = true // the clean-up would wait for the handler too
					t.Fatal("Close still waiting for the sleeping request")
				}
			} else {
				c.Close()
				waitFor(t, func() bool { r, _ := ts.srv.slots.load(); return r == 0 })
			}
			recs := ts.truthRecords()
			if len(recs) != 1 || recs[0].Outcome != tc.outcome || recs[0].CompletionTokens != 0 {
				t.Errorf("records %+v, want one with outcome %q and no tokens", recs, tc.outcome)
			}
		})
	}
}
