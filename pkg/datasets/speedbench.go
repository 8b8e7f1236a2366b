package datasets

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/bsbench/bs/pkg/records"
)

// speedBenchRow is a usable line of a SPEED-Bench JSONL file: its first turn and where it was.
type speedBenchRow struct {
	text string
	line int
}

// loadSpeedBench reads the first user turn of every line of a SPEED-Bench JSONL file whose
// "category" equals category ("" for all), in file order. Lines whose "turns" is missing, null or
// empty are passed over, as in the reference, and counted in skipped. A line that is not a JSON
// object, "turns" that is not a list, or a first turn that is not a string is an error naming the
// file, line and field.
func loadSpeedBench(path, category string) (rows []speedBenchRow, skipped int, err error) {
	rc, err := records.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("speed-bench dataset: %w", err)
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 1<<20)
	for line := 1; ; line++ {
		b, rerr := br.ReadBytes('\n')
		if rerr != nil && rerr != io.EOF {
			return nil, 0, fmt.Errorf("%s:%d: %w", path, line, rerr)
		}
		if b = bytes.TrimSpace(b); len(b) > 0 {
			text, use, field, err := speedBenchLine(b, category)
			switch {
			case err != nil:
				return nil, 0, &records.DecodeError{File: path, Line: line, Field: field, Err: err}
			case use:
				rows = append(rows, speedBenchRow{text: text, line: line})
			case field == "turns":
				skipped++
			}
		}
		if rerr == io.EOF {
			return rows, skipped, nil
		}
	}
}

// speedBenchLine decodes one line: its first turn and whether to use it. A line of another
// category is not used (field ""); one without turns is not used with field "turns".
func speedBenchLine(b []byte, category string) (text string, use bool, field string, err error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			err = errors.New("a line must be a JSON object")
		}
		return "", false, "", err
	}
	var cat string
	if category != "" && (json.Unmarshal(raw["category"], &cat) != nil || cat != category) {
		return "", false, "", nil
	}
	t, ok := raw["turns"]
	if !ok || string(t) == "null" {
		return "", false, "turns", nil
	}
	var turns []json.RawMessage
	if err := json.Unmarshal(t, &turns); err != nil {
		return "", false, "turns", fmt.Errorf("must be a list of strings, got %s", truncateJSON(t))
	}
	if len(turns) == 0 {
		return "", false, "turns", nil
	}
	if err := json.Unmarshal(turns[0], &text); err != nil || string(turns[0]) == "null" {
		return "", false, "turns[0]", fmt.Errorf("must be a string, got %s", truncateJSON(turns[0]))
	}
	return text, true, "", nil
}

// speedBench generates the speed-bench dataset (the reference's SpeedBenchDataset): each row's first
// turn becomes one user message rendered with the chat template (generation prompt added) and
// tokenized without adding special tokens; the prompt is those ids decoded back to text, and
// prompt_len is their number. Without a chat template the prompt is the turn itself and prompt_len
// its token count with special tokens. output_len is --speed-bench-output-len. When --num-prompts
// is at most the number of rows, random.sample picks that many (in sampled order); otherwise the
// rows are repeated num_prompts // rows + 1 times, cut to num_prompts and random.shuffle'd.
//
// In bs mode prompt_len is what a server counts for the prompt text (Encode with special tokens:
// Llama 3's BOS in front of the template's own), and a chat template that fails to render is an
// error (the reference falls back to the raw turn for any template error).
func (g *gen) speedBench() ([]records.Prompt, error) {
	o := g.opts
	rows, skipped, err := loadSpeedBench(o.DatasetPath, o.SpeedBenchCategory)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		msg := "speed-bench: no rows found in " + o.DatasetPath
		if o.SpeedBenchCategory != "" {
			msg += " for category=" + o.SpeedBenchCategory
		}
		return nil, errors.New(msg)
	}
	if skipped > 0 {
		g.logf("Skipped %d SPEED-Bench rows without turns\n", skipped)
	}
	unique := make([]records.Prompt, len(rows))
	err = parallelFor(o.Workers, len(rows), func(i int) error {
		text := rows[i].text
		p := &unique[i]
		p.OutputLen = o.SpeedBenchOutputLen
		var tmplErr error = ErrNoChatTemplate
		if g.chat != nil {
			var s string
			if s, tmplErr = g.chat([]records.Message{records.TextMessage("user", text)}, true); tmplErr == nil {
				ids := g.tok.Encode(s, false)
				p.Text = g.tok.Decode(ids, false)
				p.PromptLen = len(ids)
			}
		}
		if tmplErr != nil {
			if o.exact() && !errors.Is(tmplErr, ErrNoChatTemplate) {
				return fmt.Errorf("%s:%d: chat template: %w", o.DatasetPath, rows[i].line, tmplErr)
			}
			p.Text = text
			p.PromptLen = len(g.tok.Encode(text, true))
		}
		if o.exact() {
			p.PromptLen = len(g.tok.Encode(p.Text, true))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	n := o.NumPrompts
	var out []records.Prompt
	if n <= len(unique) {
		out = make([]records.Prompt, n)
		for i, k := range g.rng.Py.Sample(len(unique), n) {
			out[i] = unique[k]
		}
	} else {
		out = make([]records.Prompt, n)
		for i := range out {
			out[i] = unique[i%len(unique)]
		}
		g.rng.Py.Shuffle(n, func(i, j int) { out[i], out[j] = out[j], out[i] })
	}
	g.logf("Loaded %d SPEED-Bench prompts (%d unique)\n#Input tokens: %d\n#Output tokens: %d\n",
		len(out), len(unique), sumPromptLen(out), sumOutputLen(out))
	return out, nil
}
