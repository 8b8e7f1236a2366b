// Package fire is bs-fire's load generator: it sends prompt records to a server on an arrival schedule,
// under an optional cap on requests in flight, and writes one event record per request as each ends.
//
// Timing model. The schedule (pkg/schedule) gives every request an absolute offset from the run's
// start. One dispatcher goroutine walks it: it sleeps until a request is due (a Go timer, then
// nanosleep(2) for the last 2 ms, because an idle Go process wakes its timers only to the millisecond),
// and if it is late it sends at once, the lateness showing as sent_ns − scheduled_ns; then it takes a
// concurrency slot, waiting in FIFO order if none is free, then hands the request to one goroutine (an
// idle one whose request has ended, or a new one; a multi-turn conversation runs its rounds in that
// goroutine, holding the slot). ScheduledNS is the due time
// and SentNS the time the request actually left, so time spent queueing in the client is recorded (the
// reference hides it). The schedule lag of requests that found a free slot measures the client itself;
// a large p99 means the client was the bottleneck, and the run says so.
//
// Recording. Each finished request hands its event to a single writer goroutine (through a queue that
// never blocks, so a slow reader of the output cannot delay requests), which writes the stream header
// first, then every event as it arrives, and flushes whenever no other event is waiting, so a reader
// downstream sees each record promptly. After the run it writes a records.Trailer.
//
// Interruption. The first interrupt stops dispatching and lets requests in flight finish for up to
// Grace; the rest are then cancelled and recorded with error kind "cancelled". A second interrupt
// cancels at once. Prompts never sent have no event; the trailer counts them. A closed output (broken
// pipe) stops the run the same way, at once.
package fire

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bsbench/bs/pkg/records"
)

// Backend is the part of backends.Backend the runner uses (any backends.Backend satisfies it); a
// failure is recorded in the event, never returned.
type Backend interface {
	Name() string
	URL() string
	Send(ctx context.Context, c *http.Client, p *records.Prompt, msgs []records.Message, ev *records.Event, zero time.Time) string
}

// Source yields prompt records in dispatch order. Next returns io.EOF after the last one.
type Source interface {
	Next(p *records.Prompt) error
}

// SliceSource is a Source over prompts held in memory.
type SliceSource struct {
	Prompts []records.Prompt
	i       int
}

// Next implements Source.
func (s *SliceSource) Next(p *records.Prompt) error {
	if s.i >= len(s.Prompts) {
		return io.EOF
	}
	*p = s.Prompts[s.i]
	s.i++
	return nil
}

// FuncSource adapts a function to Source.
type FuncSource func(p *records.Prompt) error

// Next implements Source.
func (f FuncSource) Next(p *records.Prompt) error { return f(p) }

// Runner drives one measured run. Set the fields, then call Run once.
type Runner struct {
	// Backend builds and sends each request.
	Backend Backend
	// Client is the HTTP client (see NewClient).
	Client *http.Client
	// Prompts yields the prompts to send, in dispatch order.
	Prompts Source
	// N is the number of prompts Prompts will yield, when known in advance (0 = unknown). It sizes the
	// progress bar and lets the trailer count prompts never sent.
	N int
	// Times is the schedule: request i is due at Times[i] after the start. Requests beyond the end of
	// Times (all of them when Times is nil) are due at the last offset, or at once.
	Times []time.Duration
	// MaxConcurrency caps requests in flight (0 = no cap). A multi-turn conversation holds one slot for
	// all its rounds.
	MaxConcurrency int
	// Timeout is each request's deadline (0 = none).
	Timeout time.Duration
	// Grace is how long requests in flight may finish after the first interrupt.
	Grace time.Duration
	// MaxLag is the p99 schedule lag above which the client is declared the bottleneck.
	MaxLag time.Duration
	// Header is written as the stream's first line; Run sets its StartTime.
	Header records.Header
	// Out receives the event stream. If it implements records.Flusher it is flushed with every write
	// batch.
	Out io.Writer
	// Interrupts delivers one value per interrupt (SIGINT/SIGTERM); nil means none.
	Interrupts <-chan struct{}
	// Progress, if set, is told about every finished request.
	Progress Progress
	// AfterRun, if set, runs after the last request ends and before the trailer is written (stop the
	// profiler, fetch /server_info). It is skipped after a hard cancel.
	AfterRun func(ctx context.Context) (serverInfo []byte, acceptLength *float64)
	// RequestIDPrefix prefixes every X-Request-Id; empty means a random one per run.
	RequestIDPrefix string
}

