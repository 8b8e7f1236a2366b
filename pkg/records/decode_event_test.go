package records

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/bsbench/bs/pkg/internal/jsonscan"
)

// Every field of Event must be known to the fast scanner, or every line would take the slow
// path (still correct, but the throughput figure would silently drop).
func TestScannerKnowsEveryEventField(t *testing.T) {
	known := map[string]bool{}
	for _, f := range eventFields {
		known[f] = true
	}
	typ := reflect.TypeOf(Event{})
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		if !known[name] {
			t.Errorf("Event field %q is not handled by the scanner in decode.go", name)
		}
	}
}

var decodeCases = []string{
	`{"id":1,"seq":2,"request_id":"r","scheduled_ns":5,"sent_ns":6,"end_ns":9,"chunk_ns":[1,2,3],"chunk_tokens":[1,0,2],"ok":true,"prompt_len":3,"output_len":4}`,
	` { "id" : 0 , "seq":-3, "ok":false, "error_kind":"http_status", "error":"a\"b\\c\/d\n\t\u00e9\ud83d\ude00\ud800x", "status": 503 } `,
	`{"text":"h\u00e9llo wörld 日本","chunk_text":["a","b\u0000"],"chunk_ns":[0,10],"ok":true}`,
	`{"usage_prompt_tokens":7,"usage_completion_tokens":0,"cached_tokens":2,"spec_accept_length":2.5e0,"spec_verify_ct":3,"ok":true}`,
	`{"spec_accept_length":1,"lora":"x","group":"g","session":"s","turn":2,"headers_ns":123456789012345678,"ok":true}`,
	`{"chunk_ns":[],"chunk_tokens":[],"chunk_text":[],"ok":true,"finish_reason":"stop","response_id":"x"}`,
	`{"ID":1,"ok":true}`,                                        // other case: encoding/json matches it
	`{"id":null,"chunk_ns":null,"ok":true}`,                     // nulls
	`{"id":1,"id":2,"chunk_ns":[1],"chunk_ns":[2,3],"ok":true}`, // duplicates: last wins
	`{"id":1.5,"ok":true}`,                                      // wrong kind of number
	`{"id":"1","ok":true}`,                                      // wrong type
	`{"bogus":1,"ok":true}`,                                     // unknown field
	`{"id":99999999999999999999,"ok":true}`,                     // overflow
	`{"id":01,"ok":true}`,                                       // invalid number
	`{"id":1,"ok":true}{"id":2}`,                                // two values
	`{"id":1,"ok":true`,                                         // truncated
	`{"text":"bad \x01 control","ok":true}`,                     // raw control character
	"{\"text\":\"bad \xff utf8\",\"ok\":true}",                  // invalid UTF-8
	`{"chunk_ns":[1,,2],"ok":true}`,
	`{"ok":tru}`,
	`{"chunk_ns":[1,-2,3e2],"ok":true}`,
	`{"sent_ns":-0,"ok":true}`,
	`[]`,
	`{"cached_tokens":12,"cached_tokens_details":{"device":8,"host":4,"storage":0},"ok":true}`,
	`{"cached_tokens_details":{"device":1,"host":2,"storage":3,"storage_backend":"mooncake"},"ok":true}`,
	`{"cached_tokens_details":{},"ok":true}`,
	`{"cached_tokens_details":{"device":null},"ok":true}`,         // null inside: encoding/json's rules
	`{"cached_tokens_details":{"disk":5},"ok":true}`,              // unknown tier
	`{"cached_tokens_details":{"device":1.5},"ok":true}`,          // wrong kind of number
	`{"cached_tokens_details":[1,2],"ok":true}`,                   // wrong type
	`{"cached_tokens_details":{"device":1,"device":2},"ok":true}`, // repeated: last wins
}

