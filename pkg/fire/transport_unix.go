//go:build unix

package fire

import (
	"io"
	"os"
	"syscall"
)

// probe reports whether an idle connection can carry a request: the server has not closed it and has
// sent nothing unasked. It makes one non-blocking read(2): EAGAIN means open and quiet; end of file,
// data or any other error means the connection cannot be reused.
func probe(rc syscall.RawConn) bool {
	ok := false
	var buf [1]byte
	err := rc.Read(func(fd uintptr) bool {
		_, err := syscall.Read(int(fd), buf[:])
		ok = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
		return true
	})
	return err == nil && ok
}

// rawReads tells that reads of response heads and bodies go through the connection's RawConn (see
// rawRead).
const rawReads = true

// rawRead waits until the connection has data, without a buffer, then reads up to limit bytes into a
// pooled buffer (nil when nothing was read): the same system calls as net.Conn.Read (a read(2) that
// finds nothing, the wait, the read(2) that gets the data), but no buffer is tied up while waiting.
// End of file is io.EOF; a failed read(2) is reported as net.Conn.Read reports it.
//
// The first read(2) is made even when the previous one drained the socket and will most likely find
// nothing: skipping it (returning false from the first call of the callback) can lose a wake-up. The
// netpoller is edge-triggered, and data that arrives while no goroutine waits leaves the connection
// marked ready (pdReady); but RawConn.Read, like every read in internal/poll, first resets that mark
// (prepareRead → runtime_pollReset, Go 1.22–1.26) and relies on the read(2) that follows to find the
// data. A wait that skipped it would sleep until more data arrives: a stream's last event would be
// read only at the deadline. (Measured: "b" written 150 ms before such a wait was read only when "c"
// came 4.85 s later.) rawBody.streamRaw avoids that read(2) by staying inside one RawConn.Read.
func rawRead(rc syscall.RawConn, limit int) (*[]byte, int, error) {
	var bp *[]byte
	var n int
	var rerr error
	err := rc.Read(func(fd uintptr) bool {
		var again bool
		bp, n, rerr, again = readPooled(fd, limit)
		return !again // again: wait until readable, then call again
	})
	switch {
	case err != nil:
	case rerr != nil:
		err = os.NewSyscallError("read", rerr)
	case n == 0:
		err = io.EOF
	}
	if n <= 0 && bp != nil {
		readBufPool.Put(bp)
		bp, n = nil, 0
	}
	return bp, n, err
}

// readPooled makes one read(2) of up to limit bytes into a pooled buffer, repeated if a signal
// interrupts it. again reports that nothing had arrived (EAGAIN); the buffer is then back in the pool.
func readPooled(fd uintptr, limit int) (bp *[]byte, n int, rerr error, again bool) {
	bp = readBufPool.Get().(*[]byte)
	for {
		n, rerr = syscall.Read(int(fd), (*bp)[:limit])
		if rerr != syscall.EINTR {
			break
		}
	}
	if rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK {
		readBufPool.Put(bp)
		return nil, 0, nil, true
	}
	return bp, n, rerr, false
}

// streamRaw reads the body from its connection for stream, handing fn what each read(2) brings, inside
// one RawConn.Read for the whole body (up to its end, an error, or fn returning false, which it
// reports). After a read(2) that emptied the socket (it returned less than it could take) it waits for
// readiness at once, without the read(2) that finds nothing which a new RawConn.Read (or
// net.Conn.Read) has to make first (see rawRead): the readiness mark is cleared only when a
// RawConn.Read begins, and the poller is edge-triggered, so data that arrives after that read(2) is a
// new edge, recorded even while nobody waits yet, and the wait returns at once. (A mark left over from
// data the read(2) already took costs one read(2) that finds nothing, as before.) So a stream that
// receives its events one at a time makes one read(2) per event instead of two.
func (b *rawBody) streamRaw(fn func([]byte) bool) (stopped bool) {
	err := b.rc.Read(func(fd uintptr) bool {
		for {
			limit := b.readLimit()
			bp, n, rerr, again := readPooled(fd, limit)
			if again {
				return false // wait until readable, then call again
			}
			var raw []byte
			switch {
			case rerr != nil:
				rerr, n = os.NewSyscallError("read", rerr), 0
			case n == 0:
				rerr = io.EOF
			}
			if n > 0 {
				b.pbuf, raw = bp, (*bp)[:n]
			} else {
				readBufPool.Put(bp)
			}
			b.decode(raw, rerr)
			if len(b.pend) > 0 {
				d := b.pend
				b.pend = nil
				stopped = !fn(d)
			}
			b.releaseBuf()
			if stopped || b.done || b.err != nil {
				return true
			}
			if n < limit {
				return false // the socket is empty: wait for the next data
			}
			// A full buffer: more may be waiting, read on.
		}
	})
	if err != nil && b.err == nil {
		// The wait failed (deadline, closed connection), as net.Conn.Read would report it.
		b.spoilt = true
		b.err = err
	}
	return stopped
}
