package parity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/bsbench/bs/pkg/records"
)

// Words of the generated dataset files: ASCII, accents, CJK, emoji, punctuation and newlines, so
// tokenizer and JSON escaping differences would show.
var rowWords = strings.Fields("the quick brown fox jumps over a lazy dog hello world café 日本語 naïve 🙂 " +
	"abc 123 4567 !! .. , ; : ? it's don't x y z and of in er ing Assistant: <think> </think>")

// rowText is a deterministic pseudo-random text of n words (an LCG on seed), with some newlines.
func rowText(seed, n int) string {
	var sb strings.Builder
	x := uint32(seed*2654435761 + 12345)
	for i := 0; i < n; i++ {
		x = x*1664525 + 1013904223
		if i > 0 {
			if x>>28 == 0 {
				sb.WriteByte('\n')
			} else {
				sb.WriteByte(' ')
			}
		}
		sb.WriteString(rowWords[int(x>>8)%len(rowWords)])
	}
	return sb.String()
}

type lbRow struct {
	ID       string `parquet:"_id" json:"_id"`
	Domain   string `parquet:"domain" json:"domain"`
	Context  string `parquet:"context" json:"context"`
	Question string `parquet:"question" json:"question"`
	ChoiceA  string `parquet:"choice_A" json:"choice_A"`
	ChoiceB  string `parquet:"choice_B" json:"choice_B"`
	ChoiceC  string `parquet:"choice_C" json:"choice_C"`
	ChoiceD  string `parquet:"choice_D" json:"choice_D"`
	Answer   string `parquet:"answer" json:"answer"`
}

