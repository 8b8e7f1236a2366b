package backends

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/bsbench/bs/pkg/records"
)

const (
	// lineBufMin is the initial line buffer of a response; it doubles only when a line does not fit,
	// so thousands of streams of short events hold little memory (see lineReader).
	lineBufMin = 512
	// errBodyMax is how much of an error response body goes into the message.
	errBodyMax = 1 << 10
	// drainMax bounds how much of an abandoned body is read to keep its connection reusable.
	drainMax = 1 << 20
)

// reqState is the reusable scratch memory of one request's response, held while it streams.
type reqState struct {
	lr   lineReader
	cs   choiceScan // choices[0] of the current OpenAI chunk
	raw  []byte     // native: raw text of the latest counted chunk
	body []byte     // a non-streamed response body
	text []byte     // decoded text so far
	dec  []byte     // native --record-text: decoded cumulative text of the current chunk
	gaps []uint32   // chunk times while streaming (see parser.chunk)
	toks []uint32   // chunk token counts while streaming
	// noText: the caller does not need this request's text (Options.NoText, a single-turn request
	// without --record-text); set by Send before parse.
	noText bool
}

var statePool = sync.Pool{New: func() any {
	return &reqState{}
}}

// builderPool holds request-body builders. A builder is needed only while the body is built, so it is
// not part of reqState: thousands of concurrent streams share the few builders in use at a time.
var builderPool = sync.Pool{New: func() any { return new(builder) }}

// Buffers that grew past this are dropped rather than pooled, so one huge response does not pin
// memory for the rest of the run.
const keepMax = 1 << 20

func putState(st *reqState) {
	st.lr.rd = nil
	st.cs.reset()
	clear(st.cs.members[:cap(st.cs.members)]) // they point into the line buffer
	clear(st.cs.sub[:cap(st.cs.sub)])
	if cap(st.lr.buf) > keepMax {
		st.lr.buf = nil
	}
	if cap(st.raw) > keepMax {
		st.raw = nil
	}
	if cap(st.body) > keepMax {
		st.body = nil
	}
	if cap(st.text) > keepMax {
		st.text = nil
	}
	if cap(st.dec) > keepMax {
		st.dec = nil
	}
	if cap(st.gaps) > keepMax/4 {
		st.gaps = nil
	}
	if cap(st.toks) > keepMax/4 {
		st.toks = nil
	}
	statePool.Put(st)
}

// BodyDoneOnReturn is implemented by an http.RoundTripper that has finished with a request's body when
// its RoundTrip returns (it writes the whole request before reading the response), as bs-fire's
// transport does for plain-http requests. Send then drops the body as soon as the response head is
// in, instead of keeping it for the whole stream. (net/http's Transport may still be writing the body
// when the response arrives, so the body is kept for it.)
type BodyDoneOnReturn interface {
	BodyDoneOnReturn(req *http.Request) bool
}

var errBodyGone = errors.New("the request body cannot be sent again")

// Send implements Backend.
func (b *backend) Send(ctx context.Context, c *http.Client, p *records.Prompt, msgs []records.Message, ev *records.Event, zero time.Time) string {
	now := func() int64 { return int64(time.Since(zero)) }
	ev.PromptLen = p.PromptLen
	ev.TextPromptLen = p.TextPromptLen
	ev.VisionPromptLen = p.VisionPromptLen
	ev.OutputLen = p.OutputLen
	ev.Lora, ev.Group, ev.Session = p.Lora, p.Group, p.Session
	resetResult(ev)
	if c == nil {
		c = http.DefaultClient
	}

	bl := builderPool.Get().(*builder)
	body, err := b.buildBody(bl, p, msgs)
	if cap(bl.body.arena) <= keepMax {
		builderPool.Put(bl)
	}
	if err != nil {
		t := now()
		ev.SentNS, ev.EndNS = t, t
		b.fail(ev, records.ErrClient, err.Error())
		return ""
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.url, nil)
	if err != nil {
		t := now()
		ev.SentNS, ev.EndNS = t, t
		b.fail(ev, records.ErrClient, "building the request: "+err.Error())
		return ""
	}
	// The body as http.NewRequest sets it up (a bytes.Reader, so headers and body leave in one write),
	// but with a rewind (for a 307/308 redirect) that works only during Do, so that the body can be
	// dropped when Do returns.
	br := bytes.NewReader(body)
	req.Body, req.ContentLength = io.NopCloser(br), int64(len(body))
	held := body
	req.GetBody = func() (io.ReadCloser, error) {
		if held == nil {
			return nil, errBodyGone
		}
		return io.NopCloser(bytes.NewReader(held)), nil
	}
	b.setHeaders(req, p, ev.RequestID)

	ev.SentNS = now()
	resp, err := c.Do(req)
	held = nil
	if bd, ok := c.Transport.(BodyDoneOnReturn); ok && bd.BodyDoneOnReturn(req) {
		br.Reset(nil)
	}
	if err != nil {
		ev.EndNS = now()
		kind, msg := classify(ctx, err)
		b.fail(ev, kind, msg)
		return ""
	}
	ev.HeadersNS = now()
	ev.Status = resp.StatusCode
	defer resp.Body.Close()
	st := statePool.Get().(*reqState)
	defer putState(st)

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := statusMessage(resp)
		ev.EndNS = now()
		b.fail(ev, records.ErrHTTPStatus, msg)
		return ""
	}

	stream := b.opts.Stream || b.spec.kind == kindTRT
	switch ct := strings.ToLower(resp.Header.Get("Content-Type")); {
	case stream && b.spec.kind != kindTruss && strings.HasPrefix(ct, "application/json"):
		// The server answered with one JSON document instead of an event stream (a 200 carrying
		// an error object, or a server that ignores "stream").
		stream = false
	case !stream && strings.HasPrefix(ct, "text/event-stream"):
		stream = true // a server that streams although it was asked not to
	}
	st.noText = b.opts.NoText && msgs == nil && !b.opts.RecordText
	return b.parse(ctx, st, ev, resp.Body, stream, now)
}

