package datasets

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/bsbench/bs/pkg/records"
)

// longbenchTestExample returns example i of the LongBench-v2 test files: the context grows with i.
func longbenchTestExample(i int) map[string]string {
	return map[string]string{
		"_id": fmt.Sprint("id", i), "domain": "test",
		"context":  "ctx" + itoa(i) + strings.Repeat(" hello world", 2*i+1),
		"question": "q" + itoa(i) + "?", "choice_A": "a" + itoa(i), "choice_B": "b" + itoa(i),
		"choice_C": "c" + itoa(i), "choice_D": "d" + itoa(i), "answer": "A",
	}
}

func longbenchTestPrompt(i int) string {
	e := longbenchTestExample(i)
	return e["context"] + "\n\nQuestion: " + e["question"] + "\nA. " + e["choice_A"] + "\nB. " + e["choice_B"] +
		"\nC. " + e["choice_C"] + "\nD. " + e["choice_D"] + "\nAnswer:"
}

type longbenchPQ struct {
	ID       string  `parquet:"_id"`
	Context  *string `parquet:"context,optional"`
	Question *string `parquet:"question,optional"`
	ChoiceA  *string `parquet:"choice_A,optional"`
	ChoiceB  *string `parquet:"choice_B,optional"`
	ChoiceC  *string `parquet:"choice_C,optional"`
	ChoiceD  *string `parquet:"choice_D,optional"`
}

func writeParquet[T any](t *testing.T, path string, rows []T) {
	t.Helper()
	f, err := os.Create(path)
	must(err)
	w := parquet.NewGenericWriter[T](f)
	_, err = w.Write(rows)
	must(err)
	must(w.Close())
	must(f.Close())
}

func ptr(s string) *string { return &s }

