package fire

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/bsbench/bs/pkg/records"
)

// Progress is told about every finished request. Close ends the display.
type Progress interface {
	Done(ev *records.Event)
	Close()
}

// NewProgress returns the progress display for a run of total requests (0 = unknown) on w: a live bar
// (done/total, rate, failures, ETA) when w is a terminal, else a one-line status every interval, or
// nothing when quiet.
func NewProgress(w io.Writer, total int, terminal, quiet bool, interval time.Duration) Progress {
	switch {
	case quiet:
		return nopProgress{}
	case terminal:
		return newBar(w, total)
	default:
		return newStatus(w, total, interval)
	}
}

type nopProgress struct{}

func (nopProgress) Done(*records.Event) {}
func (nopProgress) Close()              {}

type bar struct {
	b      *progressbar.ProgressBar
	mu     sync.Mutex
	failed int
}

func newBar(w io.Writer, total int) *bar {
	max := total
	if max <= 0 {
		max = -1 // spinner: total unknown
	}
	b := progressbar.NewOptions(max,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("requests"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("req"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionFullWidth(),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
	// Draw the empty bar now: the bar's clock (elapsed time, and the rate until its first rolling
	// sample) starts at its first drawing, which would otherwise be the first finished request, making
	// the first rate shown absurd (one request over a few microseconds).
	_ = b.RenderBlank()
	return &bar{b: b}
}

func (p *bar) Done(ev *records.Event) {
	if !ev.OK {
		p.mu.Lock()
		p.failed++
		p.b.Describe(fmt.Sprintf("requests (%d failed)", p.failed))
		p.mu.Unlock()
	}
	_ = p.b.Add(1)
}

func (p *bar) Close() { _ = p.b.Finish() }

// status prints "bs-fire: 120/1000 done, 3 failed, 98.2 req/s, 12s elapsed" every interval.
type status struct {
	w            io.Writer
	total        int
	start        time.Time
	done, failed atomic.Int64
	stop         chan struct{}
	wg           sync.WaitGroup
}

func newStatus(w io.Writer, total int, interval time.Duration) *status {
	s := &status{w: w, total: total, start: time.Now(), stop: make(chan struct{})}
	if interval <= 0 {
		interval = 5 * time.Second
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				fmt.Fprintln(s.w, s.line())
			case <-s.stop:
				return
			}
		}
	}()
	return s
}

func (s *status) line() string {
	el := time.Since(s.start)
	done := s.done.Load()
	of := ""
	if s.total > 0 {
		of = fmt.Sprintf("/%d", s.total)
	}
	return fmt.Sprintf("bs-fire: %d%s done, %d failed, %.1f req/s, %s elapsed",
		done, of, s.failed.Load(), float64(done)/el.Seconds(), el.Round(time.Second))
}

func (s *status) Done(ev *records.Event) {
	s.done.Add(1)
	if !ev.OK {
		s.failed.Add(1)
	}
}

func (s *status) Close() {
	close(s.stop)
	s.wg.Wait()
}
