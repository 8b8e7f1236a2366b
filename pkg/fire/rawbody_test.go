package fire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/bsbench/bs/pkg/backends"
	"github.com/bsbench/bs/pkg/records"
)

// chunked encodes payload with net/http's own chunked writer, in pieces of the given sizes, and ends it
// with trailer (raw header lines) and the final CRLF.
func chunked(payload []byte, pieces []int, trailer string) []byte {
	var b bytes.Buffer
	cw := httputil.NewChunkedWriter(&b)
	for _, n := range pieces {
		n = min(n, len(payload))
		cw.Write(payload[:n])
		payload = payload[n:]
	}
	cw.Write(payload)
	cw.Close()
	b.WriteString(trailer + "\r\n")
	return b.Bytes()
}

// randomReader returns what it holds in reads of random sizes (at least 1 byte).
type randomReader struct {
	b []byte
	r *rand.Rand
}

func (r *randomReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(r.b), 1+r.r.IntN(40))
	copy(p, r.b[:n])
	r.b = r.b[n:]
	return n, nil
}

// readBody reads b to its end with reads of bufSize bytes.
func readBody(b *rawBody, bufSize int) ([]byte, error) {
	var out []byte
	buf := make([]byte, bufSize)
	for {
		n, err := b.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// readLent reads b to its end with stream, checking that no data is empty and that the pooled buffer
// is given back at the end.
func readLent(b *rawBody) ([]byte, error) {
	var out []byte
	empty := false
	err := b.stream(func(d []byte) bool {
		empty = empty || len(d) == 0
		out = append(out, d...)
		return true
	})
	switch {
	case empty:
		return out, errors.New("empty data")
	case b.pbuf != nil:
		return out, errors.New("the pooled buffer is still held at the end")
	case err == io.EOF:
		return out, nil
	case err == nil:
		return out, errors.New("stream stopped without being told")
	}
	return out, err
}

// Whatever the chunk sizes, the read sizes, the part of the body that came with the response head and
// the trailer, the decoded body is the payload, and the connection is left clean at its end.
func TestRawBodyChunked(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		payload := make([]byte, rng.IntN(3000))
		for i := range payload {
			payload[i] = "data: \r\n0123456789abcdef"[rng.IntN(24)]
		}
		var pieces []int
		for range rng.IntN(20) {
			pieces = append(pieces, 1+rng.IntN(500))
		}
		trailer := ""
		if round%3 == 0 {
			trailer = "X-Trailer: yes\r\nX-Other: 1\r\n"
		}
		wire := chunked(payload, pieces, trailer)
		cut := rng.IntN(len(wire) + 1) // bytes that arrived with the head
		b := &rawBody{frame: frameChunked, stash: append([]byte(nil), wire[:cut]...), src: &randomReader{b: wire[cut:], r: rng}}
		var got []byte
		var err error
		if round%2 == 0 {
			got, err = readBody(b, 1+rng.IntN(600))
		} else {
			got, err = readLent(b)
		}
		if err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("round %d: %v; got %d bytes, want %d", round, err, len(got), len(payload))
		}
		if b.spoilt {
			t.Fatalf("round %d: a clean body marked the connection spoilt", round)
		}
		if n, err := b.Read(make([]byte, 10)); n != 0 || err != io.EOF {
			t.Fatalf("round %d: read after the end: %d %v", round, n, err)
		}
	}
}

// Reads of one byte, and a source that returns its data with io.EOF, still make progress.
func TestRawBodySmallReads(t *testing.T) {
	wire := chunked([]byte("hello, world"), []int{3, 4}, "")
	for name, src := range map[string]func() io.Reader{
		"plain":    func() io.Reader { return bytes.NewReader(wire) },
		"one byte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(wire)) },
		"data+EOF": func() io.Reader { return iotest.DataErrReader(bytes.NewReader(wire)) },
	} {
		for _, size := range []int{1, 2, 1000} {
			b := &rawBody{frame: frameChunked, src: src()}
			got, err := readBody(b, size)
			if err != nil || string(got) != "hello, world" {
				t.Errorf("%s, reads of %d: %q %v", name, size, got, err)
			}
		}
	}
}

// Chunk extensions, bare-LF lines and upper-case hex are read as net/http reads them.
func TestRawBodyChunkedForms(t *testing.T) {
	for _, wire := range []string{
		"5;name=value\r\nhello\r\n0\r\n\r\n",
		"5 ;x\r\nhello\r\n0;end\r\nTrailer: a\r\n\r\n",
		"5\nhello\r\n0\n\n",
		"A\r\nhellohello\r\n0\r\n\r\n",
	} {
		b := &rawBody{frame: frameChunked, src: strings.NewReader(wire)}
		got, err := readBody(b, 64)
		if err != nil || !strings.HasPrefix("hellohello", string(got)) || len(got) < 5 || b.spoilt {
			t.Errorf("%q: %q %v spoilt %v", wire, got, err, b.spoilt)
		}
	}
}

