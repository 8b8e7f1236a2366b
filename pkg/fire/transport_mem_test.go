package fire

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bsbench/bs/pkg/backends"
	"github.com/bsbench/bs/pkg/records"
)

// heldEvents is how many events the helper server sends on each stream before holding it.
const heldEvents = 200

// TestHelperHoldingServer is not a test: BenchmarkWaitingStreams runs the test binary with
// BS_FIRE_HOLDING_SERVER=1 to serve from a separate process (so that its goroutines and memory are
// not counted). It answers every request with a native SGLang stream of heldEvents cumulative events,
// prints "sent" once they are written, holds the stream until its stdin closes, then ends it.
func TestHelperHoldingServer(t *testing.T) {
	if os.Getenv("BS_FIRE_HOLDING_SERVER") != "1" {
		t.Skip("the helper server of BenchmarkWaitingStreams")
	}
	release := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(release)
	}()
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(out, l.Addr().String())
	out.Flush()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		var text, ids strings.Builder
		event := func(k int) {
			fmt.Fprintf(&text, " w%d", k)
			if k > 1 {
				ids.WriteByte(',')
			}
			fmt.Fprint(&ids, 1000+k)
			fmt.Fprintf(w, "data: {\"text\":%q,\"output_ids\":[%s],\"meta_info\":{\"id\":\"r\",\"prompt_tokens\":3,\"completion_tokens\":%d,\"finish_reason\":null}}\n\n",
				text.String(), ids.String(), k)
		}
		for k := 1; k <= heldEvents; k++ {
			event(k)
		}
		w.(http.Flusher).Flush()
		mu.Lock()
		fmt.Fprintln(out, "sent")
		out.Flush()
		mu.Unlock()
		<-release
		event(heldEvents + 1)
		io.WriteString(w, "data: [DONE]\n\n")
	})}
	srv.Serve(l)
}

// BenchmarkWaitingStreams measures what a stream costs the client while it waits for its next event,
// through the backends' Send and bs-fire's client as bs-fire uses them: 2,000 native streams have each
// read 200 cumulative events (lines of about 2 KiB) and wait. It reports the goroutine stack memory
// (runtime.MemStats.StackInuse) and the heap in use per stream. Run it with -benchtime 1x.
func BenchmarkWaitingStreams(b *testing.B) {
	const streams = 2000
	if _, err := RaiseFileLimit(); err != nil {
		b.Skip(err)
	}
	for range b.N {
		srv := exec.Command(os.Args[0], "-test.run=^TestHelperHoldingServer$")
		srv.Env = append(os.Environ(), "BS_FIRE_HOLDING_SERVER=1")
		stdin, err := srv.StdinPipe()
		if err != nil {
			b.Fatal(err)
		}
		stdout, err := srv.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := srv.Start(); err != nil {
			b.Fatal(err)
		}
		lines := bufio.NewScanner(stdout)
		if !lines.Scan() {
			b.Fatal("the helper server did not start")
		}
		be, err := backends.New("sglang", backends.Options{BaseURL: "http://" + lines.Text(), Model: "m", Stream: true,
			IgnoreEOS: true, LogprobStartLen: -1})
		if err != nil {
			b.Fatal(err)
		}
		c := NewClient(streams)
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)

		var wg sync.WaitGroup
		var ok atomic.Int64
		zero := time.Now()
		for i := range streams {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ev := &records.Event{RequestID: fmt.Sprint(i)}
				be.Send(b.Context(), c, &records.Prompt{Text: "hello", PromptLen: 1, OutputLen: heldEvents + 1}, nil, ev, zero)
				if ev.OK && len(ev.ChunkNS) == heldEvents+1 {
					ok.Add(1)
				}
			}()
		}
		for range streams {
			if !lines.Scan() {
				b.Fatal("the helper server stopped")
			}
		}
		time.Sleep(time.Second) // let the client read what the server has sent
		runtime.GC()
		var during runtime.MemStats
		runtime.ReadMemStats(&during)
		stdin.Close()
		wg.Wait()
		srv.Process.Kill()
		srv.Wait()
		if ok.Load() != streams {
			b.Fatalf("%d of %d streams ended well", ok.Load(), streams)
		}
		b.ReportMetric(float64(during.StackInuse-before.StackInuse)/streams, "stack-B/stream")
		b.ReportMetric(float64(during.HeapInuse-before.HeapInuse)/streams, "heap-B/stream")
		b.ReportMetric(float64(during.NumGC-before.NumGC), "GCs")
	}
}
