package datasets

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/bsbench/bs/pkg/chattmpl"
	"github.com/bsbench/bs/pkg/records"
	"github.com/bsbench/bs/pkg/testutil"
	"github.com/bsbench/bs/pkg/tokenizer"
)

// realTok adapts pkg/tokenizer to Tokenizer (the same adapter as cmd/bs-gen's).
type realTok struct{ t *tokenizer.Tokenizer }

func (a realTok) Encode(s string, add bool) []int    { return a.t.Encode(s, add) }
func (a realTok) Decode(ids []int, skip bool) string { return a.t.Decode(ids, skip) }
func (a realTok) VocabSize() int                     { return a.t.VocabSize() }
func (a realTok) FullVocabSize() int                 { return a.t.Len() }
func (a realTok) NumSpecialTokensToAdd() int         { return a.t.NumSpecialTokensToAdd() }
func (a realTok) SpecialIDs() []int                  { return a.t.SpecialIDs() }
func (a realTok) BOSToken() string                   { return a.t.BOSToken() }
func (a realTok) TokenID(tok string) (int, bool) {
	ids := a.t.Encode(tok, false)
	if len(ids) == 1 && a.t.Decode(ids, false) == tok {
		return ids[0], true
	}
	return 0, false
}

func realChat(t *tokenizer.Tokenizer) ChatTemplateFunc {
	tmpl := t.ChatTemplate()
	if tmpl == "" {
		return nil
	}
	extra := map[string]any{"bos_token": t.BOSToken(), "eos_token": t.EOSToken()}
	return func(msgs []records.Message, addGen bool) (string, error) {
		ms := make([]chattmpl.Message, len(msgs))
		for i, m := range msgs {
			var s string
			if err := json.Unmarshal(m.Content, &s); err != nil {
				return "", errors.New("non-string content")
			}
			ms[i] = chattmpl.Message{Role: m.Role, Content: s}
		}
		return chattmpl.Render(tmpl, ms, addGen, extra)
	}
}

var (
	realMu     sync.Mutex
	realLoaded = map[string]*tokenizer.Tokenizer{}
)

// loadReal returns the test tokenizer name ("qwen3", "llama3"), loaded once per test binary.
func loadReal(t testing.TB, name string) (Tokenizer, ChatTemplateFunc) {
	t.Helper()
	realMu.Lock()
	defer realMu.Unlock()
	tk, ok := realLoaded[name]
	if !ok {
		var err error
		tk, err = tokenizer.Load(testutil.Tokenizer(t, name), tokenizer.LoadOptions{Offline: true})
		if err != nil {
			t.Fatal(err)
		}
		realLoaded[name] = tk
	}
	return realTok{tk}, realChat(tk)
}
