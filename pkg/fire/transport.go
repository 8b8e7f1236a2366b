package fire

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// connReadBufSize is the read buffer of net/http's transport (https, proxies), and of the lean
// transport while it reads a response head (taken from a pool for that time only).
const connReadBufSize = 4 << 10

// reqWriteBufSize is the buffer a request is written through, taken from a pool for the write only
// (not held by the connection): headers and a body up to this size leave in one write(2).
const reqWriteBufSize = 16 << 10

// transport is the client's RoundTripper. Plain-http requests that go through no proxy (the case of a
// benchmark) are sent on its own HTTP/1.1 keep-alive connections, written and read on the caller's
// goroutine: no per-connection reader and writer goroutines and no per-connection write buffer (as
// http.Transport has), so a stream costs one goroutine, and a request no goroutine hand-offs. The
// request is written by (*http.Request).Write through a pooled buffer; the response head is waited
// for without a buffer and parsed by http.ReadResponse (so headers, status and framing are
// net/http's own); the body is read by rawBody (see there), so a waiting stream holds no read buffer.
// Everything else (https, proxies) goes through std.
type transport struct {
	std     *http.Transport
	dialer  *dialer
	maxIdle int           // idle connections kept per host
	idleTTL time.Duration // idle connections older than this are closed instead of reused

	mu   sync.Mutex
	idle map[string][]*pconn // by host:port, most recently used last
}

// pconn is one of the transport's connections.
type pconn struct {
	nc     net.Conn
	rc     syscall.RawConn // nc's, when it has one
	key    string
	idleAt time.Time
	head   headReader
}

// headReader is what a response head is parsed from: the bytes already read, then the connection.
type headReader struct {
	nc      net.Conn
	pending []byte
}

func (h *headReader) Read(p []byte) (int, error) {
	if len(h.pending) > 0 {
		n := copy(p, h.pending)
		h.pending = h.pending[n:]
		return n, nil
	}
	return h.nc.Read(p)
}

func newPconn(nc net.Conn, key string) *pconn {
	pc := &pconn{nc: nc, key: key}
	if sc, ok := nc.(syscall.Conn); ok {
		pc.rc, _ = sc.SyscallConn()
	}
	return pc
}

var (
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, reqWriteBufSize) }}
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, connReadBufSize) }}
)

// aLongTimeAgo is a deadline in the past: setting it makes blocked reads and writes return at once.
var aLongTimeAgo = time.Unix(1, 0)

// lean reports whether req goes over the transport's own connections (plain http, no proxy).
func (t *transport) lean(req *http.Request) bool {
	return req.URL != nil && req.URL.Scheme == "http" && req.URL.Host != "" && (t.std.Proxy == nil || !hasProxy(t.std.Proxy, req))
}

// BodyDoneOnReturn implements backends.BodyDoneOnReturn: a request over the transport's own
// connections has been written whole when RoundTrip returns.
func (t *transport) BodyDoneOnReturn(req *http.Request) bool { return t.lean(req) }

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.lean(req) {
		return t.std.RoundTrip(req)
	}
	if err := validHeaders(req.Header); err != nil {
		closeBody(req)
		return nil, err
	}
	ctx := req.Context()
	key := hostPort(req.URL.Hostname(), req.URL.Port())
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			closeBody(req)
			return nil, err
		}
		pc, reused := t.getIdle(key)
		if pc == nil {
			nc, err := t.dialer.DialContext(ctx, "tcp", key)
			if err != nil {
				closeBody(req)
				return nil, err
			}
			pc = newPconn(nc, key)
		}
		resp, err := t.exchange(ctx, pc, req)
		if err == nil {
			return resp, nil
		}
		// A reused connection the server closed while it was idle fails before any byte of the
		// response: a safe request is sent once more, as http.Transport does. (probe() makes this
		// rare: the server must close the connection between the check and the write.)
		if reused && attempt == 0 && retryable(req, err) && ctx.Err() == nil {
			if req.Body != nil && req.Body != http.NoBody {
				if req.GetBody == nil {
					return nil, err
				}
				b, gerr := req.GetBody()
				if gerr != nil {
					return nil, err
				}
				r2 := *req
				r2.Body = b
				req = &r2
			}
			continue
		}
		return nil, err
	}
}

