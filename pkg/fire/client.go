package fire

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// DialTimeout bounds the TCP connect (and TLS handshake) of each new connection.
const DialTimeout = 30 * time.Second

// PreconnectMaxAge is how long a connection opened by Preconnect waits to be used; older ones are
// closed and a fresh one is dialled instead, so no request is sent on a connection the server may have
// given up on.
const PreconnectMaxAge = 3 * time.Second

// NewClient returns the HTTP client bs-fire sends requests with, sized for conns concurrent streams:
// HTTP/1.1 only (LLM servers speak it, and HTTP/2 multiplexing would hide per-stream timing), keep-alive
// with up to conns idle connections to the server so each request reuses a warm connection, no
// transparent gzip (a compressed stream would be buffered by the decompressor and its chunks stamped
// late), and a dial timeout but no overall client timeout: each request carries its own context
// deadline (--timeout), because streams legitimately run for minutes. Plain-http requests without a
// proxy go over the lean transport in transport.go (one goroutine per stream, no read buffer held
// while a stream waits); https and proxied requests over a net/http Transport with the same settings.
func NewClient(conns int) *http.Client {
	if conns < 1 {
		conns = 1
	}
	d := &dialer{d: &net.Dialer{Timeout: DialTimeout, KeepAlive: 30 * time.Second}}
	std := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		MaxIdleConns:          0, // no limit across hosts
		MaxIdleConnsPerHost:   conns,
		MaxConnsPerHost:       0,
		IdleConnTimeout:       idleConnTimeout,
		TLSHandshakeTimeout:   DialTimeout,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
		TLSNextProto:          map[string]func(string, *tls.Conn) http.RoundTripper{}, // no HTTP/2
		ReadBufferSize:        connReadBufSize,
		WriteBufferSize:       4 << 10,
		ExpectContinueTimeout: 0,
	}
	return &http.Client{Transport: &transport{std: std, dialer: d, maxIdle: conns, idleTTL: idleConnTimeout}}
}

// idleConnTimeout is how long an idle keep-alive connection is kept.
const idleConnTimeout = 90 * time.Second

// dialer dials TCP connections, handing out connections opened in advance by Preconnect first.
type dialer struct {
	d    *net.Dialer
	mu   sync.Mutex
	pool []preconn
}

type preconn struct {
	addr string
	conn net.Conn
	at   time.Time
}

// DialContext returns a preconnected connection to addr if one is fresh, else dials.
func (d *dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if c := d.take(addr); c != nil {
		return c, nil
	}
	return d.d.DialContext(ctx, network, addr)
}

func (d *dialer) take(addr string) net.Conn {
	d.mu.Lock()
	defer d.mu.Unlock()
	for len(d.pool) > 0 {
		p := d.pool[len(d.pool)-1]
		d.pool = d.pool[:len(d.pool)-1]
		if p.addr == addr && time.Since(p.at) < PreconnectMaxAge {
			return p.conn
		}
		p.conn.Close()
	}
	return nil
}

// Preconnect opens n TCP connections to the server of baseURL (through no proxy) just before the run,
// so the first requests do not pay for connecting inside their time to first token: the transport
// takes them instead of dialling when it needs a new connection. Connections unused after
// PreconnectMaxAge are closed. (With https only the TCP handshake is done ahead; TLS still happens on
// first use.) It returns the number of connections opened; it does nothing for a client not made by
// NewClient or a URL that goes through a proxy.
func Preconnect(ctx context.Context, c *http.Client, baseURL string, n int) int {
	t, ok := c.Transport.(*transport)
	if !ok || n <= 0 {
		return 0
	}
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return 0
	}
	if p, err := t.std.Proxy(&http.Request{URL: u}); err != nil || p != nil {
		return 0
	}
	addr := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	var mu sync.Mutex
	var conns []preconn
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64) // dial at most 64 at a time
	for range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			conn, err := t.dialer.d.DialContext(ctx, "tcp", addr)
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, preconn{addr: addr, conn: conn, at: time.Now()})
			mu.Unlock()
		}()
	}
	wg.Wait()
	t.dialer.mu.Lock()
	t.dialer.pool = append(t.dialer.pool, conns...)
	t.dialer.mu.Unlock()
	return len(conns)
}
