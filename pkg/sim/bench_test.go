package sim

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchServer runs a server on 127.0.0.1 for a benchmark and returns its base URL and a stop func.
func benchServer(b *testing.B, cfg Config) (string, func()) {
	b.Helper()
	srv, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String(), func() { _ = srv.Shutdown(b.Context()) }
}

// streamLoad sends n streamed completions requests from conc workers and counts the content events
// received. The client only scans lines (no JSON decoding) to leave the CPU to the server.
func streamLoad(b *testing.B, base string, conc, n int, body string) (events int64, elapsed time.Duration) {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: conc, DisableCompression: true, ForceAttemptHTTP2: false,
	}}
	defer client.CloseIdleConnections()
	var next, total atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			br := bufio.NewReaderSize(nil, 16<<10)
			for next.Add(1) <= int64(n) {
				resp, err := client.Post(base+"/v1/completions", "application/json", strings.NewReader(body))
				if err != nil {
					failed.Store(err)
					return
				}
				br.Reset(resp.Body)
				var ev int64
				for {
					line, err := br.ReadSlice('\n')
					if err == io.EOF {
						break
					}
					if err != nil {
						failed.Store(err)
						return
					}
					if bytes.HasPrefix(line, sseData) && !bytes.HasPrefix(line, []byte("data: [DONE]")) {
						ev++
					}
				}
				resp.Body.Close()
				total.Add(ev)
			}
		}()
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatal(err)
	}
	return total.Load(), time.Since(start)
}

// BenchmarkStreamCeiling measures the simulator's own ceiling: no latency at all (TTFT 0, ITL 0),
// one token per event, 256-token streams over keep-alive connections. One op is one request. The
// client runs in the same process on the same cores, so the figures are a lower bound on what the
// server alone could do; go run ./bench/sim-ceiling measures the server's CPU per event and its
// emission lateness under paced load.
func BenchmarkStreamCeiling(b *testing.B) {
	for _, conc := range []int{1, 64, 512} {
		b.Run(fmt.Sprintf("conc=%d", conc), func(b *testing.B) {
			base, stop := benchServer(b, Config{})
			defer stop()
			body := `{"model":"m","prompt":"hello world","max_tokens":256,"ignore_eos":true,"stream":true}`
			b.ResetTimer()
			events, elapsed := streamLoad(b, base, conc, b.N, body)
			b.StopTimer()
			if events != int64(b.N)*256 {
				b.Fatalf("received %d events, want %d", events, b.N*256)
			}
			b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
		})
	}
}
