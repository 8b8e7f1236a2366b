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

	"github.com/parquet-go/parquet-go"

	"github.com/bsbench/bs/pkg/records"
)

// LongBench-v2 hub location: the reference's load_dataset("THUDM/LongBench-v2", split="train")
// reads the repo's one data file, a JSON list.
const (
	LongBenchV2Repo = "THUDM/LongBench-v2"
	LongBenchV2File = "data.json"
)

// longbenchDefaultOutputLen is the reference's output length without --sharegpt-output-len
// (an answer letter and a short explanation).
const longbenchDefaultOutputLen = 10

// longbenchFields are the example fields the prompt is made of, in prompt order.
var longbenchFields = [6]string{"context", "question", "choice_A", "choice_B", "choice_C", "choice_D"}

// LongBenchExample is one LongBench-v2 question.
type LongBenchExample struct {
	// Fields holds context, question, choice_A … choice_D (longbenchFields' order).
	Fields [6]string
}

// Prompt is the reference's prompt: the context, a blank line, "Question: …", the four choices
// as "A. …" … "D. …" on their own lines, then "Answer:".
func (e *LongBenchExample) Prompt() string {
	f := &e.Fields
	var sb strings.Builder
	sb.Grow(len(f[0]) + len(f[1]) + len(f[2]) + len(f[3]) + len(f[4]) + len(f[5]) + 40)
	sb.WriteString(f[0])
	sb.WriteString("\n\nQuestion: ")
	sb.WriteString(f[1])
	for i, letter := range []string{"\nA. ", "\nB. ", "\nC. ", "\nD. "} {
		sb.WriteString(letter)
		sb.WriteString(f[2+i])
	}
	sb.WriteString("\nAnswer:")
	return sb.String()
}

