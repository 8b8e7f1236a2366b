package records

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeStream(t *testing.T, name string, h Header, recs ...any) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(f)
	if err := w.WriteHeader(h); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRoundTripCompressedAndPlain(t *testing.T) {
	start := time.Date(2026, 11, 30, 12, 0, 0, 123456789, time.UTC)
	seed := int64(42)
	h := Header{Stream: StreamEvents, Tool: "bs-fire", Version: "test", Seed: &seed, StartTime: &start,
		Run: &Run{Backend: "sglang", RequestRate: Rate(math.Inf(1)), NumPrompts: 2, Stream: true}}
	usage := 7
	evs := []Event{
		{ID: 0, Seq: 0, RequestID: "a", SentNS: 10, EndNS: 100, ChunkNS: []int64{5, 9}, ChunkTokens: []int{1, 2}, OK: true, Status: 200, PromptLen: 3, OutputLen: 3, UsageCompletionTokens: &usage},
		{ID: 1, Seq: 1, RequestID: "b", SentNS: 20, EndNS: 30, ErrorKind: ErrConnect, Error: "refused", PromptLen: 3, OutputLen: 3},
	}
	for _, name := range []string{"ev.jsonl", "ev.jsonl.zst", "ev.jsonl.gz"} {
		t.Run(name, func(t *testing.T) {
			path := writeStream(t, name, h, &evs[0], &evs[1])
			raw, _ := os.ReadFile(path)
			compressed := !bytes.HasPrefix(raw, []byte(`{"kind":"header"`))
			if compressed != (name != "ev.jsonl") {
				t.Fatalf("%s: compressed=%v", name, compressed)
			}
			r := NewReader[Event](StreamEvents, path)
			var got []Event
			for {
				var e Event
				err := r.Next(&e)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, e)
			}
			if len(got) != 2 || got[0].ChunkTokens[1] != 2 || *got[0].UsageCompletionTokens != 7 || got[1].ErrorKind != ErrConnect {
				t.Fatalf("got %+v", got)
			}
			hs := r.Headers()
			if len(hs) != 1 || !hs[0].StartTime.Equal(start) || !math.IsInf(float64(hs[0].Run.RequestRate), 1) || *hs[0].Seed != 42 {
				t.Fatalf("header %+v", hs)
			}
		})
	}
}

func TestReaderConcatenatesInputs(t *testing.T) {
	h := Header{Stream: StreamPrompts, Tool: "bs-gen"}
	a := writeStream(t, "a.jsonl", h, &Prompt{ID: 0, Text: "x", PromptLen: 1, OutputLen: 2})
	b := writeStream(t, "b.jsonl.gz", h, &Prompt{ID: 1, Text: "y", PromptLen: 1, OutputLen: 2}, &Prompt{ID: 2, Text: "z", PromptLen: 1, OutputLen: 2})
	r := NewReader[Prompt](StreamPrompts, a, b)
	var ids []int
	var p Prompt
	for r.Next(&p) == nil {
		ids = append(ids, p.ID)
		if f, line := r.Pos(); p.ID == 2 && (f != b || line != 3) {
			t.Fatalf("pos %s:%d", f, line)
		}
	}
	if len(ids) != 3 || ids[2] != 2 || len(r.Headers()) != 2 {
		t.Fatalf("ids %v headers %d", ids, len(r.Headers()))
	}
}

func TestDecodeErrorsNameFileLineField(t *testing.T) {
	cases := []struct {
		name, body, field, msg string
	}{
		{"type", `{"id":0,"text":"a","prompt_len":"ten","output_len":1}`, "prompt_len", "cannot use"},
		{"unknown", `{"id":0,"text":"a","prompt_len":1,"output_len":1,"bogus":1}`, "bogus", "unknown field"},
		{"syntax", `{"id":0,"text":"a",`, "", "unexpected"},
		{"empty prompt", `{"id":0,"prompt_len":4,"output_len":1}`, "text", "empty"},
		{"negative", `{"id":0,"text":"a","prompt_len":1,"output_len":-3}`, "output_len", "negative"},
		{"two values", `{"id":0,"text":"a","prompt_len":1,"output_len":1} {}`, "", "more than one"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "p.jsonl")
			body := `{"kind":"header","format":1,"stream":"prompts","tool":"bs-gen","version":"x"}` + "\n\n" + `{"id":9,"text":"ok","prompt_len":1,"output_len":1}` + "\n" + c.body + "\n"
			os.WriteFile(path, []byte(body), 0o644)
			r := NewReader[Prompt](StreamPrompts, path)
			var p Prompt
			if err := r.Next(&p); err != nil {
				t.Fatal(err)
			}
			err := r.Next(&p)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("want DecodeError, got %v", err)
			}
			if de.File != path || de.Line != 4 || de.Field != c.field || !strings.Contains(de.Error(), c.msg) {
				t.Fatalf("got %q (file %s line %d field %q)", de.Error(), de.File, de.Line, de.Field)
			}
		})
	}
}

