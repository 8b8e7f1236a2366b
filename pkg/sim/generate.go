package sim

import (
	"context"
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
	buf       []byte // the event being written

	rec *TruthRecord // filled as the request goes; written only with a truth log
}

// bufPool holds byte slices reused for text, ids and event buffers.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func getBuf() []byte { return (*bufPool.Get().(*[]byte))[:0] }

func putBuf(b []byte) {
	if cap(b) <= 1<<20 {
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
	g.ttftDur = g.s.cfg.TTFT + time.Duration(g.p.promptTokens)*g.s.cfg.PrefillPerToken
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

// sleepUntil waits until the absolute deadline, or until the client or the server goes away.
func (g *gen) sleepUntil(ctx context.Context, deadline time.Time) error {
	d := time.Until(deadline)
	spin := g.s.cfg.Spin
	if d > spin {
		if g.timer == nil {
			g.timer = time.NewTimer(d - spin)
		} else {
			g.timer.Reset(d - spin)
		}
		select {
		case <-g.timer.C:
		case <-ctx.Done():
			return g.s.abandoned()
		case <-g.s.quit:
			return &errStop{OutcomeShutdown}
		}
	}
	for {
		select {
		case <-ctx.Done():
			return g.s.abandoned()
		case <-g.s.quit:
			return &errStop{OutcomeShutdown}
		default:
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

// flush writes g.buf to the client and flushes it to the socket.
func (g *gen) flush(w http.ResponseWriter, rc *http.ResponseController) error {
	if _, err := w.Write(g.buf); err != nil {
		return g.s.abandoned()
	}
	if err := rc.Flush(); err != nil {
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
			g.buf = append(g.buf[:0], sseData...)
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
		g.buf = g.appendEvent(g.buf[:0], delta, events == 0, g.sent == g.total)
		if err := g.flush(w, rc); err != nil {
			return err.(*errStop).outcome
		}
		g.chunkSent(time.Now(), n)
	}
	if g.buf = g.appendTrailer(g.buf[:0]); len(g.buf) > 0 {
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
	g.buf = g.appendFullBody(g.buf[:0])
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(g.buf)))
	w.WriteHeader(http.StatusOK)
	if err := g.flush(w, rc); err != nil {
		return err.(*errStop).outcome
	}
	g.chunkSent(time.Now(), g.total)
	return OutcomeOK
}
