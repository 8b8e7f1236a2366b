package records

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Stdio is the file name that means standard input (for reading) or standard output (for writing).
const Stdio = "-"

var (
	magicGzip = []byte{0x1f, 0x8b}
	magicZstd = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// Open opens name for reading ("-" is standard input) and transparently decompresses it when its first
// bytes are a gzip or zstd magic number, whatever the file is called.
func Open(name string) (io.ReadCloser, error) {
	var f io.ReadCloser
	if name == Stdio {
		f = io.NopCloser(os.Stdin)
	} else {
		file, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		f = file
	}
	rc, err := Decompress(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", displayName(name), err)
	}
	return rc, nil
}

// Decompress wraps r so that gzip or zstd content (recognised by magic bytes) is decompressed and
// anything else passes through. Closing the result closes r.
func Decompress(r io.ReadCloser) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(head, magicZstd):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return &stackCloser{Reader: zr, close: func() error { zr.Close(); return r.Close() }}, nil
	case bytes.HasPrefix(head, magicGzip):
		gr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return &stackCloser{Reader: gr, close: func() error { gr.Close(); return r.Close() }}, nil
	}
	return &stackCloser{Reader: br, close: r.Close}, nil
}

type stackCloser struct {
	io.Reader
	close func() error
}

func (s *stackCloser) Close() error { return s.close() }

// Create opens name for writing ("-" is standard output), compressing with zstd when the name ends in
// ".zst" or ".zstd" and with gzip when it ends in ".gz". Close flushes and closes everything; its error
// must be checked.
func Create(name string) (io.WriteCloser, error) {
	var f io.WriteCloser
	if name == Stdio {
		f = nopWriteCloser{os.Stdout}
	} else {
		file, err := os.Create(name)
		if err != nil {
			return nil, err
		}
		f = file
	}
	return Compress(f, name)
}

// Compress wraps w with the compressor that name's extension asks for (none for other names).
func Compress(w io.WriteCloser, name string) (io.WriteCloser, error) {
	switch {
	case strings.HasSuffix(name, ".zst") || strings.HasSuffix(name, ".zstd"):
		zw, err := zstd.NewWriter(w, zstd.WithEncoderConcurrency(1))
		if err != nil {
			w.Close()
			return nil, err
		}
		return &chainWriter{Writer: zw, flush: zw.Flush, closers: []io.Closer{zw, w}}, nil
	case strings.HasSuffix(name, ".gz"):
		gw := gzip.NewWriter(w)
		return &chainWriter{Writer: gw, flush: gw.Flush, closers: []io.Closer{gw, w}}, nil
	}
	return &chainWriter{Writer: w, closers: []io.Closer{w}}, nil
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// chainWriter closes its layers innermost-last and reports the first error.
type chainWriter struct {
	io.Writer
	flush   func() error
	closers []io.Closer
}

// Flush pushes buffered compressed data to the underlying file, so a reader sees every record so far.
func (c *chainWriter) Flush() error {
	if c.flush == nil {
		return nil
	}
	return c.flush()
}

func (c *chainWriter) Close() error {
	var first error
	for _, cl := range c.closers {
		if err := cl.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func displayName(name string) string {
	if name == Stdio {
		return "<stdin>"
	}
	return name
}

// Flusher is implemented by writers returned from Create.
type Flusher interface{ Flush() error }

// IsBrokenPipe reports whether err means the reader of our output has gone away.
func IsBrokenPipe(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrClosed)
}
