//go:build unix

package fire

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// rawRead returns data that arrived while nobody waited (the netpoller has already reported it), data
// that arrives while it waits, data in pieces, and the end of the connection. The first case guards
// the read(2) rawRead makes before it waits (see there): without it the data would be read only when
// more came, here at the hang guard's deadline.
func TestRawReadWakeUps(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	sc, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	cc.SetReadDeadline(time.Now().Add(time.Minute)) // a hang guard, not a measurement
	rc, err := cc.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	read := func(want string) {
		t.Helper()
		var got []byte
		for len(got) < len(want) {
			bp, n, err := rawRead(rc, readBufSize)
			if err != nil {
				t.Fatalf("waiting for %q: got %q, then %v", want, got, err)
			}
			got = append(got, (*bp)[:n]...)
			readBufPool.Put(bp)
		}
		if string(got) != want {
			t.Fatalf("read %q, want %q", got, want)
		}
	}

	sc.Write([]byte("first"))
	read("first") // drains the socket
	sc.Write([]byte("waiting"))
	// Let the netpoller report the new data while no goroutine waits on the connection (it polls at
	// least every 10 ms); rawRead must find it without a further wake-up.
	time.Sleep(100 * time.Millisecond)
	read("waiting")

	go func() {
		time.Sleep(20 * time.Millisecond)
		sc.Write([]byte("later"))
		time.Sleep(20 * time.Millisecond)
		sc.Write([]byte(" in"))
		sc.Write([]byte(" pieces"))
		time.Sleep(20 * time.Millisecond)
		sc.Close()
	}()
	read("later in pieces")
	if bp, n, err := rawRead(rc, readBufSize); bp != nil || n != 0 || err != io.EOF {
		t.Fatalf("at the end: %v %d %v", bp != nil, n, err)
	}
}

// loopback returns the two ends of a TCP connection on 127.0.0.1, the client's with its RawConn.
func loopback(t *testing.T) (client, server net.Conn, rc syscall.RawConn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	client, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if server, err = l.Accept(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	client.SetReadDeadline(time.Now().Add(time.Minute)) // a hang guard, not a measurement
	if rc, err = client.(syscall.Conn).SyscallConn(); err != nil {
		t.Fatal(err)
	}
	return client, server, rc
}

// A body streamed from a real connection (rawBody.streamRaw: one RawConn.Read for the whole body) is
// the payload whatever pieces the server writes it in, with or without pauses between them (the
// client then waits for readiness after emptying the socket); bodies longer than a read buffer, with
// a Content-Length, or cut by the server's close come out as through Read.
func TestRawBodyStreamLoopback(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for round := range 40 {
		payload := make([]byte, rng.IntN(3*readBufSize))
		for i := range payload {
			payload[i] = "data: \r\n0123456789abcdef"[rng.IntN(24)]
		}
		var pieces []int
		for range rng.IntN(20) {
			pieces = append(pieces, 1+rng.IntN(5000))
		}
		wire := chunked(payload, pieces, "")
		client, server, rc := loopback(t)
		pause := round%2 == 1
		go func() {
			wr := rand.New(rand.NewPCG(7, uint64(round)))
			for rest := wire; len(rest) > 0; {
				n := min(len(rest), 1+wr.IntN(4000))
				server.Write(rest[:n])
				rest = rest[n:]
				if pause {
					time.Sleep(time.Millisecond)
				}
			}
		}()
		b := &rawBody{frame: frameChunked, src: client, rc: rc}
		got, err := readLent(b)
		if err != nil || !bytes.Equal(got, payload) || b.spoilt {
			t.Fatalf("round %d: %v; got %d bytes, want %d; spoilt %v", round, err, len(got), len(payload), b.spoilt)
		}
	}

	client, server, rc := loopback(t)
	go func(c net.Conn) { c.Write([]byte("hello world and more")) }(server)
	b := &rawBody{frame: frameLength, remain: 11, src: client, rc: rc}
	if got, err := readLent(b); string(got) != "hello world" || err != nil {
		t.Errorf("length: %q %v", got, err)
	}

	client, server, rc = loopback(t)
	go func(c net.Conn) {
		c.Write([]byte("5\r\nhel"))
		time.Sleep(10 * time.Millisecond)
		c.Close()
	}(server)
	b = &rawBody{frame: frameChunked, src: client, rc: rc}
	if got, err := readLent(b); string(got) != "hel" || err != io.ErrUnexpectedEOF || !b.spoilt {
		t.Errorf("cut by the server: %q %v spoilt %v", got, err, b.spoilt)
	}

	// fn's false stops the reading; a later call goes on where it stopped.
	client, server, rc = loopback(t)
	go func(c net.Conn) { c.Write(chunked([]byte("first second"), []int{6}, "")) }(server)
	b = &rawBody{frame: frameChunked, src: client, rc: rc}
	var first []byte
	if err := b.stream(func(d []byte) bool { first = append(first, d...); return false }); err != nil || len(first) == 0 {
		t.Fatalf("stopped: %q %v", first, err)
	}
	rest, err := readLent(b)
	if string(first)+string(rest) != "first second" || err != nil {
		t.Errorf("after a stop: %q + %q, %v", first, rest, err)
	}

	// A deadline that passes while waiting ends the body with the connection's error.
	client, _, rc = loopback(t)
	client.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	b = &rawBody{frame: frameChunked, src: client, rc: rc}
	if _, err := readLent(b); !errors.Is(err, os.ErrDeadlineExceeded) || !b.spoilt {
		t.Errorf("deadline: %v spoilt %v", err, b.spoilt)
	}
}
