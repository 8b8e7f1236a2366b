package records

import (
	"bytes"
	"encoding/json"

	"github.com/bsbench/bs/pkg/internal/jsonscan"
)

// DecodePrompt decodes one prompt line; it is Reader[Prompt]'s default Unmarshal. It is a hand-written
// scanner for the shapes bs-gen writes, several times faster than encoding/json. Anything it does not
// handle itself — a key that is not exactly a field's name (unknown, differently cased, escaped), a
// key given twice, null where the field is not a json.RawMessage, a number of the wrong kind, nesting
// deeper than jsonscan.MaxDepth, data after the object — goes to the strict encoding/json decoder, so
// every accepted line gives the strict decoder's value and every rejected line its error (unknown
// field, wrong type, with the field's name, or syntax error). The tests check this on generated
// prompts of every dataset and by fuzzing.
func DecodePrompt(line []byte, p *Prompt) error {
	d := promptScanner{b: line}
	if d.prompt(p) {
		return nil
	}
	*p = Prompt{}
	return strictUnmarshal(line, p)
}

// promptScanner reads a Prompt from b. Every method returns false to hand over to encoding/json; the
// cursor i is then meaningless.
type promptScanner struct {
	b []byte
	i int
}

// next skips whitespace and returns the byte at the cursor (0 at the end).
func (d *promptScanner) next() byte {
	d.i = jsonscan.SkipWS(d.b, d.i)
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

// consume skips whitespace and c, if c is next.
func (d *promptScanner) consume(c byte) bool {
	if d.next() == c {
		d.i++
		return true
	}
	return false
}

// object walks the object at the cursor, calling member with each key and the cursor on its value.
// Keys with escapes or non-ASCII bytes are not handled (encoding/json matches them after unescaping,
// or case-insensitively).
func (d *promptScanner) object(member func(key []byte) bool) bool {
	if !d.consume('{') {
		return false
	}
	if d.consume('}') {
		return true
	}
	for {
		if d.next() != '"' {
			return false
		}
		start := d.i + 1
		end := start
		for end < len(d.b) && d.b[end] != '"' {
			if c := d.b[end]; c == '\\' || c < 0x20 || c >= 0x80 {
				return false
			}
			end++
		}
		if end == len(d.b) {
			return false
		}
		d.i = end + 1
		if !d.consume(':') || d.next() == 0 || !member(d.b[start:end]) {
			return false
		}
		if d.consume(',') {
			continue
		}
		return d.consume('}')
	}
}

// array walks the array at the cursor, calling elem with the cursor on each element.
func (d *promptScanner) array(elem func() bool) bool {
	if !d.consume('[') {
		return false
	}
	if d.consume(']') {
		return true
	}
	for {
		if d.next() == 0 || !elem() {
			return false
		}
		if d.consume(',') {
			continue
		}
		return d.consume(']')
	}
}

// count guesses the length of the array of numbers or strings at the cursor (the commas before the
// first ']', plus one) to allocate it once.
func (d *promptScanner) count() int {
	rest := d.b[d.i:]
	if end := bytes.IndexByte(rest, ']'); end >= 0 {
		rest = rest[:end]
	}
	return bytes.Count(rest, []byte{','}) + 1
}

// The value readers expect the cursor on the value (whitespace skipped) and refuse null, which
// encoding/json stores by its own rules.

func (d *promptScanner) int() (int, bool) {
	v, end, ok := jsonscan.Int64(d.b, d.i)
	d.i = end
	return int(v), ok && int64(int(v)) == v
}

func (d *promptScanner) str() (string, bool) {
	s, end, ok := jsonscan.String(d.b, d.i)
	d.i = end
	return s, ok
}

// raw reads any value (null included) as json.RawMessage does: a copy of its bytes.
func (d *promptScanner) raw() (json.RawMessage, bool) {
	end, ok := jsonscan.SkipValue(d.b, d.i, 1)
	if !ok {
		return nil, false
	}
	v := append(json.RawMessage(nil), d.b[d.i:end]...)
	d.i = end
	return v, true
}

func (d *promptScanner) message(m *Message) bool {
	var seen uint8
	return d.object(func(key []byte) bool {
		var ok bool
		var bit uint8
		switch string(key) {
		case "role":
			if d.b[d.i] == 'n' {
				return false
			}
			bit = 1
			m.Role, ok = d.str()
		case "content":
			bit = 2
			m.Content, ok = d.raw()
		default:
			return false
		}
		if seen&bit != 0 { // repeated key: encoding/json decodes into the first value
			return false
		}
		seen |= bit
		return ok
	})
}

func (d *promptScanner) messages() ([]Message, bool) {
	msgs := []Message{}
	ok := d.array(func() bool {
		msgs = append(msgs, Message{})
		return d.message(&msgs[len(msgs)-1])
	})
	return msgs, ok
}

// promptFields are the keys the scanner knows, in bit order; a test checks them against Prompt's tags.
var promptFields = []string{"id", "text", "ids", "messages", "turns", "images", "prompt_len",
	"text_prompt_len", "vision_prompt_len", "output_len", "timestamp_ms", "session", "round", "group",
	"routing_key", "lora", "extra_body"}

func (d *promptScanner) prompt(p *Prompt) bool {
	var seen uint32
	ok := d.object(func(key []byte) bool {
		if d.b[d.i] == 'n' && string(key) != "extra_body" {
			return false // null: encoding/json's rules
		}
		var ok bool
		var bit uint32
		switch string(key) {
		case "id":
			bit = 1 << 0
			p.ID, ok = d.int()
		case "text":
			bit = 1 << 1
			p.Text, ok = d.str()
		case "ids":
			bit = 1 << 2
			p.IDs = make([]int, 0, d.count())
			ok = d.array(func() bool {
				v, ok := d.int()
				p.IDs = append(p.IDs, v)
				return ok
			})
		case "messages":
			bit = 1 << 3
			p.Messages, ok = d.messages()
		case "turns":
			bit = 1 << 4
			p.Turns = [][]Message{}
			ok = d.array(func() bool {
				t, ok := d.messages()
				p.Turns = append(p.Turns, t)
				return ok
			})
		case "images":
			bit = 1 << 5
			p.Images = make([]string, 0, d.count())
			ok = d.array(func() bool {
				if d.b[d.i] == 'n' {
					return false
				}
				s, ok := d.str()
				p.Images = append(p.Images, s)
				return ok
			})
		case "prompt_len":
			bit = 1 << 6
			p.PromptLen, ok = d.int()
		case "text_prompt_len":
			bit = 1 << 7
			p.TextPromptLen, ok = d.int()
		case "vision_prompt_len":
			bit = 1 << 8
			p.VisionPromptLen, ok = d.int()
		case "output_len":
			bit = 1 << 9
			p.OutputLen, ok = d.int()
		case "timestamp_ms":
			bit = 1 << 10
			var v float64
			v, d.i, ok = jsonscan.Float64(d.b, d.i)
			p.TimestampMS = &v
		case "session":
			bit = 1 << 11
			p.Session, ok = d.str()
		case "round":
			bit = 1 << 12
			p.Round, ok = d.int()
		case "group":
			bit = 1 << 13
			p.Group, ok = d.str()
		case "routing_key":
			bit = 1 << 14
			p.RoutingKey, ok = d.str()
		case "lora":
			bit = 1 << 15
			p.Lora, ok = d.str()
		case "extra_body":
			bit = 1 << 16
			p.ExtraBody, ok = d.raw()
		default:
			return false
		}
		if seen&bit != 0 { // repeated key: encoding/json decodes into the first value
			return false
		}
		seen |= bit
		return ok
	})
	return ok && jsonscan.SkipWS(d.b, d.i) == len(d.b)
}
