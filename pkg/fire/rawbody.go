package fire

import (
	"errors"
	"io"
	"sync"
	"syscall"
)

// readBufSize is the size of the pooled buffers body reads land in: one read(2) takes up to this much
// of what the connection holds (events that arrived together are taken together), and the buffer goes
// back to the pool once its data has been handed over.
const readBufSize = 16 << 10

var readBufPool = sync.Pool{New: func() any { b := make([]byte, readBufSize); return &b }}

// Framings of a response body (RFC 9112 §6).
const (
	frameChunked = iota // Transfer-Encoding: chunked
	frameLength         // Content-Length
	frameClose          // until the server closes the connection
)

// States of the chunked decoder.
const (
	csSize      = iota // in the chunk-size hex digits
	csExt              // in a chunk extension, up to the line's end
	csSizeLF           // after the CR of the chunk-size line
	csData             // in chunk data
	csDataCR           // after chunk data: CR expected
	csDataLF           // LF expected
	csTrailer          // at the start of a trailer line (or of the final empty line)
	csTrailerLn        // inside a trailer field line
	csTrailerLF        // after the CR of the final empty line
)

// maxChunkLine bounds a chunk-size or trailer line, as net/http does.
const maxChunkLine = 4096

var (
	errChunkSyntax  = errors.New("malformed chunked encoding")
	errChunkLine    = errors.New("chunked encoding: line too long")
	errChunkTooLong = errors.New("http chunk length too large")
)

// rawBody reads a response body from the connection. It waits for data without holding a buffer (on
// unix, through the connection's RawConn), reads what has arrived into a pooled buffer, removes the
// chunked framing in place and hands the data over; the buffer then goes back to the pool. So a
// stream waiting for its next event holds no read buffer, and a read(2) still takes all the events
// that arrived together. Trailer fields are read and dropped.
type rawBody struct {
	src    io.Reader       // the connection
	rc     syscall.RawConn // the connection's, when reads can go through it (see rawRead)
	stash  []byte          // raw bytes that came with the response head, decoded first
	pend   []byte          // decoded data not yet handed over
	pbuf   *[]byte         // the pooled buffer pend lies in, if any
	frame  int
	remain int64 // frameLength: bytes left in the body; frameChunked: bytes left in the chunk
	st     int   // chunked decoder state
	size   int64 // chunk size being read
	digits int   // hex digits read of it
	line   int   // length of the current chunk-size or trailer line
	done   bool  // the body is complete: io.EOF once pend is handed over
	spoilt bool  // bytes followed the body, or the read that ended it failed: do not reuse the connection
	err    error // sticky error, returned once pend is handed over
}

// Read implements io.Reader. It blocks only when it has no data to return.
func (b *rawBody) Read(p []byte) (int, error) {
	for {
		if len(b.pend) > 0 {
			n := copy(p, b.pend)
			if b.pend = b.pend[n:]; len(b.pend) == 0 {
				b.pend = nil
				b.releaseBuf()
			}
			return n, nil
		}
		switch {
		case b.err != nil:
			return 0, b.err
		case b.done:
			return 0, io.EOF
		case len(p) == 0:
			return 0, nil
		}
		b.more()
	}
}

// stream hands the body's data to fn as it arrives, in place in the pooled buffer it was read into
// (valid during the call only; the buffer goes back to the pool before the next wait), until fn returns
// false (stream then returns nil), the body ends (io.EOF) or reading it fails (the error, sticky). On
// unix the connection is read by streamRaw, inside one RawConn.Read for the whole body.
func (b *rawBody) stream(fn func([]byte) bool) error {
	for {
		if len(b.pend) > 0 {
			d := b.pend
			b.pend = nil
			ok := fn(d)
			b.releaseBuf()
			if !ok {
				return nil
			}
		}
		b.releaseBuf()
		switch {
		case b.err != nil:
			return b.err
		case b.done:
			return io.EOF
		}
		if b.rc == nil || len(b.stash) > 0 {
			b.more()
			continue
		}
		if b.streamRaw(fn) {
			return nil
		}
	}
}

// readLimit is how much one read(2) may take: a read buffer, or what is left of a Content-Length body.
func (b *rawBody) readLimit() int {
	if b.frame == frameLength && b.remain < readBufSize {
		return int(b.remain)
	}
	return readBufSize
}

