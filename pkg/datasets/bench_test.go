package datasets

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/bsbench/bs/pkg/records"
)

// Benchmarks (run with -benchtime=1x; each iteration is a whole dataset):
//
//	BenchmarkRandom10k        random, 10,000 prompts × 1,024 tokens, bs mode (exact lengths)
//	BenchmarkRandom10kCompat  the same with --compat sglang (decode only)
//	BenchmarkTokenizerRandom10k  the tokenizer alone: decode the same ids + encode the text once
//	BenchmarkShareGPT50k      sharegpt over a generated 50,000-conversation file (all of them)
//	BenchmarkTokenizerShareGPT50k the tokenizer alone: encode every prompt and completion once
// The Tokenizer* baselines report serial and 2-goroutine times.

var (
	benchOnce    sync.Once
	benchShare   string
	benchShare50 string
)

func benchFiles(b *testing.B) {
	benchOnce.Do(func() {
		// Deterministic files, kept in the temp folder between runs (b.TempDir would vanish
		// after the first benchmark).
		dir := filepath.Join(os.TempDir(), "bs-datasets-bench")
		must(mkdir(dir))
		benchShare = writeShareGPT(b, dir, 3000, 11)
		d50 := filepath.Join(dir, "50k")
		must(mkdir(d50))
		benchShare50 = writeShareGPT(b, d50, 50000, 12)
	})
}

func randomOpts(compat string) Options { return randomOptsDS(Random, compat) }

func randomOptsDS(ds, compat string) Options {
	o := DefaultOptions()
	o.Dataset = ds
	o.Compat = compat
	o.DatasetPath = benchShare50 // enough conversations for 10,000 prompts
	o.NumPrompts = 10000
	o.RandomInputLen = 1024
	o.RandomOutputLen = 128
	o.RandomRangeRatio = 1
	return o
}

func runGen(b *testing.B, o Options, name string) []records.Prompt {
	tok, chat := loadReal(b, name)
	var ps []records.Prompt
	for i := 0; i < b.N; i++ {
		rng, err := NewRNG(o.Seed)
		if err != nil {
			b.Fatal(err)
		}
		ps, err = Generate(context.Background(), o, Env{Tok: tok, Chat: chat, RNG: rng})
		if err != nil {
			b.Fatal(err)
		}
	}
	return ps
}

func BenchmarkRandom10k(b *testing.B) {
	benchFiles(b)
	for _, name := range []string{"qwen3", "llama3"} {
		b.Run(name, func(b *testing.B) { runGen(b, randomOpts(CompatBS), name) })
	}
}

func BenchmarkRandom10kCompat(b *testing.B) {
	benchFiles(b)
	for _, name := range []string{"qwen3", "llama3"} {
		b.Run(name, func(b *testing.B) { runGen(b, randomOpts(CompatSGLang), name) })
	}
}

func BenchmarkRandomIDs10k(b *testing.B) {
	benchFiles(b)
	for _, name := range []string{"qwen3", "llama3"} {
		b.Run(name, func(b *testing.B) { runGen(b, randomOptsDS(RandomIDs, CompatBS), name) })
	}
}

// BenchmarkTokenizerRandomIDs10k: decode the ids random-ids starts from, encode the text once.
func BenchmarkTokenizerRandomIDs10k(b *testing.B) {
	benchFiles(b)
	for _, name := range []string{"qwen3", "llama3"} {
		tok, _ := loadReal(b, name)
		o := randomOptsDS(RandomIDs, CompatSGLang)
		o.TokenizePrompt = true
		ps := runGen(&testing.B{N: 1}, o, name)
		for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
			b.Run(name+"/workers="+itoa(workers), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					_ = parallelFor(workers, len(ps), func(k int) error {
						_ = tok.Encode(tok.Decode(ps[k].IDs, false), false)
						return nil
					})
				}
			})
		}
	}
}

// BenchmarkTokenizerRandom10k decodes the ids the random dataset starts from and encodes the text
// once, per prompt: the minimum any generator that checks lengths must do.
func BenchmarkTokenizerRandom10k(b *testing.B) {
	benchFiles(b)
	for _, name := range []string{"qwen3", "llama3"} {
		tok, _ := loadReal(b, name)
		o := randomOpts(CompatSGLang)
		o.TokenizePrompt = true
		ps := runGen(&testing.B{N: 1}, o, name)
		for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
			b.Run(name+"/workers="+itoa(workers), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					_ = parallelFor(workers, len(ps), func(k int) error {
						s := tok.Decode(ps[k].IDs, false)
						_ = tok.Encode(s, false)
						return nil
					})
				}
			})
		}
	}
}

func BenchmarkShareGPT50k(b *testing.B) {
	benchFiles(b)
	o := DefaultOptions()
	o.Dataset = ShareGPT
	o.DatasetPath = benchShare50
	o.NumPrompts = 50000
	for _, name := range []string{"qwen3", "llama3"} {
		b.Run(name, func(b *testing.B) { runGen(b, o, name) })
	}
}

func BenchmarkTokenizerShareGPT50k(b *testing.B) {
	benchFiles(b)
	pairs, err := LoadShareGPT(benchShare50)
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"qwen3", "llama3"} {
		tok, _ := loadReal(b, name)
		for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
			b.Run(name+"/workers="+itoa(workers), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					_ = parallelFor(workers, len(pairs), func(k int) error {
						_ = tok.Encode(pairs[k].prompt, true)
						_ = tok.Encode(pairs[k].completion, true)
						return nil
					})
				}
			})
		}
	}
}
