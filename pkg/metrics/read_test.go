package metrics

import (
	"errors"
	"strings"
	"testing"

	"github.com/bsbench/bs/pkg/records"
)

// A malformed event read by bs-stat names file, line and field (including a chunk_tokens array that
// does not match chunk_ns, which the accumulator checks).
func TestDecodeErrorsNameFileLineField(t *testing.T) {
	in := `{"kind":"header","format":1,"stream":"events","tool":"bs-fire","version":"x"}
{"id":1,"seq":0,"request_id":"a","scheduled_ns":0,"sent_ns":0,"end_ns":5,"ok":true,"prompt_len":1,"output_len":1}
{"id":2,"seq":1,"request_id":"b","scheduled_ns":0,"sent_ns":0,"end_ns":"late","ok":true,"prompt_len":1,"output_len":1}
`
	for _, c := range []struct{ in, want string }{
		{in, `events.jsonl:3: field "end_ns"`},
		{strings.Replace(in, `"end_ns":"late"`, `"end_ns":5,"colour":"red"`, 1), `events.jsonl:3: field "colour": unknown field`},
		{strings.Replace(in, `"end_ns":"late"`, `"end_ns":5,"chunk_ns":[1],"chunk_tokens":[1,2]`, 1), `events.jsonl:3: field "chunk_tokens"`},
	} {
		rd := records.NewReaderFrom[records.Event](records.StreamEvents, "events.jsonl", strings.NewReader(c.in))
		acc, _ := New(Options{})
		err := acc.ReadAll(rd)
		var de *records.DecodeError
		if !errors.As(err, &de) || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("error %v, want prefix %q", err, c.want)
		}
	}
}
