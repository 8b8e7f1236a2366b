package backends

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// lineReader returns the same lines as splitting the whole body, however the body is cut into reads,
// for lines shorter and much longer than its initial buffer.
func TestLineReader(t *testing.T) {
	long := strings.Repeat("x", 5*lineBufMin+7)
	body := "data: a\n\n" + long + "\n" + "data: " + long[:lineBufMin-7] + "\n\n" + "tail without newline"
	want := strings.SplitAfter(body, "\n")
	for name, rd := range map[string]func() io.Reader{
		"whole":    func() io.Reader { return strings.NewReader(body) },
		"one byte": func() io.Reader { return iotest.OneByteReader(strings.NewReader(body)) },
		"half":     func() io.Reader { return iotest.HalfReader(strings.NewReader(body)) },
		"data+EOF": func() io.Reader { return iotest.DataErrReader(strings.NewReader(body)) },
	} {
		var l lineReader
		l.reset(rd())
		var got []string
		for {
			line, err := l.next()
			got = append(got, string(line))
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d lines, want %d", name, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s: line %d is %q…, want %q…", name, i, got[i][:min(len(got[i]), 20)], want[i][:min(len(want[i]), 20)])
			}
		}
		if cap(l.buf) < len(long)+1 || cap(l.buf) > 4*(len(long)+1) {
			t.Errorf("%s: buffer grew to %d for a longest line of %d", name, cap(l.buf), len(long)+1)
		}
	}
}

// streamer is a ChunkStreamer that hands over its data in pieces of the given sizes (cycled), each in
// a buffer it overwrites after the call, as a pooled read buffer is, so a line used after it was
// handed back shows as garbage.
type streamer struct {
	data  []byte
	sizes []int
	err   error // returned at the end instead of io.EOF
}

func (s *streamer) StreamChunks(fn func([]byte) bool) error {
	var buf []byte
	for i := 0; len(s.data) > 0; i++ {
		n := min(len(s.data), s.sizes[i%len(s.sizes)])
		buf = append(buf[:0], s.data[:n]...)
		s.data = s.data[n:]
		ok := fn(buf)
		for j := range buf {
			buf[j] = '#'
		}
		if !ok {
			return nil
		}
	}
	if s.err != nil {
		return s.err
	}
	return io.EOF
}

func (s *streamer) Read([]byte) (int, error) { panic("a streaming body is read with StreamChunks") }

// feedAll splits what s hands over into lines as readLines does, and returns them with the cut line
// left at the end (if any) and the error.
func feedAll(l *lineReader, s *streamer) ([]string, error) {
	l.reset(s)
	var got []string
	err := s.StreamChunks(func(data []byte) bool {
		return l.feed(data, func(line []byte) bool {
			got = append(got, string(line))
			return true
		})
	})
	if rest := l.rest(); len(rest) > 0 {
		got = append(got, string(rest))
	}
	return got, err
}

// With a body that hands its data over, lines come out the same however the pieces cut them, lines
// that lie whole in a piece are used in place (no line buffer is allocated), a buffer taken for cut
// lines goes back once they are used, and the line cut by the end of the body comes with it.
func TestLineReaderFeed(t *testing.T) {
	long := strings.Repeat("x", 5*lineBufMin+7)
	body := "data: a\n\n" + long + "\n" + "data: " + long[:lineBufMin-7] + "\n\n" + "tail without newline"
	want := strings.SplitAfter(body, "\n")
	for _, sizes := range [][]int{{len(body)}, {1}, {2, 3}, {7, 100, 1}, {lineBufMin}, {4000}} {
		var l lineReader
		got, err := feedAll(&l, &streamer{data: []byte(body), sizes: sizes})
		if err != io.EOF {
			t.Fatalf("pieces %v: %v", sizes, err)
		}
		if len(got) != len(want) {
			t.Fatalf("pieces %v: %d lines, want %d", sizes, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("pieces %v: line %d is %q…, want %q…", sizes, i, got[i][:min(len(got[i]), 20)], want[i][:min(len(want[i]), 20)])
			}
		}
	}
	var l lineReader
	if _, err := feedAll(&l, &streamer{data: []byte(body + "\n"), sizes: []int{7}}); err != io.EOF || l.buf != nil {
		t.Errorf("%v; the line buffer is held at the end of the body: %v", err, l.buf != nil)
	}
	if _, err := feedAll(&l, &streamer{data: []byte("data: 1\n\ndata: 2\n\n"), sizes: []int{100}}); err != io.EOF || l.buf != nil {
		t.Errorf("%v; lines that lay whole in a piece allocated a line buffer", err)
	}
	boom := errors.New("boom")
	got, err := feedAll(&l, &streamer{data: []byte("ok\npart"), sizes: []int{3, 2}, err: boom})
	if len(got) != 2 || got[0] != "ok\n" || got[1] != "part" || err != boom {
		t.Fatalf("%q %v", got, err)
	}
	// fn's false stops the splitting and the body.
	l.reset(&streamer{})
	n := 0
	if l.feed([]byte("a\nb\nc\n"), func([]byte) bool { n++; return n < 2 }) || n != 2 {
		t.Errorf("feed went on after fn returned false: %d lines", n)
	}
}

