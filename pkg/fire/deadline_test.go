package fire

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bsbench/bs/pkg/records"
)

// A deadline's context lasts across requests that end in time, and is replaced after one that does
// not; the timeout is reported once, for the request that overran.
func TestDeadlineReusedUntilExpired(t *testing.T) {
	d := &deadline{parent: context.Background(), timeout: time.Hour}
	first := d.start()
	if d.end() {
		t.Fatal("a request that ended at once expired")
	}
	for range 100 {
		if ctx := d.start(); ctx != first || ctx.Err() != nil {
			t.Fatalf("context replaced or done: %v", ctx.Err())
		}
		if d.end() {
			t.Fatal("expired")
		}
	}
	d.timeout = time.Millisecond
	ctx := d.start()
	<-ctx.Done()
	if !errors.Is(context.Cause(ctx), context.DeadlineExceeded) || !d.end() {
		t.Fatalf("cause %v", context.Cause(ctx))
	}
	d.timeout = time.Hour
	if next := d.start(); next == ctx || next.Err() != nil {
		t.Fatalf("the expired context was reused (err %v)", next.Err())
	}
	if d.end() {
		t.Fatal("the next request expired too")
	}
	// A goroutine with no more requests releases its context.
	last := d.start()
	d.end()
	d.release()
	if last.Err() == nil {
		t.Fatal("the context outlived its goroutine")
	}
}

// Cancelling the run cancels the request's context; that is not a timeout.
func TestDeadlineRunCancelled(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	d := &deadline{parent: parent, timeout: time.Hour}
	ctx := d.start()
	cancel()
	<-ctx.Done()
	if d.end() {
		t.Fatal("a cancelled run counted as a timeout")
	}
	if next := d.start(); next.Err() == nil {
		t.Fatal("a request of a cancelled run has a live context")
	}
	d.end()
}

// One request goroutine (--max-concurrency 1) serves requests that overrun --timeout between
// requests that do not: each gets its own outcome.
func TestTimeoutsBetweenGoodRequests(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ N int }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if req.N > 1 { // never answers: the client's timeout ends it
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprintf(w, "data: t0\n\n")
	}))
	defer srv.Close()
	prompts := textPrompts(6, 1)
	for _, i := range []int{1, 2, 4} {
		prompts[i].OutputLen = 2
	}
	r := &Runner{Backend: &fakeBackend{url: srv.URL + "/gen"}, Client: NewClient(4), Prompts: &SliceSource{Prompts: prompts},
		N: len(prompts), MaxConcurrency: 1, Timeout: 300 * time.Millisecond, Grace: time.Minute, MaxLag: time.Second}
	_, _, evs, trs := runStream(t, r)
	if len(evs) != 6 {
		t.Fatalf("%d events", len(evs))
	}
	for _, ev := range evs {
		timedOut := prompts[ev.Seq].OutputLen == 2
		if timedOut != (ev.ErrorKind == records.ErrTimeout) || timedOut == ev.OK {
			t.Errorf("seq %d (timeout expected: %v): ok %v, %s %s", ev.Seq, timedOut, ev.OK, ev.ErrorKind, ev.Error)
		}
	}
	if trs[0].OK != 3 || trs[0].Failed != 3 {
		t.Errorf("trailer %+v", trs[0])
	}
}
