package tokenizer

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/bsbench/bs/pkg/testutil"
)

const testCommit = "0123456789abcdef0123456789abcdef01234567"

// fakeHub serves org/model like huggingface.co does: HEAD/GET on
// /<repo>/resolve/<rev>/<file>, X-Repo-Commit and X-Linked-Etag headers, a
// redirect to a "CDN" path for the big file, 404 for missing files and 401
// without the right token.
type fakeHub struct {
	mu    sync.Mutex
	auth  []string // Authorization headers seen on /org/model/ requests
	files map[string][]byte
	token string
}

func (f *fakeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/cdn/") {
		b, ok := f.files[strings.TrimPrefix(r.URL.Path, "/cdn/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
		return
	}
	f.mu.Lock()
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/org/model/resolve/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	rev, file, _ := strings.Cut(rest, "/")
	if rev != "main" && rev != testCommit {
		http.NotFound(w, r)
		return
	}
	b, ok := f.files[file]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	w.Header().Set("X-Repo-Commit", testCommit)
	if file == "tokenizer.json" { // LFS file: redirect to the CDN
		w.Header().Set("X-Linked-Etag", `"etag-`+strings.ReplaceAll(file, ".", "-")+`"`)
		w.Header().Set("Location", "http://"+r.Host+"/cdn/"+file)
		w.WriteHeader(http.StatusFound)
		return
	}
	w.Header().Set("ETag", `W/"etag-`+strings.ReplaceAll(file, ".", "-")+`"`)
	if r.Method == http.MethodHead {
		return
	}
	w.Write(b)
}

func TestHubDownloadAndCache(t *testing.T) {
	src := testutil.Tokenizer(t, "llama3")
	hub := &fakeHub{files: map[string][]byte{}, token: "hf_secret_test_token"}
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		hub.files[f] = b
	}
	srv := httptest.NewServer(hub)
	defer srv.Close()

	cache := t.TempDir()
	t.Setenv("HF_HUB_OFFLINE", "")
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("HF_HUB_CACHE", cache)

	// Wrong token: a clear error that does not leak the token.
	t.Setenv("HF_TOKEN", "hf_wrong_token")
	_, err := Load("org/model", LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), "HF_TOKEN") {
		t.Fatalf("wrong token: err = %v", err)
	}
	if strings.Contains(err.Error(), "hf_wrong_token") {
		t.Fatalf("error leaks the token: %v", err)
	}

	t.Setenv("HF_TOKEN", hub.token)
	tk, err := Load("org/model", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer tk.Close()
	if got := tk.Encode("Hello world", true); !reflect.DeepEqual(got, []int{128000, 9906, 1917}) {
		t.Errorf("Encode = %v", got)
	}
	if tk.BOSToken() != "<|begin_of_text|>" || tk.Name() != "org/model" {
		t.Errorf("config/name: %q %q", tk.BOSToken(), tk.Name())
	}

	// The hub cache layout huggingface_hub uses.
	folder := filepath.Join(cache, "models--org--model")
	ref, err := os.ReadFile(filepath.Join(folder, "refs", "main"))
	if err != nil || string(ref) != testCommit {
		t.Errorf("refs/main = %q, %v", ref, err)
	}
	snap := filepath.Join(folder, "snapshots", testCommit)
	if tk.Dir() != snap {
		t.Errorf("Dir = %s, want %s", tk.Dir(), snap)
	}
	link, err := os.Readlink(filepath.Join(snap, "tokenizer.json"))
	if err != nil || link != filepath.Join("..", "..", "blobs", "etag-tokenizer-json") {
		t.Errorf("tokenizer.json link = %q, %v", link, err)
	}
	if _, err := os.Stat(filepath.Join(snap, "tokenizer_config.json")); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(snap, "chat_template.jinja")); !os.IsNotExist(err) {
		t.Errorf("chat_template.jinja (404 upstream) should be absent: %v", err)
	}
	for _, a := range hub.auth {
		if a != "Bearer hf_wrong_token" && a != "Bearer "+hub.token {
			t.Errorf("unexpected Authorization %q", a)
		}
	}

	// Second load: from the cache, no request, also offline and by commit.
	hub.mu.Lock()
	n := len(hub.auth)
	hub.mu.Unlock()
	t.Setenv("HF_HUB_OFFLINE", "1")
	for _, rev := range []string{"", testCommit} {
		tk2, err := Load("org/model", LoadOptions{Revision: rev})
		if err != nil {
			t.Fatalf("cached load (revision %q): %v", rev, err)
		}
		tk2.Close()
	}
	if len(hub.auth) != n {
		t.Errorf("cached load made %d requests", len(hub.auth)-n)
	}
	if _, err := Load("org/model", LoadOptions{Revision: "v2"}); err == nil || !strings.Contains(err.Error(), "offline") {
		t.Errorf("uncached revision offline: err = %v", err)
	}
	if _, err := Load("org/model", LoadOptions{Revision: "../../etc"}); err == nil {
		t.Error("revision with ..: want an error")
	}
}
