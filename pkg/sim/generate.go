package sim

import (
	"context"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// gen is the state of one generation request.
type gen struct {
	s         *Server
	kind      kind
	seq       uint64
	idJSON    []byte // response id as a JSON string, with its protocol prefix
	modelJSON []byte
	created   int64 // Unix seconds
	received  time.Time
	p         genParams
	total     int  // tokens to send
	stop      bool // the last token is a simulated EOS (finish reason "stop")
	cached    int  // prompt tokens found in the prefix cache (Config.PrefixCache)

	t0      time.Time     // admission: the timeline origin
	offIdx  int           // index of the last token placed on the timeline (-1: none)
	off     time.Duration // offset from t0 of token offIdx
	ttftDur time.Duration // un-jittered offset of token 0
	timer   *time.Timer

	nextPing    time.Time // llama.cpp mimic: when the next ": ping" comment is due (event streams)
	modelPyJSON []byte    // llama.cpp mimic: model name encoded as Python's json.dumps does

	sent      int    // tokens sent so far
	lastChunk int    // tokens in the event being built
	text      []byte // text of all tokens sent (ASCII words, JSON-safe)
	ids       []byte // comma-separated ids of all tokens sent (native only)
	// buf is the event or body being written, from buf[chunkRoom:]; the first chunkRoom bytes are
	// kept for the chunk-size line that flush puts in front of an event written straight to conn.
	buf []byte
	// conn is the request's connection when a streamed response's events are written to it
	// directly, each as one HTTP/1.1 chunk in one write (see flush); nil: through net/http.
	conn net.Conn

	rec *TruthRecord // filled as the request goes; written only with a truth log
}

// bufPool holds byte slices reused for text, ids and event buffers.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func getBuf() []byte { return (*bufPool.Get().(*[]byte))[:0] }

func putBuf(b []byte) {
	if cap(b) >= chunkRoom && cap(b) <= 1<<20 { // not nil (gen.ids of other protocols), not huge
		bufPool.Put(&b)
	}
}

func (g *gen) release() {
	putBuf(g.text)
	putBuf(g.ids)
	putBuf(g.buf)
	g.text, g.ids, g.buf = nil, nil, nil
	if g.timer != nil {
		g.timer.Stop()
	}
}

// plan decides how many tokens to send and whether the last one is a simulated EOS.
func (g *gen) plan() {
	g.total = g.p.maxTokens
	if eos := g.s.cfg.EOSAfter; eos > 0 && !g.p.ignoreEOS {
		if k := max(eos, g.p.minTokens); k < g.total {
			g.total, g.stop = k, true
		}
	}
	g.ttftDur = g.s.cfg.TTFT + time.Duration(g.p.promptTokens-g.cached)*g.s.cfg.PrefillPerToken
	g.offIdx = -1
}

// offset returns the time from admission at which token i (0-based) is generated: TTFT (plus the
// prefill cost) for token 0, then one ITL per token, each perturbed by the jitter.
func (g *gen) offset(i int) time.Duration {
	cfg := &g.s.cfg
	if !cfg.Jitter.on() {
		return g.ttftDur + time.Duration(i)*cfg.ITL
	}
	for g.offIdx < i {
		g.offIdx++
		u := 2*unit(cfg.Seed, g.seq, saltJitter, g.offIdx) - 1
		if g.offIdx == 0 {
			g.off = cfg.Jitter.apply(g.ttftDur, u)
		} else {
			g.off += cfg.Jitter.apply(cfg.ITL, u)
		}
	}
	return g.off
}

// errStop is returned by sleepUntil when the request must be abandoned; the outcome says why.
type errStop struct{ outcome string }

func (e *errStop) Error() string { return e.outcome }

// wakeOnStop creates g.timer, the timer sleepUntil waits on, and makes it fire at once when ctx
// is done or the server stops. It returns the function that undoes the latter; call it when the
// request no longer sleeps.
//
// sleepUntil then waits on the timer alone, not in a select with ctx.Done() and the server's quit
// channel: quit is shared by every request, and a select that waits on it takes its lock and
// joins its queue of waiters on every event, which at a thousand streams costs about as much as
// everything else bs-sim does between two writes.
func (g *gen) wakeOnStop(ctx context.Context) (undo func()) {
	g.timer = time.NewTimer(time.Hour)
	g.timer.Stop()
	wake := func() { g.timer.Reset(0) }
	stopClient := context.AfterFunc(ctx, wake)
	stopServer := context.AfterFunc(g.s.quitCtx, wake)
	return func() {
		stopClient()
		stopServer()
	}
}

// stopped returns why the request must be abandoned, or nil. Each check is a single-channel
// receive that does not block, which does not lock the channel while it is open.
func (g *gen) stopped(ctx context.Context) error {
	select {
	case <-g.s.quit:
		return &errStop{OutcomeShutdown}
	default:
	}
	select {
	case <-ctx.Done():
		return g.s.abandoned()
	default:
	}
	return nil
}

// sleepUntil waits until the absolute deadline, or until the client or the server goes away. It
// needs wakeOnStop in force.
func (g *gen) sleepUntil(ctx context.Context, deadline time.Time) error {
	d := time.Until(deadline)
	spin := g.s.cfg.Spin
	if d > spin {
		g.timer.Reset(d - spin)
		// A stop that came before the Reset had its wake-up overwritten: check. One that comes
		// after fires the timer.
		if err := g.stopped(ctx); err != nil {
			return err
		}
		<-g.timer.C
	}
	for {
		if err := g.stopped(ctx); err != nil {
			return err
		}
		if spin == 0 || !time.Now().Before(deadline) {
			return nil
		}
		runtime.Gosched()
	}
}

// addTokens generates the next n tokens: appends their words to g.text (and ids to g.ids for the
// native protocol) and returns the new text.
func (g *gen) addTokens(n int) []byte {
	start := len(g.text)
	for k := g.sent; k < g.sent+n; k++ {
		w := wordIndex(g.s.cfg.Seed, g.seq, k)
		g.text = append(g.text, vocab[w]...)
		if g.kind == kindNative {
			if k > 0 {
				g.ids = append(g.ids, ',')
			}
			g.ids = strconv.AppendInt(g.ids, int64(firstTokenID+w), 10)
		}
	}
	g.sent += n
	g.lastChunk = n
	return g.text[start:]
}

// chunkRoom is the room kept at the front of gen.buf for a chunk-size line: up to 8 hex digits
// and CRLF.
const chunkRoom = 10

// body returns the event or body built in g.buf.
func (g *gen) body() []byte { return g.buf[chunkRoom:] }

// flush writes g.body() to the client and flushes it to the socket.
//
// With g.conn set, the bytes net/http would send for w.Write and a flush — the chunk-size line in
// lower-case hex, the data, CRLF — are written to the connection in one write(2) here, without
// net/http's chunk writer and its two buffers. This is safe because g.conn is set only once the
// response headers have been flushed and while nothing else writes to the response: net/http's
// buffers are empty, and when the handler returns net/http ends the chunked body ("0\r\n\r\n")
// as usual, so the bytes on the wire are the same either way.
func (g *gen) flush(w http.ResponseWriter, rc *http.ResponseController) error {
	data := g.body()
	if g.conn == nil {
		if _, err := w.Write(data); err != nil {
			return g.s.abandoned()
		}
		if err := rc.Flush(); err != nil {
			return g.s.abandoned()
		}
		return nil
	}
	if len(data) == 0 {
		return nil // net/http writes no chunk for no data
	}
	var line [chunkRoom]byte
	size := append(strconv.AppendUint(line[:0], uint64(len(data)), 16), '\r', '\n')
	if len(size) > chunkRoom { // 4 GiB or more: not an event bs-sim makes, but net/http can send it
		g.conn = nil
		return g.flush(w, rc)
	}
	start := chunkRoom - len(size)
	copy(g.buf[start:], size)
	g.buf = append(g.buf, '\r', '\n')
	if _, err := g.conn.Write(g.buf[start:]); err != nil {
		return g.s.abandoned()
	}
	return nil
}

// chunkSent records that an event carrying n tokens was flushed at t.
func (g *gen) chunkSent(t time.Time, n int) {
	if g.s.truth == nil || n == 0 {
		return
	}
	ns := g.s.ns(t)
	if len(g.rec.ChunkNS) == 0 {
		g.rec.FirstTokenNS = ns
		// Room for every event of the request at once, instead of growing (and copying) the
		// slices nine times on the way to 256 one-token events.
		per := g.s.cfg.TokensPerChunk
		if g.p.oneEvent || !g.p.stream {
			per = max(g.total, 1)
		}
		events := (g.total + per - 1) / per
		g.rec.ChunkNS = make([]int64, 0, max(events, 1))
		g.rec.ChunkTokens = make([]int, 0, max(events, 1))
	}
	g.rec.ChunkNS = append(g.rec.ChunkNS, ns)
	g.rec.ChunkTokens = append(g.rec.ChunkTokens, n)
}

// faultAt returns the content-event index at which an injected fault fires for this request, or -1.
func (g *gen) faultAt(after int, rate float64, salt uint64) int {
	if rate <= 0 || unit(g.s.cfg.Seed, g.seq, salt, 0) >= rate {
		return -1
	}
	return after
}

// stream sends the response as server-sent events, one event per TokensPerChunk tokens, each at
// the time its last token is generated. It returns the outcome.
func (g *gen) stream(ctx context.Context, w http.ResponseWriter, rc *http.ResponseController) string {
	cfg := &g.s.cfg
	per := cfg.TokensPerChunk
	if g.p.oneEvent {
		per = max(g.total, 1)
	}
	errAt := g.faultAt(cfg.StreamErrorAfter, cfg.StreamErrorRate, saltStreamError)
	dropAt := g.faultAt(cfg.DropAfter, cfg.DropRate, saltDrop)
	for events := 0; g.sent < g.total || events == 0; events++ {
		n := min(per, g.total-g.sent)
		if err := g.sleepPinging(ctx, w, rc, g.t0.Add(g.offset(max(g.sent+n-1, 0)))); err != nil {
			return err.(*errStop).outcome
		}
		if events == errAt {
			msg := "simulated stream error (bs-sim --stream-error-after " + strconv.Itoa(errAt) + ")"
			g.buf = append(g.buf[:chunkRoom], sseData...)
			g.buf = appendErrorBody(g.buf, g.kind, http.StatusInternalServerError, msg)
			g.buf = append(g.buf, sseEnd...)
			if g.kind != kindTriton {
				g.buf = append(g.buf, sseDone...)
			}
			g.rec.Error = msg
			if err := g.flush(w, rc); err != nil {
				return err.(*errStop).outcome
			}
			return OutcomeStreamError
		}
		if events == dropAt {
			return OutcomeDropped
		}
		delta := g.addTokens(n)
		g.buf = g.appendEvent(g.buf[:chunkRoom], delta, events == 0, g.sent == g.total)
		if err := g.flush(w, rc); err != nil {
			return err.(*errStop).outcome
		}
		g.chunkSent(time.Now(), n)
	}
	if g.buf = g.appendTrailer(g.buf[:chunkRoom]); len(g.body()) > 0 {
		if err := g.flush(w, rc); err != nil {
			return err.(*errStop).outcome
		}
	}
	return OutcomeOK
}

// unary waits until the last token is generated, then sends the whole response as one JSON body.
func (g *gen) unary(ctx context.Context, w http.ResponseWriter, rc *http.ResponseController) string {
	if err := g.sleepUntil(ctx, g.t0.Add(g.offset(max(g.total-1, 0)))); err != nil {
		return err.(*errStop).outcome
	}
	g.addTokens(g.total)
	g.buf = g.appendFullBody(g.buf[:chunkRoom])
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(g.body())))
	w.WriteHeader(http.StatusOK)
	if err := g.flush(w, rc); err != nil {
		return err.(*errStop).outcome
	}
	g.chunkSent(time.Now(), g.total)
	return OutcomeOK
}
