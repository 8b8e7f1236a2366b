package records

import (
	"github.com/bsbench/bs/pkg/internal/jsonscan"
)

// DecodeEvent decodes one event line. It is a hand-written scanner for the Event fields, about ten times
// faster than encoding/json on events with hundreds of chunk times; anything it does not handle itself
// (an unknown or differently-cased key, null, a number of the wrong kind, invalid UTF-8, trailing data)
// goes to encoding/json with unknown fields disallowed, so results and errors (unknown field, wrong
// type, with the field's name) are exactly the strict decoder's. It is Reader[Event]'s default Unmarshal.
func DecodeEvent(line []byte, ev *Event) error {
	d := eventScanner{jsonscan.Cursor{B: line}}
	if d.event(ev) {
		return nil
	}
	*ev = Event{}
	return strictUnmarshal(line, ev)
}

// eventScanner reads an Event. Every method returns false to hand over to encoding/json.
type eventScanner struct{ jsonscan.Cursor }

// eventFields are the keys the scanner knows; a test checks them against Event's tags.
var eventFields = []string{"id", "seq", "turn", "request_id", "response_id", "scheduled_ns", "sent_ns",
	"headers_ns", "end_ns", "chunk_ns", "chunk_tokens", "chunk_text", "text", "ok", "status", "error_kind",
	"error", "finish_reason", "prompt_len", "text_prompt_len", "vision_prompt_len", "output_len",
	"usage_prompt_tokens", "usage_completion_tokens", "cached_tokens", "cached_tokens_details", "spec_accept_length",
	"spec_verify_ct", "lora", "group", "session"}

func (d *eventScanner) event(ev *Event) bool {
	intPtr := func() (*int, bool) {
		v, ok := d.Int()
		return &v, ok
	}
	ok := d.Object(func(key []byte) bool {
		if d.B[d.I] == 'n' {
			return false // null: encoding/json's rules
		}
		var ok bool
		switch string(key) {
		case "id":
			ev.ID, ok = d.Int()
		case "seq":
			ev.Seq, ok = d.Int()
		case "turn":
			ev.Turn, ok = d.Int()
		case "request_id":
			ev.RequestID, ok = d.Str()
		case "response_id":
			ev.ResponseID, ok = d.Str()
		case "scheduled_ns":
			ev.ScheduledNS, ok = d.Int64()
		case "sent_ns":
			ev.SentNS, ok = d.Int64()
		case "headers_ns":
			ev.HeadersNS, ok = d.Int64()
		case "end_ns":
			ev.EndNS, ok = d.Int64()
		case "chunk_ns":
			ev.ChunkNS = make([]int64, 0, d.Count())
			ok = d.Array(func() bool {
				v, ok := d.Int64()
				ev.ChunkNS = append(ev.ChunkNS, v)
				return ok
			})
		case "chunk_tokens":
			ev.ChunkTokens = make([]int, 0, d.Count())
			ok = d.Array(func() bool {
				v, ok := d.Int()
				ev.ChunkTokens = append(ev.ChunkTokens, v)
				return ok
			})
		case "chunk_text":
			ev.ChunkText = []string{}
			ok = d.Array(func() bool {
				if d.B[d.I] == 'n' {
					return false
				}
				v, ok := d.Str()
				ev.ChunkText = append(ev.ChunkText, v)
				return ok
			})
		case "text":
			ev.Text, ok = d.Str()
		case "ok":
			ev.OK, ok = d.Bool()
		case "status":
			ev.Status, ok = d.Int()
		case "error_kind":
			ev.ErrorKind, ok = d.Str()
		case "error":
			ev.Error, ok = d.Str()
		case "finish_reason":
			ev.FinishReason, ok = d.Str()
		case "prompt_len":
			ev.PromptLen, ok = d.Int()
		case "text_prompt_len":
			ev.TextPromptLen, ok = d.Int()
		case "vision_prompt_len":
			ev.VisionPromptLen, ok = d.Int()
		case "output_len":
			ev.OutputLen, ok = d.Int()
		case "usage_prompt_tokens":
			ev.UsagePromptTokens, ok = intPtr()
		case "usage_completion_tokens":
			ev.UsageCompletionTokens, ok = intPtr()
		case "cached_tokens":
			ev.CachedTokens, ok = intPtr()
		case "cached_tokens_details":
			c := &CacheTiers{}
			ev.CachedDetails = c
			ok = d.Object(func(key []byte) bool {
				if d.B[d.I] == 'n' {
					return false
				}
				var ok bool
				switch string(key) {
				case "device":
					c.Device, ok = d.Int()
				case "host":
					c.Host, ok = d.Int()
				case "storage":
					c.Storage, ok = d.Int()
				case "storage_backend":
					c.StorageBackend, ok = d.Str()
				}
				return ok
			})
		case "spec_accept_length":
			var f float64
			f, ok = d.Float64()
			ev.SpecAcceptLength = &f
		case "spec_verify_ct":
			ev.SpecVerifyCt, ok = intPtr()
		case "lora":
			ev.Lora, ok = d.Str()
		case "group":
			ev.Group, ok = d.Str()
		case "session":
			ev.Session, ok = d.Str()
		}
		return ok // an unknown key: encoding/json names it in its error
	})
	return ok && d.AtEnd()
}
