package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bsbench/bs/pkg/records"
	"github.com/bsbench/bs/pkg/testutil"
)

func TestNormalizeArgs(t *testing.T) {
	got := normalizeArgs([]string{"--lora-name", "x", "--seed", "1", "--lora-name", "a", "b", "c", "--num-prompts", "3",
		"--dataset-offset", "-3", "--seed", "-1.5e2", "-q", "-o", "-"})
	want := []string{"--seed", "1", "--num-prompts", "3", "--dataset-offset=-3", "--seed=-1.5e2", "-q", "-o", "-",
		"--lora-name=a", "--lora-name=b", "--lora-name=c"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q", got)
	}
}

// TestReferenceFlagsAccepted parses every dataset flag of the reference (and the argparse
// abbreviations users type) and checks where the values land.
func TestReferenceFlagsAccepted(t *testing.T) {
	c, _, err := parse(strings.Fields(`--dataset-name generated-shared-prefix --dataset-path x.json --num-prompts 7
		--seed 3 --tokenizer tok --model m --apply-chat-template --prompt-suffix S --tokenize-prompt
		--sharegpt-output-len 9 --sharegpt-context-len 99 --random-input 11 --random-output 12 --random-range-ratio 0.5
		--image-count 2 --random-image-count --image-resolution 720p --image-format png --image-content blank
		--gsp-num-groups 2 --gsp-prompts-per-group 3 --gsp-system-prompt-len 4 --gsp-question-len 5 --gsp-output-len 6
		--gsp-range-ratio 0.7 --gsp-fast-prepare --gsp-send-routing-key --gsp-num-turns 1 --gsp-ordered
		--gsp-group-distribution zipf --gsp-zipf-alpha 1.1 --mooncake-slowdown-factor 2 --mooncake-num-rounds 3
		--mooncake-workload toolagent --lora-name a b --lora-request-distribution skewed --lora-zipf-alpha 2
		--dataset-offset 1 --agentic-max-turns 2 --speed-bench-category mixed --speed-bench-output-len 5 --backend sglang-oai-chat`))
	if err != nil {
		t.Fatal(err)
	}
	if c.RandomInputLen != 11 || c.RandomOutputLen != 12 || *c.SharegptOutputLen != 9 || *c.GSPZipfAlpha != 1.1 ||
		!reflect.DeepEqual(c.LoraName, []string{"a", "b"}) || c.MooncakeNumRounds != 3 || c.ImageFormat != "png" {
		t.Fatalf("%+v", c)
	}
	o, err := c.options()
	if err != nil {
		t.Fatal(err)
	}
	if o.GSP.NumGroups != 2 || !o.GSP.Ordered || o.GSP.GroupDistribution != "zipf" || o.LoraDistribution != "skewed" {
		t.Fatalf("%+v", o)
	}
	c, _, err = parse([]string{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Seed != 42 || c.NumPrompts != 1000 || c.DatasetName != "sharegpt" || c.RandomInputLen != 1024 || c.GSPRangeRatio != 1 || c.Compat != "bs" {
		t.Fatalf("defaults %+v", c)
	}
	for _, bad := range [][]string{{"--dataset-name", "nope"}, {"--gsp-group-distribution", "x"}, {"--compat", "vllm"}} {
		if _, _, err := parse(bad); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
	c, _, _ = parse(strings.Fields(`--dataset-name speed-bench --dataset-path s.jsonl --speed-bench-category mixed
		--speed-bench-output-len 5`))
	o, err = c.options()
	if err != nil || o.Dataset != "speed-bench" || o.SpeedBenchCategory != "mixed" || o.SpeedBenchOutputLen != 5 {
		t.Fatalf("speed-bench: %+v %v", o, err)
	}
	c, _, _ = parse([]string{"--dataset-name", "speed-bench"})
	if _, err := c.options(); err == nil || !strings.Contains(err.Error(), "--dataset-path must point to the SPEED-Bench JSONL file") {
		t.Fatalf("speed-bench without a path: %v", err)
	}
	c, _, _ = parse(strings.Fields(`--dataset-name agentic-trace --dataset-path t.json --dataset-offset -3 --agentic-max-turns 2
		--sharegpt-output-len 7`))
	o, err = c.options()
	if err != nil || o.DatasetOffset != -3 || *o.AgenticMaxTurns != 2 || *o.SharegptOutputLen != 7 {
		t.Fatalf("agentic-trace: %+v %v", o, err)
	}
	c, _, _ = parse(strings.Fields(`--dataset-name agentic-trace --dataset-path t.json --agentic-max-turns=-1`))
	if _, err := c.options(); err == nil || !strings.Contains(err.Error(), "--agentic-max-turns -1") {
		t.Fatalf("negative max turns: %v", err)
	}
	c, _, _ = parse(strings.Fields(`--dataset-name longbench_v2 --sharegpt-output-len 3 --sharegpt-context-len 100`))
	o, err = c.options()
	if err != nil || o.Dataset != "longbench_v2" || o.DatasetPath != "" || *o.SharegptOutputLen != 3 || *o.SharegptContextLen != 100 {
		t.Fatalf("longbench_v2: %+v %v", o, err)
	}
}

func runArgs(t *testing.T, args ...string) error {
	t.Helper()
	c, _, err := parse(args)
	if err != nil {
		t.Fatal(err)
	}
	return run(context.Background(), c, args, io.Discard)
}

func readStream(t *testing.T, path string) (records.Header, []records.Prompt) {
	t.Helper()
	rd := records.NewReader[records.Prompt](records.StreamPrompts, path)
	defer rd.Close()
	ps, err := rd.All()
	if err != nil {
		t.Fatal(err)
	}
	if len(rd.Headers()) != 1 {
		t.Fatalf("%d headers", len(rd.Headers()))
	}
	return rd.Headers()[0], ps
}

// TestReproducibleOutput: same flags and seed give byte-identical files (compressed too), the
// header says how the stream was made, and the prompts are exact-length.
func TestReproducibleOutput(t *testing.T) {
	tok := testutil.Tokenizer(t, "llama3")
	// The header records the arguments (the output name too): run twice in the same place.
	dir := t.TempDir()
	var files [][]byte
	for i := 0; i < 2; i++ {
		out := filepath.Join(dir, "p.jsonl.zst")
		if err := runArgs(t, "--dataset-name", "random-ids", "--tokenizer", tok, "--num-prompts", "40",
			"--random-input-len", "100", "--random-output-len", "10", "--lora-name", "a", "b", "--seed", "5", "-o", out); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, b)
		h, ps := readStream(t, out)
		if h.Stream != records.StreamPrompts || h.Tool != "bs-gen" || h.Seed == nil || *h.Seed != 5 ||
			h.Dataset != "random-ids" || h.Tokenizer != tok || h.StartTime != nil || len(h.Args) == 0 {
			t.Fatalf("header %+v", h)
		}
		if len(ps) != 40 || ps[0].Lora == "" {
			t.Fatalf("%d prompts, lora %q", len(ps), ps[0].Lora)
		}
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Fatal("two runs with the same flags differ")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("leftover files: %v", ents)
	}
}

// TestBadInputWritesNothing: a malformed input line fails with file, line and field, and leaves
// no output file (nor temporary file) and nothing on standard output.
func TestBadInputWritesNothing(t *testing.T) {
	tok := testutil.Tokenizer(t, "qwen3")
	dir := t.TempDir()
	in := filepath.Join(dir, "conv.jsonl")
	body := `{"conversations": [{"content": "hello there"}, {"content": "fine"}]}` + "\n" +
		`{"conversations": [{"content": "x"}, {"content": ["not", "a", "string"]}]}` + "\n"
	if err := os.WriteFile(in, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.jsonl")
	err := runArgs(t, "--dataset-name", "custom", "--dataset-path", in, "--tokenizer", tok, "-o", out)
	if err == nil || !strings.Contains(err.Error(), in+":2:") || !strings.Contains(err.Error(), "conversations[1].content") {
		t.Fatalf("error %v", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("files after a failed run: %v", ents)
	}
	// Standard output stays empty too.
	r, w, _ := os.Pipe()
	saved := os.Stdout
	os.Stdout = w
	err = runArgs(t, "--dataset-name", "custom", "--dataset-path", in, "--tokenizer", tok)
	os.Stdout = saved
	w.Close()
	got, _ := io.ReadAll(r)
	if err == nil || len(got) != 0 {
		t.Fatalf("stdout %q, err %v", got, err)
	}
}

// TestNewerDatasetsStream: speed-bench and agentic-trace through the command with the real Qwen3
// tokenizer and chat template; the stream decodes with the prompt shapes bs-fire sends. Lengths
// were checked against transformers 5.19's apply_chat_template.
func TestNewerDatasetsStream(t *testing.T) {
	tok := testutil.Tokenizer(t, "qwen3")
	dir := t.TempDir()
	speed := filepath.Join(dir, "speed.jsonl")
	trace := filepath.Join(dir, "trace.json")
	if err := os.WriteFile(speed, []byte(`{"category": "mixed", "turns": ["Say hi."]}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(trace, []byte(`{"conversations": [[
		{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Fix the bug."}], "prompt_tokens": 900},
		{"messages": [{"role": "tool", "content": "ok", "tool_call_id": "c1"}]}]]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "speed-out.jsonl")
	if err := runArgs(t, "--dataset-name", "speed-bench", "--dataset-path", speed, "--tokenizer", tok, "--num-prompts", "2", "-o", out); err != nil {
		t.Fatal(err)
	}
	h, ps := readStream(t, out)
	want := "<|im_start|>user\nSay hi.<|im_end|>\n<|im_start|>assistant\n"
	if h.Dataset != "speed-bench" || len(ps) != 2 || ps[0].Text != want || ps[1].Text != want || ps[0].OutputLen != 512 || ps[0].PromptLen != 11 {
		t.Fatalf("speed-bench: %+v", ps)
	}
	for _, compat := range []string{"bs", "sglang"} {
		out = filepath.Join(dir, "agentic-"+compat+".jsonl")
		if err := runArgs(t, "--dataset-name", "agentic-trace", "--dataset-path", trace, "--tokenizer", tok, "--compat", compat, "-o", out); err != nil {
			t.Fatal(err)
		}
		_, ps = readStream(t, out)
		if len(ps) != 1 || len(ps[0].Turns) != 2 || ps[0].Text != "" || ps[0].OutputLen != 220 ||
			string(ps[0].Turns[1][0].Content) != `"ok"` || ps[0].Turns[1][0].Role != "tool" {
			t.Fatalf("agentic-trace %s: %+v", compat, ps)
		}
		// bs: "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nFix the bug.<|im_end|>\n<|im_start|>assistant\n"
		// is 20 tokens (transformers 5.19); sglang: the trace's prompt_tokens.
		if wantLen := map[string]int{"bs": 20, "sglang": 900}[compat]; ps[0].PromptLen != wantLen {
			t.Fatalf("agentic-trace %s: prompt_len %d, want %d", compat, ps[0].PromptLen, wantLen)
		}
	}
}
