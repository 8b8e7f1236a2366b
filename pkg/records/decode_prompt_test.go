package records

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bsbench/bs/pkg/internal/jsonscan"
)

// fastPromptLines are lines in the shapes bs-gen writes; the hand-written scanner must decode each
// itself, without falling back to encoding/json.
var fastPromptLines = []string{
	`{"id":0,"text":"hello world","prompt_len":2,"output_len":16}`,
	`{"id":12,"text":"a\nb\t\"q\" \\ \u003c \u2028 café 日本 🙂 \ud83d\ude42 \u0000","prompt_len":9,"output_len":1,"lora":"l1","group":"g","routing_key":"k","session":"s","round":2,"timestamp_ms":1500.25}`,
	`{"id":1,"ids":[1,2,3,151643],"prompt_len":4,"output_len":3}`,
	`{"id":2,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}],"prompt_len":7,"output_len":5,"extra_body":{"temperature":0.5,"tools":[{"a":[true,null]}]}}`,
	`{"id":3,"turns":[[{"role":"user","content":"one"}],[{"role":"user","content":"two"}]],"prompt_len":3,"output_len":9,"group":"0","routing_key":"r0"}`,
	`{"id":4,"text":"look","images":["data:image/jpeg;base64,/9j/AA==","http://x/y.png"],"prompt_len":40,"text_prompt_len":4,"vision_prompt_len":36,"output_len":2}`,
	` { "id" : 5 , "text" : "spaced" , "prompt_len" : 1 , "output_len" : 1 } `,
	`{"id":6,"ids":[],"messages":[],"turns":[[]],"images":[],"prompt_len":0,"output_len":0}`,
	`{"id":-7,"text":"x","prompt_len":1,"output_len":1,"timestamp_ms":-0.0,"extra_body":null}`,
	`{"id":8,"messages":[{"content":"c","role":"user"},{"role":"assistant","content":null}],"prompt_len":1,"output_len":1}`,
	`{"output_len":1,"prompt_len":1,"text":"fields in any order","id":9,"timestamp_ms":1e3}`,
	`{}`,
	"{\"id\":1,\"text\":\"\xff invalid UTF-8 \xed\xa0\x80\",\"prompt_len\":1,\"output_len\":1}",
}

// slowPromptLines are lines the scanner leaves to encoding/json: some valid, some not.
var slowPromptLines = []string{
	`{"ID":1,"text":"case-folded key","prompt_len":1,"output_len":1}`,
	`{"\u0069d":1,"text":"escaped key","prompt_len":1,"output_len":1}`,
	`{"id":1,"id":2,"text":"repeated key","prompt_len":1,"output_len":1}`,
	`{"id":1,"messages":[{"role":"u","role":"v","content":"x"}],"prompt_len":1,"output_len":1}`,
	`{"id":null,"text":null,"ids":null,"prompt_len":1,"output_len":1,"timestamp_ms":null}`,
	`{"id":1,"images":[null],"text":"x","prompt_len":1,"output_len":1}`,
	`{"id":1,"messages":[{"role":null,"content":"x"}],"prompt_len":1,"output_len":1}`,
	`{"id":1.0,"text":"x","prompt_len":1,"output_len":1}`,
	`{"id":1e2,"text":"x","prompt_len":1,"output_len":1}`,
	`{"id":99999999999999999999,"text":"x","prompt_len":1,"output_len":1}`,
	`{"id":"1","text":"x","prompt_len":1,"output_len":1}`,
	`{"id":1,"text":5,"prompt_len":1,"output_len":1}`,
	`{"id":1,"text":"x","prompt_len":1,"output_len":1,"bogus":1}`,
	`{"id":1,"messages":[{"role":"u","content":"x","name":"n"}],"prompt_len":1,"output_len":1}`,
	`{"id":1,"messages":[{"role":1,"content":"x"}],"prompt_len":1,"output_len":1}`,
	`{"id":1,"turns":[{"role":"u"}],"prompt_len":1,"output_len":1}`,
	`{"id":1,"ids":[1,2.5],"prompt_len":1,"output_len":1}`,
	`{"id":1,"text":"x","prompt_len":1,"output_len":1,"timestamp_ms":1e400}`,
	`{"id":1,"text":"x","prompt_len":1,"output_len":1} {}`,
	`{"id":1,"text":"x","prompt_len":1,"output_len":1}]`,
	`{"id":1,"text":"x","prompt_len":1,"output_len":1}}`,
	`{"id":1,"text":"x",}`,
	`{"id":1,"text":"x"`,
	`{"id":01,"text":"x"}`,
	`{"id":1,"text":"a` + "\t" + `b"}`,
	`{"id":1,"text":"\x"}`,
	`{"id":1,"extra_body":{"a":}}`,
	`{"id":1,"text":"x","prompt_len":true}`,
	`null`,
	`[]`,
	`"text"`,
	``,
	`{"id":1,"messages":[{"role":"user","content":"x"}],"prompt_len":1,"output_len":1,"kind":"x"}`,
}

