package chattmpl

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bsbench/bs/pkg/records"
	"github.com/bsbench/bs/pkg/testutil"
)

// goldenFile is the format written by scripts/gen-chattmpl-vectors.py.
type goldenFile struct {
	TemplateSHA256 string            `json:"template_sha256"`
	Context        map[string]string `json:"context"`
	Now            string            `json:"now"`
	Cases          []struct {
		Name                string         `json:"name"`
		Template            string         `json:"template"`
		Messages            []Message      `json:"messages"`
		AddGenerationPrompt bool           `json:"add_generation_prompt"`
		Extra               map[string]any `json:"extra"`
		Expected            string         `json:"expected"`
	} `json:"cases"`
}

func readGolden(t *testing.T, name string) goldenFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var g goldenFile
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("testdata/%s.json: %v", name, err)
	}
	if len(g.Cases) == 0 {
		t.Fatalf("testdata/%s.json has no cases", name)
	}
	return g
}

// modelTemplate reads the chat_template string of a test tokenizer.
func modelTemplate(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join(testutil.Tokenizer(t, name), "tokenizer_config.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ChatTemplate string `json:"chat_template"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cfg.ChatTemplate
}

func TestGoldenModels(t *testing.T) {
	for _, name := range []string{"qwen3", "llama3"} {
		t.Run(name, func(t *testing.T) {
			g := readGolden(t, name)
			tmpl := modelTemplate(t, name)
			sum := sha256.Sum256([]byte(tmpl))
			if hex.EncodeToString(sum[:]) != g.TemplateSHA256 {
				t.Fatalf("the %s chat template differs from the one the golden file was made from; rerun scripts/gen-chattmpl-vectors.py", name)
			}
			for _, c := range g.Cases {
				extra := map[string]any{}
				for k, v := range g.Context {
					extra[k] = v
				}
				for k, v := range c.Extra {
					extra[k] = v
				}
				got, err := Render(tmpl, c.Messages, c.AddGenerationPrompt, extra)
				if err != nil {
					t.Errorf("%s: %v", c.Name, err)
					continue
				}
				if got != c.Expected {
					t.Errorf("%s:\n got %q\nwant %q", c.Name, got, c.Expected)
				}
			}
		})
	}
}

func TestGoldenCustom(t *testing.T) {
	g := readGolden(t, "custom")
	now, err := time.Parse("2006-01-02T15:04:05", g.Now)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range g.Cases {
		extra := map[string]any{StrftimeKey: now}
		for k, v := range c.Extra {
			extra[k] = v
		}
		got, err := Render(c.Template, c.Messages, c.AddGenerationPrompt, extra)
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		if got != c.Expected {
			t.Errorf("%s:\n got %q\nwant %q", c.Name, got, c.Expected)
		}
	}
}

func TestStrftime(t *testing.T) {
	tm := time.Date(2024, 7, 6, 0, 3, 9, 0, time.UTC)
	for _, c := range []struct{ f, want string }{
		{"%d %b %Y", "06 Jul 2024"},
		{"%-d %B %Y", "6 July 2024"},
		{"%a %A %e|%j|%y", "Sat Saturday  6|188|24"},
		{"%I:%M %p", "12:03 AM"},
		{"%F %T", "2024-07-06 00:03:09"},
		{"100%% %Q %", "100% %Q %"},
	} {
		if got := Strftime(tm, c.f); got != c.want {
			t.Errorf("Strftime(%q) = %q, want %q", c.f, got, c.want)
		}
	}
	got, err := Render("{{ strftime_now('%Y') }}", nil, false, map[string]any{StrftimeKey: func(f string) string { return "custom:" + f }})
	if err != nil || got != "custom:%Y" {
		t.Errorf("custom strftime: %q, %v", got, err)
	}
}

func TestErrors(t *testing.T) {
	msgs := []Message{{Role: "user", Content: "hi"}}
	cases := []struct {
		name, tmpl string
		extra      map[string]any
		want       string
	}{
		{"empty", "  ", nil, "empty"},
		{"syntax", "{% if x %}unterminated", nil, "chat template"},
		{"raise", "{{ raise_exception('Conversation roles must alternate') }}", nil, "Conversation roles must alternate"},
		{"bad extra", "x", map[string]any{"messages": 1}, `"messages"`},
		{"bad clock", "x", map[string]any{StrftimeKey: 5}, "time.Time"},
		{"strftime args", "{{ strftime_now() }}", nil, "strftime_now"},
	}
	for _, c := range cases {
		_, err := Render(c.tmpl, msgs, true, c.extra)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %q", c.name, err, c.want)
		}
	}
	if err := Validate("{% for %}"); err == nil {
		t.Error("Validate: want a syntax error")
	}
}

// Render never panics, whatever the template: every prefix of a real
// template (most are broken) either renders or returns an error.
func TestNoPanic(t *testing.T) {
	tmpl := modelTemplate(t, "qwen3")
	msgs := []Message{{Role: "system", Content: "s"}, {Role: "user", Content: "u"}}
	for n := 0; n <= len(tmpl); n += 7 {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("Render panicked on a %d-byte prefix: %v", n, r)
				}
			}()
			Render(tmpl[:n], msgs, true, nil)
		}()
	}
}

func TestConcurrent(t *testing.T) {
	g := readGolden(t, "qwen3")
	tmpl := modelTemplate(t, "qwen3")
	c := g.Cases[0]
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				got, err := Render(tmpl, c.Messages, c.AddGenerationPrompt, map[string]any{"eos_token": "<|im_end|>"})
				if err != nil || got != c.Expected {
					t.Errorf("concurrent render: %q, %v", got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestForRecords(t *testing.T) {
	if ForRecords("", "", "") != nil {
		t.Fatal("an empty template gives no renderer")
	}
	r := ForRecords("{{ bos_token }}{% for m in messages %}[{{ m.role }}:{{ m.content }}]{% endfor %}{{ eos_token }}", "<s>", "</s>")
	got, err := r([]records.Message{records.TextMessage("user", "hi")}, false)
	if err != nil || got != "<s>[user:hi]</s>" {
		t.Fatalf("got %q, %v", got, err)
	}
	parts := records.Message{Role: "user", Content: []byte(`[{"type":"text","text":"hi"}]`)}
	if _, err := r([]records.Message{parts}, false); err == nil || !strings.Contains(err.Error(), "not a string") {
		t.Fatalf("content parts: %v", err)
	}
}