// Result is the outcome of Run.
type Result struct {
	// Trailer is what was (or would have been) written as the stream's last line.
	Trailer records.Trailer
	// Planned is the number of prompts known in advance (Runner.N), 0 if unknown.
	Planned int
	// Dispatched is the number of prompts (conversations) whose requests were started.
	Dispatched int
	// Burst is true when every request was due at once (no schedule to keep to).
	Burst bool
	// Err is the input error that stopped the run, or the output error, if any.
	Err error
}

type done struct {
	ev       *records.Event
	lag      bool // counts towards the schedule-lag statistics
	firstRnd bool // first round of its prompt (counts towards the send rate)
}

// Run performs the run and writes the event stream. It returns when every started request has ended
// and the stream is flushed. The error is non-nil only when nothing could be written at all.
func (r *Runner) Run(ctx context.Context) (*Result, error) {
	prefix := r.RequestIDPrefix
	if prefix == "" {
		prefix = NewRunID()
	}
	rec := records.NewWriter(r.Out)

	// The hard context cancels requests in flight; stop ends dispatching.
	hardCtx, hardCancel := context.WithCancel(ctx)
	defer hardCancel()
	stop := make(chan struct{})
	var stopOnce sync.Once
	var reason atomic.Value // string: why the run stopped early
	halt := func(why string, hard bool) {
		stopOnce.Do(func() {
			reason.Store(why)
			close(stop)
		})
		if hard {
			hardCancel()
		}
	}

	zero := time.Now()
	start := zero.Round(0) // wall clock only, for the header
	h := r.Header
	h.StartTime = &start
	if err := rec.WriteHeader(h); err != nil {
		return nil, fmt.Errorf("writing the event stream header: %w", err)
	}
	if err := rec.Flush(); err != nil {
		return nil, fmt.Errorf("writing the event stream header: %w", err)
	}
	since := func() int64 { return int64(time.Now().Sub(zero)) }

	res := &Result{Planned: r.N}
	events := newEventQueue()
	var workers sync.WaitGroup
	allDone := make(chan struct{})

	// Interrupts: the first stops dispatching and starts the grace period, the second cancels.
	go func() {
		if r.Interrupts == nil {
			return
		}
		select {
		case <-r.Interrupts:
		case <-allDone:
			return
		}
		halt(records.InterruptSignal, r.Grace <= 0)
		grace := time.NewTimer(max(r.Grace, 0))
		defer grace.Stop()
		select {
		case <-r.Interrupts:
		case <-grace.C:
		case <-allDone:
			return
		}
		halt(records.InterruptSignal, true)
	}()
	stopAfter := context.AfterFunc(ctx, func() { halt(records.InterruptSignal, true) })
	defer stopAfter()

	// The writer goroutine: every event as it arrives, flushing when none is waiting.
	var tally tally
	var writeErr error
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		var batch []done
		for {
			var ok bool
			if batch, ok = events.take(batch); !ok {
				break
			}
			for _, d := range batch {
				tally.add(d)
				if r.Progress != nil {
					r.Progress.Done(d.ev)
				}
				if writeErr == nil { // once the output is gone, keep draining and counting
					writeErr = rec.Write(d.ev)
				}
			}
			if writeErr == nil && events.empty() {
				writeErr = rec.Flush()
			}
			if writeErr != nil {
				why := records.InterruptOutputError
				if records.IsBrokenPipe(writeErr) {
					why = records.InterruptOutputClosed
				}
				halt(why, true)
			}
		}
		if writeErr == nil {
			writeErr = rec.Flush()
		}
	}()

	var sem *slots
	if r.MaxConcurrency > 0 {
		sem = newSlots(r.MaxConcurrency)
	}
	offset := func(i int) time.Duration {
		switch {
		case len(r.Times) == 0:
			return 0
		case i < len(r.Times):
			return r.Times[i]
		default:
			return r.Times[len(r.Times)-1]
		}
	}

	// Request goroutines are reused: one whose request has ended waits for the next request instead of
	// exiting, so the stack it has grown to what a request needs (http.Client.Do alone goes past the
	// initial size) is not allocated and copied again for every request.
	type job struct {
		seq    int
		p      *records.Prompt
		sched  int64
		queued bool
	}
	jobs := make(chan job) // unbuffered: a send succeeds only when a goroutine is idle
	worker := func(j job) {
		dl := &deadline{parent: hardCtx, timeout: r.Timeout}
		for ok := true; ok; j, ok = <-jobs {
			r.serve(hardCtx, dl, stop, events, zero, since, prefix, j.seq, j.p, j.sched, j.queued)
			if sem != nil {
				sem.release()
			}
			workers.Done()
		}
		dl.release()
	}

	// The dispatcher.
	var lastWaitEnd int64 = -1 // when the dispatcher last finished waiting for a slot
	timer := time.NewTimer(time.Hour)
	timer.Stop()