// exchange writes req on pc and reads the response head; the body then reads from pc.
func (t *transport) exchange(ctx context.Context, pc *pconn, req *http.Request) (*http.Response, error) {
	// A cancelled or expired context unblocks reads and writes by moving the deadline to the past.
	stop := context.AfterFunc(ctx, func() { pc.nc.SetDeadline(aLongTimeAgo) })
	fail := func(err error) (*http.Response, error) {
		stop()
		pc.nc.Close()
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, err
	}
	bw := writerPool.Get().(*bufio.Writer)
	bw.Reset(pc.nc)
	err := req.Write(bw) // closes req.Body
	if err == nil {
		err = bw.Flush()
	}
	bw.Reset(nil)
	writerPool.Put(bw)
	if err != nil {
		return fail(err)
	}
	// Wait for the head without holding a buffer (thousands of requests may be waiting at once), then
	// parse what came through a pooled bufio.Reader.
	pc.head.nc, pc.head.pending = pc.nc, nil
	var first *[]byte
	if rawReads && pc.rc != nil {
		bp, n, err := rawRead(pc.rc, readBufSize)
		if err != nil {
			return fail(err)
		}
		first, pc.head.pending = bp, (*bp)[:n]
	}
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(&pc.head)
	var resp *http.Response
	for {
		resp, err = http.ReadResponse(br, req)
		if err != nil {
			break
		}
		// Skip informational responses (100 Continue, 103 Early Hints), as http.Transport does.
		if resp.StatusCode < 100 || resp.StatusCode > 199 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
	}
	// Body bytes that came with the head move out of the pooled buffers. (ReadResponse reads no body:
	// its Body, which would read through br, is never used.)
	var stash []byte
	if n := br.Buffered() + len(pc.head.pending); n > 0 && err == nil {
		stash = make([]byte, br.Buffered(), n)
		br.Read(stash)
		stash = append(stash, pc.head.pending...)
	}
	br.Reset(nil)
	readerPool.Put(br)
	pc.head.pending = nil
	if first != nil {
		readBufPool.Put(first)
	}
	if err != nil {
		return fail(err)
	}
	b := &body{t: t, pc: pc, ctx: ctx, stop: stop, keep: !resp.Close && !req.Close}
	b.raw.src, b.raw.stash = pc.nc, stash
	if rawReads {
		b.raw.rc = pc.rc
	}
	switch {
	case resp.Body == http.NoBody:
		b.raw.spoilt = len(stash) > 0
		b.release(true)
		return resp, nil
	case len(resp.TransferEncoding) > 0 && resp.TransferEncoding[0] == "chunked":
		b.raw.frame = frameChunked
	case resp.ContentLength >= 0:
		b.raw.frame, b.raw.remain = frameLength, resp.ContentLength
	default:
		b.raw.frame, b.keep = frameClose, false
	}
	resp.Body = b
	return resp, nil
}

// body is a response body read from the transport's connection. At its end the connection goes back
// to the idle pool (when the response allows it); on an error or an early Close it is closed.
type body struct {
	t     *transport
	pc    *pconn
	raw   rawBody
	ctx   context.Context
	stop  func() bool
	keep  bool
	state atomic.Int32 // bodyOpen, bodyEnded, bodyClosed
}

const (
	bodyOpen = iota
	bodyEnded
	bodyClosed
)

func (b *body) Read(p []byte) (int, error) {
	switch b.state.Load() {
	case bodyEnded:
		return 0, io.EOF
	case bodyClosed:
		return 0, errBodyClosed
	}
	n, err := b.raw.Read(p)
	if err != nil {
		if err == io.EOF {
			b.release(true)
		} else {
			b.release(false)
			if cerr := b.ctx.Err(); cerr != nil {
				err = cerr
			}
		}
	}
	return n, err
}