// comparePromptDecoders checks DecodePrompt against the strict encoding/json decoder on one line:
// the same error or none, and the same value. It reports whether the scanner handled the line itself.
func comparePromptDecoders(t *testing.T, line []byte) bool {
	t.Helper()
	var want Prompt
	wantErr := strictUnmarshal(line, &want)
	var scanned Prompt
	d := promptScanner{jsonscan.Cursor{B: line}}
	fast := d.prompt(&scanned)
	if fast {
		if wantErr != nil {
			t.Fatalf("%s\nscanner accepts, encoding/json: %v", line, wantErr)
		}
		if !reflect.DeepEqual(scanned, want) {
			t.Fatalf("%s\nscanner  %#v\nencoding %#v", line, scanned, want)
		}
	}
	var got Prompt
	gotErr := DecodePrompt(line, &got)
	if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
		t.Fatalf("%s\nDecodePrompt error %v\nencoding/json   %v", line, gotErr, wantErr)
	}
	if wantErr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%s\nDecodePrompt %#v\nencoding     %#v", line, got, want)
	}
	return fast
}

func TestDecodePromptMatchesStrict(t *testing.T) {
	for _, l := range fastPromptLines {
		if !comparePromptDecoders(t, []byte(l)) {
			t.Errorf("the scanner fell back on %s", l)
		}
	}
	for _, l := range slowPromptLines {
		if comparePromptDecoders(t, []byte(l)) {
			t.Errorf("the scanner decoded %s itself", l)
		}
	}
}

// A line the scanner leaves half decoded is decoded afresh: nothing it stored survives.
func TestDecodePromptFallbackStartsFromZero(t *testing.T) {
	var p Prompt
	if err := DecodePrompt([]byte(`{"id":1,"text":"x","lora":"l","images":["i"],"ID":7,"prompt_len":1,"output_len":1}`), &p); err != nil {
		t.Fatal(err)
	}
	want := Prompt{ID: 7, Text: "x", Lora: "l", Images: []string{"i"}, PromptLen: 1, OutputLen: 1}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("got %#v", p)
	}
}

func TestPromptFieldsMatchTags(t *testing.T) {
	typ := reflect.TypeFor[Prompt]()
	var tags []string
	for i := range typ.NumField() {
		tags = append(tags, strings.Split(typ.Field(i).Tag.Get("json"), ",")[0])
	}
	if !reflect.DeepEqual(tags, promptFields) {
		t.Fatalf("Prompt's fields %v, the scanner knows %v", tags, promptFields)
	}
	if len(promptFields) > 32 {
		t.Fatal("more fields than bits in the scanner's seen mask")
	}
}

// Bad lines give the same errors through the Reader, naming file, line and field, whichever decoder
// saw them first.
func TestReaderPromptErrorsNameField(t *testing.T) {
	cases := []struct{ body, field, msg string }{
		{`{"id":0,"text":"a","prompt_len":1,"output_len":1,"extra_body":{"x":1},"bogus":1}`, "bogus", "unknown field"},
		{`{"id":0,"messages":[{"role":"u","content":"x","name":"n"}],"prompt_len":1,"output_len":1}`, "name", "unknown field"},
		{`{"id":0,"messages":[{"role":7,"content":"x"}],"prompt_len":1,"output_len":1}`, "messages.role", "cannot use JSON number as string"},
		{`{"id":0,"ids":[1,"2"],"prompt_len":1,"output_len":1}`, "ids", "cannot use JSON string as int"},
		{`{"id":0,"text":"a","prompt_len":1.5,"output_len":1}`, "prompt_len", "cannot use JSON number 1.5 as int"},
		{`{"id":0,"text":"a","prompt_len":1,"output_len":1,"timestamp_ms":"now"}`, "timestamp_ms", "cannot use JSON string as float64"},
		{`{"id":0,"text":"a","ids":[1],"prompt_len":1,"output_len":1}`, "text", "more than one of text"},
		{`{"id":0,"messages":[{"role":"user"}],"prompt_len":1,"output_len":1}`, "messages", "message 0 needs role and content"},
		{`{"id":0,"text":"a","prompt_len":1,"output_len":1`, "", "unexpected EOF"},
	}
	for _, c := range cases {
		path := filepath.Join(t.TempDir(), "p.jsonl")
		body := `{"id":9,"text":"ok","prompt_len":1,"output_len":1}` + "\n" + c.body + "\n"
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		r := NewReader[Prompt](StreamPrompts, path)
		var p Prompt
		if err := r.Next(&p); err != nil || p.ID != 9 {
			t.Fatalf("first line: %v %+v", err, p)
		}
		err := r.Next(&p)
		var de *DecodeError
		if !errors.As(err, &de) || de.File != path || de.Line != 2 || de.Field != c.field || !strings.Contains(de.Error(), c.msg) {
			t.Fatalf("%s: got %v", c.body, err)
		}
		r.Close()
	}
}

