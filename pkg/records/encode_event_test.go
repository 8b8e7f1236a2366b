package records

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// jsonLine is encoding/json's encoding of v as the Writer did it before appendEvent: an Encoder with
// SetEscapeHTML(false), one line.
func jsonLine(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return buf.Bytes(), err
}

// writerLine is the Writer's encoding of v.
func writerLine(v any) ([]byte, error) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	err := w.Write(v)
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	return buf.Bytes(), err
}

func compareEventEncoders(t *testing.T, e *Event) {
	t.Helper()
	want, wantErr := jsonLine(e)
	got, gotErr := writerLine(e)
	if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
		t.Fatalf("%+v\nWriter error %v\nencoding/json %v", e, gotErr, wantErr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("\nWriter        %s\nencoding/json %s", got, want)
	}
}

// oddStrings need escaping by encoding/json's rules, or look as if they did (HTML characters are left
// as they are with SetEscapeHTML(false)).
var oddStrings = []string{"", "plain", `q"uo\te`, "<b>&amp;</b>", "\x00\x01\x1f\x7f", "\b\f\n\r\t",
	"café 日本 🙂", "\u2028\u2029", "\xff\xfe", "a\xc3", "\xed\xa0\x80", "\ufffd"}

func ptr[T any](v T) *T { return &v }

func TestEventEncodingMatchesJSON(t *testing.T) {
	events := []*Event{
		{},
		{ID: 1, Seq: 2, RequestID: "0badc0de-0000-4000-8000-000000000002", ScheduledNS: 5, SentNS: 7, EndNS: 9, OK: true, PromptLen: 128, OutputLen: 1},
		{ID: -1, Seq: math.MaxInt, Turn: 3, RequestID: "r", ResponseID: "resp", ScheduledNS: math.MinInt64, SentNS: math.MaxInt64,
			HeadersNS: -4, EndNS: 1, ChunkNS: []int64{0, 1, math.MaxInt64}, ChunkTokens: []int{1, 0, -2}, ChunkText: []string{"a", "", "<&>\n"},
			Text: "a<&>\n", OK: true, Status: 200, FinishReason: "length", PromptLen: 3, TextPromptLen: 1, VisionPromptLen: 2, OutputLen: 4,
			UsagePromptTokens: ptr(0), UsageCompletionTokens: ptr(7), CachedTokens: ptr(-1), SpecAcceptLength: ptr(2.5), SpecVerifyCt: ptr(3),
			Lora: "l", Group: "g", Session: "s"},
		{ID: 4, ChunkNS: []int64{}, ChunkTokens: []int{}, ChunkText: []string{}, ErrorKind: ErrHTTPStatus, Error: `server said "no" <html>`, Status: 503},
		{SpecAcceptLength: ptr(0.0)},
		{SpecAcceptLength: ptr(1e-7)},
		{SpecAcceptLength: ptr(1e21)},
		{SpecAcceptLength: ptr(math.Copysign(0, -1))},
	}
	for _, s := range oddStrings {
		events = append(events, &Event{RequestID: s, ResponseID: s, Text: s, ChunkText: []string{s, s}, ErrorKind: s, Error: s,
			FinishReason: s, Lora: s, Group: s, Session: s})
	}
	for _, e := range events {
		compareEventEncoders(t, e)
	}
}

// NaN and infinities are refused with encoding/json's error, and nothing is written.
func TestEventEncodingRefusesNaN(t *testing.T) {
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		e := &Event{ID: 1, SpecAcceptLength: ptr(f)}
		compareEventEncoders(t, e)
		got, err := writerLine(e)
		var uv *json.UnsupportedValueError
		if !errors.As(err, &uv) || len(got) != 0 {
			t.Fatalf("%v: wrote %q, error %v", f, got, err)
		}
	}
}