func TestHeaderChecks(t *testing.T) {
	dir := t.TempDir()
	wrongKind := filepath.Join(dir, "w.jsonl")
	os.WriteFile(wrongKind, []byte(`{"kind":"header","format":1,"stream":"events","tool":"bs-fire"}`+"\n"), 0o644)
	wrongVer := filepath.Join(dir, "v.jsonl")
	os.WriteFile(wrongVer, []byte(`{"kind":"header","format":99,"stream":"prompts","tool":"bs-gen"}`+"\n"), 0o644)
	for path, field := range map[string]string{wrongKind: "stream", wrongVer: "format"} {
		var p Prompt
		err := NewReader[Prompt](StreamPrompts, path).Next(&p)
		var de *DecodeError
		if !errors.As(err, &de) || de.Field != field || de.Line != 1 {
			t.Fatalf("%s: got %v", path, err)
		}
	}
}

func TestLongLinesAndMissingFinalNewline(t *testing.T) {
	long := strings.Repeat("x", 3<<20)
	data := `{"id":0,"text":"` + long + `","prompt_len":1,"output_len":1}`
	r := NewReaderFrom[Prompt](StreamPrompts, "mem", strings.NewReader(data))
	var p Prompt
	if err := r.Next(&p); err != nil || len(p.Text) != len(long) {
		t.Fatalf("err %v len %d", err, len(p.Text))
	}
	if err := r.Next(&p); err != io.EOF {
		t.Fatalf("want EOF, got %v", err)
	}
}

func TestEventValidate(t *testing.T) {
	bad := []struct {
		e     Event
		field string
	}{
		{Event{OK: true, ErrorKind: ErrTimeout}, "error_kind"},
		{Event{OK: false}, "error_kind"},
		{Event{OK: true, SentNS: 5, EndNS: 4}, "end_ns"},
		{Event{OK: true, EndNS: 9, ChunkNS: []int64{1, 2}, ChunkTokens: []int{1}}, "chunk_tokens"},
		{Event{OK: true, EndNS: 9, ChunkNS: []int64{3, 2}}, "chunk_ns"},
	}
	for i, c := range bad {
		var fe *FieldError
		if err := c.e.Validate(); !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("case %d: got %v, want field %s", i, err, c.field)
		}
	}
}

func TestRate(t *testing.T) {
	for _, c := range []struct {
		r    Rate
		json string
	}{{Rate(math.Inf(1)), `"inf"`}, {16, `16`}, {0.5, `0.5`}} {
		b, err := c.r.MarshalJSON()
		if err != nil || string(b) != c.json {
			t.Fatalf("%v: %s %v", c.r, b, err)
		}
		var back Rate
		if err := back.UnmarshalJSON(b); err != nil || back != c.r {
			t.Fatalf("%s: %v %v", b, back, err)
		}
	}
	var r Rate
	if r.UnmarshalJSON([]byte(`"Infinity"`)) != nil || !math.IsInf(float64(r), 1) {
		t.Fatal("Infinity")
	}
	if r.UnmarshalJSON([]byte(`"fast"`)) == nil {
		t.Fatal("accepted fast")
	}
}

func TestRedactArgs(t *testing.T) {
	in := []string{"--backend", "vllm", "--api-key", "sk-1", "--api-key=sk-2", "--header", "Authorization=Bearer x", "X-Trace=1",
		"--header=X-Api-Key=abc", "-H", "Cookie: s=1", "--model", "m"}
	got := strings.Join(RedactArgs(in), " ")
	want := "--backend vllm --api-key REDACTED --api-key=REDACTED --header Authorization=REDACTED X-Trace=1 --header=X-Api-Key=REDACTED -H Cookie:REDACTED --model m"
	if got != want {
		t.Fatalf("\n got %s\nwant %s", got, want)
	}
	if strings.Contains(got, "sk-") || strings.Contains(got, "abc") {
		t.Fatal("secret leaked")
	}
}

func TestWriterFlushMakesRecordsVisible(t *testing.T) {
	path := filepath.Join(t.TempDir(), "live.jsonl.zst")
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(f)
	w.WriteHeader(Header{Stream: StreamEvents, Tool: "t"})
	w.Write(&Event{ID: 1, OK: true, EndNS: 1})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	// Before Close, a reader must already see the header and the record.
	r := NewReader[Event](StreamEvents, path)
	var e Event
	if err := r.Next(&e); err != nil || e.ID != 1 {
		t.Fatalf("live read: %v %+v", err, e)
	}
	f.Close()
}

// All returns every record in order, and on a malformed line the records before it with the error.
func TestReaderAll(t *testing.T) {
	in := `{"id":1,"text":"a","prompt_len":1,"output_len":1}
{"id":2,"text":"b","prompt_len":1,"output_len":1}
{"id":3,"text":"c","prompt_len":"x","output_len":1}
`
	ps, err := NewReaderFrom[Prompt](StreamPrompts, "p.jsonl", strings.NewReader(in)).All()
	var de *DecodeError
	if len(ps) != 2 || ps[0].ID != 1 || ps[1].ID != 2 || !errors.As(err, &de) || de.Line != 3 || de.Field != "prompt_len" {
		t.Fatalf("All = %+v, %v", ps, err)
	}
	ps, err = NewReaderFrom[Prompt](StreamPrompts, "p.jsonl", strings.NewReader(in[:strings.LastIndex(in[:len(in)-1], "\n")+1])).All()
	if err != nil || len(ps) != 2 {
		t.Fatalf("All = %+v, %v", ps, err)
	}
}
