package fire

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bsbench/bs/pkg/backends"
	"github.com/bsbench/bs/pkg/records"
	"github.com/bsbench/bs/pkg/sim"
)

// BenchmarkRunSim measures a whole run against bs-sim in the same process (so the figures include the
// server's work too): one op is one streamed request of 100 tokens, 64 at a time, sent as fast as
// possible. The sim-free cost of the client is measured by bench/fire-vs-truth.
func BenchmarkRunSim(b *testing.B) {
	for _, tc := range []struct {
		name    string
		backend string
	}{{"native", "sglang"}, {"chat", "sglang-oai-chat"}} {
		b.Run(tc.name, func(b *testing.B) {
			s, err := sim.New(sim.Config{})
			if err != nil {
				b.Fatal(err)
			}
			ts := httptest.NewServer(s)
			defer ts.Close()
			defer s.Close()
			be, err := backends.New(tc.backend, backends.Options{BaseURL: ts.URL, Model: "m", Stream: true, IgnoreEOS: true, LogprobStartLen: -1})
			if err != nil {
				b.Fatal(err)
			}
			prompts := make([]records.Prompt, b.N)
			for i := range prompts {
				prompts[i] = records.Prompt{ID: i, Text: "hello world", PromptLen: 2, OutputLen: 100}
			}
			r := &Runner{Backend: be, Client: NewClient(64), Prompts: &SliceSource{Prompts: prompts}, N: b.N,
				MaxConcurrency: 64, Timeout: time.Minute, Out: io.Discard,
				Header: records.Header{Stream: records.StreamEvents}}
			b.ResetTimer()
			res, err := r.Run(context.Background())
			b.StopTimer()
			if err != nil || res.Trailer.OK != b.N {
				b.Fatalf("%v %+v", err, res.Trailer)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/event")
		})
	}
}

// nopBackend records a request without sending it: it measures the runner's own dispatch and recording
// overhead.
type nopBackend struct{}

func (nopBackend) Name() string { return "nop" }
func (nopBackend) URL() string  { return "" }
func (nopBackend) Send(_ context.Context, _ *http.Client, _ *records.Prompt, _ []records.Message, ev *records.Event, zero time.Time) string {
	ev.SentNS = int64(time.Since(zero))
	ev.ChunkNS = []int64{1}
	ev.EndNS = ev.SentNS + 1
	ev.OK = true
	return ""
}

// BenchmarkDispatch is the runner's cost per request without any network: schedule walk, slot, goroutine,
// event encoding and writing. One op is one request of a burst of b.N.
func BenchmarkDispatch(b *testing.B) {
	for _, limit := range []int{0, 64} {
		b.Run(fmt.Sprintf("cap%d", limit), func(b *testing.B) {
			prompts := make([]records.Prompt, b.N)
			for i := range prompts {
				prompts[i] = records.Prompt{ID: i, Text: "x", PromptLen: 1, OutputLen: 1}
			}
			r := &Runner{Backend: nopBackend{}, Prompts: &SliceSource{Prompts: prompts}, N: b.N, MaxConcurrency: limit,
				Out: io.Discard, Header: records.Header{Stream: records.StreamEvents}}
			b.ResetTimer()
			res, err := r.Run(context.Background())
			if err != nil || res.Trailer.OK != b.N {
				b.Fatalf("%v %+v", err, res.Trailer)
			}
		})
	}
}