// TestLongBenchV2: the same five examples as JSONL, a JSON list and parquet give the same prompts:
// random.shuffle(seed 42) of 5 = [3 1 2 4 0], the first --num-prompts kept, the reference's prompt
// format, prompt_len with special tokens, output_len 10 or --sharegpt-output-len, context pruning.
func TestLongBenchV2(t *testing.T) {
	dir := t.TempDir()
	tok := newFakeTok(true)
	var jl bytes.Buffer
	var list []map[string]string
	var pq []longbenchPQ
	for i := 0; i < 5; i++ {
		e := longbenchTestExample(i)
		b, _ := json.Marshal(e)
		jl.Write(b)
		jl.WriteString("\n\n") // blank lines are skipped
		list = append(list, e)
		pq = append(pq, longbenchPQ{ID: e["_id"], Context: ptr(e["context"]), Question: ptr(e["question"]),
			ChoiceA: ptr(e["choice_A"]), ChoiceB: ptr(e["choice_B"]), ChoiceC: ptr(e["choice_C"]), ChoiceD: ptr(e["choice_D"])})
	}
	jsonl := writeFile(t, dir, "lb.jsonl", jl.String())
	lb, _ := json.MarshalIndent(list, "", " ")
	jsonList := writeFile(t, dir, "data.json", string(lb))
	pqPath := filepath.Join(dir, "lb.parquet")
	writeParquet(t, pqPath, pq)

	if got := longbenchTestPrompt(1); got != "ctx1 hello world hello world hello world\n\nQuestion: q1?\nA. a1\nB. b1\nC. c1\nD. d1\nAnswer:" {
		t.Fatalf("test prompt %q", got)
	}
	o := DefaultOptions()
	o.Dataset = LongBenchV2
	o.NumPrompts = 3
	var first []byte
	for _, path := range []string{jsonl, jsonList, pqPath} {
		for _, compat := range []string{CompatBS, CompatSGLang} {
			o.DatasetPath, o.Compat = path, compat
			ps := mustGen(t, o, tok, nil)
			if len(ps) != 3 {
				t.Fatalf("%s: %d prompts", path, len(ps))
			}
			for k, i := range []int{3, 1, 2} {
				want := longbenchTestPrompt(i)
				if ps[k].Text != want || ps[k].PromptLen != len(tok.Encode(want, true)) || ps[k].OutputLen != 10 || ps[k].ID != k {
					t.Fatalf("%s %s prompt %d: %q len %d out %d", path, compat, k, ps[k].Text, ps[k].PromptLen, ps[k].OutputLen)
				}
			}
			b := encodeAll(t, ps)
			if first == nil {
				first = b
			} else if !bytes.Equal(b, first) {
				t.Fatalf("%s %s: prompts differ from the JSONL file's", path, compat)
			}
		}
	}

	// Fixed output length and context pruning: examples 3 and 4 do not fit, so 1, 2, 0 remain.
	out, ctx := 4, len(tok.Encode(longbenchTestPrompt(2), true))+4
	o.SharegptOutputLen, o.SharegptContextLen = &out, &ctx
	o.NumPrompts = 10
	o.DatasetPath = jsonl
	ps := mustGen(t, o, tok, nil)
	if len(ps) != 3 || ps[0].Text != longbenchTestPrompt(1) || ps[1].Text != longbenchTestPrompt(2) ||
		ps[2].Text != longbenchTestPrompt(0) || ps[0].OutputLen != 4 {
		t.Fatalf("pruned: %d prompts %+v", len(ps), ps)
	}
	tiny := 1
	o.SharegptContextLen = &tiny
	if _, err := genWith(t, o, tok, nil); err == nil || !strings.Contains(err.Error(), "none of the 5 examples fits --sharegpt-context-len 1") {
		t.Fatalf("nothing fits: %v", err)
	}
	o.SharegptOutputLen, o.SharegptContextLen = nil, nil

	// Malformed input: file, line (or row) and field.
	good, _ := json.Marshal(longbenchTestExample(0))
	for _, c := range []struct{ line, field string }{
		{`{"context": "c", "question": "q", "choice_A": "a", "choice_B": "b", "choice_D": "d"}`, "choice_C"},
		{`{"context": "c", "question": 5, "choice_A": "a", "choice_B": "b", "choice_C": "c", "choice_D": "d"}`, "question"},
		{`{"context": null, "question": "q", "choice_A": "a", "choice_B": "b", "choice_C": "c", "choice_D": "d"}`, "context"},
		{`["not", "an", "object"]`, ""},
		{`{"context": "unterminated`, ""},
	} {
		bad := writeFile(t, dir, "bad.jsonl", string(good)+"\n"+c.line+"\n")
		o.DatasetPath = bad
		_, err := genWith(t, o, tok, nil)
		wantDecodeError(t, err, bad, 2, c.field)
	}
	badList := writeFile(t, dir, "bad.json", "[\n"+string(good)+",\n\n"+`{"context": "c", "question": "q", "choice_A": ["x"], "choice_B": "b", "choice_C": "c", "choice_D": "d"}`+"\n]")
	o.DatasetPath = badList
	_, err := genWith(t, o, tok, nil)
	wantDecodeError(t, err, badList, 4, "[1].choice_A")

	pq[1].Question = nil
	badPQ := filepath.Join(dir, "null.parquet")
	writeParquet(t, badPQ, pq)
	o.DatasetPath = badPQ
	if _, err := genWith(t, o, tok, nil); err == nil || err.Error() != badPQ+`: row 1: field "question": null` {
		t.Fatalf("null cell: %v", err)
	}
	type noChoiceD struct {
		Context, Question, ChoiceA, ChoiceB, ChoiceC string
	}
	missing := filepath.Join(dir, "missing.parquet")
	writeParquet(t, missing, []noChoiceD{{"c", "q", "a", "b", "c"}})
	o.DatasetPath = missing
	if _, err := genWith(t, o, tok, nil); err == nil || !strings.Contains(err.Error(), `field "context": column missing`) {
		t.Fatalf("missing column: %v", err) // Go field names are not the dataset's: context is the first missing
	}
	o.DatasetPath = filepath.Join(dir, "nope.jsonl")
	if _, err := genWith(t, o, tok, nil); err == nil || !strings.Contains(err.Error(), "nope.jsonl") {
		t.Fatalf("missing file: %v", err)
	}
}

