package datasets

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/bsbench/bs/pkg/records"
)

// custom generates the custom dataset from --dataset-path:
//
//   - a conversation JSONL file: each line {"conversations"|"conversation": [turn0, turn1, …],
//     "image"?: path} with the turn text in "content" or "value"; pairs with at least two turns are
//     shuffled (Python stream) and turned into prompts like sharegpt's. An "image" path (relative
//     to the file's folder) makes a multimodal prompt ("<image 1>" is removed from the text).
//   - a bs-gen prompt stream (a file whose first line is a prompts header): its records are
//     returned unchanged, ids included (keepIDs), with no random draws.
//
// Unlike the reference, a line that is not valid JSON is an error, not skipped.
func (g *gen) custom() ([]records.Prompt, bool, error) {
	path := g.opts.DatasetPath
	isStream, err := isPromptStream(path)
	if err != nil {
		return nil, false, err
	}
	if isStream {
		ps, err := ReadPromptStream(path)
		return ps, true, err
	}
	if g.tok == nil {
		return nil, false, fmt.Errorf("--dataset-name custom needs a tokenizer (--tokenizer) for conversation files")
	}
	pairs, err := LoadConversations(path)
	if err != nil {
		return nil, false, err
	}
	g.rng.Py.Shuffle(len(pairs), func(i, j int) { pairs[i], pairs[j] = pairs[j], pairs[i] })
	ps, err := g.conversationPrompts(pairs, g.opts.NumPrompts)
	return ps, false, err
}

// isPromptStream reports whether the file's first non-blank line is a bs header.
func isPromptStream(path string) (bool, error) {
	rc, err := records.Open(path)
	if err != nil {
		return false, fmt.Errorf("custom dataset: %w", err)
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		line = bytes.TrimSpace(line)
		if len(line) > 0 {
			var probe struct {
				Kind string `json:"kind"`
			}
			return json.Unmarshal(line, &probe) == nil && probe.Kind == records.KindHeader, nil
		}
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("%s: %w", path, err)
		}
	}
}

// ReadPromptStream reads all prompt records of a bs-gen prompt stream (plain, .gz or .zst).
func ReadPromptStream(path string) ([]records.Prompt, error) {
	rd := records.NewReader[records.Prompt](records.StreamPrompts, path)
	defer rd.Close()
	out, err := rd.All()
	if err != nil {
		return nil, err
	}
	return out, nil
}

type customTurn struct {
	Content *json.RawMessage `json:"content"`
	Value   *json.RawMessage `json:"value"`
}

// text is the reference's turn.get("content", turn.get("value", "")).
func (t *customTurn) text() (string, string, error) {
	field, raw := "content", t.Content
	if raw == nil {
		field, raw = "value", t.Value
	}
	if raw == nil {
		return "", "", nil
	}
	var s string
	if err := json.Unmarshal(*raw, &s); err != nil {
		return "", field, errors.New("must be a string")
	}
	return s, "", nil
}

// LoadConversations reads a conversation JSONL file and returns the first two turns of each
// conversation with at least two, in file order.
func LoadConversations(path string) ([]pair, error) {
	rc, err := records.Open(path)
	if err != nil {
		return nil, fmt.Errorf("custom dataset: %w", err)
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 1<<20)
	var out []pair
	for line := 1; ; line++ {
		b, rerr := br.ReadBytes('\n')
		if rerr != nil && rerr != io.EOF {
			return nil, fmt.Errorf("%s:%d: %w", path, line, rerr)
		}
		b = bytes.TrimSpace(b)
		if len(b) > 0 {
			fail := func(field string, err error) error {
				return &records.DecodeError{File: path, Line: line, Field: field, Err: err}
			}
			var e struct {
				Conversations *[]customTurn `json:"conversations"`
				Conversation  *[]customTurn `json:"conversation"`
				Image         *string       `json:"image"`
			}
			if err := json.Unmarshal(b, &e); err != nil {
				var te *json.UnmarshalTypeError
				if errors.As(err, &te) {
					return nil, fail(te.Field, fmt.Errorf("cannot use JSON %s as %s", te.Value, te.Type))
				}
				return nil, fail("", err)
			}
			var turns []customTurn
			key := "conversations"
			switch {
			case e.Conversations != nil:
				turns = *e.Conversations
			case e.Conversation != nil:
				turns, key = *e.Conversation, "conversation"
			}
			if len(turns) >= 2 {
				var vals [2]string
				for j := 0; j < 2; j++ {
					s, field, err := turns[j].text()
					if err != nil {
						return nil, fail(fmt.Sprintf("%s[%d].%s", key, j, field), err)
					}
					vals[j] = s
				}
				p := pair{prompt: vals[0], completion: vals[1], line: line}
				if e.Image != nil && *e.Image != "" {
					p.image = *e.Image
				}
				out = append(out, p)
			}
		}
		if rerr == io.EOF {
			return out, nil
		}
	}
}

// fileExists reports whether path names an existing regular file.
func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}
