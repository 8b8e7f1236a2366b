package datasets

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/bsbench/bs/pkg/records"
)

// assistantSuffix is what --prompt-suffix is placed before (the reference's ASSISTANT_SUFFIX).
const assistantSuffix = "Assistant:"

// pair is the first two turns of a conversation: the prompt and the completion.
type pair struct {
	prompt, completion string
	image              string // custom dataset: image path, "" if none
	line               int    // custom dataset: 1-based line in the file
}

// sharegptTurn is one turn of a ShareGPT conversation.
type sharegptTurn struct {
	From  string  `json:"from"`
	Value *string `json:"value"`
}

type sharegptEntry struct {
	Conversations *[]json.RawMessage `json:"conversations"`
	Conversation  *[]json.RawMessage `json:"conversation"`
}

// turns returns the reference's data.get("conversations", data.get("conversation", [])).
func (e *sharegptEntry) turns() []json.RawMessage {
	if e.Conversations != nil {
		return *e.Conversations
	}
	if e.Conversation != nil {
		return *e.Conversation
	}
	return nil
}

// LoadShareGPT reads a ShareGPT JSON file (a list of {"conversations": [{"from", "value"}, …]})
// and returns the (first value, second value) pairs of the conversations with at least two turns,
// in file order. It streams the file, so only the kept pairs are held in memory.
func LoadShareGPT(path string) ([]pair, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sharegpt dataset: %w", err)
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReaderSize(f, 1<<20))
	fail := func(field string, err error) error {
		return &records.DecodeError{File: path, Line: lineAt(path, dec.InputOffset()), Field: field, Err: err}
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, fail("", fmt.Errorf("not a JSON file: %w", err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, fail("", errors.New("a ShareGPT file is a JSON list of conversations"))
	}
	var out []pair
	for i := 0; dec.More(); i++ {
		var e sharegptEntry
		if err := dec.Decode(&e); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				return nil, fail(fmt.Sprintf("[%d].%s", i, te.Field), fmt.Errorf("cannot use JSON %s as %s", te.Value, te.Type))
			}
			return nil, fail(fmt.Sprintf("[%d]", i), err)
		}
		turns := e.turns()
		if len(turns) < 2 {
			continue
		}
		var vals [2]string
		for j := 0; j < 2; j++ {
			var t sharegptTurn
			if err := json.Unmarshal(turns[j], &t); err != nil || t.Value == nil {
				if err == nil {
					err = errors.New("missing")
				}
				return nil, fail(fmt.Sprintf("[%d].conversations[%d].value", i, j), err)
			}
			vals[j] = *t.Value
		}
		out = append(out, pair{prompt: vals[0], completion: vals[1]})
	}
	if _, err := dec.Token(); err != nil {
		return nil, fail("", err)
	}
	return out, nil
}

// lineAt returns the 1-based line of byte offset off in the file (for error messages).
func lineAt(path string, off int64) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n, _ := countLines(io.LimitReader(f, off))
	return n + 1
}

func countLines(r io.Reader) (int, error) {
	buf := make([]byte, 64<<10)
	n := 0
	for {
		k, err := r.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// applySuffix is the reference's --prompt-suffix rule: drop a trailing "Assistant:", append the
// suffix, then "Assistant:".
func applySuffix(prompt, suffix string) string {
	if suffix == "" {
		return prompt
	}
	return strings.TrimSuffix(prompt, assistantSuffix) + suffix + assistantSuffix
}

// conversationPrompts turns shuffled (prompt, completion) pairs into prompts the way the reference's
// sharegpt and custom loaders do: optional suffix and chat template, prompt_len and output_len from
// the tokenizer (special tokens included), pruning of pairs shorter than 2 tokens and of pairs over
// the context length, until n prompts are made. Tokenizing runs in parallel, in batches.
func (g *gen) conversationPrompts(pairs []pair, n int) ([]records.Prompt, error) {
	o := g.opts
	type result struct {
		p    records.Prompt
		keep bool
	}
	out := make([]records.Prompt, 0, min(n, len(pairs)))
	batch := 256
	for start := 0; start < len(pairs) && len(out) < n; start += batch {
		end := min(len(pairs), start+batch)
		res := make([]result, end-start)
		err := parallelFor(g.opts.Workers, end-start, func(k int) error {
			pr := pairs[start+k]
			prompt := applySuffix(pr.prompt, o.PromptSuffix)
			if o.ApplyChatTemplate {
				s, err := g.renderUser(prompt)
				if err != nil {
					return err
				}
				if bos := g.tok.BOSToken(); bos != "" {
					s = strings.ReplaceAll(s, bos, "")
				}
				prompt = s
			}
			promptLen := len(g.tok.Encode(prompt, true))
			var outputLen int
			if o.SharegptOutputLen != nil {
				outputLen = *o.SharegptOutputLen
			} else {
				outputLen = len(g.tok.Encode(pr.completion, true))
			}
			if promptLen < 2 || outputLen < 2 {
				return nil
			}
			if o.SharegptContextLen != nil && *o.SharegptContextLen != 0 && promptLen+outputLen > *o.SharegptContextLen {
				return nil
			}
			p := records.Prompt{Text: prompt, PromptLen: promptLen, OutputLen: outputLen}
			if pr.image != "" {
				if err := g.attachImage(&p, pr, prompt); err != nil {
					return err
				}
			}
			res[k] = result{p: p, keep: true}
			return nil
		})
		if err != nil {
			return nil, err
		}
		for _, r := range res {
			if len(out) == n {
				break
			}
			if r.keep {
				out = append(out, r.p)
			}
		}
	}
	g.logf("#Input tokens: %d\n#Output tokens: %d\n", sumPromptLen(out), sumOutputLen(out))
	return out, nil
}

func sumPromptLen(ps []records.Prompt) int {
	s := 0
	for i := range ps {
		s += ps[i].PromptLen
	}
	return s
}

func sumOutputLen(ps []records.Prompt) int {
	s := 0
	for i := range ps {
		s += ps[i].OutputLen
	}
	return s
}

// renderUser applies the chat template to a single user message.
func (g *gen) renderUser(text string) (string, error) {
	if g.chat == nil {
		return "", fmt.Errorf("--apply-chat-template: %w", ErrNoChatTemplate)
	}
	s, err := g.chat([]records.Message{records.TextMessage("user", text)}, true)
	if err != nil {
		return "", fmt.Errorf("chat template: %w", err)
	}
	return s, nil
}

// sharegpt generates the sharegpt dataset.
func (g *gen) sharegpt() ([]records.Prompt, error) {
	path, err := g.sharegptPath(false)
	if err != nil {
		return nil, err
	}
	pairs, err := LoadShareGPT(path)
	if err != nil {
		return nil, err
	}
	g.rng.Py.Shuffle(len(pairs), func(i, j int) { pairs[i], pairs[j] = pairs[j], pairs[i] })
	return g.conversationPrompts(pairs, g.opts.NumPrompts)
}