// TestLongBenchV2Download: without --dataset-path the hub's data.json is downloaded into the hub
// cache layout (with the token), then used from the cache without the network, also offline.
func TestLongBenchV2Download(t *testing.T) {
	var list []map[string]string
	for i := 0; i < 3; i++ {
		list = append(list, longbenchTestExample(i))
	}
	body, _ := json.Marshal(list)
	commit := strings.Repeat("cd", 20)
	var hits atomic.Int32
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path != "/datasets/THUDM/LongBench-v2/resolve/main/data.json" || r.Header.Get("Authorization") != "Bearer tok" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("X-Repo-Commit", commit)
		w.Header().Set("Etag", `"lb2etag"`)
		w.Write(body)
	}))
	defer hub.Close()
	cache := t.TempDir()
	o := DefaultOptions()
	o.Dataset = LongBenchV2
	o.NumPrompts = 2
	tok := newFakeTok(false)
	gen := func(f *Fetcher) ([]records.Prompt, error) {
		rng, _ := NewRNG(o.Seed)
		return Generate(context.Background(), o, Env{Tok: tok, RNG: rng, Fetch: f})
	}
	ps, err := gen(&Fetcher{Endpoint: hub.URL, Token: "tok", HubCache: cache})
	if err != nil {
		t.Fatal(err)
	}
	// random.shuffle(seed 42) of 3 examples = [1 0 2].
	if len(ps) != 2 || ps[0].Text != longbenchTestPrompt(1) || ps[1].Text != longbenchTestPrompt(0) {
		t.Fatalf("%+v", ps)
	}
	snap := filepath.Join(cache, "datasets--THUDM--LongBench-v2", "snapshots", commit, "data.json")
	if b, err := os.ReadFile(snap); err != nil || !bytes.Equal(b, body) {
		t.Fatalf("cached file: %v", err)
	}
	n := hits.Load()
	ps2, err := gen(&Fetcher{Endpoint: hub.URL, HubCache: cache, Offline: true})
	if err != nil || hits.Load() != n || !bytes.Equal(encodeAll(t, ps2), encodeAll(t, ps)) {
		t.Fatalf("offline from the cache: %v (hub hits %d → %d)", err, n, hits.Load())
	}
	if _, err := gen(&Fetcher{Endpoint: hub.URL, HubCache: t.TempDir(), Offline: true}); err == nil || !strings.Contains(err.Error(), "HF_HUB_OFFLINE") {
		t.Fatalf("offline without cache: %v", err)
	}
	if _, err := gen(nil); err == nil || !strings.Contains(err.Error(), "downloads are off") {
		t.Fatalf("no fetcher: %v", err)
	}
}

const speedBenchTestFile = `{"question_id": 1, "category": "mixed", "turns": ["hello world", "second turn"]}
{"question_id": 2, "category": "low_entropy", "turns": ["abc"]}

{"question_id": 3, "category": "mixed", "turns": []}
{"question_id": 4, "category": "mixed", "turns": ["the and of"]}
{"question_id": 5, "category": "high_entropy"}
{"question_id": 6, "category": "mixed", "turns": ["xy in"]}
`

