package metrics

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/bsbench/bs/pkg/internal/jsonscan"
	"github.com/bsbench/bs/pkg/records"
)

// DecodeEvent decodes one event line. It is a hand-written scanner for the Event fields, about ten times
// faster than encoding/json on events with hundreds of chunk times; anything it does not handle itself
// (an unknown or differently-cased key, null, a number of the wrong kind, invalid UTF-8, trailing data)
// goes to encoding/json with unknown fields disallowed, so results and errors (unknown field, wrong
// type, with the field's name) are exactly the strict decoder's. Use it as Reader.Unmarshal.
func DecodeEvent(line []byte, ev *records.Event) error {
	d := eventScanner{b: line}
	if d.event(ev) {
		return nil
	}
	*ev = records.Event{}
	return strictEvent(line, ev)
}

func strictEvent(line []byte, ev *records.Event) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(ev); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value on the line")
	}
	return nil
}

// eventScanner reads an Event from b. Every method returns false to hand over to encoding/json.
type eventScanner struct {
	b []byte
	i int
}

func (d *eventScanner) ws() { d.i = jsonscan.SkipWS(d.b, d.i) }

func (d *eventScanner) peek() byte {
	d.ws()
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *eventScanner) expect(c byte) bool {
	if d.peek() == c {
		d.i++
		return true
	}
	return false
}

// key reads an object key without escapes.
func (d *eventScanner) key() (string, bool) {
	if !d.expect('"') {
		return "", false
	}
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		if c == '"' {
			k := d.b[start:d.i]
			d.i++
			return string(k), d.expect(':')
		}
		if c == '\\' || c < 0x20 || c >= 0x80 {
			return "", false
		}
		d.i++
	}
	return "", false
}

func (d *eventScanner) int64v() (int64, bool) {
	d.ws()
	v, end, ok := jsonscan.Int64(d.b, d.i)
	if ok {
		d.i = end
	}
	return v, ok
}

func (d *eventScanner) intv() (int, bool) {
	v, ok := d.int64v()
	return int(v), ok && int64(int(v)) == v
}

func (d *eventScanner) floatv() (float64, bool) {
	d.ws()
	v, end, ok := jsonscan.Float64(d.b, d.i)
	if ok {
		d.i = end
	}
	return v, ok
}

func (d *eventScanner) boolv() (bool, bool) {
	d.ws()
	switch {
	case bytes.HasPrefix(d.b[d.i:], []byte("true")):
		d.i += 4
		return true, true
	case bytes.HasPrefix(d.b[d.i:], []byte("false")):
		d.i += 5
		return false, true
	}
	return false, false
}

// str reads a string, decoding it as encoding/json does.
func (d *eventScanner) str() (string, bool) {
	d.ws()
	s, end, ok := jsonscan.String(d.b, d.i)
	if ok {
		d.i = end
	}
	return s, ok
}

// array calls elem for each element of a JSON array.
func (d *eventScanner) array(elem func() bool) bool {
	if !d.expect('[') {
		return false
	}
	if d.expect(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if d.expect(',') {
			continue
		}
		return d.expect(']')
	}
}

// countElems guesses the length of the number array that starts at the cursor (commas before the
// closing bracket, plus one), to allocate it once.
func (d *eventScanner) countElems() int {
	end := bytes.IndexByte(d.b[d.i:], ']')
	if end < 0 {
		return 0
	}
	return bytes.Count(d.b[d.i:d.i+end], []byte{','}) + 1
}

func (d *eventScanner) intPtr() (*int, bool) {
	v, ok := d.intv()
	return &v, ok
}

// eventFields are the keys the scanner knows; a test checks them against records.Event's tags.
var eventFields = []string{"id", "seq", "turn", "request_id", "response_id", "scheduled_ns", "sent_ns",
	"headers_ns", "end_ns", "chunk_ns", "chunk_tokens", "chunk_text", "text", "ok", "status", "error_kind",
	"error", "finish_reason", "prompt_len", "text_prompt_len", "vision_prompt_len", "output_len",
	"usage_prompt_tokens", "usage_completion_tokens", "cached_tokens", "spec_accept_length",
	"spec_verify_ct", "lora", "group", "session"}

func (d *eventScanner) event(ev *records.Event) bool {
	if !d.expect('{') {
		return false
	}
	if !d.expect('}') {
		for {
			k, ok := d.key()
			if !ok || d.peek() == 'n' { // null: let encoding/json apply its rules
				return false
			}
			switch k {
			case "id":
				ev.ID, ok = d.intv()
			case "seq":
				ev.Seq, ok = d.intv()
			case "turn":
				ev.Turn, ok = d.intv()
			case "request_id":
				ev.RequestID, ok = d.str()
			case "response_id":
				ev.ResponseID, ok = d.str()
			case "scheduled_ns":
				ev.ScheduledNS, ok = d.int64v()
			case "sent_ns":
				ev.SentNS, ok = d.int64v()
			case "headers_ns":
				ev.HeadersNS, ok = d.int64v()
			case "end_ns":
				ev.EndNS, ok = d.int64v()
			case "chunk_ns":
				ev.ChunkNS = make([]int64, 0, d.countElems())
				ok = d.array(func() bool {
					v, ok := d.int64v()
					ev.ChunkNS = append(ev.ChunkNS, v)
					return ok
				})
			case "chunk_tokens":
				ev.ChunkTokens = make([]int, 0, d.countElems())
				ok = d.array(func() bool {
					v, ok := d.intv()
					ev.ChunkTokens = append(ev.ChunkTokens, v)
					return ok
				})
			case "chunk_text":
				ev.ChunkText = []string{}
				ok = d.array(func() bool {
					if d.peek() == 'n' {
						return false
					}
					v, ok := d.str()
					ev.ChunkText = append(ev.ChunkText, v)
					return ok
				})
			case "text":
				ev.Text, ok = d.str()
			case "ok":
				ev.OK, ok = d.boolv()
			case "status":
				ev.Status, ok = d.intv()
			case "error_kind":
				ev.ErrorKind, ok = d.str()
			case "error":
				ev.Error, ok = d.str()
			case "finish_reason":
				ev.FinishReason, ok = d.str()
			case "prompt_len":
				ev.PromptLen, ok = d.intv()
			case "text_prompt_len":
				ev.TextPromptLen, ok = d.intv()
			case "vision_prompt_len":
				ev.VisionPromptLen, ok = d.intv()
			case "output_len":
				ev.OutputLen, ok = d.intv()
			case "usage_prompt_tokens":
				ev.UsagePromptTokens, ok = d.intPtr()
			case "usage_completion_tokens":
				ev.UsageCompletionTokens, ok = d.intPtr()
			case "cached_tokens":
				ev.CachedTokens, ok = d.intPtr()
			case "spec_accept_length":
				var f float64
				f, ok = d.floatv()
				ev.SpecAcceptLength = &f
			case "spec_verify_ct":
				ev.SpecVerifyCt, ok = d.intPtr()
			case "lora":
				ev.Lora, ok = d.str()
			case "group":
				ev.Group, ok = d.str()
			case "session":
				ev.Session, ok = d.str()
			default:
				return false
			}
			if !ok {
				return false
			}
			if d.expect(',') {
				continue
			}
			if !d.expect('}') {
				return false
			}
			break
		}
	}
	d.ws()
	return d.i == len(d.b)
}
