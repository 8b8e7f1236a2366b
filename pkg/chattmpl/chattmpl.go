// Package chattmpl renders a model's Jinja chat template the way Python
// transformers' apply_chat_template(..., tokenize=False) does, using the
// pure-Go engine github.com/ardanlabs/jinja (pinned at v1.8.0).
//
// The template sees what transformers passes: messages (a list of
// {"role", "content"} dicts), add_generation_prompt, tools=None,
// documents=None, raise_exception, strftime_now, plus the caller's extra
// values — transformers adds the tokenizer's special tokens (bos_token,
// eos_token, pad_token, ...), so callers should pass those in extra.
//
// Known differences of the engine from Python Jinja2 (libraries.md §2):
// `{{ none }}` prints "" (Python prints "None"); tojson sorts map keys and,
// with indent, escapes < and >; `{%- if c -%}A: {{ x }}{%- endif -%}`
// loses the space after "A:". None of them affects the Qwen3 or Llama 3
// templates (see the golden tests).
package chattmpl

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ardanlabs/jinja"
	"github.com/bsbench/bs/pkg/records"
)

// Message is one chat message.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// StrftimeKey is the extra key that pins the clock behind the template's
// strftime_now(): a time.Time (rendered in its own location) or a
// func(format string) string. Without it strftime_now uses time.Now().
const StrftimeKey = "strftime_now"

var compiled sync.Map // template source -> *jinja.Template

// compile returns the compiled template, cached by source (models have few
// templates and bs-gen renders thousands of prompts with one of them).
func compile(tmpl string) (t *jinja.Template, err error) {
	if v, ok := compiled.Load(tmpl); ok {
		return v.(*jinja.Template), nil
	}
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("chat template: compile: internal error in the jinja engine: %v", r)
		}
	}()
	t, err = jinja.Compile(normalizeSource(tmpl))
	if err != nil {
		return nil, fmt.Errorf("chat template: %w", err)
	}
	compiled.Store(tmpl, t)
	return t, nil
}

// normalizeSource does what Jinja2's lexer does to a template source before
// parsing (the engine does not): every \r\n and \r becomes \n
// (newline_sequence) and one trailing newline is dropped
// (keep_trailing_newline=False, transformers' setting).
func normalizeSource(src string) string {
	if strings.Contains(src, "\r") {
		src = strings.ReplaceAll(src, "\r\n", "\n")
		src = strings.ReplaceAll(src, "\r", "\n")
	}
	return strings.TrimSuffix(src, "\n")
}

// Validate compiles tmpl and reports a syntax error, without rendering.
func Validate(tmpl string) error {
	_, err := compile(tmpl)
	return err
}

// Render renders tmpl for messages. addGenerationPrompt sets
// add_generation_prompt (the assistant header at the end). extra adds
// template variables (bos_token, eos_token, enable_thinking, ...) and may pin
// strftime_now through StrftimeKey; it must not set "messages" or
// "add_generation_prompt". Template errors, including raise_exception(...),
// are returned; Render never panics.
func Render(tmpl string, messages []Message, addGenerationPrompt bool, extra map[string]any) (out string, err error) {
	if strings.TrimSpace(tmpl) == "" {
		return "", errors.New("chat template: the template is empty (the model has no chat_template)")
	}
	t, err := compile(tmpl)
	if err != nil {
		return "", err
	}

	data := make(map[string]jinja.Value, len(extra)+6)
	data["tools"] = jinja.None()
	data["documents"] = jinja.None()
	data[StrftimeKey] = strftimeCallable(time.Now, nil)
	for k, v := range extra {
		switch k {
		case "messages", "add_generation_prompt":
			return "", fmt.Errorf("chat template: extra must not set %q", k)
		case StrftimeKey:
			switch f := v.(type) {
			case time.Time:
				data[k] = strftimeCallable(func() time.Time { return f }, nil)
			case func(string) string:
				data[k] = strftimeCallable(nil, f)
			default:
				return "", fmt.Errorf("chat template: extra[%q] must be a time.Time or func(string) string, not %T", k, v)
			}
		default:
			data[k] = jinja.FromGoValue(v)
		}
	}
	msgs := make([]jinja.Value, len(messages))
	for i, m := range messages {
		d := jinja.NewDict()
		// Insertion order role, content: what tojson(messages) shows in Python.
		d.AsDict().Set("role", jinja.NewString(m.Role))
		d.AsDict().Set("content", jinja.NewString(m.Content))
		msgs[i] = d
	}
	data["messages"] = jinja.NewList(msgs)
	data["add_generation_prompt"] = jinja.NewBool(addGenerationPrompt)

	defer func() {
		if r := recover(); r != nil {
			out, err = "", fmt.Errorf("chat template: render: internal error in the jinja engine: %v", r)
		}
	}()
	out, err = t.RenderValues(data)
	if err != nil {
		return "", fmt.Errorf("chat template: render: %w", err)
	}
	return out, nil
}