// writeDatasetFiles writes the inputs of TestDatasetRows into dir: LongBench-v2 as JSONL and
// parquet (20 examples), a SPEED-Bench JSONL (3 categories, rows without turns) and an agentic
// trace JSON (conversations with empty turns, string rounds, extra message keys, content parts).
func writeDatasetFiles(t *testing.T, dir string) (lbJSONL, lbParquet, speed, trace string) {
	t.Helper()
	var lb []lbRow
	for i := 0; i < 20; i++ {
		lb = append(lb, lbRow{ID: fmt.Sprint("ex", i), Domain: "d", Context: rowText(i, 20+i*13), Question: rowText(100+i, 8) + "?",
			ChoiceA: rowText(200+i, 3), ChoiceB: rowText(300+i, 2), ChoiceC: rowText(400+i, 4), ChoiceD: rowText(500+i, 1), Answer: "B"})
	}
	var jl bytes.Buffer
	for _, r := range lb {
		b, _ := json.Marshal(r)
		jl.Write(b)
		jl.WriteByte('\n')
	}
	lbJSONL = filepath.Join(dir, "longbench.jsonl")
	lbParquet = filepath.Join(dir, "longbench.parquet")
	must(t, os.WriteFile(lbJSONL, jl.Bytes(), 0o644))
	f, err := os.Create(lbParquet)
	must(t, err)
	w := parquet.NewGenericWriter[lbRow](f)
	_, err = w.Write(lb)
	must(t, err)
	must(t, w.Close())
	must(t, f.Close())

	var sb bytes.Buffer
	cats := []string{"low_entropy", "mixed", "high_entropy"}
	for i := 0; i < 15; i++ {
		row := map[string]any{"question_id": i, "category": cats[i%3], "turns": []string{rowText(600+i, 5+i*3), "second turn"}}
		switch i {
		case 4:
			row["turns"] = []string{}
		case 7:
			delete(row, "turns")
		}
		b, _ := json.Marshal(row)
		sb.Write(b)
		sb.WriteByte('\n')
	}
	speed = filepath.Join(dir, "speed.jsonl")
	must(t, os.WriteFile(speed, sb.Bytes(), 0o644))

	msg := func(role string, seed, n int) map[string]any {
		return map[string]any{"role": role, "content": rowText(seed, n)}
	}
	var convs [][]map[string]any
	for i := 0; i < 7; i++ {
		var turns []map[string]any
		turns = append(turns, map[string]any{"messages": []any{msg("system", 700+i, 6), msg("user", 710+i, 4+i)}, "prompt_tokens": 1000 + 37*i})
		for k := 0; k < i%4+1; k++ {
			m := msg([]string{"tool", "user"}[k%2], 800+10*i+k, 3+k)
			m["tool_call_id"] = fmt.Sprint("call_", k) // not replayed: the reference keeps role and content
			turns = append(turns, map[string]any{"messages": []any{m}, "prompt_tokens": 1100 + i*100 + k})
		}
		switch i {
		case 2:
			turns = append(turns, map[string]any{"messages": []any{}}, map[string]any{"messages": rowText(900, 4)})
		case 3:
			turns = []map[string]any{{"prompt_tokens": 5}}
		case 5:
			turns = append(turns, map[string]any{"messages": []any{map[string]any{"role": "user",
				"content": []any{map[string]any{"type": "text", "text": rowText(950, 3)}}}}})
		}
		convs = append(convs, turns)
	}
	b, _ := json.MarshalIndent(map[string]any{"metadata": map[string]any{"source": "bs parity"}, "conversations": convs}, "", " ")
	trace = filepath.Join(dir, "trace.json")
	must(t, os.WriteFile(trace, b, 0o644))
	return
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// refRow is one DatasetRow as refdriver.py's dataset op writes it.
type refRow struct {
	Prompt    json.RawMessage `json:"prompt"`
	PromptLen int             `json:"prompt_len"`
	OutputLen int             `json:"output_len"`
}

// refRounds turns a multi-turn DatasetRow prompt into the messages the reference's replay sends per
// round (_normalize_round_messages: a string is one user message; only role and content are kept).
func refRounds(t *testing.T, raw json.RawMessage) [][]records.Message {
	t.Helper()
	var rounds []json.RawMessage
	if err := json.Unmarshal(raw, &rounds); err != nil {
		t.Fatalf("reference prompt is not a list of rounds: %s", raw)
	}
	var out [][]records.Message
	for _, r := range rounds {
		var s string
		if json.Unmarshal(r, &s) == nil {
			out = append(out, []records.Message{records.TextMessage("user", s)})
			continue
		}
		var msgs []map[string]json.RawMessage
		if err := json.Unmarshal(r, &msgs); err != nil {
			t.Fatalf("reference round %s: %v", r, err)
		}
		var round []records.Message
		for _, m := range msgs {
			var role string
			json.Unmarshal(m["role"], &role)
			var c bytes.Buffer
			json.Compact(&c, m["content"])
			round = append(round, records.Message{Role: role, Content: c.Bytes()})
		}
		out = append(out, round)
	}
	return out
}

// TestDatasetRows: for longbench_v2, speed-bench and agentic-trace, the rows the reference's own
// get_dataset returns (refdriver.py's dataset op: the reference's argparse, seeds and tokenizer
// loading) and the prompts of `bs-gen --compat sglang` with the same flags and files are equal:
// same number, order, text (or per-round messages, as the reference's multi-turn replay sends
// them), prompt_len and output_len.
func TestDatasetRows(t *testing.T) {
	t.Parallel()
	needReference(t)
	reference(t)
	dir := caseDir(t, "dataset-rows")
	lbJSONL, lbParquet, speed, trace := writeDatasetFiles(t, dir)
	llama := filepath.Join(repoRoot, ".cache", "testdata", "tokenizers", "llama3")
	cases := []struct {
		name  string
		tok   string
		flags []string
	}{
		{"longbench_v2-jsonl", tokDir, []string{"--dataset-name", "longbench_v2", "--dataset-path", lbJSONL, "--num-prompts", "6", "--seed", "3"}},
		{"longbench_v2-parquet-context", tokDir, []string{"--dataset-name", "longbench_v2", "--dataset-path", lbParquet, "--num-prompts", "12",
			"--sharegpt-output-len", "6", "--sharegpt-context-len", "150", "--seed", "5"}},
		{"longbench_v2-llama3", llama, []string{"--dataset-name", "longbench_v2", "--dataset-path", lbJSONL, "--num-prompts", "30"}},
		{"speed-bench-sample", tokDir, []string{"--dataset-name", "speed-bench", "--dataset-path", speed, "--num-prompts", "7", "--seed", "9"}},
		{"speed-bench-mixed-oversample", tokDir, []string{"--dataset-name", "speed-bench", "--dataset-path", speed, "--num-prompts", "11",
			"--speed-bench-category", "mixed", "--speed-bench-output-len", "33"}},
		{"speed-bench-llama3", llama, []string{"--dataset-name", "speed-bench", "--dataset-path", speed, "--num-prompts", "5",
			"--speed-bench-category", "high_entropy", "--seed", "1"}},
		{"agentic-trace", tokDir, []string{"--dataset-name", "agentic-trace", "--dataset-path", trace}},
		{"agentic-trace-offset-cap", tokDir, []string{"--dataset-name", "agentic-trace", "--dataset-path", trace, "--num-prompts", "4",
			"--dataset-offset", "5", "--agentic-max-turns", "2", "--sharegpt-output-len", "40"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cdir := caseDir(t, "dataset-rows", c.name)
			out := filepath.Join(cdir, "ref-rows.json")
			log := filepath.Join(cdir, "ref.log")
			argv := append(append([]string{}, c.flags...), "--tokenizer", c.tok, "--model", "m")
			r := driver.do(map[string]any{"op": "dataset", "argv": argv, "out": out, "cwd": filepath.Join(cdir, "ref-cwd"), "log": log})
			if !r.OK {
				b, _ := os.ReadFile(log)
				t.Fatalf("reference %s: %s\n%s", strings.Join(argv, " "), r.Error, lastLines(string(b), 25))
			}
			b, err := os.ReadFile(out)
			must(t, err)
			var want []refRow
			must(t, json.Unmarshal(b, &want))

			bsOut := filepath.Join(cdir, "bs-prompts.jsonl")
			if _, err := runTool(cdir, "bs-gen", append([]string{"--compat", "sglang", "-q", "-o", bsOut, "--tokenizer", c.tok}, c.flags...)...); err != nil {
				t.Fatal(err)
			}
			got := readPrompts(t, bsOut)
			if len(got) != len(want) {
				t.Fatalf("bs-gen made %d prompts, the reference %d rows", len(got), len(want))
			}
			if len(got) < 3 {
				t.Fatalf("only %d rows: the case compares too little", len(got))
			}
			for i, w := range want {
				p := got[i]
				var s string
				if json.Unmarshal(w.Prompt, &s) == nil {
					if p.Text != s {
						t.Fatalf("row %d text\n got %q\nwant %q", i, p.Text, s)
					}
				} else {
					gb, _ := json.Marshal(p.Turns)
					wb, _ := json.Marshal(refRounds(t, w.Prompt))
					if !bytes.Equal(gb, wb) {
						t.Fatalf("row %d rounds\n got %s\nwant %s", i, gb, wb)
					}
				}
				if p.PromptLen != w.PromptLen || p.OutputLen != w.OutputLen {
					t.Fatalf("row %d prompt_len/output_len %d/%d, reference %d/%d", i, p.PromptLen, p.OutputLen, w.PromptLen, w.OutputLen)
				}
			}
			t.Logf("%d rows identical", len(want))
		})
	}
}

func readPrompts(t *testing.T, path string) []records.Prompt {
	t.Helper()
	rd := records.NewReader[records.Prompt](records.StreamPrompts, path)
	defer rd.Close()
	ps, err := rd.All()
	if err != nil {
		t.Fatal(err)
	}
	return ps
}
