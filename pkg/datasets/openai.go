package datasets

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf16"

	"github.com/bsbench/bs/pkg/records"
)

// openaiExcluded are the request keys that do not go into the per-prompt extra body.
var openaiExcluded = map[string]bool{"messages": true, "max_tokens": true, "max_completion_tokens": true, "model": true}

// openai generates the openai dataset: a JSONL file of chat requests. The first --num-prompts lines
// (all if 0) are read, in order, without shuffling; lines with an empty "messages" are passed over
// as in the reference. Every other key but max_tokens, max_completion_tokens and model goes into
// ExtraBody in its original order. output_len is --sharegpt-output-len, else max_tokens, else 256.
// prompt_len is the token count of the chat-templated messages (generation prompt added, special
// tokens not added again) plus, when there are tools, the token count of json.dumps(tools).
func (g *gen) openai() ([]records.Prompt, error) {
	o := g.opts
	path := o.DatasetPath
	rc, err := records.Open(path)
	if err != nil {
		return nil, fmt.Errorf("openai dataset: %w", err)
	}
	defer rc.Close()
	type item struct {
		line      int
		messages  []records.Message
		outputLen int
		extra     json.RawMessage
		tools     json.RawMessage
	}
	var items []item
	br := bufio.NewReaderSize(rc, 1<<20)
	warned := false
	for line := 1; o.NumPrompts <= 0 || len(items) < o.NumPrompts; line++ {
		b, rerr := br.ReadBytes('\n')
		if rerr != nil && rerr != io.EOF {
			return nil, fmt.Errorf("%s:%d: %w", path, line, rerr)
		}
		b = bytes.TrimSpace(b)
		if len(b) > 0 {
			fail := func(field string, err error) error {
				return &records.DecodeError{File: path, Line: line, Field: field, Err: err}
			}
			keys, vals, err := orderedObject(b)
			if err != nil {
				return nil, fail("", err)
			}
			it := item{line: line, outputLen: 256}
			var extra bytes.Buffer
			extra.WriteByte('{')
			for k, key := range keys {
				v := vals[k]
				switch key {
				case "messages":
					var raw []map[string]json.RawMessage
					if err := json.Unmarshal(v, &raw); err != nil {
						return nil, fail("messages", errors.New("must be a list of message objects"))
					}
					for mi, m := range raw {
						var role string
						if err := json.Unmarshal(m["role"], &role); err != nil || role == "" {
							return nil, fail(fmt.Sprintf("messages[%d].role", mi), errors.New("must be a non-empty string"))
						}
						content := m["content"]
						if len(content) == 0 {
							content = json.RawMessage("null")
						}
						if len(m) > 2 && !warned && g.log != nil {
							warned = true
							g.logf("warning: %s:%d: message keys other than role and content are not kept\n", path, line)
						}
						it.messages = append(it.messages, records.Message{Role: role, Content: content})
					}
				case "max_tokens":
					if string(v) != "null" {
						if err := json.Unmarshal(v, &it.outputLen); err != nil || it.outputLen < 0 {
							return nil, fail("max_tokens", errors.New("must be a non-negative integer"))
						}
					}
				}
				if openaiExcluded[key] {
					continue
				}
				if key == "tools" {
					it.tools = v
				}
				if extra.Len() > 1 {
					extra.WriteByte(',')
				}
				kb, _ := json.Marshal(key)
				extra.Write(kb)
				extra.WriteByte(':')
				extra.Write(v)
			}
			extra.WriteByte('}')
			if extra.Len() > 2 {
				it.extra = json.RawMessage(extra.Bytes())
			}
			if o.SharegptOutputLen != nil && *o.SharegptOutputLen != 0 {
				it.outputLen = *o.SharegptOutputLen
			}
			items = append(items, it)
		}
		if rerr == io.EOF {
			break
		}
	}
	var out []records.Prompt
	for _, it := range items {
		if len(it.messages) == 0 {
			continue
		}
		out = append(out, records.Prompt{Messages: it.messages, OutputLen: it.outputLen, ExtraBody: it.extra})
	}
	if g.chat == nil {
		return nil, fmt.Errorf("openai dataset: %w (needed to count prompt tokens)", ErrNoChatTemplate)
	}
	lines := make([]int, 0, len(items))
	for _, it := range items {
		if len(it.messages) > 0 {
			lines = append(lines, it.line)
		}
	}
	toolsOf := make([]json.RawMessage, 0, len(out))
	for _, it := range items {
		if len(it.messages) > 0 {
			toolsOf = append(toolsOf, it.tools)
		}
	}
	err = parallelFor(o.Workers, len(out), func(i int) error {
		s, err := g.chat(out[i].Messages, true)
		if err != nil {
			return fmt.Errorf("%s:%d: chat template: %w", path, lines[i], err)
		}
		n := len(g.tok.Encode(s, false))
		if toolsOf[i] != nil {
			d, err := pyJSONDumps(toolsOf[i])
			if err != nil {
				return &records.DecodeError{File: path, Line: lines[i], Field: "tools", Err: err}
			}
			n += len(g.tok.Encode(d, true))
		}
		out[i].PromptLen = n
		return nil
	})
	if err != nil {
		return nil, err
	}
	g.logf("Loaded %d OpenAI-format requests\n#Input tokens: %d\n#Output tokens: %d\n", len(out), sumPromptLen(out), sumOutputLen(out))
	return out, nil
}

