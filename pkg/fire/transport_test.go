package fire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// connCounter counts the connections a test server accepted.
type connCounter struct {
	mu  sync.Mutex
	new int
}

func (c *connCounter) hook(_ net.Conn, st http.ConnState) {
	if st == http.StateNew {
		c.mu.Lock()
		c.new++
		c.mu.Unlock()
	}
}

func (c *connCounter) n() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.new
}

func newCountingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *connCounter) {
	t.Helper()
	cc := &connCounter{}
	ts := httptest.NewUnstartedServer(h)
	ts.Config.ConnState = cc.hook
	ts.Start()
	t.Cleanup(ts.Close)
	return ts, cc
}

func post(t *testing.T, c *http.Client, ctx context.Context, u, body string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return c.Do(req)
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The lean transport speaks HTTP/1.1 like net/http: the request arrives whole with its headers, chunked
// and Content-Length responses are read whole, informational responses are skipped, and a kept-alive
// connection carries the following requests.
func TestTransportExchange(t *testing.T) {
	ts, cc := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Proto != "HTTP/1.1" || r.Header.Get("Content-Type") != "application/json" || r.ContentLength != int64(len(b)) || r.Host == "" {
			http.Error(w, fmt.Sprintf("bad request %s %v %d", r.Proto, r.Header, r.ContentLength), 400)
			return
		}
		switch r.URL.Path {
		case "/chunked":
			w.WriteHeader(http.StatusEarlyHints) // an informational response first
			for i := range 3 {
				fmt.Fprintf(w, "data: %d %s\n\n", i, b)
				w.(http.Flusher).Flush()
			}
		case "/length":
			w.Header().Set("Content-Length", fmt.Sprint(len(b)))
			w.Write(b)
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		}
	})
	c := NewClient(4)
	for i := range 5 {
		resp, err := post(t, c, context.Background(), ts.URL+"/chunked", "hello")
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, resp); resp.StatusCode != 200 || got != "data: 0 hello\n\ndata: 1 hello\n\ndata: 2 hello\n\n" {
			t.Fatalf("round %d: %d %q", i, resp.StatusCode, got)
		}
		resp, err = post(t, c, context.Background(), ts.URL+"/length", strings.Repeat("x", 100000))
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, resp); len(got) != 100000 {
			t.Fatalf("round %d: %d bytes", i, len(got))
		}
		resp, err = post(t, c, context.Background(), ts.URL+"/empty", "")
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, resp); resp.StatusCode != 204 || got != "" {
			t.Fatalf("round %d: %d %q", i, resp.StatusCode, got)
		}
	}
	if n := cc.n(); n != 1 {
		t.Errorf("%d connections for 15 sequential requests, want 1 (keep-alive)", n)
	}
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/length", nil)
	req.Header["Bad Name"] = []string{"v"}
	if _, err := c.Do(req); err == nil || !strings.Contains(err.Error(), "invalid header field name") {
		t.Errorf("a bad header name was sent: %v", err)
	}
	req, _ = http.NewRequest(http.MethodPost, ts.URL+"/length", nil)
	req.Header.Set("X-Bad", "a\r\nInjected: 1")
	if _, err := c.Do(req); err == nil || !strings.Contains(err.Error(), "invalid header field value") {
		t.Errorf("a bad header value was sent: %v", err)
	}
}

// A connection is not reused after Connection: close, after a body closed before its end, or after the
// server closed it while idle (the next request goes out on a fresh connection and succeeds).
func TestTransportNoStaleReuse(t *testing.T) {
	ts, cc := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/close" {
			w.Header().Set("Connection", "close")
		}
		for range 100 {
			fmt.Fprint(w, strings.Repeat("y", 1000))
		}
	})
	c := NewClient(4)
	want := 1
	check := func(step string) {
		t.Helper()
		resp, err := post(t, c, context.Background(), ts.URL+"/", "")
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if got := readAll(t, resp); len(got) != 100000 {
			t.Fatalf("%s: %d bytes", step, len(got))
		}
		if n := cc.n(); n != want {
			t.Errorf("%s: %d connections, want %d", step, n, want)
		}
	}
	check("first")
	check("reused")

	resp, err := post(t, c, context.Background(), ts.URL+"/close", "")
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	want++ // the /close request reused the kept connection, which is then closed: the next needs a new one
	check("after Connection: close")

	resp, err = post(t, c, context.Background(), ts.URL+"/", "")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	io.ReadFull(resp.Body, buf)
	resp.Body.Close() // early: the rest of the body is still on the connection
	if _, err := resp.Body.Read(buf); err == nil {
		t.Error("read after Close succeeded")
	}
	want++
	check("after an early Close")

	ts.CloseClientConnections() // the server drops the idle connection
	time.Sleep(50 * time.Millisecond)
	want++
	check("after the server closed the idle connection")
}

// Cancelling the request's context unblocks a read of the headers or of the body at once, with the
// context's error; the connection is then closed, never reused.
func TestTransportCancel(t *testing.T) {
	release := make(chan struct{})
	ts, cc := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/quick":
			return
		case "/body":
			fmt.Fprint(w, "data: first\n\n")
			w.(http.Flusher).Flush()
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	c := NewClient(4)

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := post(t, c, ctx, ts.URL+"/head", ""); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting for headers past the deadline: %v", err)
	}

	ctx2, cancel2 := context.WithCancel(context.Background())
	resp, err := post(t, c, ctx2, ts.URL+"/body", "")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	n, err := resp.Body.Read(buf)
	if string(buf[:n]) != "data: first\n\n" || err != nil {
		t.Fatalf("%q %v", buf[:n], err)
	}
	time.AfterFunc(50*time.Millisecond, cancel2)
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, context.Canceled) {
		t.Errorf("reading the body after cancel: %v", err)
	}
	resp.Body.Close()
	if n := cc.n(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
	resp, err = post(t, c, context.Background(), ts.URL+"/quick", "")
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	if n := cc.n(); n != 3 {
		t.Errorf("%d connections after two cancelled requests, want 3 (a cancelled request's connection is not reused)", n)
	}
}

// A request whose context is already done is not sent; one to a closed port fails with a dial error.
func TestTransportErrors(t *testing.T) {
	ts, cc := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {})
	c := NewClient(1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := post(t, c, ctx, ts.URL, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled before sending: %v", err)
	}
	if cc.n() != 0 {
		t.Error("a cancelled request opened a connection")
	}
	_, err := post(t, c, context.Background(), closedURL(t), "")
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		t.Errorf("closed port: %v, want a dial error", err)
	}
}

// https goes through net/http's transport, with the same client.
func TestTransportHTTPSFallsBack(t *testing.T) {
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.Proto, " ", r.TLS != nil)
	}))
	defer ts.Close()
	c := NewClient(1)
	c.Transport.(*transport).std.TLSClientConfig = ts.Client().Transport.(*http.Transport).TLSClientConfig
	resp, err := post(t, c, context.Background(), ts.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, resp); got != "HTTP/1.1 true" {
		t.Errorf("%q", got)
	}
}
