package tokenizer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/bsbench/bs/pkg/testutil"
)

// golden is the format written by scripts/gen-tokenizer-vectors.py.
type golden struct {
	Source                string `json:"source"`
	Versions              map[string]string
	VocabSize             int     `json:"vocab_size"`
	Len                   int     `json:"len"`
	NumSpecialTokensToAdd int     `json:"num_special_tokens_to_add"`
	SpecialIDs            []int   `json:"special_ids"`
	BOSToken              *string `json:"bos_token"`
	BOSTokenID            *int    `json:"bos_token_id"`
	EOSToken              *string `json:"eos_token"`
	EOSTokenID            *int    `json:"eos_token_id"`
	AddBOSToken           *bool   `json:"add_bos_token"`
	Encode                []struct {
		Text              string `json:"text"`
		IDs               []int  `json:"ids"`
		IDsNoSpecial      []int  `json:"ids_no_special"`
		Decode            string `json:"decode"`
		DecodeSkipSpecial string `json:"decode_skip_special"`
	} `json:"encode"`
	Decode []struct {
		IDs             []int  `json:"ids"`
		Text            string `json:"text"`
		TextSkipSpecial string `json:"text_skip_special"`
	} `json:"decode"`
}

func readGolden(t testing.TB, name string) golden {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("testdata/%s.json: %v", name, err)
	}
	if len(g.Encode) == 0 || len(g.Decode) == 0 {
		t.Fatalf("testdata/%s.json has no cases", name)
	}
	return g
}

var (
	sharedMu sync.Mutex
	shared   = map[string]*Tokenizer{}
)

