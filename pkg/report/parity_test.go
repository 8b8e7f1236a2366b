package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bsbench/bs/pkg/metrics"
	"github.com/bsbench/bs/pkg/records"
)

type wordTokenizer struct{}

func (wordTokenizer) Encode(s string, _ bool) []int { return make([]int, len(strings.Fields(s))) }

func summarize(t *testing.T, opts metrics.Options, files ...string) []records.Summary {
	t.Helper()
	acc, err := metrics.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := acc.ReadAll(records.NewReader[records.Event](records.StreamEvents, files...)); err != nil {
		t.Fatal(err)
	}
	return acc.Summaries()
}

// The console block and the JSONL line must equal what the reference's own Python format strings and
// json.dumps produce for the same metrics (goldens written by scripts/gen-stats-vectors.py).
func TestReferenceOutputs(t *testing.T) {
	files, _ := filepath.Glob("../metrics/testdata/parity/*.jsonl")
	if len(files) < 4 {
		t.Fatalf("parity files missing: %v", files)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".jsonl")
		t.Run(name, func(t *testing.T) {
			s := summarize(t, metrics.Options{Compat: metrics.CompatSGLang, Tokenizer: wordTokenizer{}}, f)[0]
			var buf bytes.Buffer
			if err := Console(&buf, &s); err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile("testdata/console_" + name + ".golden")
			if err != nil {
				t.Fatal(err)
			}
			if buf.String() != string(want) {
				t.Errorf("console block differs:\n got:\n%s\nwant:\n%s", buf.String(), want)
			}
			raw, err := os.ReadFile(strings.TrimSuffix(f, ".jsonl") + ".expected.json")
			if err != nil {
				t.Fatal(err)
			}
			var exp struct{ JSONL string }
			if err := json.Unmarshal(raw, &exp); err != nil {
				t.Fatal(err)
			}
			line, err := ResultLine(&s, false)
			if err != nil {
				t.Fatal(err)
			}
			if line != exp.JSONL+"\n" {
				t.Errorf("JSONL differs:\n got %s\nwant %s", line, exp.JSONL)
			}
		})
	}
}
