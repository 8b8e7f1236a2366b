package datasets

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/bsbench/bs/pkg/records"
)

// MooncakeURLs are the trace files the reference downloads for each --mooncake-workload.
var MooncakeURLs = map[string]string{
	"mooncake":     "https://raw.githubusercontent.com/kvcache-ai/Mooncake/main/FAST25-release/arxiv-trace/mooncake_trace.jsonl",
	"conversation": "https://raw.githubusercontent.com/kvcache-ai/Mooncake/main/FAST25-release/traces/conversation_trace.jsonl",
	"synthetic":    "https://raw.githubusercontent.com/kvcache-ai/Mooncake/main/FAST25-release/traces/synthetic_trace.jsonl",
	"toolagent":    "https://raw.githubusercontent.com/kvcache-ai/Mooncake/main/FAST25-release/traces/toolagent_trace.jsonl",
}

// MooncakeRecord is one line of a Mooncake trace.
type MooncakeRecord struct {
	// TimestampMS is the arrival time in milliseconds.
	TimestampMS float64
	// InputLength is the trace's input length (the reference ignores it; kept for reference).
	InputLength int
	// OutputLength is the number of output tokens (256 when the line has none).
	OutputLength int
	// HashIDs are the prompt's block hash ids.
	HashIDs []int64
	line    int
}

// LoadMooncake reads the first n records (n < 0: all) of a Mooncake trace JSONL file. Blank lines
// are skipped; a malformed line is an error naming the file, line and field.
func LoadMooncake(path string, n int) ([]MooncakeRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mooncake trace: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	var out []MooncakeRecord
	line := 0
	for sc.Scan() && (n < 0 || len(out) < n) {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		fail := func(field string, err error) error {
			return &records.DecodeError{File: path, Line: line, Field: field, Err: err}
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(b, &raw); err != nil {
			return nil, fail("", err)
		}
		r := MooncakeRecord{OutputLength: 256, line: line}
		ts, ok := raw["timestamp"]
		if !ok {
			return nil, fail("timestamp", errors.New("missing"))
		}
		if err := json.Unmarshal(ts, &r.TimestampMS); err != nil {
			return nil, fail("timestamp", fmt.Errorf("not a number: %s", ts))
		}
		if v, ok := raw["input_length"]; ok {
			if err := json.Unmarshal(v, &r.InputLength); err != nil {
				return nil, fail("input_length", fmt.Errorf("not an integer: %s", v))
			}
		}
		if v, ok := raw["output_length"]; ok {
			if err := json.Unmarshal(v, &r.OutputLength); err != nil || r.OutputLength < 0 {
				return nil, fail("output_length", fmt.Errorf("not a non-negative integer: %s", v))
			}
		}
		if v, ok := raw["hash_ids"]; ok {
			if err := json.Unmarshal(v, &r.HashIDs); err != nil {
				return nil, fail("hash_ids", fmt.Errorf("not a list of integers: %s", truncateJSON(v)))
			}
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", path, line+1, err)
	}
	return out, nil
}

func truncateJSON(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}

// MooncakeBaseQuery is the reference's user query for a record: for each hash id, the decimal id
// immediately followed by "hi" repeated 128 times joined by single spaces (no separator between
// blocks), then "Tell me a story based on this context.".
func MooncakeBaseQuery(hashIDs []int64) string {
	block := strings.TrimSuffix(strings.Repeat("hi ", 128), " ")
	var sb strings.Builder
	for _, h := range hashIDs {
		sb.WriteString(strconv.FormatInt(h, 10))
		sb.WriteString(block)
	}
	sb.WriteString("Tell me a story based on this context.")
	return sb.String()
}

// mooncake generates the mooncake dataset: the first --num-prompts trace records, sorted by
// timestamp (stable), each a session of --mooncake-num-rounds prompts, as the reference's trace
// scheduler builds them: round i appends "Round i: {query}" to the history, renders it with the
// chat template (fallback: "role: content" lines), prompt_len is its token count (special tokens
// included), output_len the trace's output_length; then a placeholder assistant reply of "story"
// repeated output_len times is appended. TimestampMS is the trace timestamp times
// --mooncake-slowdown-factor; Session is the session's index in timestamp order; Round is 1-based.
func (g *gen) mooncake() ([]records.Prompt, error) {
	o := g.opts
	path := o.DatasetPath
	if path == "" {
		path = filepath.Join(g.tmpDir(), o.MooncakeWorkload+"_trace.jsonl")
		if _, err := os.Stat(path); err != nil {
			if g.fetch == nil {
				return nil, fmt.Errorf("mooncake trace %s is not there and downloads are off; pass --dataset-path", path)
			}
			if err := g.fetch.URL(g.ctx, MooncakeURLs[o.MooncakeWorkload], path); err != nil {
				return nil, err
			}
		}
	}
	recs, err := LoadMooncake(path, o.NumPrompts)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].TimestampMS < recs[j].TimestampMS })
	R := o.MooncakeNumRounds
	out := make([]records.Prompt, len(recs)*R)
	err = parallelFor(o.Workers, len(recs), func(s int) error {
		r := recs[s]
		base := MooncakeBaseQuery(r.HashIDs)
		ts := r.TimestampMS * o.MooncakeSlowdownFactor
		var history []records.Message
		for i := 0; i < R; i++ {
			history = append(history, records.TextMessage("user", fmt.Sprintf("Round %d: %s", i+1, base)))
			text := g.renderHistory(history)
			tsCopy := ts
			out[s*R+i] = records.Prompt{
				Text:        text,
				PromptLen:   len(g.tok.Encode(text, true)),
				OutputLen:   r.OutputLength,
				TimestampMS: &tsCopy,
				Session:     strconv.Itoa(s),
				Round:       i + 1,
			}
			history = append(history, records.TextMessage("assistant",
				strings.TrimSuffix(strings.Repeat("story ", r.OutputLength), " ")))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// renderHistory applies the chat template (with the generation prompt) or, when there is none or
// it fails, joins "role: content" lines as the reference's fallback does.
func (g *gen) renderHistory(msgs []records.Message) string {
	if g.chat != nil {
		if s, err := g.chat(msgs, true); err == nil {
			return s
		}
	}
	lines := make([]string, len(msgs))
	for i, m := range msgs {
		var c string
		_ = json.Unmarshal(m.Content, &c)
		lines[i] = m.Role + ": " + c
	}
	return strings.Join(lines, "\n")
}