// A read error is returned with the partial line before it; a reader that makes no progress is
// reported, not spun on.
func TestLineReaderErrors(t *testing.T) {
	boom := errors.New("boom")
	var l lineReader
	l.reset(io.MultiReader(strings.NewReader("ok\npart"), iotest.ErrReader(boom)))
	if line, err := l.next(); string(line) != "ok\n" || err != nil {
		t.Fatalf("%q %v", line, err)
	}
	if line, err := l.next(); string(line) != "part" || err != boom {
		t.Fatalf("%q %v", line, err)
	}
	l.reset(stall{})
	if _, err := l.next(); err != io.ErrNoProgress {
		t.Fatalf("stalled reader: %v", err)
	}
	// Reset keeps the grown buffer but no data.
	l.reset(bytes.NewReader([]byte("x\n")))
	if line, err := l.next(); string(line) != "x\n" || err != nil {
		t.Fatalf("%q %v", line, err)
	}
}

type stall struct{}

func (stall) Read([]byte) (int, error) { return 0, nil }

// nextFast returns exactly what next returns (members, error, end), on valid and malformed objects,
// with and without integer arrays.
func TestNextFastMatchesNext(t *testing.T) {
	inputs := []string{
		`{"text":" a b","output_ids":[1000,1107,0,5],"meta_info":{"completion_tokens":4}}`,
		`{"output_ids":[]}`, `{"a":[1, 2]}`, `{"a":[-1,2]}`, `{"a":[1.5,2]}`, `{"a":[1e3]}`, `{"a":[01]}`,
		`{"a":[1,]}`, `{"a":[,1]}`, `{"a":[1,2`, `{"a":[1 ,2]}`, `{"a":[1,"x"]}`, `{"a":[[1]]}`, `{"a":[1]`,
		`{"a":[1]}x`, `{ "a" : [1,2] , "b" : [3] }`, `{"a":[1]"b":[2]}`, `{"a":[1],,"b":[2]}`, `{}`, `{"a\"b":[7]}`,
		`{"a":1,"b":[2,3],"c":"[4]"}`, `[1,2]`, `{"a":[00]}`, `{"a":[0]}`, `{"a":[0,10,200]}`, `{"a":[1]} `,
	}
	for _, in := range inputs {
		d := []byte(in)
		slow, fast := newObjIter(d, 0, 0), newObjIter(d, 0, 0)
		for n := 0; ; n++ {
			k1, v1, ok1 := slow.next()
			k2, v2, ok2 := fast.nextFast()
			if string(k1) != string(k2) || string(v1) != string(v2) || ok1 != ok2 {
				t.Fatalf("%s member %d: next %q %q %v, nextFast %q %q %v", in, n, k1, v1, ok1, k2, v2, ok2)
			}
			if !ok1 {
				break
			}
		}
		if slow.err != fast.err || slow.end() != fast.end() {
			t.Errorf("%s: next ends %d %v, nextFast %d %v", in, slow.end(), slow.err, fast.end(), fast.err)
		}
	}
}