// Malformed or cut chunked bodies fail with an error (never a silent short body); bytes after the end
// spoil the connection.
func TestRawBodyChunkedErrors(t *testing.T) {
	for wire, want := range map[string]error{
		"5\r\nhelloXX0\r\n\r\n": errChunkSyntax,
		"5\r\nhello\r0\r\n\r\n": errChunkSyntax,
		"\r\nhello\r\n":         errChunkSyntax,
		"g\r\n":                 errChunkSyntax,
		"5\rx":                  errChunkSyntax,
		"0\r\n\rx":              errChunkSyntax,
		"11111111111111111\r\n": errChunkTooLong,
		"5;" + strings.Repeat("x", maxChunkLine) + "": errChunkLine,
		"5\r\nhel":       io.ErrUnexpectedEOF,
		"5\r\nhello\r\n": io.ErrUnexpectedEOF,
		"":               io.ErrUnexpectedEOF,
	} {
		b := &rawBody{frame: frameChunked, src: strings.NewReader(wire)}
		_, err := readBody(b, 7)
		if !errors.Is(err, want) {
			t.Errorf("%.30q: %v, want %v", wire, err, want)
		}
		if _, err := readLent(&rawBody{frame: frameChunked, src: strings.NewReader(wire)}); !errors.Is(err, want) {
			t.Errorf("%.30q, lent: %v, want %v", wire, err, want)
		}
		if _, again := b.Read(make([]byte, 8)); again != err {
			t.Errorf("%.30q: the error is not sticky: %v then %v", wire, err, again)
		}
	}
	b := &rawBody{frame: frameChunked, src: strings.NewReader("2\r\nok\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n")}
	if got, err := readBody(b, 64); string(got) != "ok" || err != nil || !b.spoilt {
		t.Errorf("bytes after the end: %q %v spoilt %v", got, err, b.spoilt)
	}
	boom := errors.New("boom")
	b = &rawBody{frame: frameChunked, src: io.MultiReader(strings.NewReader("5\r\nhel"), iotest.ErrReader(boom))}
	if got, err := readBody(b, 64); string(got) != "hel" || err != boom {
		t.Errorf("read error: %q %v", got, err)
	}
}

// A Content-Length body stops at its length (what follows stays unread, or spoils the connection if
// it came with the head); a cut one fails; a close-delimited one reads to the end of the connection.
func TestRawBodyLengthAndClose(t *testing.T) {
	src := strings.NewReader("world and more")
	b := &rawBody{frame: frameLength, remain: 11, stash: []byte("hello ")}
	b.src = src
	if got, err := readBody(b, 4); string(got) != "hello world" || err != nil || b.spoilt || src.Len() != 9 {
		t.Errorf("length: %q %v spoilt %v, %d bytes left", got, err, b.spoilt, src.Len())
	}
	b = &rawBody{frame: frameLength, remain: 3, stash: []byte("abcdef"), src: strings.NewReader("")}
	if got, err := readBody(b, 10); string(got) != "abc" || err != nil || !b.spoilt {
		t.Errorf("stash past the length: %q %v spoilt %v", got, err, b.spoilt)
	}
	b = &rawBody{frame: frameLength, remain: 10, src: strings.NewReader("short")}
	if got, err := readBody(b, 10); string(got) != "short" || err != io.ErrUnexpectedEOF {
		t.Errorf("cut: %q %v", got, err)
	}
	b = &rawBody{frame: frameClose, stash: []byte("all "), src: iotest.OneByteReader(strings.NewReader("of it"))}
	if got, err := readBody(b, 3); string(got) != "all of it" || err != nil {
		t.Errorf("close-delimited: %q %v", got, err)
	}
	b = &rawBody{frame: frameLength, remain: 11, stash: []byte("hello "), src: strings.NewReader("world and more")}
	if got, err := readLent(b); string(got) != "hello world" || err != nil || b.spoilt {
		t.Errorf("length, lent: %q %v spoilt %v", got, err, b.spoilt)
	}
	b = &rawBody{frame: frameLength, remain: 10, src: strings.NewReader("short")}
	if got, err := readLent(b); string(got) != "short" || err != io.ErrUnexpectedEOF {
		t.Errorf("cut, lent: %q %v", got, err)
	}
	b = &rawBody{frame: frameClose, stash: []byte("all "), src: iotest.OneByteReader(strings.NewReader("of it"))}
	if got, err := readLent(b); string(got) != "all of it" || err != nil {
		t.Errorf("close-delimited, lent: %q %v", got, err)
	}
}