// load returns the test tokenizer name, loaded once per test binary (loading
// takes about 0.6 s). Callers must not Close it.
func load(t testing.TB, name string) *Tokenizer {
	t.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if tk, ok := shared[name]; ok {
		return tk
	}
	tk, err := Load(testutil.Tokenizer(t, name), LoadOptions{Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	shared[name] = tk
	return tk
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func idOr(p *int) int {
	if p == nil {
		return -1
	}
	return *p
}

func TestGolden(t *testing.T) {
	for _, name := range []string{"qwen3", "llama3"} {
		t.Run(name, func(t *testing.T) {
			g := readGolden(t, name)
			tk := load(t, name)
			if got := tk.VocabSize(); got != g.VocabSize {
				t.Errorf("VocabSize = %d, want %d", got, g.VocabSize)
			}
			if got := tk.Len(); got != g.Len {
				t.Errorf("Len = %d, want %d", got, g.Len)
			}
			if got := tk.NumSpecialTokensToAdd(); got != g.NumSpecialTokensToAdd {
				t.Errorf("NumSpecialTokensToAdd = %d, want %d", got, g.NumSpecialTokensToAdd)
			}
			if got := tk.SpecialIDs(); !reflect.DeepEqual(got, g.SpecialIDs) {
				t.Errorf("SpecialIDs = %v, want %v", got, g.SpecialIDs)
			}
			if tk.BOSToken() != str(g.BOSToken) || tk.EOSToken() != str(g.EOSToken) {
				t.Errorf("BOS/EOS = %q/%q, want %q/%q", tk.BOSToken(), tk.EOSToken(), str(g.BOSToken), str(g.EOSToken))
			}
			if tk.BOSID() != idOr(g.BOSTokenID) || tk.EOSID() != idOr(g.EOSTokenID) {
				t.Errorf("BOS/EOS ids = %d/%d, want %d/%d", tk.BOSID(), tk.EOSID(), idOr(g.BOSTokenID), idOr(g.EOSTokenID))
			}
			if !reflect.DeepEqual(tk.AddBOSToken(), g.AddBOSToken) {
				t.Errorf("AddBOSToken = %v, want %v", tk.AddBOSToken(), g.AddBOSToken)
			}
			for i, c := range g.Encode {
				if got := tk.Encode(c.Text, true); !reflect.DeepEqual(got, c.IDs) {
					t.Errorf("case %d Encode(%q, true)\n got %v\nwant %v", i, c.Text, got, c.IDs)
				}
				if got := tk.Encode(c.Text, false); !reflect.DeepEqual(got, c.IDsNoSpecial) {
					t.Errorf("case %d Encode(%q, false)\n got %v\nwant %v", i, c.Text, got, c.IDsNoSpecial)
				}
				if got := tk.Decode(c.IDs, false); got != c.Decode {
					t.Errorf("case %d Decode(ids, false) = %q, want %q", i, got, c.Decode)
				}
				if got := tk.Decode(c.IDs, true); got != c.DecodeSkipSpecial {
					t.Errorf("case %d Decode(ids, true) = %q, want %q", i, got, c.DecodeSkipSpecial)
				}
			}
			for i, c := range g.Decode {
				if got := tk.Decode(c.IDs, false); got != c.Text {
					t.Errorf("decode case %d (%d ids from %d) = %q, want %q", i, len(c.IDs), c.IDs[0], got, c.Text)
				}
				if got := tk.Decode(c.IDs, true); got != c.TextSkipSpecial {
					t.Errorf("decode case %d skip special = %q, want %q", i, got, c.TextSkipSpecial)
				}
			}
		})
	}
}

func TestConfig(t *testing.T) {
	q := load(t, "qwen3")
	if q.Config().TokenizerClass != "Qwen2Tokenizer" {
		t.Errorf("qwen3 tokenizer_class = %q", q.Config().TokenizerClass)
	}
	if got := q.ChatTemplate(); len(got) < 1000 || got[:9] != "{%- if to" {
		t.Errorf("qwen3 chat template: %d bytes, starts %q", len(got), got[:min(len(got), 20)])
	}
	l := load(t, "llama3")
	want := "{% set loop_messages = messages %}"
	if got := l.ChatTemplate(); len(got) != 389 || got[:len(want)] != want {
		t.Errorf("llama3 chat template: %d bytes, starts %q", len(got), got[:min(len(got), len(want))])
	}
	if tpl, err := l.Config().Template(""); err != nil || tpl != l.ChatTemplate() {
		t.Errorf("Template(\"\") = %v", err)
	}
	if _, err := l.Config().Template("tool_use"); err == nil {
		t.Error("Template(\"tool_use\") on a model without it: want an error")
	}
}

func TestConfigForms(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("tokenizer_config.json", `{
  "chat_template": [{"name": "default", "template": "D"}, {"name": "tool_use", "template": "T"}],
  "bos_token": {"__type": "AddedToken", "content": "<s>", "special": true},
  "eos_token": "</s>",
  "add_bos_token": true
}`)
	cfg, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ChatTemplate != "D" || cfg.ChatTemplates["tool_use"] != "T" || cfg.BOSToken != "<s>" || cfg.EOSToken != "</s>" ||
		cfg.AddBOSToken == nil || !*cfg.AddBOSToken || cfg.AddEOSToken != nil {
		t.Errorf("list form: %+v", cfg)
	}
	if got := cfg.TemplateNames(); !reflect.DeepEqual(got, []string{"default", "tool_use"}) {
		t.Errorf("TemplateNames = %v", got)
	}

	// chat_template.jinja wins over tokenizer_config.json.
	write("chat_template.jinja", "J")
	write("additional_chat_templates/rag.jinja", "R")
	if cfg, err = LoadConfig(dir); err != nil {
		t.Fatal(err)
	}
	if cfg.ChatTemplate != "J" || cfg.ChatTemplates["default"] != "J" || cfg.ChatTemplates["rag"] != "R" {
		t.Errorf("jinja files: %+v", cfg)
	}

	// Errors name the file, line and field.
	write("tokenizer_config.json", "{\n  \"bos_token\": 5\n}")
	_, err = LoadConfig(dir)
	if err == nil || !strings.Contains(err.Error(), "tokenizer_config.json") || !strings.Contains(err.Error(), `"bos_token"`) {
		t.Errorf("bad bos_token: err = %v", err)
	}
	write("tokenizer_config.json", "{\n  \"eos_token\": \"x\",\n  oops\n}")
	_, err = LoadConfig(dir)
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("syntax error: err = %v", err)
	}
}

// NUL bytes go through unchanged (daulet's C-string API would cut them).
func TestNUL(t *testing.T) {
	tk := load(t, "qwen3")
	text := "a\x00b\x00\x00c"
	ids := tk.Encode(text, false)
	if len(ids) < 4 {
		t.Fatalf("Encode(%q) = %v: NUL bytes lost", text, ids)
	}
	if got := tk.Decode(ids, false); got != text {
		t.Errorf("round trip = %q, want %q", got, text)
	}
	nul := tk.Encode("\x00", false)
	if len(nul) != 1 {
		t.Fatalf("Encode(NUL) = %v", nul)
	}
	if got := tk.Decode([]int{nul[0], nul[0]}, false); got != "\x00\x00" {
		t.Errorf("Decode(NUL NUL) = %q", got)
	}
}

func TestLoadErrors(t *testing.T) {
	cache := t.TempDir()
	for _, spec := range []string{"", "./does/not/exist", "/no/such/tokenizer.json", "bad id with spaces"} {
		if _, err := Load(spec, LoadOptions{CacheDir: cache, Offline: true}); err == nil {
			t.Errorf("Load(%q): want an error", spec)
		}
	}
	_, err := Load("org/not-cached", LoadOptions{CacheDir: cache, Offline: true})
	if err == nil || !strings.Contains(err.Error(), "offline") {
		t.Errorf("offline miss: err = %v", err)
	}
	bad := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(bad, []byte(`{"model": 1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad, LoadOptions{}); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("bad tokenizer.json: err = %v", err)
	}
	empty := t.TempDir()
	if _, err := Load(empty, LoadOptions{}); err == nil || !strings.Contains(err.Error(), "no tokenizer.json") {
		t.Errorf("empty dir: err = %v", err)
	}
}

func TestClose(t *testing.T) {
	tk, err := Load(testutil.Tokenizer(t, "llama3"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := tk.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tk.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := tk.EncodeErr("x", true); err != ErrClosed {
		t.Errorf("EncodeErr after Close: %v", err)
	}
	if ids := tk.Encode("x", true); ids != nil {
		t.Errorf("Encode after Close = %v", ids)
	}
	if _, err := tk.DecodeErr([]int{1}, true); err != ErrClosed {
		t.Errorf("DecodeErr after Close: %v", err)
	}
}

func TestDecodeBadIDs(t *testing.T) {
	tk := load(t, "llama3")
	if _, err := tk.DecodeErr([]int{9906, -1}, false); err == nil || !strings.Contains(err.Error(), "index 1") {
		t.Errorf("negative id: err = %v", err)
	}
	if got := tk.Decode(nil, false); got != "" {
		t.Errorf("Decode(nil) = %q", got)
	}
}

// Many goroutines encoding and decoding at once get the same results as one
// (run with -race to check the locking).
func TestConcurrent(t *testing.T) {
	tk := load(t, "qwen3")
	g := readGolden(t, "qwen3")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for r := 0; r < 5; r++ {
				for i, c := range g.Encode {
					ids := tk.Encode(c.Text, true)
					if !reflect.DeepEqual(ids, c.IDs) {
						errs <- fmt.Errorf("worker %d case %d: %v != %v", w, i, ids, c.IDs)
						return
					}
					if s := tk.Decode(ids, false); s != c.Decode {
						errs <- fmt.Errorf("worker %d case %d decode: %q != %q", w, i, s, c.Decode)
						return
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestTokenID(t *testing.T) {
	tk := load(t, "qwen3")
	if id, ok := tk.TokenID("<|im_end|>"); !ok || id != 151645 {
		t.Fatalf("<|im_end|>: %d %v, want 151645 true", id, ok)
	}
	if _, ok := tk.TokenID("two words"); ok {
		t.Fatal("a two-token text has no single id")
	}
	if tk.FullVocabSize() != tk.Len() || tk.FullVocabSize() <= tk.VocabSize() {
		t.Fatalf("full %d len %d base %d", tk.FullVocabSize(), tk.Len(), tk.VocabSize())
	}
}