// TestSpeedBench: category filter, rows without turns passed over, the chat-templated first turn
// (ids decoded back to text), random.sample when there are enough rows, repeat + random.shuffle
// when not, and the bs-mode prompt_len (special tokens added).
func TestSpeedBench(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "speed.jsonl", speedBenchTestFile)
	tok := newFakeTok(true)
	chat := fakeChat("<s>")
	tmpl := func(s string) string { return "<s><|user|>" + s + "\n<|assistant|>" }
	o := DefaultOptions()
	o.Dataset = SpeedBench
	o.DatasetPath = path
	o.SpeedBenchOutputLen = 7
	o.SpeedBenchCategory = "mixed"
	o.NumPrompts = 2
	o.Compat = CompatSGLang
	// Unique mixed rows: hello world, the and of, xy in; random.sample(range(3), 2) with seed 42 = [2 0].
	ps := mustGen(t, o, tok, chat)
	want := []string{"xy in", "hello world"}
	if len(ps) != 2 {
		t.Fatalf("%d prompts", len(ps))
	}
	for i, p := range ps {
		text := tmpl(want[i])
		if p.Text != text || p.PromptLen != len(tok.Encode(text, false)) || p.OutputLen != 7 {
			t.Fatalf("sglang prompt %d: %q len %d out %d", i, p.Text, p.PromptLen, p.OutputLen)
		}
	}
	o.Compat = CompatBS
	ps = mustGen(t, o, tok, chat)
	for i, p := range ps {
		text := tmpl(want[i])
		if p.Text != text || p.PromptLen != len(tok.Encode(text, true)) || p.PromptLen != len(tok.Encode(text, false))+1 {
			t.Fatalf("bs prompt %d: %q len %d", i, p.Text, p.PromptLen)
		}
	}
	// No chat template: the raw turn, tokenized with special tokens (both modes).
	ps = mustGen(t, o, tok, nil)
	if ps[0].Text != "xy in" || ps[0].PromptLen != len(tok.Encode("xy in", true)) {
		t.Fatalf("no template: %q %d", ps[0].Text, ps[0].PromptLen)
	}
	// All categories: 4 unique rows; 10 prompts = the rows repeated 3 times, cut to 10 and
	// random.shuffle'd with seed 42 = [3 3 2 0 1 2 1 0 0 1].
	o.SpeedBenchCategory = ""
	o.NumPrompts = 10
	ps = mustGen(t, o, tok, nil)
	unique := []string{"hello world", "abc", "the and of", "xy in"}
	for i, k := range []int{3, 3, 2, 0, 1, 2, 1, 0, 0, 1} {
		if ps[i].Text != unique[k] || ps[i].ID != i {
			t.Fatalf("oversampled prompt %d: %q, want %q", i, ps[i].Text, unique[k])
		}
	}
	o.NumPrompts = 0
	if ps = mustGen(t, o, tok, nil); len(ps) != 0 {
		t.Fatalf("--num-prompts 0: %d prompts", len(ps))
	}

	o.NumPrompts = 2
	o.SpeedBenchCategory = "high_entropy"
	if _, err := genWith(t, o, tok, nil); err == nil || err.Error() != "speed-bench: no rows found in "+path+" for category=high_entropy" {
		t.Fatalf("empty category: %v", err)
	}
	o.SpeedBenchCategory = ""
	for _, c := range []struct{ line, field string }{
		{`{"turns": "not a list"}`, "turns"},
		{`{"turns": [5]}`, "turns[0]"},
		{`{"turns": [null, "x"]}`, "turns[0]"},
		{`[1, 2]`, ""},
		{`{"turns": `, ""},
	} {
		bad := writeFile(t, dir, "bad.jsonl", `{"turns": ["ok"]}`+"\n"+c.line+"\n")
		o.DatasetPath = bad
		_, err := genWith(t, o, tok, nil)
		wantDecodeError(t, err, bad, 2, c.field)
	}
	// A template that fails to render (not "no template") is an error in bs mode and the raw
	// turn with --compat sglang, as the reference's catch-all fallback.
	broken := func([]records.Message, bool) (string, error) { return "", fmt.Errorf("boom") }
	o.DatasetPath = path
	if _, err := genWith(t, o, tok, broken); err == nil || err.Error() != path+":1: chat template: boom" {
		t.Fatalf("broken template: %v", err)
	}
	o.Compat = CompatSGLang
	if ps = mustGen(t, o, tok, broken); ps[0].Text != "hello world" && ps[0].Text != "xy in" {
		t.Fatalf("fallback %q", ps[0].Text)
	}
	o.DatasetPath = ""
	if _, err := genWith(t, o, tok, nil); err == nil || !strings.Contains(err.Error(), "--dataset-path must point to the SPEED-Bench JSONL file") {
		t.Fatalf("no path: %v", err)
	}
}

