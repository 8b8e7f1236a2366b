package datasets

import (
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// TestExactLengthsReal is the exact-length property on the real Qwen3 and Llama 3 tokenizers: for
// many seeds and lengths (ratio 1, so every prompt asks for exactly L), every random and random-ids
// text prompt re-encodes (special tokens added, as a server counts) to exactly its prompt_len, and
// prompt_len is L (or 1 + the special tokens when L is smaller, the shortest non-empty text).
func TestExactLengthsReal(t *testing.T) {
	lengths := []int{1, 2, 3, 4, 5, 7, 8, 9, 10, 16, 31, 64, 100, 257, 1024}
	for _, name := range []string{"qwen3", "llama3"} {
		tok, _ := loadReal(t, name)
		nSpecial := tok.NumSpecialTokensToAdd()
		for _, ds := range []string{RandomIDs, Random} {
			checked := 0
			for li, L := range lengths {
				seeds := 6
				if L >= 257 {
					seeds = 2
				}
				for s := 0; s < seeds; s++ {
					o := DefaultOptions()
					o.Dataset = ds
					o.DatasetPath = filepath.Join("testdata", "sharegpt-small.json")
					o.Seed = int64(1000*li + s)
					o.NumPrompts = 8
					o.RandomInputLen = L
					o.RandomOutputLen = 4
					o.RandomRangeRatio = 1
					for i, p := range mustGen(t, o, tok, nil) {
						want := max(L, nSpecial+1)
						if p.PromptLen != want {
							t.Fatalf("%s %s L=%d seed=%d prompt %d: prompt_len %d, want %d", name, ds, L, o.Seed, i, p.PromptLen, want)
						}
						if got := len(tok.Encode(p.Text, true)); got != p.PromptLen {
							t.Fatalf("%s %s L=%d seed=%d prompt %d: %q encodes to %d tokens, prompt_len %d",
								name, ds, L, o.Seed, i, p.Text, got, p.PromptLen)
						}
						checked++
					}
				}
			}
			t.Logf("%s %s: %d prompts exact", name, ds, checked)
		}
	}
}

// TestExactBuilderRandomIDsReal drives the builder directly with uniformly random base-vocabulary
// ids (harsher than consecutive ids: many partial UTF-8 pieces) and checks the result with a full
// encode.
func TestExactBuilderRandomIDsReal(t *testing.T) {
	for _, name := range []string{"qwen3", "llama3"} {
		tok, _ := loadReal(t, name)
		b := newExactBuilder(tok)
		b.init()
		if !b.local || b.fillerText == "" {
			t.Fatalf("%s: locality probe %v, filler %q", name, b.local, b.fillerText)
		}
		r := rand.New(rand.NewPCG(uint64(len(name)), 3))
		for trial := 0; trial < 300; trial++ {
			L := 1 + r.IntN(200)
			if trial%50 == 0 {
				L = 1024
			}
			vocab := tok.VocabSize()
			if trial%2 == 1 {
				vocab = tok.FullVocabSize() // with added tokens, as generated-shared-prefix draws
			}
			src := func(k int) []int {
				out := make([]int, k)
				for j := range out {
					out[j] = r.IntN(vocab)
				}
				return out
			}
			s, err := b.Build(src(L), L, src)
			if err != nil {
				t.Fatalf("%s L=%d: %v", name, L, err)
			}
			if got := len(tok.Encode(s, false)); got != L {
				t.Fatalf("%s L=%d: %q encodes to %d tokens", name, L, s, got)
			}
		}
	}
}
