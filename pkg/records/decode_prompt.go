package records

import (
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
	d := promptScanner{jsonscan.Cursor{B: line}}
	if d.prompt(p) {
		return nil
	}
	*p = Prompt{}
	return strictUnmarshal(line, p)
}

// promptScanner reads a Prompt. Every method returns false to hand over to encoding/json.
type promptScanner struct{ jsonscan.Cursor }

func (d *promptScanner) message(m *Message) bool {
	var seen uint8
	return d.Object(func(key []byte) bool {
		var ok bool
		var bit uint8
		switch string(key) {
		case "role":
			if d.B[d.I] == 'n' {
				return false
			}
			bit = 1
			m.Role, ok = d.Str()
		case "content":
			bit = 2
			m.Content, ok = d.Raw()
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
	ok := d.Array(func() bool {
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
	ok := d.Object(func(key []byte) bool {
		if d.B[d.I] == 'n' && string(key) != "extra_body" {
			return false // null: encoding/json's rules
		}
		var ok bool
		var bit uint32
		switch string(key) {
		case "id":
			bit = 1 << 0
			p.ID, ok = d.Int()
		case "text":
			bit = 1 << 1
			p.Text, ok = d.Str()
		case "ids":
			bit = 1 << 2
			p.IDs = make([]int, 0, d.Count())
			ok = d.Array(func() bool {
				v, ok := d.Int()
				p.IDs = append(p.IDs, v)
				return ok
			})
		case "messages":
			bit = 1 << 3
			p.Messages, ok = d.messages()
		case "turns":
			bit = 1 << 4
			p.Turns = [][]Message{}
			ok = d.Array(func() bool {
				t, ok := d.messages()
				p.Turns = append(p.Turns, t)
				return ok
			})
		case "images":
			bit = 1 << 5
			p.Images = make([]string, 0, d.Count())
			ok = d.Array(func() bool {
				if d.B[d.I] == 'n' {
					return false
				}
				s, ok := d.Str()
				p.Images = append(p.Images, s)
				return ok
			})
		case "prompt_len":
			bit = 1 << 6
			p.PromptLen, ok = d.Int()
		case "text_prompt_len":
			bit = 1 << 7
			p.TextPromptLen, ok = d.Int()
		case "vision_prompt_len":
			bit = 1 << 8
			p.VisionPromptLen, ok = d.Int()
		case "output_len":
			bit = 1 << 9
			p.OutputLen, ok = d.Int()
		case "timestamp_ms":
			bit = 1 << 10
			var v float64
			v, ok = d.Float64()
			p.TimestampMS = &v
		case "session":
			bit = 1 << 11
			p.Session, ok = d.Str()
		case "round":
			bit = 1 << 12
			p.Round, ok = d.Int()
		case "group":
			bit = 1 << 13
			p.Group, ok = d.Str()
		case "routing_key":
			bit = 1 << 14
			p.RoutingKey, ok = d.Str()
		case "lora":
			bit = 1 << 15
			p.Lora, ok = d.Str()
		case "extra_body":
			bit = 1 << 16
			p.ExtraBody, ok = d.Raw()
		default:
			return false
		}
		if seen&bit != 0 { // repeated key: encoding/json decodes into the first value
			return false
		}
		seen |= bit
		return ok
	})
	return ok && d.AtEnd()
}