// parse reads a 2xx response body into ev and returns the generated text. now stamps each line.
func (b *backend) parse(ctx context.Context, st *reqState, ev *records.Event, body io.Reader, stream bool, now func() int64) string {
	ps := parser{b: b, st: st, ev: ev, lastChunk: ev.SentNS, tokensOK: true, noText: st.noText}
	st.noText = false // the pooled state starts the next request without it
	st.text = st.text[:0]
	st.raw = st.raw[:0]
	st.gaps, st.toks = st.gaps[:0], st.toks[:0]
	if stream {
		ps.readStream(ctx, body, now)
	} else {
		ps.readBody(ctx, body, now)
	}
	return ps.finish()
}

// setHeaders sets the request headers: Content-Type, Accept-Encoding: identity, Authorization, the user's headers (which win,
// as in the reference), X-SMG-Routing-Key when the prompt has a routing key, and X-Request-Id (a bs
// addition, so a request can be found in server logs). trt sends no Authorization, user or routing
// headers, as in the reference.
func (b *backend) setHeaders(req *http.Request, p *records.Prompt, requestID string) {
	h := req.Header
	h.Set("Content-Type", "application/json")
	// Ask for an uncompressed body: a compressed event stream can be held back by the compressor,
	// which would distort chunk times. (Set explicitly, Go does not decompress transparently.)
	h.Set("Accept-Encoding", "identity")
	if b.spec.kind != kindTRT {
		if b.opts.Authorization != "" {
			h.Set("Authorization", b.opts.Authorization)
		}
		for k, vs := range b.header {
			if http.CanonicalHeaderKey(k) == "Host" {
				if len(vs) > 0 {
					req.Host = vs[len(vs)-1]
				}
				continue
			}
			h[http.CanonicalHeaderKey(k)] = vs
		}
		if p.RoutingKey != "" {
			h.Set("X-SMG-Routing-Key", p.RoutingKey)
		}
	}
	if requestID != "" {
		h.Set("X-Request-Id", requestID)
	}
}

// classify maps a transport error to an error kind and message.
func classify(ctx context.Context, err error) (string, string) {
	if cerr := ctx.Err(); cerr != nil {
		if errors.Is(cerr, context.DeadlineExceeded) {
			return records.ErrTimeout, "request timed out: " + err.Error()
		}
		return records.ErrCancelled, "request cancelled: " + err.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return records.ErrTimeout, err.Error()
	}
	if errors.Is(err, context.Canceled) {
		return records.ErrCancelled, err.Error()
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return records.ErrConnect, err.Error()
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return records.ErrConnect, err.Error()
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return records.ErrTimeout, err.Error()
	}
	return records.ErrStreamBroken, err.Error()
}

// readErr classifies an error met while reading a response body.
func readErr(ctx context.Context, err error) (string, string) {
	if cerr := ctx.Err(); cerr != nil {
		if errors.Is(cerr, context.DeadlineExceeded) {
			return records.ErrTimeout, "request timed out while reading the response: " + err.Error()
		}
		return records.ErrCancelled, "request cancelled while reading the response: " + err.Error()
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return records.ErrTimeout, "reading the response: " + err.Error()
	}
	return records.ErrStreamBroken, "reading the response: " + err.Error()
}

// statusMessage reads a non-2xx response into "<reason>: <body>" with the body cut to 1 KB, and
// drains the rest so the connection can be reused.
func statusMessage(resp *http.Response) string {
	buf := make([]byte, errBodyMax+1)
	n, _ := io.ReadFull(resp.Body, buf)
	drain(resp.Body)
	reason := strings.TrimSpace(strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode)))
	if reason == "" {
		reason = http.StatusText(resp.StatusCode)
	}
	return reason + ": " + truncate(bytes.TrimRight(buf[:n], " \t\r\n"), errBodyMax)
}

// truncate returns b as a string of at most max bytes (cut at a rune boundary, "…" appended).
func truncate(b []byte, max int) string {
	if len(b) <= max {
		return string(b)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return string(b[:cut]) + "…"
}

func drain(r io.Reader) { _, _ = io.CopyN(io.Discard, r, drainMax) }

// fail records a failure on ev, with any secret removed from the message.
func (b *backend) fail(ev *records.Event, kind, msg string) {
	ev.OK = false
	ev.ErrorKind = kind
	for _, s := range b.secrets {
		msg = strings.ReplaceAll(msg, s, records.Redacted)
	}
	ev.Error = msg
}

// resetResult clears the fields Send fills, so an Event value can be reused.
func resetResult(ev *records.Event) {
	ev.ResponseID = ""
	ev.SentNS, ev.HeadersNS, ev.EndNS = 0, 0, 0
	ev.ChunkNS, ev.ChunkTokens, ev.ChunkText, ev.Text = nil, nil, nil, ""
	ev.OK, ev.Status, ev.ErrorKind, ev.Error, ev.FinishReason = false, 0, "", "", ""
	ev.UsagePromptTokens, ev.UsageCompletionTokens, ev.CachedTokens, ev.CachedDetails = nil, nil, nil, nil
	ev.SpecAcceptLength, ev.SpecVerifyCt = nil, nil
}