// LoadLongBenchV2 reads LongBench-v2 examples in file order: a .parquet file (string columns
// context, question, choice_A … choice_D; other columns are ignored), a JSON list of example objects
// (the hub's data.json) or JSON Lines (one object per line, blank lines skipped). A missing, null or
// non-string field is an error naming the file, line or row, and field.
func LoadLongBenchV2(path string) ([]LongBenchExample, error) {
	if strings.HasSuffix(path, ".parquet") {
		return loadLongBenchParquet(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("longbench_v2 dataset: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	first, err := firstNonSpace(br)
	if err != nil {
		return nil, fmt.Errorf("longbench_v2 dataset: %s: %w", path, err)
	}
	if first == '[' {
		return loadLongBenchList(path, br)
	}
	var out []LongBenchExample
	for line := 1; ; line++ {
		b, rerr := br.ReadBytes('\n')
		if rerr != nil && rerr != io.EOF {
			return nil, fmt.Errorf("%s:%d: %w", path, line, rerr)
		}
		if b = bytes.TrimSpace(b); len(b) > 0 {
			ex, field, err := longbenchExample(b)
			if err != nil {
				return nil, &records.DecodeError{File: path, Line: line, Field: field, Err: err}
			}
			out = append(out, ex)
		}
		if rerr == io.EOF {
			return out, nil
		}
	}
}

// firstNonSpace peeks at the first non-whitespace byte without consuming anything else.
func firstNonSpace(br *bufio.Reader) (byte, error) {
	for n := 1; ; n++ {
		b, err := br.Peek(n)
		if len(b) < n {
			if err == io.EOF {
				return 0, nil
			}
			if err == bufio.ErrBufferFull {
				return 0, nil // only whitespace in the first MiB: not a JSON list
			}
			return 0, err
		}
		switch b[n-1] {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return b[n-1], nil
	}
}

// loadLongBenchList reads a JSON list of examples (the whole file is read: the hub's data.json is a
// single list). Errors name the line where the example starts.
func loadLongBenchList(path string, r io.Reader) ([]LongBenchExample, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	line, seen := 1, 0
	// lineAtOffset returns the line of the next value at or after the decoder's position.
	lineAtOffset := func() int {
		off := int(dec.InputOffset())
		for off < len(data) && strings.IndexByte(" \t\r\n,", data[off]) >= 0 {
			off++
		}
		line += bytes.Count(data[seen:off], []byte{'\n'})
		seen = off
		return line
	}
	if _, err := dec.Token(); err != nil {
		return nil, &records.DecodeError{File: path, Line: 1, Err: err}
	}
	var out []LongBenchExample
	for i := 0; dec.More(); i++ {
		at := lineAtOffset()
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, &records.DecodeError{File: path, Line: at, Field: fmt.Sprintf("[%d]", i), Err: err}
		}
		ex, field, err := longbenchExample(raw)
		if err != nil {
			return nil, &records.DecodeError{File: path, Line: at, Field: fmt.Sprintf("[%d].%s", i, field), Err: err}
		}
		out = append(out, ex)
	}
	if _, err := dec.Token(); err != nil {
		return nil, &records.DecodeError{File: path, Line: lineAtOffset(), Err: err}
	}
	return out, nil
}

// longbenchExample decodes one example object; on error it returns the field at fault.
func longbenchExample(b []byte) (LongBenchExample, string, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return LongBenchExample{}, "", errors.New("an example must be a JSON object")
		}
		return LongBenchExample{}, "", err
	}
	var ex LongBenchExample
	for i, name := range longbenchFields {
		v, ok := raw[name]
		if !ok {
			return ex, name, errors.New("missing")
		}
		if err := json.Unmarshal(v, &ex.Fields[i]); err != nil || string(v) == "null" {
			return ex, name, fmt.Errorf("must be a string, got %s", truncateJSON(v))
		}
	}
	return ex, "", nil
}

type longbenchRow struct {
	Context  *string `parquet:"context,optional"`
	Question *string `parquet:"question,optional"`
	ChoiceA  *string `parquet:"choice_A,optional"`
	ChoiceB  *string `parquet:"choice_B,optional"`
	ChoiceC  *string `parquet:"choice_C,optional"`
	ChoiceD  *string `parquet:"choice_D,optional"`
}

func loadLongBenchParquet(path string) ([]LongBenchExample, error) {
	f, pf, cols, err := openParquet("longbench_v2", path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	for _, name := range longbenchFields {
		fld, ok := cols[name]
		if !ok {
			return nil, fmt.Errorf("%s: field %q: column missing", path, name)
		}
		if !fld.Leaf() || fld.Type().Kind() != parquet.ByteArray {
			return nil, fmt.Errorf("%s: field %q: column must hold strings, has %v", path, name, fld.Type())
		}
	}
	rd := parquet.NewGenericReader[longbenchRow](pf)
	defer rd.Close()
	var out []LongBenchExample
	buf := make([]longbenchRow, 16)
	row := 0
	for {
		n, err := rd.Read(buf)
		for i := 0; i < n; i++ {
			r := &buf[i]
			var ex LongBenchExample
			for k, v := range []*string{r.Context, r.Question, r.ChoiceA, r.ChoiceB, r.ChoiceC, r.ChoiceD} {
				if v == nil {
					return nil, fmt.Errorf("%s: row %d: field %q: null", path, row, longbenchFields[k])
				}
				ex.Fields[k] = *v
			}
			out = append(out, ex)
			buf[i] = longbenchRow{}
			row++
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: row %d: %w", path, row, err)
		}
	}
}

// longbenchSource resolves the examples: --dataset-path, else the hub's data.json (downloaded
// into the hub cache, or taken from it).
func (g *gen) longbenchSource() ([]LongBenchExample, error) {
	if p := g.opts.DatasetPath; p != "" {
		return LoadLongBenchV2(p)
	}
	if g.fetch == nil {
		return nil, errors.New("longbench_v2: no --dataset-path given and downloads are off; pass a LongBench-v2 parquet, JSON or JSONL file")
	}
	p, err := g.fetch.HubFile(g.ctx, "dataset", LongBenchV2Repo, LongBenchV2File)
	if err != nil {
		return nil, err
	}
	return LoadLongBenchV2(p)
}

// longbench generates the longbench_v2 dataset (the reference's sample_longbench_v2_requests): all
// examples are shuffled with random.shuffle (Python stream), then taken in that order, each prompt
// tokenized with special tokens for prompt_len, until --num-prompts are kept. output_len is
// --sharegpt-output-len, else 10; with --sharegpt-context-len an example whose prompt_len +
// output_len exceeds it is passed over. Both modes give the same prompts.
func (g *gen) longbench() ([]records.Prompt, error) {
	o := g.opts
	exs, err := g.longbenchSource()
	if err != nil {
		return nil, err
	}
	if len(exs) == 0 {
		return nil, errors.New("longbench_v2: the dataset has no examples")
	}
	g.rng.Py.Shuffle(len(exs), func(i, j int) { exs[i], exs[j] = exs[j], exs[i] })
	outputLen := longbenchDefaultOutputLen
	if o.SharegptOutputLen != nil {
		outputLen = *o.SharegptOutputLen
	}
	n := o.NumPrompts
	out := make([]records.Prompt, 0, min(n, len(exs)))
	pruned := 0
	// Contexts are long (up to millions of characters): tokenize in small parallel batches and stop
	// as soon as enough prompts are kept.
	const batch = 16
	for start := 0; start < len(exs) && len(out) < n; start += batch {
		end := min(len(exs), start+batch)
		res := make([]records.Prompt, end-start)
		err := parallelFor(o.Workers, end-start, func(k int) error {
			text := exs[start+k].Prompt()
			res[k] = records.Prompt{Text: text, PromptLen: len(g.tok.Encode(text, true)), OutputLen: outputLen}
			return nil
		})
		if err != nil {
			return nil, err
		}
		for _, p := range res {
			if len(out) == n {
				break
			}
			if c := o.SharegptContextLen; c != nil && p.PromptLen+p.OutputLen > *c {
				pruned++
				continue
			}
			out = append(out, p)
		}
	}
	if len(out) == 0 && n > 0 {
		return nil, fmt.Errorf("longbench_v2: none of the %d examples fits --sharegpt-context-len %d with output_len %d",
			len(exs), *o.SharegptContextLen, outputLen)
	}
	if pruned > 0 {
		g.logf("Skipped %d LongBench-v2 examples longer than --sharegpt-context-len\n", pruned)
	}
	g.logf("#Input tokens: %d\n#Output tokens: %d\n", sumPromptLen(out), sumOutputLen(out))
	return out, nil
}