const agenticTestFile = `{"metadata": {"source": "test"},
 "conversations": [
  [{"messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "u1", "tool_call_id": "x"}], "prompt_tokens": 100.7},
   {"messages": [{"role": "tool", "content": "t1"}], "prompt_tokens": 150},
   {"messages": []},
   {"messages": "plain string"}],
  [{"prompt_tokens": 5}, {"messages": [{"role": "user", "content": [{"type": "text", "text": "parts"}]}]}],
  [],
  [{"messages": null}],
  [{"messages": [{"role": "user", "content": "c4"}]}]
 ]}
`

func turnsJSON(ps []records.Prompt) []string {
	var out []string
	for _, p := range ps {
		b, _ := json.Marshal(p.Turns)
		out = append(out, string(b))
	}
	return out
}

// TestAgenticTrace: rounds are the non-empty turns' messages (only role and content kept, a string
// is one user message), conversations without rounds are passed over, the offset rotates the list
// (Python's modulo), --agentic-max-turns caps rounds, output_len is 220 unless set, prompt_len is
// the trace's prompt_tokens with --compat sglang and the first round's templated length in bs mode.
func TestAgenticTrace(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "trace.json", agenticTestFile)
	tok := newFakeTok(true)
	o := DefaultOptions()
	o.Dataset = AgenticTrace
	o.DatasetPath = path
	o.NumPrompts = 0
	o.Compat = CompatSGLang
	conv := map[int]string{
		0: `[[{"role":"system","content":"sys"},{"role":"user","content":"u1"}],[{"role":"tool","content":"t1"}],[{"role":"user","content":"plain string"}]]`,
		1: `[[{"role":"user","content":[{"type":"text","text":"parts"}]}]]`,
		4: `[[{"role":"user","content":"c4"}]]`,
	}
	tokens := map[int]int{0: 100, 1: 5, 4: 0}
	check := func(name string, ps []records.Prompt, order []int, outLen int) {
		t.Helper()
		got := turnsJSON(ps)
		if len(got) != len(order) {
			t.Fatalf("%s: %d prompts, want %d", name, len(got), len(order))
		}
		for i, c := range order {
			if got[i] != conv[c] || ps[i].PromptLen != tokens[c] || ps[i].OutputLen != outLen || ps[i].ID != i || ps[i].Text != "" {
				t.Fatalf("%s prompt %d: %s len %d out %d, want conversation %d", name, i, got[i], ps[i].PromptLen, ps[i].OutputLen, c)
			}
		}
	}
	check("all", mustGen(t, o, tok, nil), []int{0, 1, 4}, 220)
	o.DatasetOffset = 1
	check("offset 1", mustGen(t, o, tok, nil), []int{1, 4, 0}, 220)
	o.DatasetOffset = -1 // Python: -1 % 5 == 4
	check("offset -1", mustGen(t, o, tok, nil), []int{4, 0, 1}, 220)
	o.DatasetOffset = 11 // 11 % 5 == 1
	o.NumPrompts = 2
	check("offset 11, 2 prompts", mustGen(t, o, tok, nil), []int{1, 4}, 220)
	o.DatasetOffset, o.NumPrompts = 0, 0
	zero, nine := 0, 9
	o.SharegptOutputLen = &zero // 0 means the default, as the reference's `or`
	check("output 0", mustGen(t, o, tok, nil), []int{0, 1, 4}, 220)
	o.SharegptOutputLen = &nine
	two := 2
	o.AgenticMaxTurns = &two
	ps := mustGen(t, o, tok, nil)
	if len(ps) != 3 || len(ps[0].Turns) != 2 || turnsJSON(ps)[0] != conv[0][:strings.LastIndex(conv[0], ",[{")]+"]" || ps[0].OutputLen != 9 {
		t.Fatalf("max turns 2: %v", turnsJSON(ps))
	}
	o.AgenticMaxTurns, o.SharegptOutputLen = &zero, nil // 0: no cap
	check("max turns 0", mustGen(t, o, tok, nil), []int{0, 1, 4}, 220)
	o.AgenticMaxTurns = nil

	// bs mode: prompt_len is the first round rendered with the template, special tokens not added
	// again. The toy template cannot render content parts: an error naming the conversation.
	o.Compat = CompatBS
	_, err := genWith(t, o, tok, fakeChat("<s>"))
	if err == nil || !strings.HasPrefix(err.Error(), path+":7: conversations[1]: chat template:") {
		t.Fatalf("template error: %v", err)
	}
	if _, err := genWith(t, o, tok, nil); err == nil || !strings.Contains(err.Error(), "no chat template") {
		t.Fatalf("no template: %v", err)
	}
	o.DatasetOffset, o.NumPrompts = 4, 2 // conversations 4 and 0
	ps = mustGen(t, o, tok, fakeChat("<s>"))
	want := []string{"<s><|user|>c4\n<|assistant|>", "<s><|system|>sys\n<|user|>u1\n<|assistant|>"}
	for i, p := range ps {
		if p.PromptLen != len(tok.Encode(want[i], false)) {
			t.Fatalf("bs prompt %d: prompt_len %d, want %d", i, p.PromptLen, len(tok.Encode(want[i], false)))
		}
	}
	o.DatasetOffset, o.NumPrompts = 0, 0

	// Malformed traces: file, line of the conversation, field.
	o.Compat = CompatSGLang
	for _, c := range []struct {
		body  string
		line  int
		field string
	}{
		{"{\"conversations\": [\n [{\"messages\": [{\"content\": \"x\"}]}]]}", 2, "conversations[0][0].messages[0].role"},
		{"{\"conversations\": [\n [],\n [{\"messages\": [{\"role\": \"user\"}]}]]}", 3, "conversations[1][0].messages[0].content"},
		{"{\"conversations\": [[{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"prompt_tokens\": \"many\"}]]}", 1, "conversations[0][0].prompt_tokens"},
		{"{\"conversations\": [[{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"prompt_tokens\": -5}]]}", 1, "conversations[0][0].prompt_tokens"},
		{"{\"conversations\": [[{\"messages\": {\"role\": \"user\"}}]]}", 1, "conversations[0][0].messages"},
		{"{\"conversations\": [\n\n [\"turn\"]]}", 3, "conversations[0][0]"},
		{"{\"conversations\": [{\"a\": 1}]}", 1, "conversations[0]"},
		{"{\"conversations\": {\"a\": 1}}", 1, "conversations"},
		{"[1, 2]", 1, ""},
	} {
		bad := writeFile(t, dir, "bad.json", c.body)
		o.DatasetPath = bad
		_, err := genWith(t, o, tok, nil)
		wantDecodeError(t, err, bad, c.line, c.field)
	}
	for body, msg := range map[string]string{
		`{"metadata": {}}`:                        "no 'conversations' found",
		`{"conversations": []}`:                   "no 'conversations' found",
		`{"conversations": [[], [{"x": 1}]]}`:     "no usable conversations",
		`{"conversations": [[{"messages": ""}]]}`: "no usable conversations",
	} {
		bad := writeFile(t, dir, "empty.json", body)
		o.DatasetPath = bad
		if _, err := genWith(t, o, tok, nil); err == nil || !strings.Contains(err.Error(), msg) {
			t.Fatalf("%s: %v", body, err)
		}
	}
	o.DatasetPath = filepath.Join(dir, "absent.json")
	if _, err := genWith(t, o, tok, nil); err == nil || err.Error() != "agentic-trace: dataset not found at "+o.DatasetPath {
		t.Fatalf("absent: %v", err)
	}
	o.DatasetPath = ""
	if _, err := genWith(t, o, tok, nil); err == nil || !strings.Contains(err.Error(), "--dataset-path is required") {
		t.Fatalf("no path: %v", err)
	}
}
