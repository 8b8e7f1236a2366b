package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// floor measures what one event costs the sender below bs-sim: no HTTP, no JSON, no bs-sim. This
// process opens streams loopback TCP connections to a reader (this program re-run as a child with
// -floor-reader, reading each connection on its own goroutine into a 16 KiB buffer, as bs-fire's
// transport does), then writes size bytes to every connection every itl, tokens times, one
// goroutine and one timer per connection with absolute deadlines, as bs-sim does. It prints the
// writer's CPU time (user + system) per write. bs-sim's own CPU per event at the same load, minus
// this figure, is what bs-sim's code costs above one write(2) per event.
func floor(streams, tokens, size int, itl time.Duration) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer l.Close()
	reader := exec.Command(os.Args[0], "-floor-reader", l.Addr().String(), "-streams", fmt.Sprint(streams))
	reader.Stderr = os.Stderr
	if err := reader.Start(); err != nil {
		return err
	}
	defer reader.Process.Kill() //nolint:errcheck // only if we return early
	conns := make([]net.Conn, streams)
	for i := range conns {
		if conns[i], err = l.Accept(); err != nil {
			return err
		}
	}
	msg := make([]byte, size)
	for i := range msg {
		msg[i] = 'a'
	}
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	t0 := time.Now().Add(itl)
	var wg sync.WaitGroup
	var firstErr error
	var mu sync.Mutex
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTimer(time.Until(t0))
			defer t.Stop()
			for k := range tokens {
				t.Reset(time.Until(t0.Add(time.Duration(k) * itl)))
				<-t.C
				if _, err := c.Write(msg); err != nil {
					mu.Lock()
					firstErr = errors.Join(firstErr, err)
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(t0)
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	if firstErr != nil {
		return firstErr
	}
	for _, c := range conns {
		c.Close()
	}
	if err := reader.Wait(); err != nil {
		return fmt.Errorf("reader: %w", err)
	}
	writes := streams * tokens
	cpu := rusageCPU(ru1) - rusageCPU(ru0)
	fmt.Printf("floor: %d connections × %d writes of %d bytes every %v, no HTTP: wall %.2fs (schedule %.2fs), %.0f writes/s\n",
		streams, tokens, size, itl, elapsed.Seconds(), (time.Duration(tokens-1) * itl).Seconds(), float64(writes)/elapsed.Seconds())
	fmt.Printf("writer CPU %.2fs (user %.2fs + sys %.2fs): %.2f µs per write\n", cpu.Seconds(),
		time.Duration(ru1.Utime.Nano()-ru0.Utime.Nano()).Seconds(), time.Duration(ru1.Stime.Nano()-ru0.Stime.Nano()).Seconds(),
		float64(cpu.Microseconds())/float64(writes))
	return nil
}

// floorReader is the reader side of floor: it dials streams connections to addr and reads each
// until the writer closes it.
func floorReader(addr string, streams int) error {
	var wg sync.WaitGroup
	for range streams {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			buf := make([]byte, 16<<10)
			for {
				if _, err := c.Read(buf); err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	return nil
}
