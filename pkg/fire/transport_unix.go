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
func rawRead(rc syscall.RawConn, limit int) (*[]byte, int, error) {
	var bp *[]byte
	var n int
	var rerr error
	err := rc.Read(func(fd uintptr) bool {
		bp = readBufPool.Get().(*[]byte)
		for {
			n, rerr = syscall.Read(int(fd), (*bp)[:limit])
			if rerr != syscall.EINTR {
				break
			}
		}
		if rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK {
			readBufPool.Put(bp)
			bp = nil
			return false // wait until readable, then call again
		}
		return true
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
