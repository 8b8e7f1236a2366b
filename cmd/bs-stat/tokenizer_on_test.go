//go:build tokenizers

package main

import (
	"os"
	"strings"
	"testing"
)

// With the tokenizer linked, --tokenizer re-counts the generated text. 37 is what Hugging Face
// tokenizers 0.23 (Python) counts for the successful texts of native.jsonl with Qwen3's tokenizer,
// add_special_tokens=False.
func TestRetokenizedWithQwen3(t *testing.T) {
	tok := "../../.cache/testdata/tokenizers/qwen3/tokenizer.json"
	if _, err := os.Stat(tok); err != nil {
		t.Skipf("%s missing: run make testdata", tok)
	}
	code, out, errs := runStat(t, parity+"native.jsonl", "--compat", "sglang", "--tokenizer", tok)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	_, sums := readSummaries(t, out)
	if r := sums[0].TotalOutputRetokenized; r == nil || *r != 37 {
		t.Errorf("retokenized = %v, want 37", r)
	}
	if !strings.Contains(out, `"tokenizer":"`+tok+`"`) {
		t.Error("the summary header should name the tokenizer")
	}
}
