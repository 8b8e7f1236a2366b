package datasets

import (
	"sync"
	"testing"

	"github.com/bsbench/bs/pkg/chattmpl"
	"github.com/bsbench/bs/pkg/testutil"
	"github.com/bsbench/bs/pkg/tokenizer"
)

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
	return tk, chattmpl.ForRecords(tk.ChatTemplate(), tk.BOSToken(), tk.EOSToken())
}
