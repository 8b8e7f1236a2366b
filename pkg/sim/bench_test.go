package sim

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
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

// nativeStreamBody is the request of the native benchmarks: sglang's bench_serving payload for a
// 256-token stream.
const nativeStreamBody = `{"text":"hello world","sampling_params":{"max_new_tokens":256,"ignore_eos":true,"temperature":0},"stream":true}`

// rawStreamLoad sends n streamed POST /generate requests from conc workers, each on its own
// keep-alive connection written and read directly (no net/http client), and returns the number
// of SSE events received. A response ends with the last chunk of the chunked encoding.
func rawStreamLoad(b *testing.B, addr string, conc, n int) int64 {
	b.Helper()
	req := []byte("POST /generate HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\nContent-Length: " +
		fmt.Sprint(len(nativeStreamBody)) + "\r\n\r\n" + nativeStreamBody)
	end := []byte("data: [DONE]\n\n\r\n0\r\n\r\n")
	eventStart := []byte("\ndata: {")
	var next, total atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				failed.Store(err)
				return
			}
			defer c.Close()
			buf := make([]byte, 64<<10)
			var tailBuf [64]byte
			var seamBuf [16]byte
			for next.Add(1) <= int64(n) {
				if _, err := c.Write(req); err != nil {
					failed.Store(err)
					return
				}
				// Events may arrive split or together. Each event follows its chunk-size line, so
				// it is counted by "\ndata: {"; tail keeps the last bytes read, to find that
				// pattern and the end across reads.
				var ev int64
				tail := tailBuf[:0]
				for !bytes.HasSuffix(tail, end) {
					k, err := c.Read(buf)
					if err != nil {
						failed.Store(err)
						return
					}
					seam := append(seamBuf[:0], tail[max(len(tail)-len(eventStart)+1, 0):]...)
					seam = append(seam, buf[:min(k, len(eventStart)-1)]...)
					ev += int64(bytes.Count(buf[:k], eventStart) + bytes.Count(seam, eventStart))
					if k >= len(end) {
						tail = append(tail[:0], buf[k-len(end):k]...)
					} else {
						tail = append(tail, buf[:k]...)
						tail = tail[:copy(tail, tail[max(len(tail)-len(end), 0):])]
					}
				}
				total.Add(ev)
			}
		}()
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatal(err)
	}
	return total.Load()
}

// BenchmarkNativeStream256 measures the cost of one SSE event of the SGLang native protocol, whose
// events carry the cumulative text and output_ids (so they grow to ~3 KB by token 256): 64
// keep-alive connections, 256-token streams, one token per event, no latency. One op is one
// request; ns/event is wall time per event with the lean client in the same process, cpu-ns/event
// the whole process's CPU (server and client) per event, allocs/event the heap allocations of
// both per event.
func BenchmarkNativeStream256(b *testing.B) {
	srv, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	defer func() { _ = srv.Shutdown(b.Context()) }()
	const conc = 64
	rawStreamLoad(b, l.Addr().String(), conc, conc) // open the connections, warm the pools
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0, cpuOK := processCPU()
	b.ResetTimer()
	start := time.Now()
	events := rawStreamLoad(b, l.Addr().String(), conc, b.N)
	elapsed := time.Since(start)
	b.StopTimer()
	cpu1, _ := processCPU()
	runtime.ReadMemStats(&m1)
	if events != int64(b.N)*256 {
		b.Fatalf("received %d events, want %d", events, b.N*256)
	}
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(events), "ns/event")
	if cpuOK {
		b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/float64(events), "cpu-ns/event")
	}
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(events), "allocs/event")
}

// BenchmarkNativeEncode256 measures building the 256 events of one native 256-token stream in
// memory (no network): the cumulative text and output_ids are copied into every event. One op is
// one request.
func BenchmarkNativeEncode256(b *testing.B) {
	srv, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	g := &gen{s: srv, kind: kindNative, idJSON: []byte(`"0123456789abcdef0123456789abcdef"`),
		p: genParams{promptTokens: 128, maxTokens: 256}}
	g.plan()
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		g.sent, g.text, g.ids = 0, g.text[:0], g.ids[:0]
		for g.sent < g.total {
			delta := g.addTokens(1)
			buf = g.appendEvent(buf[:0], delta, g.sent == 1, g.sent == g.total)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*256), "ns/event")
}
