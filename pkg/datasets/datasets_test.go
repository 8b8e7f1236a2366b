package datasets

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bsbench/bs/pkg/records"
)

// words for generated conversation files.
var testWords = strings.Fields("the quick brown fox jumps over a lazy dog hello world café 日本 " +
	"naïve abc 123 4567 !! .. , ; : ? it's don't x y z and of in er ing")

func sentence(r *rand.Rand, n int) string {
	var sb strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteByte(" \n"[r.IntN(10)/9])
		}
		sb.WriteString(testWords[r.IntN(len(testWords))])
	}
	return sb.String()
}

// writeShareGPT writes a ShareGPT-style JSON file with n conversations (some with fewer than two
// turns, some using "conversation") and returns its path.
func writeShareGPT(t testing.TB, dir string, n int, seed uint64) string {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	type turn struct {
		From  string `json:"from"`
		Value string `json:"value"`
	}
	var entries []map[string]any
	for i := 0; i < n; i++ {
		turns := []turn{{"human", sentence(r, 1+r.IntN(60))}, {"gpt", sentence(r, 1+r.IntN(120))}}
		if i%17 == 5 {
			turns = turns[:1]
		}
		key := "conversations"
		if i%11 == 3 {
			key = "conversation"
		}
		entries = append(entries, map[string]any{"id": fmt.Sprint(i), key: turns})
	}
	b, err := json.MarshalIndent(entries, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "sharegpt.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func genWith(t testing.TB, o Options, tok Tokenizer, chat ChatTemplateFunc) ([]records.Prompt, error) {
	t.Helper()
	rng, err := NewRNG(o.Seed)
	if err != nil {
		t.Fatal(err)
	}
	return Generate(context.Background(), o, Env{Tok: tok, Chat: chat, RNG: rng})
}

func mustGen(t testing.TB, o Options, tok Tokenizer, chat ChatTemplateFunc) []records.Prompt {
	t.Helper()
	ps, err := genWith(t, o, tok, chat)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ps {
		if err := ps[i].Validate(); err != nil {
			t.Fatalf("prompt %d invalid: %v", i, err)
		}
	}
	return ps
}

func encodeAll(t testing.TB, ps []records.Prompt) []byte {
	var buf bytes.Buffer
	w := records.NewWriter(&buf)
	for i := range ps {
		if err := w.Write(&ps[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestExactBuilderFake(t *testing.T) {
	for _, bos := range []bool{false, true} {
		tok := newFakeTok(bos)
		b := newExactBuilder(tok)
		r := rand.New(rand.NewPCG(7, 9))
		for trial := 0; trial < 400; trial++ {
			L := []int{1, 2, 3, 5, 17, 64, 300}[trial%7]
			base := r.IntN(tok.VocabSize())
			next := base
			src := func(k int) []int {
				out := make([]int, k)
				for j := range out {
					out[j] = next % tok.VocabSize()
					next += 1 + r.IntN(3)
				}
				return out
			}
			s, err := b.Build(src(L), L, src)
			if err != nil {
				t.Fatalf("bos=%v L=%d: %v", bos, L, err)
			}
			if got := len(tok.Encode(s, false)); got != L {
				t.Fatalf("bos=%v L=%d: text %q encodes to %d tokens", bos, L, s, got)
			}
		}
	}
}

func TestRandomIDsExactAndReproducible(t *testing.T) {
	tok := newFakeTok(true)
	o := DefaultOptions()
	o.Dataset = RandomIDs
	o.NumPrompts = 200
	o.RandomInputLen = 50
	o.RandomOutputLen = 20
	ps := mustGen(t, o, tok, nil)
	if len(ps) != 200 {
		t.Fatalf("%d prompts", len(ps))
	}
	for i, p := range ps {
		if got := len(tok.Encode(p.Text, true)); got != p.PromptLen {
			t.Fatalf("prompt %d: encodes to %d, prompt_len %d", i, got, p.PromptLen)
		}
		if p.ID != i || p.OutputLen < 1 || p.OutputLen > 20 {
			t.Fatalf("prompt %d: id %d output_len %d", i, p.ID, p.OutputLen)
		}
	}
	again := mustGen(t, o, tok, nil)
	if !bytes.Equal(encodeAll(t, ps), encodeAll(t, again)) {
		t.Fatal("same options gave different output")
	}
	o.Seed = 43
	other := mustGen(t, o, tok, nil)
	if bytes.Equal(encodeAll(t, ps), encodeAll(t, other)) {
		t.Fatal("a different seed gave the same output")
	}
}