// Every event the writer can write is decoded by the scanner itself (not handed to encoding/json), to
// what encoding/json decodes (the original, except invalid UTF-8, which both replace with U+FFFD).
func TestDecodeEventRandomWritten(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		e := randomEvent(r)
		if e.SpecAcceptLength != nil && (math.IsNaN(*e.SpecAcceptLength) || math.IsInf(*e.SpecAcceptLength, 0)) {
			e.SpecAcceptLength = nil
		}
		line, err := writerLine(e)
		if err != nil {
			t.Fatal(err)
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		var got, want Event
		if err := strictUnmarshal(line, &want); err != nil {
			t.Fatal(err)
		}
		d := eventScanner{jsonscan.Cursor{B: line}}
		if !d.event(&got) {
			t.Fatalf("the scanner handed a line the writer wrote to encoding/json:\n%s", line)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s\nscanner  %#v\nencoding %#v", line, got, want)
		}
	}
}

// The scanner must agree with the strict encoding/json decoder on results and on errors.
func TestDecodeEventMatchesEncodingJSON(t *testing.T) {
	for _, c := range decodeCases {
		var fast, slow Event
		ef := DecodeEvent([]byte(c), &fast)
		es := strictUnmarshal([]byte(c), &slow)
		if (ef == nil) != (es == nil) || (ef != nil && ef.Error() != es.Error()) {
			t.Errorf("%s: scanner error %v, encoding/json %v", c, ef, es)
			continue
		}
		if ef == nil && normalize(fast) != normalize(slow) {
			t.Errorf("%s:\n scanner %+v\n   json  %+v", c, fast, slow)
		}
	}
}

// normalize compares events by their JSON (pointer fields by value, nil and empty slices alike).
func normalize(e Event) string {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Sprint(err)
	}
	return fmt.Sprintf("%s", b)
}

func FuzzDecodeEvent(f *testing.F) {
	for _, c := range decodeCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast, slow Event
		ef := DecodeEvent(b, &fast)
		es := strictUnmarshal(b, &slow)
		if (ef == nil) != (es == nil) {
			t.Fatalf("%q: scanner %v, json %v", b, ef, es)
		}
		if ef == nil && normalize(fast) != normalize(slow) {
			t.Fatalf("%q:\n scanner %+v\n   json  %+v", b, fast, slow)
		}
	})
}

// A malformed line read through the Reader with the scanner still names file, line and field.
func TestDecodeEventErrorsNameFileLineField(t *testing.T) {
	in := `{"kind":"header","format":1,"stream":"events","tool":"bs-fire","version":"x"}
{"id":1,"seq":0,"request_id":"a","scheduled_ns":0,"sent_ns":0,"end_ns":5,"ok":true,"prompt_len":1,"output_len":1}
{"id":2,"seq":1,"request_id":"b","scheduled_ns":0,"sent_ns":0,"end_ns":"late","ok":true,"prompt_len":1,"output_len":1}
`
	for _, c := range []struct{ in, want string }{
		{in, `events.jsonl:3: field "end_ns"`},
		{strings.Replace(in, `"end_ns":"late"`, `"end_ns":5,"colour":"red"`, 1), `events.jsonl:3: field "colour": unknown field`},
	} {
		rd := NewReaderFrom[Event](StreamEvents, "events.jsonl", strings.NewReader(c.in))
		var ev Event
		var err error
		for err == nil {
			err = rd.Next(&ev)
		}
		var de *DecodeError
		if !errors.As(err, &de) || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("error %v, want prefix %q", err, c.want)
		}
	}
}

// BenchmarkEventDecode compares DecodeEvent with encoding/json on one 256-chunk event line as bs-fire
// writes it.
func BenchmarkEventDecode(b *testing.B) {
	e := Event{ID: 12345, Seq: 12345, RequestID: "0badc0de-0000-4000-8000-000000003039", ScheduledNS: 1234567890,
		SentNS: 1234600000, HeadersNS: 1284600000, EndNS: 4000000000, OK: true, Status: 200, FinishReason: "length",
		PromptLen: 128, OutputLen: 256, ChunkNS: make([]int64, 256), ChunkTokens: make([]int, 256)}
	for i := range e.ChunkNS {
		e.ChunkNS[i], e.ChunkTokens[i] = 50000000+int64(i)*10000000+int64(i*i), 1
	}
	line, err := json.Marshal(&e)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		decode func([]byte, *Event) error
	}{{"fast", DecodeEvent}, {"json", strictUnmarshal[Event]}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(line)))
			b.ReportAllocs()
			var ev Event
			for b.Loop() {
				ev = Event{}
				if err := c.decode(line, &ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