dispatch:
	for seq := 0; ; seq++ {
		select {
		case <-stop:
			break dispatch
		default:
		}
		p := new(records.Prompt)
		if err := r.Prompts.Next(p); err != nil {
			if !errors.Is(err, io.EOF) {
				res.Err = err
				halt(records.InterruptInputError, false)
			}
			break
		}
		off := offset(seq)
		if !sleepUntil(timer, zero.Add(off), stop) {
			break
		}
		sched := int64(off)
		// A request is "queued" when it had to wait for a slot, or when the dispatcher was still waiting
		// for an earlier request's slot after this one was due: its lag then measures the server, not
		// the client.
		queued := lastWaitEnd > sched
		if sem != nil {
			ok, waited := sem.acquire(stop)
			if !ok {
				break
			}
			if waited {
				queued = true
				lastWaitEnd = since()
			}
		}
		res.Dispatched++
		workers.Add(1)
		select {
		case jobs <- job{seq, p, sched, queued}: // an idle request goroutine takes it
		default:
			go worker(job{seq, p, sched, queued})
		}
	}
	close(jobs) // idle request goroutines exit, busy ones when their request ends
	workers.Wait()
	events.close()
	<-writerDone
	close(allDone)

	tr := &res.Trailer
	*tr = tally.trailer(r.MaxLag)
	// With every request due at once (rate inf) the lag is the time it took to issue the burst, not a
	// failure to keep to a schedule: it is reported but not judged.
	res.Burst = len(r.Times) == 0 || r.Times[len(r.Times)-1] == 0
	if res.Burst {
		tr.Lag.ClientBottleneck = false
	}
	if why, ok := reason.Load().(string); ok {
		tr.Interrupted = why
	}
	if r.N > 0 && res.Dispatched < r.N {
		tr.NotSent = r.N - res.Dispatched
	}
	if writeErr != nil {
		if res.Err == nil {
			res.Err = fmt.Errorf("writing events: %w", writeErr)
		}
		return res, nil
	}
	if r.AfterRun != nil && hardCtx.Err() == nil {
		actx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		info, al := r.AfterRun(actx)
		cancel()
		tr.ServerInfo, tr.AcceptLength = info, al
	}
	tr.EndTime = zero.Add(time.Duration(tr.DurationNS)).Round(0)
	if err := rec.WriteTrailer(*tr); err == nil {
		err = rec.Flush()
		if err != nil && res.Err == nil {
			res.Err = fmt.Errorf("writing events: %w", err)
		}
	} else if res.Err == nil {
		res.Err = fmt.Errorf("writing events: %w", err)
	}
	return res, nil
}

// serve sends one prompt: a single request, or every round of a multi-turn conversation in turn.
func (r *Runner) serve(ctx context.Context, dl *deadline, stop <-chan struct{}, events *eventQueue, zero time.Time, since func() int64,
	prefix string, seq int, p *records.Prompt, sched int64, queued bool) {
	if len(p.Turns) == 0 {
		ev := newEvent(p, seq, 0, prefix, sched)
		r.send(ctx, dl, p, nil, ev, zero, since)
		events.put(done{ev: ev, lag: !queued, firstRnd: true})
		return
	}
	var history []records.Message
	for t, turn := range p.Turns {
		if t > 0 {
			select {
			case <-stop:
				return // interrupted: no new rounds
			default:
			}
			sched = since() // the round is due when the previous one ended
		}
		history = append(history, turn...)
		ev := newEvent(p, seq, t+1, prefix, sched)
		text := r.send(ctx, dl, p, slices.Clone(history), ev, zero, since)
		events.put(done{ev: ev, lag: t == 0 && !queued, firstRnd: t == 0})
		if ev.ErrorKind == records.ErrCancelled {
			return
		}
		// As the reference, the reply (empty after a failure) joins the history for the next round.
		history = append(history, records.TextMessage("assistant", text))
	}
}