// randomEvent builds an event with every field drawn at random, strings from pieces that need escapes.
func randomEvent(r *rand.Rand) *Event {
	str := func() string {
		var sb strings.Builder
		for range r.IntN(4) {
			sb.WriteString(oddStrings[r.IntN(len(oddStrings))])
		}
		return sb.String()
	}
	num := func() int64 {
		switch r.IntN(4) {
		case 0:
			return 0
		case 1:
			return r.Int64N(1000) - 500
		case 2:
			return int64(r.Uint64())
		}
		return r.Int64N(1 << 40)
	}
	maybe := func() *int {
		if r.IntN(2) == 0 {
			return nil
		}
		return ptr(int(num()))
	}
	e := &Event{ID: int(num()), Seq: int(num()), Turn: int(num()), RequestID: str(), ResponseID: str(),
		ScheduledNS: num(), SentNS: num(), HeadersNS: num(), EndNS: num(), Text: str(), OK: r.IntN(2) == 0,
		Status: int(num()), ErrorKind: str(), Error: str(), FinishReason: str(), PromptLen: int(num()),
		TextPromptLen: int(num()), VisionPromptLen: int(num()), OutputLen: int(num()),
		UsagePromptTokens: maybe(), UsageCompletionTokens: maybe(), CachedTokens: maybe(), SpecVerifyCt: maybe(),
		Lora: str(), Group: str(), Session: str()}
	if n := r.IntN(5) - 1; n >= 0 {
		e.ChunkNS, e.ChunkTokens, e.ChunkText = make([]int64, n), make([]int, n), make([]string, n)
		for i := range n {
			e.ChunkNS[i], e.ChunkTokens[i], e.ChunkText[i] = num(), int(num()), str()
		}
	}
	if r.IntN(2) == 0 {
		e.SpecAcceptLength = ptr(math.Float64frombits(r.Uint64()))
	}
	if r.IntN(2) == 0 {
		e.CachedDetails = &CacheTiers{Device: int(num()), Host: int(num()), Storage: int(num()), StorageBackend: str()}
	}
	return e
}

func TestEventEncodingMatchesJSONRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		compareEventEncoders(t, randomEvent(r))
	}
}

// Every event of the repository's recorded event streams (pkg/metrics' parity runs) encodes as
// encoding/json does.
func TestEventEncodingMatchesJSONRecorded(t *testing.T) {
	files, _ := filepath.Glob("../metrics/testdata/parity/*.jsonl")
	if len(files) == 0 {
		t.Fatal("no recorded event streams found")
	}
	n := 0
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			line := sc.Bytes()
			if lineKind(line) != "" || len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			var e Event
			if err := strictUnmarshal(line, &e); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			compareEventEncoders(t, &e)
			n++
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if n < 50 {
		t.Fatalf("only %d events in %v", n, files)
	}
}

func FuzzEventEncoding(f *testing.F) {
	for i, s := range oddStrings {
		f.Add(s, "", int64(i), uint64(i), true, uint8(i))
	}
	f.Add("", "\u2028", int64(-1), math.Float64bits(math.NaN()), false, uint8(255))
	f.Fuzz(func(t *testing.T, s1, s2 string, n int64, bits uint64, ok bool, mask uint8) {
		e := &Event{ID: int(n), Seq: int(n >> 3), Turn: int(n % 7), RequestID: s1, ResponseID: s2, ScheduledNS: n,
			SentNS: -n, EndNS: n * 3, Text: s2, OK: ok, ErrorKind: s1, Error: s2 + s1, PromptLen: int(n), Lora: s1, Session: s2}
		if mask&1 != 0 {
			e.ChunkNS, e.ChunkTokens, e.ChunkText = []int64{n, -n}, []int{int(n)}, []string{s1, s2}
		}
		if mask&2 != 0 {
			e.SpecAcceptLength = ptr(math.Float64frombits(bits))
		}
		if mask&4 != 0 {
			e.UsagePromptTokens, e.CachedTokens = ptr(int(n)), ptr(0)
		}
		if mask&8 != 0 {
			e.HeadersNS, e.Status, e.Group, e.FinishReason = int64(bits), int(bits>>40), s1, s2
		}
		compareEventEncoders(t, e)
	})
}

func BenchmarkEventEncode(b *testing.B) {
	// A finished one-token request as bs-fire records it, and a 256-token stream.
	short := &Event{ID: 12345, Seq: 12345, RequestID: "0badc0de-0000-4000-8000-000000003039", ResponseID: "a1b2c3d4e5f6",
		ScheduledNS: 1234567890, SentNS: 1234600000, HeadersNS: 1284600000, EndNS: 1284700000, ChunkNS: []int64{50100000},
		ChunkTokens: []int{1}, OK: true, Status: 200, FinishReason: "length", PromptLen: 128, OutputLen: 1,
		UsagePromptTokens: ptr(128), UsageCompletionTokens: ptr(1), CachedTokens: ptr(0)}
	long := *short
	long.ChunkNS, long.ChunkTokens = make([]int64, 256), make([]int, 256)
	for i := range long.ChunkNS {
		long.ChunkNS[i], long.ChunkTokens[i] = 50000000+int64(i)*10000000+int64(i*i), 1
	}
	for _, c := range []struct {
		name string
		e    *Event
	}{{"short", short}, {"256chunks", &long}} {
		for _, path := range []string{"json", "fast"} {
			b.Run(c.name+"/"+path, func(b *testing.B) {
				w := NewWriter(discard{})
				write := w.Write
				if path == "json" {
					write = w.enc.Encode
				}
				b.ReportAllocs()
				for b.Loop() {
					if err := write(c.e); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