// scanChoices checks a value exactly as skipValue does (same end, same error) and records choices[0]'s
// members and its delta's members as iterating them with objIter would list them.
func TestScanChoicesMatchesSkipValue(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	inputs := []string{
		`[{"index":0,"delta":{"role":null,"content":" w","reasoning_content":null},"finish_reason":null}]`,
		`[]`, `null`, `{"a":1}`, `[1,{"delta":{}}]`, `[{"delta":null,"delta":{"content":"x"},"delta":{"content":"y"}}]`,
		`[{"delta":{"content":"x"}},{"delta":{"content":"y"}}]`, `[ { "delta" : { "content" : "s" } } , 2 ]`,
		`[{"delta":{"content":"x"}`, `[{"delta":{"content":"x"},]`, `[{"delta":{"content" "x"}}]`, `[{"delta":{"c":1}}`,
		`[{"delta":{"c":` + deep(509) + `}}]`, `[{"delta":{"c":` + deep(510) + `}}]`, `[{"x":` + deep(510) + `}]`,
		`[{}, ` + deep(511) + `]`, deep(512), deep(511), `[{"delta":"s"}]`, `[{"text":"t","finish_reason":"length"}]`,
	}
	var cs choiceScan
	for _, in := range inputs {
		b := []byte(in)
		wantEnd, wantErr := skipValue(b, 0, 1)
		end, err := scanChoices(b, 0, 1, "delta", &cs)
		if end != wantEnd || err != wantErr {
			t.Errorf("%.40s: end %d err %v, skipValue: %d %v", in, end, err, wantEnd, wantErr)
			continue
		}
		if err != nil || len(cs.first) == 0 {
			continue
		}
		first, _ := firstElem(b, 1)
		if string(first) != string(cs.first) {
			t.Errorf("%.40s: first %q, want %q", in, cs.first, first)
		}
		var members, sub []string
		it := newObjIter(first, 0, 2)
		var lastDelta []byte
		for {
			k, v, ok := it.next()
			if !ok {
				break
			}
			members = append(members, string(k)+"="+string(v))
			if string(k) == "delta" && v[0] == '{' {
				lastDelta = v
			}
		}
		if cs.isObj != (it.err == nil) {
			t.Errorf("%.40s: isObj %v, objIter error %v", in, cs.isObj, it.err)
		}
		if lastDelta != nil {
			mi := newObjIter(lastDelta, 0, 3)
			for {
				k, v, ok := mi.next()
				if !ok {
					break
				}
				sub = append(sub, string(k)+"="+string(v))
			}
		}
		var gotM, gotS []string
		for _, m := range cs.members {
			gotM = append(gotM, string(m.key)+"="+string(m.val))
		}
		for _, m := range cs.sub {
			gotS = append(gotS, string(m.key)+"="+string(m.val))
		}
		if fmt.Sprint(gotM) != fmt.Sprint(members) || fmt.Sprint(gotS) != fmt.Sprint(sub) {
			t.Errorf("%.40s: members %v sub %v, want %v %v", in, gotM, gotS, members, sub)
		}
	}
}

// nativeCumulativeStream is a native stream as bs-sim (and SGLang) sends it: every event carries the
// whole text and all output_ids so far, so an event's size grows with the output.
func nativeCumulativeStream(n int) []byte {
	var b bytes.Buffer
	var text strings.Builder
	var ids []string
	for i := 0; i < n; i++ {
		text.WriteString(" word")
		ids = append(ids, fmt.Sprint(1000+i%100))
		fin := "null"
		if i == n-1 {
			fin = fmt.Sprintf(`{"type":"length","length":%d}`, n)
		}
		fmt.Fprintf(&b, `data: {"text":%q,"output_ids":[%s],"meta_info":{"id":"166ef8e1012c974bebaa67abd09819a2","finish_reason":%s,"prompt_tokens":128,"weight_version":"default","completion_tokens":%d,"cached_tokens":0}}`+"\n\n",
			text.String(), strings.Join(ids, ","), fin, i+1)
	}
	b.WriteString("data: [DONE]\n\n")
	return b.Bytes()
}

func BenchmarkParseNativeCumulative256(b *testing.B) {
	benchParse(b, "sglang", nativeCumulativeStream(256), 256)
}