// orderedObject splits a JSON object into its keys and raw values, in document order.
func orderedObject(b []byte) ([]string, []json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	t, err := dec.Token()
	if err != nil {
		return nil, nil, err
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return nil, nil, errors.New("a line must be a JSON object")
	}
	var keys []string
	var vals []json.RawMessage
	seen := map[string]int{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		key := kt.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, fmt.Errorf("key %q: %w", key, err)
		}
		if i, dup := seen[key]; dup { // last one wins, in the first one's place (as a Python dict)
			vals[i] = v
			continue
		}
		seen[key] = len(keys)
		keys = append(keys, key)
		vals = append(vals, v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	if dec.More() {
		return nil, nil, errors.New("more than one JSON value on the line")
	}
	return keys, vals, nil
}

// pyJSONDumps re-serialises a JSON value as Python's json.dumps does by default: ", " and ": "
// separators, non-ASCII characters escaped as \uXXXX, key order kept. Numbers keep their text.
func pyJSONDumps(raw json.RawMessage) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var buf bytes.Buffer
	if err := pyDumpValue(dec, &buf); err != nil {
		return "", err
	}
	return buf.String(), nil
}

func pyDumpValue(dec *json.Decoder, buf *bytes.Buffer) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	switch v := t.(type) {
	case json.Delim:
		closing := byte('}')
		if v == '[' {
			closing = ']'
		}
		buf.WriteByte(byte(v))
		first := true
		for dec.More() {
			if !first {
				buf.WriteString(", ")
			}
			first = false
			if v == '{' {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				pyDumpString(kt.(string), buf)
				buf.WriteString(": ")
			}
			if err := pyDumpValue(dec, buf); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return err
		}
		buf.WriteByte(closing)
	case string:
		pyDumpString(v, buf)
	case json.Number:
		buf.WriteString(v.String())
	case bool:
		if v {
			buf.WriteString("true")
		} else {
			buf.WriteString("false")
		}
	case nil:
		buf.WriteString("null")
	}
	return nil
}

func pyDumpString(s string, buf *bytes.Buffer) {
	buf.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			buf.WriteString(`\"`)
		case r == '\\':
			buf.WriteString(`\\`)
		case r == '\n':
			buf.WriteString(`\n`)
		case r == '\r':
			buf.WriteString(`\r`)
		case r == '\t':
			buf.WriteString(`\t`)
		case r == '\b':
			buf.WriteString(`\b`)
		case r == '\f':
			buf.WriteString(`\f`)
		case r < 0x20 || (r >= 0x7f && r < 0x10000):
			buf.WriteString(`\u`)
			buf.WriteString(hex4(r))
		case r >= 0x10000:
			a, b := utf16.EncodeRune(r)
			buf.WriteString(`\u` + hex4(a) + `\u` + hex4(b))
		default:
			buf.WriteRune(r)
		}
	}
	buf.WriteByte('"')
}

func hex4(r rune) string {
	s := strconv.FormatInt(int64(r), 16)
	for len(s) < 4 {
		s = "0" + s
	}
	return s
}