func FuzzDecodePrompt(f *testing.F) {
	for _, l := range append(fastPromptLines, slowPromptLines...) {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		comparePromptDecoders(t, line)
	})
}

// promptLine is one bs-gen-like prompt: 128 words of text, as bench/fire-vs-truth writes them.
func promptLine() []byte {
	p := Prompt{ID: 12345, Text: "12345 " + strings.TrimSpace(strings.Repeat("benchmark ", 127)), PromptLen: 128, OutputLen: 1}
	b, _ := json.Marshal(&p)
	return b
}

func BenchmarkPromptDecode(b *testing.B) {
	line := promptLine()
	chat := []byte(fastPromptLines[3])
	for _, c := range []struct {
		name   string
		line   []byte
		decode func([]byte, *Prompt) error
	}{
		{"text/strict", line, strictUnmarshal[Prompt]},
		{"text/fast", line, DecodePrompt},
		{"chat/strict", chat, strictUnmarshal[Prompt]},
		{"chat/fast", chat, DecodePrompt},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.line)))
			for b.Loop() {
				var p Prompt
				if err := c.decode(c.line, &p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// randomPrompt builds a prompt with every field drawn at random, strings from pieces that need escapes.
func randomPrompt(r *rand.Rand) *Prompt {
	str := func() string {
		var sb strings.Builder
		for range r.IntN(4) {
			if r.IntN(3) == 0 {
				sb.WriteRune(rune(r.IntN(0x110000)))
			} else {
				sb.WriteString(oddStrings[r.IntN(len(oddStrings))])
			}
		}
		return sb.String()
	}
	num := func() int {
		switch r.IntN(3) {
		case 0:
			return 0
		case 1:
			return r.IntN(1000) - 500
		}
		return int(r.Uint64())
	}
	msgs := func() []Message {
		ms := make([]Message, r.IntN(3))
		for i := range ms {
			ms[i] = TextMessage(str(), str())
			if r.IntN(3) == 0 {
				parts := []map[string]any{{"type": "text", "text": str()}, {"type": "image_url", "image_url": map[string]string{"url": str()}}}
				ms[i].Content, _ = json.Marshal(parts)
			}
		}
		return ms
	}
	p := &Prompt{ID: num(), Text: str(), PromptLen: num(), TextPromptLen: num(), VisionPromptLen: num(), OutputLen: num(),
		Session: str(), Round: num(), Group: str(), RoutingKey: str(), Lora: str()}
	for range r.IntN(4) {
		p.IDs = append(p.IDs, num())
		p.Images = append(p.Images, str())
	}
	p.Messages = msgs()
	for range r.IntN(3) {
		p.Turns = append(p.Turns, msgs())
	}
	if r.IntN(2) == 0 {
		ts := math.Float64frombits(r.Uint64())
		if math.IsNaN(ts) || math.IsInf(ts, 0) {
			ts = float64(r.IntN(1e6)) / 8
		}
		p.TimestampMS = &ts
	}
	if r.IntN(2) == 0 {
		p.ExtraBody, _ = json.Marshal(map[string]any{str(): []any{num(), str(), true, nil, map[string]float64{"t": 0.5}}})
	}
	return p
}

// Every line the Writer makes of a prompt (so every line bs-gen writes) is decoded by the scanner
// itself, to the strict decoder's value.
func TestDecodePromptScansWriterOutput(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		line, err := writerLine(randomPrompt(r))
		if err != nil {
			t.Fatal(err)
		}
		if line = bytes.TrimSuffix(line, []byte("\n")); !comparePromptDecoders(t, line) {
			t.Fatalf("the scanner fell back on %s", line)
		}
	}
}
