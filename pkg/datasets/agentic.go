package datasets

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/bsbench/bs/pkg/records"
)

// agenticDefaultOutputLen is the reference's per-round output length without --sharegpt-output-len
// (the average assistant reply of OpenHands-style traces).
const agenticDefaultOutputLen = 220

// agenticConversation is one conversation of an agentic trace: its rounds (the non-empty
// "messages" of its turns, in order), the first turn's "prompt_tokens" and where it starts.
type agenticConversation struct {
	rounds       [][]records.Message
	promptTokens int
	index, line  int
}

// loadAgenticTrace reads an agentic trace: a JSON object whose "conversations" is a non-empty list
// of conversations, each a list of turn objects {"messages": [...], "prompt_tokens": N}. A turn's
// "messages" is a list of {"role", "content"} objects (other keys are not kept, as the reference's
// replay keeps only these two) or a string (one user message, as the reference's replay reads it);
// a turn whose "messages" is missing, null, empty or "" is not a round. "prompt_tokens" of a
// conversation's first turn is a non-negative number (truncated to an integer), 0 when absent. Anything else is
// an error naming the file, the line where the conversation starts and the field.
func loadAgenticTrace(path string) ([]agenticConversation, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("agentic-trace dataset: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	line, seen := 1, 0
	lineHere := func() int {
		off := int(dec.InputOffset())
		for off < len(data) && bytes.IndexByte([]byte(" \t\r\n,:"), data[off]) >= 0 {
			off++
		}
		line += bytes.Count(data[seen:off], []byte{'\n'})
		seen = off
		return line
	}
	fail := func(line int, field string, err error) error {
		return &records.DecodeError{File: path, Line: line, Field: field, Err: err}
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, fail(lineHere(), "", fmt.Errorf("not a JSON file: %w", err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fail(1, "", errors.New(`an agentic trace is a JSON object with "conversations"`))
	}
	var convs []agenticConversation
	found := false
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, fail(lineHere(), "", err)
		}
		if kt.(string) != "conversations" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, fail(lineHere(), kt.(string), err)
			}
			continue
		}
		found = true
		convs = convs[:0] // a repeated key: the last one wins, as in Python
		at := lineHere()
		t, err := dec.Token()
		if err != nil {
			return nil, fail(at, "conversations", err)
		}
		if d, ok := t.(json.Delim); !ok || d != '[' {
			return nil, fail(at, "conversations", errors.New("must be a list of conversations"))
		}
		for i := 0; dec.More(); i++ {
			at := lineHere()
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, fail(at, fmt.Sprintf("conversations[%d]", i), err)
			}
			c, field, err := agenticConv(raw)
			if err != nil {
				return nil, fail(at, fmt.Sprintf("conversations[%d]%s", i, field), err)
			}
			c.index, c.line = i, at
			convs = append(convs, c)
		}
		if _, err := dec.Token(); err != nil {
			return nil, fail(lineHere(), "conversations", err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, fail(lineHere(), "", err)
	}
	if dec.More() {
		return nil, fail(lineHere(), "", errors.New("more than one JSON value in the file"))
	}
	if !found || len(convs) == 0 {
		return nil, fmt.Errorf("agentic-trace: no 'conversations' found in %s", path)
	}
	return convs, nil
}

// agenticConv decodes one conversation; on error it returns the field at fault (".."-relative).
func agenticConv(raw json.RawMessage) (agenticConversation, string, error) {
	var c agenticConversation
	var turns []json.RawMessage
	if err := json.Unmarshal(raw, &turns); err != nil || string(raw) == "null" {
		return c, "", errors.New("must be a list of turns")
	}
	for j, tr := range turns {
		field := fmt.Sprintf("[%d]", j)
		var turn map[string]json.RawMessage
		if err := json.Unmarshal(tr, &turn); err != nil || string(tr) == "null" {
			return c, field, errors.New("a turn must be an object")
		}
		if j == 0 {
			if v, ok := turn["prompt_tokens"]; ok {
				var f float64
				if err := json.Unmarshal(v, &f); err != nil || string(v) == "null" || f <= -1 || f > 1<<53 {
					return c, field + ".prompt_tokens", fmt.Errorf("must be a non-negative number, got %s", truncateJSON(v))
				}
				c.promptTokens = int(f) // Python's int(): truncation toward zero
			}
		}
		msgs, err := agenticMessages(turn["messages"])
		if err != nil {
			return c, field + ".messages" + err.field, err.err
		}
		if len(msgs) > 0 {
			c.rounds = append(c.rounds, msgs)
		}
	}
	return c, "", nil
}