func newEvent(p *records.Prompt, seq, turn int, prefix string, sched int64) *records.Event {
	id := requestID(prefix, uint64(turn), uint64(seq), 0x8000)
	return &records.Event{
		ID: p.ID, Seq: seq, Turn: turn, RequestID: id, ScheduledNS: sched,
		PromptLen: p.PromptLen, TextPromptLen: p.TextPromptLen, VisionPromptLen: p.VisionPromptLen,
		OutputLen: p.OutputLen, Lora: p.Lora, Group: p.Group, Session: p.Session,
	}
}

// send performs one request with its deadline (from dl) and normalises the event's failure kind: a
// request cut short by an interruption is "cancelled", one that overran --timeout is "timeout".
func (r *Runner) send(ctx context.Context, dl *deadline, p *records.Prompt, msgs []records.Message, ev *records.Event, zero time.Time, since func() int64) string {
	rctx := ctx
	if r.Timeout > 0 {
		rctx = dl.start()
	}
	start := since()
	text := r.Backend.Send(rctx, r.Client, p, msgs, ev, zero)
	expired := r.Timeout > 0 && dl.end()
	if ev.SentNS == 0 {
		ev.SentNS = start
	}
	if ev.EndNS < ev.SentNS {
		ev.EndNS = since()
	}
	if !ev.OK {
		switch {
		case ctx.Err() != nil:
			ev.ErrorKind = records.ErrCancelled
			ev.Error = "cancelled: bs-fire was interrupted before the request completed"
		case expired:
			ev.ErrorKind = records.ErrTimeout
			ev.Error = fmt.Sprintf("no complete response within --timeout %v", r.Timeout)
		case ev.ErrorKind == "":
			ev.ErrorKind = records.ErrClient
		}
	}
	return text
}

// deadline gives the requests of one request goroutine their --timeout. A context.WithTimeout per
// request costs a context, a timer and a registration with the run's context every time (~3 µs of
// CPU); instead the goroutine's requests, which run one after the other, share one context that a
// reused timer cancels, with cause context.DeadlineExceeded, when a request overruns. A context that
// has been cancelled (by the timer or with the run's) is replaced for the next request.
type deadline struct {
	parent  context.Context
	timeout time.Duration
	ctx     context.Context
	cancel  context.CancelCauseFunc
	timer   *time.Timer
}

// start returns the context of a request that starts now: it ends when the run's context does or
// when the timeout has passed.
func (d *deadline) start() context.Context {
	if d.ctx == nil {
		ctx, cancel := context.WithCancelCause(d.parent)
		d.ctx, d.cancel = ctx, cancel
		d.timer = time.AfterFunc(d.timeout, func() { cancel(context.DeadlineExceeded) })
	} else {
		d.timer.Reset(d.timeout)
	}
	return d.ctx
}

// end is called when the request has returned; it reports whether the request's deadline passed.
func (d *deadline) end() bool {
	if d.timer.Stop() && d.ctx.Err() == nil {
		return false // the context is still good for the next request
	}
	// The timer fired, or the run was cancelled: this context is spent. (Cancelling it here, if the
	// timer's function has not yet, keeps DeadlineExceeded as the cause once the timer has fired.)
	d.cancel(context.DeadlineExceeded)
	expired := errors.Is(context.Cause(d.ctx), context.DeadlineExceeded)
	d.ctx, d.cancel, d.timer = nil, nil, nil
	return expired
}

// release frees the context when the goroutine has no more requests to send.
func (d *deadline) release() {
	if d.ctx != nil {
		d.timer.Stop()
		d.cancel(context.Canceled)
	}
}

// requestID formats an X-Request-Id as a UUID (some servers, llama.cpp's among them, reject any other
// form): the run id, then the turn, a fixed version-4 group, the kind (0x8000 requests, 0x8001
// warm-ups) and the sequence number, all in hex: rrrrrrrr-tttt-4000-kkkk-ssssssssssss.
func requestID(run string, turn, seq uint64, kind uint16) string {
	var buf [36]byte
	b := append(buf[:0], run...)
	b = appendHex(append(b, '-'), turn, 4)
	b = append(b, "-4000-"...)
	b = appendHex(b, uint64(kind), 4)
	b = appendHex(append(b, '-'), seq, 12)
	return string(b)
}

func appendHex(b []byte, v uint64, width int) []byte {
	const digits = "0123456789abcdef"
	for i := width - 1; i >= 0; i-- {
		b = append(b, digits[(v>>(4*uint(i)))&0xf])
	}
	return b
}

// NewRunID returns a short random id that starts every X-Request-Id of a run (8 hex digits),
// so that the requests of different runs never share an id in a server's logs.
func NewRunID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