// rawServer answers each request read from a connection with the next canned response, verbatim.
func rawServer(t *testing.T, responses ...string) (url string, conns func() int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	accepted := make(chan struct{}, 100)
	next := make(chan string, len(responses))
	for _, r := range responses {
		next <- r
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- struct{}{}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					select {
					case r := <-next:
						io.WriteString(c, r)
					case <-time.After(5 * time.Second):
						return
					}
				}
			}()
		}
	}()
	return "http://" + l.Addr().String(), func() int { return len(accepted) }
}

// Through the transport: extensions and trailers are read, the connection is reused after a clean
// end, and not after a response followed by stray bytes.
func TestTransportRawResponses(t *testing.T) {
	u, conns := rawServer(t,
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6;a=b\r\ndata: \r\n3\r\nx\n\n\r\n0\r\nX-T: 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokSTRAY",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh",
	)
	c := NewClient(2)
	for i, want := range []string{"data: x\n\n", "ok", "ok", "fresh"} {
		resp, err := post(t, c, t.Context(), u, "{}")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if got := readAll(t, resp); got != want {
			t.Fatalf("request %d: %q, want %q", i, got, want)
		}
	}
	if n := conns(); n != 2 {
		t.Errorf("%d connections, want 2 (one reused for three responses, then a fresh one after stray bytes)", n)
	}
}

// The transport's body hands its data over to the backends' line splitter.
var _ backends.ChunkStreamer = (*body)(nil)

// A native SGLang stream read through the transport (lines split in place in the pooled read buffer,
// the connection read inside one RawConn.Read) gives the same event as through net/http's transport
// (lines copied into a line buffer), when the server's writes cut lines anywhere and a line is longer
// than the read buffer.
func TestStreamedLinesMatchCopied(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var wire bytes.Buffer
	var text strings.Builder
	var ids []string
	for k := 1; k <= 60; k++ {
		word := fmt.Sprintf(" w%d", k)
		if k == 40 {
			word = " " + strings.Repeat("long", readBufSize/4+100) // one line longer than a read
		}
		text.WriteString(word)
		ids = append(ids, fmt.Sprint(1000+k))
		fmt.Fprintf(&wire, "data: {\"text\":%q,\"output_ids\":[%s],\"meta_info\":{\"id\":\"r1\",\"prompt_tokens\":3,\"completion_tokens\":%d,\"finish_reason\":null}}\n\n",
			text.String(), strings.Join(ids, ","), k)
	}
	wire.WriteString("data: [DONE]\n\n")
	stream := wire.Bytes()
	var cuts []int
	for at := 0; at < len(stream); {
		n := min(1+rng.IntN(3000), len(stream)-at)
		cuts = append(cuts, n)
		at += n
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		rest := stream
		for _, n := range cuts {
			w.Write(rest[:n])
			rest = rest[n:]
			w.(http.Flusher).Flush()
		}
	}))
	defer ts.Close()
	be, err := backends.New("sglang", backends.Options{BaseURL: ts.URL, Model: "m", Stream: true, IgnoreEOS: true,
		LogprobStartLen: -1, RecordText: true})
	if err != nil {
		t.Fatal(err)
	}
	send := func(c *http.Client) *records.Event {
		ev := &records.Event{RequestID: "x"}
		be.Send(t.Context(), c, &records.Prompt{Text: "hi", PromptLen: 1, OutputLen: 60}, nil, ev, time.Now())
		return ev
	}
	lent, copied := send(NewClient(1)), send(&http.Client{Transport: &http.Transport{}})
	if !lent.OK || !copied.OK || lent.Text != text.String() {
		t.Fatalf("lent: ok %v %s; copied: ok %v %s; text %d bytes, want %d", lent.OK, lent.Error, copied.OK, copied.Error, len(lent.Text), text.Len())
	}
	if len(lent.ChunkNS) != 60 || !slices.Equal(lent.ChunkTokens, copied.ChunkTokens) || !slices.Equal(lent.ChunkText, copied.ChunkText) ||
		lent.ResponseID != copied.ResponseID || *lent.UsageCompletionTokens != *copied.UsageCompletionTokens {
		t.Errorf("events differ: %d chunks (copied %d), tokens %v / %v, id %q / %q", len(lent.ChunkNS), len(copied.ChunkNS),
			lent.ChunkTokens, copied.ChunkTokens, lent.ResponseID, copied.ResponseID)
	}
}