type fieldErr struct {
	field string
	err   error
}

// agenticMessages decodes a turn's "messages": nil for a turn that is not a round.
func agenticMessages(v json.RawMessage) ([]records.Message, *fieldErr) {
	if len(v) == 0 || string(v) == "null" || string(v) == `""` {
		return nil, nil
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return []records.Message{records.TextMessage("user", s)}, nil
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(v, &list); err != nil {
		return nil, &fieldErr{"", errors.New("must be a list of {role, content} messages or a string")}
	}
	out := make([]records.Message, 0, len(list))
	for k, m := range list {
		field := fmt.Sprintf("[%d]", k)
		if m == nil {
			return nil, &fieldErr{field, errors.New("a message must be an object")}
		}
		var role string
		if err := json.Unmarshal(m["role"], &role); err != nil || role == "" {
			return nil, &fieldErr{field + ".role", errors.New("must be a non-empty string")}
		}
		content, ok := m["content"]
		if !ok {
			return nil, &fieldErr{field + ".content", errors.New("missing")}
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, content); err != nil {
			return nil, &fieldErr{field + ".content", err}
		}
		out = append(out, records.Message{Role: role, Content: buf.Bytes()})
	}
	return out, nil
}

// agentic generates the agentic-trace dataset (the reference's AgenticTraceDataset): the
// conversation list is rotated left by --dataset-offset (modulo its length, as Python's %), then
// each conversation with at least one round becomes one multi-turn prompt (Turns: round i is the
// i-th non-empty turn's messages, at most --agentic-max-turns rounds) until --num-prompts (0: all).
// bs-fire replays it on a chat backend, appending the server's reply after each round.
// output_len is --sharegpt-output-len (0 or unset: 220) for every round. No random numbers are drawn.
//
// prompt_len: with --compat sglang the first turn's "prompt_tokens" from the trace (the reference's
// informational value); in bs mode the token count of the first round rendered with the chat
// template (generation prompt added, special tokens not added again), what a server counts for it.
// Later rounds' lengths depend on the server's replies and are not known here.
func (g *gen) agentic() ([]records.Prompt, error) {
	o := g.opts
	if st, err := os.Stat(o.DatasetPath); err != nil || st.IsDir() {
		return nil, fmt.Errorf("agentic-trace: dataset not found at %s", o.DatasetPath)
	}
	convs, err := loadAgenticTrace(o.DatasetPath)
	if err != nil {
		return nil, err
	}
	off := ((o.DatasetOffset % len(convs)) + len(convs)) % len(convs)
	convs = append(convs[off:], convs[:off]...)
	outputLen := agenticDefaultOutputLen
	if o.SharegptOutputLen != nil && *o.SharegptOutputLen != 0 {
		outputLen = *o.SharegptOutputLen
	}
	var out []records.Prompt
	var from []agenticConversation
	empty := 0
	for _, c := range convs {
		if o.NumPrompts > 0 && len(out) >= o.NumPrompts {
			break
		}
		rounds := c.rounds
		if m := o.AgenticMaxTurns; m != nil && *m > 0 && len(rounds) > *m {
			rounds = rounds[:*m]
		}
		if len(rounds) == 0 {
			empty++
			continue
		}
		out = append(out, records.Prompt{Turns: rounds, PromptLen: c.promptTokens, OutputLen: outputLen})
		from = append(from, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("agentic-trace: no usable conversations loaded from %s", o.DatasetPath)
	}
	if o.exact() {
		if g.chat == nil {
			return nil, fmt.Errorf("agentic-trace: %w (needed to count the first round's tokens; --compat sglang takes prompt_tokens from the trace)", ErrNoChatTemplate)
		}
		err := parallelFor(o.Workers, len(out), func(i int) error {
			s, err := g.chat(out[i].Turns[0], true)
			if err != nil {
				return fmt.Errorf("%s:%d: conversations[%d]: chat template: %w", o.DatasetPath, from[i].line, from[i].index, err)
			}
			out[i].PromptLen = len(g.tok.Encode(s, false))
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if empty > 0 {
		g.logf("Skipped %d conversations without messages\n", empty)
	}
	minT, maxT, sumT := len(out[0].Turns), 0, 0
	for _, p := range out {
		minT, maxT, sumT = min(minT, len(p.Turns)), max(maxT, len(p.Turns)), sumT+len(p.Turns)
	}
	g.logf("#Conversations: %d (offset=%d, turns/conv min=%d max=%d avg=%.1f)\n#Output tokens per turn: %d\n",
		len(out), off, minT, maxT, float64(sumT)/float64(len(out)), outputLen)
	return out, nil
}