// StreamChunks implements backends.ChunkStreamer: it hands the body's data to fn as it arrives, in
// place (see rawBody.stream), until fn returns false (then nil), the body ends (io.EOF) or fails.
func (b *body) StreamChunks(fn func(data []byte) bool) error {
	switch b.state.Load() {
	case bodyEnded:
		return io.EOF
	case bodyClosed:
		return errBodyClosed
	}
	err := b.raw.stream(fn)
	switch {
	case err == io.EOF:
		b.release(true)
	case err != nil:
		b.release(false)
		if cerr := b.ctx.Err(); cerr != nil {
			err = cerr
		}
	}
	return err
}

func (b *body) Close() error {
	b.release(false)
	return nil
}

var errBodyClosed = errors.New("http: read on closed response body")

// release gives the connection back (reuse, after the body's end) or closes it, once.
func (b *body) release(reuse bool) {
	to := int32(bodyClosed)
	if reuse {
		to = bodyEnded
	}
	if !b.state.CompareAndSwap(bodyOpen, to) {
		return
	}
	// If the cancel hook already ran (or is running), the connection's deadline is spoiled.
	if !b.stop() || !reuse || !b.keep || b.raw.spoilt {
		b.pc.nc.Close()
		return
	}
	b.t.putIdle(b.pc)
}

// getIdle returns the most recently used idle connection to key that is still usable, or nil.
func (t *transport) getIdle(key string) (*pconn, bool) {
	now := time.Now()
	for {
		t.mu.Lock()
		list := t.idle[key]
		if len(list) == 0 {
			t.mu.Unlock()
			return nil, false
		}
		pc := list[len(list)-1]
		list[len(list)-1] = nil
		t.idle[key] = list[:len(list)-1]
		t.mu.Unlock()
		if now.Sub(pc.idleAt) < t.idleTTL && (pc.rc == nil || probe(pc.rc)) {
			return pc, true
		}
		pc.nc.Close()
	}
}

func (t *transport) putIdle(pc *pconn) {
	pc.idleAt = time.Now()
	t.mu.Lock()
	if t.idle == nil {
		t.idle = map[string][]*pconn{}
	}
	if len(t.idle[pc.key]) < t.maxIdle {
		t.idle[pc.key] = append(t.idle[pc.key], pc)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	pc.nc.Close()
}

// CloseIdleConnections closes every idle connection (http.Client.CloseIdleConnections calls it).
func (t *transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, list := range idle {
		for _, pc := range list {
			pc.nc.Close()
		}
	}
	t.std.CloseIdleConnections()
}

// retryable reports whether a request that failed on a reused connection may be sent again: only a
// safe request (GET, HEAD, OPTIONS, TRACE), and only when the server closed the connection without
// answering anything.
func retryable(req *http.Request, err error) bool {
	if err != io.EOF && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		return false
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

func hasProxy(proxy func(*http.Request) (*url.URL, error), req *http.Request) bool {
	u, err := proxy(req)
	return err != nil || u != nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

func hostPort(host, port string) string {
	if port == "" {
		port = "80"
	}
	return net.JoinHostPort(host, port)
}

// validHeaders applies http.Transport's checks of header names (tokens) and values (no control
// characters but tab), so a bad --header fails the same way on both paths.
func validHeaders(h http.Header) error {
	for k, vs := range h {
		if !validName(k) {
			return fmt.Errorf("net/http: invalid header field name %q", k)
		}
		for _, v := range vs {
			if !validValue(v) {
				return fmt.Errorf("net/http: invalid header field value for %q", k)
			}
		}
	}
	return nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '!' || c == '#' || c == '$' || c == '%' || c == '&' || c == '\'' || c == '*' || c == '+' ||
			c == '-' || c == '.' || c == '^' || c == '_' || c == '`' || c == '|' || c == '~':
		default:
			return false
		}
	}
	return true
}

func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
