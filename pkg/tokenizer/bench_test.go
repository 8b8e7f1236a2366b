package tokenizer

import (
	"strings"
	"testing"
)

const benchParagraph = "The quick brown fox jumps over the lazy dog. In 2024, researchers measured " +
	"latency at the 99th percentile (p99) across 1,000 requests; results varied by 12.5%! " +
	"Don't forget: tokens-per-second isn't everything — time to first token matters too. "

// benchText returns about n bytes of English text.
func benchText(n int) string {
	s := strings.Repeat(benchParagraph, n/len(benchParagraph)+1)
	return s[:n]
}

func benchEncode(b *testing.B, name string) {
	tk := load(b, name)
	text := benchText(1024)
	n := len(tk.Encode(text, false))
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for b.Loop() {
		tk.Encode(text, false)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

func benchDecode(b *testing.B, name string) {
	tk := load(b, name)
	ids := tk.Encode(benchText(8192), false)[:1024]
	b.ResetTimer()
	for b.Loop() {
		tk.Decode(ids, false)
	}
	b.ReportMetric(float64(len(ids))*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

func benchEncodeParallel(b *testing.B, name string) {
	tk := load(b, name)
	text := benchText(1024)
	n := len(tk.Encode(text, false))
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tk.Encode(text, false)
		}
	})
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkEncode1KB encodes about 1 KB of English text (about 230 tokens).
func BenchmarkEncode1KB(b *testing.B) {
	b.Run("qwen3", func(b *testing.B) { benchEncode(b, "qwen3") })
	b.Run("llama3", func(b *testing.B) { benchEncode(b, "llama3") })
}

// BenchmarkEncode1KBParallel is BenchmarkEncode1KB from GOMAXPROCS goroutines.
func BenchmarkEncode1KBParallel(b *testing.B) {
	b.Run("qwen3", func(b *testing.B) { benchEncodeParallel(b, "qwen3") })
	b.Run("llama3", func(b *testing.B) { benchEncodeParallel(b, "llama3") })
}

// BenchmarkDecode1024 decodes a list of 1024 token ids.
func BenchmarkDecode1024(b *testing.B) {
	b.Run("qwen3", func(b *testing.B) { benchDecode(b, "qwen3") })
	b.Run("llama3", func(b *testing.B) { benchDecode(b, "llama3") })
}

// BenchmarkLoad measures loading a tokenizer.json (about 10 MB).
func BenchmarkLoad(b *testing.B) {
	dir := load(b, "qwen3").Dir()
	for b.Loop() {
		tk, err := Load(dir, LoadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		tk.Close()
	}
}