// more reads what has arrived (waiting for it), removes the framing and leaves the data in b.pend,
// which is empty when only framing was read; or it records the end of the body or an error.
func (b *rawBody) more() {
	var raw []byte
	var rerr error
	if len(b.stash) > 0 {
		raw, b.stash = b.stash, nil
	} else {
		raw, rerr = b.fill(b.readLimit())
	}
	b.decode(raw, rerr)
}

// decode removes the framing from raw bytes just read (rerr: how the read ended) and leaves the data
// in b.pend; it records the end of the body or an error.
func (b *rawBody) decode(raw []byte, rerr error) {
	out := len(raw)
	switch b.frame {
	case frameChunked:
		var derr error
		if out, derr = b.dechunk(raw); derr != nil {
			b.err = derr
		}
	case frameLength:
		if int64(out) >= b.remain {
			b.spoilt = int64(out) > b.remain // the head came with more than the body
			out = int(b.remain)
			b.done = true
		}
		b.remain -= int64(out)
	}
	if b.pend = raw[:out]; out == 0 {
		b.pend = nil
		b.releaseBuf()
	}
	if rerr != nil {
		b.spoilt = true
		switch {
		case b.done || b.err != nil:
		case rerr == io.EOF && b.frame == frameClose:
			b.done = true
		case rerr == io.EOF:
			b.err = io.ErrUnexpectedEOF
		default:
			b.err = rerr
		}
	}
}

// fill reads up to limit bytes of what the connection holds (waiting for at least one) into a pooled
// buffer.
func (b *rawBody) fill(limit int) ([]byte, error) {
	if b.rc != nil {
		bp, n, err := rawRead(b.rc, limit)
		b.pbuf = bp
		if bp == nil {
			return nil, err
		}
		return (*bp)[:n], err
	}
	bp := readBufPool.Get().(*[]byte)
	n, err := b.src.Read((*bp)[:limit])
	if n == 0 {
		readBufPool.Put(bp)
		if err == nil {
			err = io.ErrNoProgress
		}
		return nil, err
	}
	b.pbuf = bp
	return (*bp)[:n], err
}

func (b *rawBody) releaseBuf() {
	if b.pbuf != nil {
		readBufPool.Put(b.pbuf)
		b.pbuf = nil
	}
}

// dechunk decodes raw chunked bytes in place: the data they carry is moved to the front of buf and
// its length returned.
func (b *rawBody) dechunk(buf []byte) (int, error) {
	w := 0
	for i := 0; i < len(buf); {
		if b.done {
			b.spoilt = true
			break
		}
		switch b.st {
		case csData:
			k := min(int64(len(buf)-i), b.remain)
			copy(buf[w:], buf[i:i+int(k)])
			w += int(k)
			i += int(k)
			if b.remain -= k; b.remain == 0 {
				b.st = csDataCR
			}
			continue
		case csDataCR, csDataLF:
			want := byte('\r')
			if b.st == csDataLF {
				want = '\n'
			}
			if buf[i] != want {
				return w, errChunkSyntax
			}
			i++
			if b.st++; b.st > csDataLF {
				b.st, b.size, b.digits, b.line = csSize, 0, 0, 0
			}
			continue
		}
		c := buf[i]
		i++
		if b.line++; b.line > maxChunkLine {
			return w, errChunkLine
		}
		switch b.st {
		case csSize:
			if v, ok := unhex(c); ok {
				if b.digits == 16 {
					return w, errChunkTooLong
				}
				b.size = b.size<<4 | int64(v)
				b.digits++
				continue
			}
			if b.digits == 0 {
				return w, errChunkSyntax
			}
			switch c {
			case '\r':
				b.st = csSizeLF
			case '\n':
				b.endSizeLine()
			case ';', ' ', '\t':
				b.st = csExt
			default:
				return w, errChunkSyntax
			}
		case csExt:
			if c == '\n' {
				b.endSizeLine()
			}
		case csSizeLF:
			if c != '\n' {
				return w, errChunkSyntax
			}
			b.endSizeLine()
		case csTrailer:
			switch c {
			case '\r':
				b.st = csTrailerLF
			case '\n':
				b.done = true
			default:
				b.st = csTrailerLn
			}
		case csTrailerLn:
			if c == '\n' {
				b.st, b.line = csTrailer, 0
			}
		case csTrailerLF:
			if c != '\n' {
				return w, errChunkSyntax
			}
			b.done = true
		}
	}
	return w, nil
}

// endSizeLine starts the chunk whose size line just ended, or the trailer after the last chunk.
func (b *rawBody) endSizeLine() {
	b.line = 0
	if b.size == 0 {
		b.st = csTrailer
		return
	}
	b.remain, b.st = b.size, csData
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