func strftimeCallable(now func() time.Time, custom func(string) string) jinja.Value {
	return jinja.NewCallable(StrftimeKey, func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
		if len(args) != 1 || !args[0].IsString() {
			return jinja.Undefined(), errors.New("strftime_now: want one string argument (the format)")
		}
		if custom != nil {
			return jinja.NewString(custom(args[0].AsString())), nil
		}
		return jinja.NewString(Strftime(now(), args[0].AsString())), nil
	})
}

var (
	longDays   = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	longMonths = []string{"January", "February", "March", "April", "May", "June", "July", "August",
		"September", "October", "November", "December"}
)

// Strftime formats t like Python's datetime.strftime on Linux (glibc) for
// the directives chat templates use: %a %A %b %B %d %e %H %I %j %m %M %p
// %S %y %Y %z %Z %F %T %D %%, with glibc's "-" flag (%-d) to drop padding.
// Unknown directives are copied through unchanged, as glibc does.
func Strftime(t time.Time, format string) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 >= len(format) {
			b.WriteByte(c)
			continue
		}
		start := i
		i++
		pad := true
		if format[i] == '-' && i+1 < len(format) {
			pad = false
			i++
		}
		num := func(v, width int) {
			s := strconv.Itoa(v)
			for pad && len(s) < width {
				s = "0" + s
			}
			b.WriteString(s)
		}
		switch format[i] {
		case 'a':
			b.WriteString(longDays[t.Weekday()][:3])
		case 'A':
			b.WriteString(longDays[t.Weekday()])
		case 'b', 'h':
			b.WriteString(longMonths[t.Month()-1][:3])
		case 'B':
			b.WriteString(longMonths[t.Month()-1])
		case 'd':
			num(t.Day(), 2)
		case 'e':
			s := strconv.Itoa(t.Day())
			if pad && len(s) < 2 {
				s = " " + s
			}
			b.WriteString(s)
		case 'H':
			num(t.Hour(), 2)
		case 'I':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			num(h, 2)
		case 'j':
			num(t.YearDay(), 3)
		case 'm':
			num(int(t.Month()), 2)
		case 'M':
			num(t.Minute(), 2)
		case 'p':
			if t.Hour() < 12 {
				b.WriteString("AM")
			} else {
				b.WriteString("PM")
			}
		case 'S':
			num(t.Second(), 2)
		case 'y':
			num(t.Year()%100, 2)
		case 'Y':
			b.WriteString(strconv.Itoa(t.Year()))
		case 'z':
			b.WriteString(t.Format("-0700"))
		case 'Z':
			b.WriteString(t.Format("MST"))
		case 'F':
			b.WriteString(t.Format("2006-01-02"))
		case 'T':
			b.WriteString(t.Format("15:04:05"))
		case 'D':
			b.WriteString(t.Format("01/02/06"))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteString(format[start : i+1])
		}
	}
	return b.String()
}

// ForRecords returns a renderer of tmpl for record messages (pkg/records), with bos and eos as the
// template's bos_token and eos_token; nil when tmpl is empty. Messages whose content is not a plain
// string cannot be rendered (Render takes strings) and give an error.
func ForRecords(tmpl, bos, eos string) func(msgs []records.Message, addGenerationPrompt bool) (string, error) {
	if tmpl == "" {
		return nil
	}
	extra := map[string]any{"bos_token": bos, "eos_token": eos}
	return func(msgs []records.Message, addGen bool) (string, error) {
		ms := make([]Message, len(msgs))
		for i, m := range msgs {
			var s string
			if err := json.Unmarshal(m.Content, &s); err != nil {
				return "", errors.New("message content that is not a string cannot be rendered with the chat template")
			}
			ms[i] = Message{Role: m.Role, Content: s}
		}
		return Render(tmpl, ms, addGen, extra)
	}
}
