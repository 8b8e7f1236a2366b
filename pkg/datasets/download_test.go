package datasets

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestHubDownloadAndCache runs the hub download against a local server: the file lands in the
// huggingface_hub cache layout, the token is sent to the hub but not to the redirect target, a
// second call uses the cache without the network, and offline mode only uses the cache.
func TestHubDownloadAndCache(t *testing.T) {
	var hubHits, cdnHits atomic.Int32
	var cdnAuth atomic.Value
	cdnAuth.Store("")
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cdnHits.Add(1)
		cdnAuth.Store(r.Header.Get("Authorization"))
		w.Write([]byte(`[{"conversations": [{"value": "hi there"}, {"value": "hello"}]}]`))
	}))
	defer cdn.Close()
	commit := strings.Repeat("ab", 20)
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hubHits.Add(1)
		if r.Header.Get("Authorization") != "Bearer secret-token" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/datasets/" + ShareGPTRepo + "/resolve/main/" + ShareGPTFile:
			w.Header().Set("X-Repo-Commit", commit)
			w.Header().Set("X-Linked-Etag", `"0123abcd"`)
			http.Redirect(w, r, cdn.URL+"/blob", http.StatusFound)
		case "/api/datasets/MMMU/MMMU/tree/main/Math":
			w.Write([]byte(`[{"type":"file","path":"Math/test-00001-of-00002.parquet"},{"type":"file","path":"Math/dev-00000-of-00001.parquet"},{"type":"directory","path":"Math/x"},{"type":"file","path":"Math/test-00000-of-00002.parquet"}]`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer hub.Close()
	cache := t.TempDir()
	f := &Fetcher{Endpoint: hub.URL, Token: "secret-token", HubCache: cache}
	p, err := f.HubFile(context.Background(), "dataset", ShareGPTRepo, ShareGPTFile)
	if err != nil {
		t.Fatal(err)
	}
	wantPath := filepath.Join(cache, "datasets--anon8231489123--ShareGPT_Vicuna_unfiltered", "snapshots", commit, ShareGPTFile)
	if p != wantPath {
		t.Fatalf("path %s, want %s", p, wantPath)
	}
	if target, err := os.Readlink(p); err != nil || target != filepath.Join("..", "..", "blobs", "0123abcd") {
		t.Fatalf("snapshot link %q, %v", target, err)
	}
	if ref, _ := os.ReadFile(filepath.Join(cache, "datasets--anon8231489123--ShareGPT_Vicuna_unfiltered", "refs", "main")); string(ref) != commit {
		t.Fatalf("refs/main %q", ref)
	}
	if a := cdnAuth.Load().(string); a != "" {
		t.Fatalf("token sent to the redirect target: %q", a)
	}
	pairs, err := LoadShareGPT(p)
	if err != nil || len(pairs) != 1 || pairs[0].prompt != "hi there" {
		t.Fatalf("%v %v", pairs, err)
	}
	hits := hubHits.Load()
	if _, err := f.HubFile(context.Background(), "dataset", ShareGPTRepo, ShareGPTFile); err != nil || hubHits.Load() != hits {
		t.Fatalf("cached file re-fetched (%v)", err)
	}
	off := &Fetcher{Endpoint: hub.URL, HubCache: t.TempDir(), Offline: true}
	if _, err := off.HubFile(context.Background(), "dataset", ShareGPTRepo, ShareGPTFile); err == nil || !strings.Contains(err.Error(), "HF_HUB_OFFLINE") {
		t.Fatalf("offline: %v", err)
	}
	off.HubCache = cache
	if _, err := off.HubFile(context.Background(), "dataset", ShareGPTRepo, ShareGPTFile); err != nil {
		t.Fatalf("offline with cache: %v", err)
	}
	files, err := f.HubList(context.Background(), "dataset", MMMURepo, "Math")
	if err != nil || len(files) != 3 || files[1] != "Math/test-00000-of-00002.parquet" {
		t.Fatalf("list %v %v", files, err)
	}
	bad := &Fetcher{Endpoint: hub.URL, HubCache: t.TempDir()}
	if _, err := bad.HubFile(context.Background(), "dataset", ShareGPTRepo, ShareGPTFile); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("no token: %v", err)
	}
}

// TestMooncakeDownload fetches the trace into TmpDir/{workload}_trace.jsonl when no path is given.
func TestMooncakeDownload(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(`{"timestamp": 0, "output_length": 4, "hash_ids": [1, 2]}` + "\n"))
	}))
	defer srv.Close()
	saved := MooncakeURLs["synthetic"]
	MooncakeURLs["synthetic"] = srv.URL + "/synthetic_trace.jsonl"
	defer func() { MooncakeURLs["synthetic"] = saved }()
	tmp := t.TempDir()
	o := DefaultOptions()
	o.Dataset = Mooncake
	o.MooncakeWorkload = "synthetic"
	rng, _ := NewRNG(42)
	env := Env{Tok: newFakeTok(false), RNG: rng, Fetch: &Fetcher{TmpDir: tmp}}
	for i := 0; i < 2; i++ {
		ps, err := Generate(context.Background(), o, env)
		if err != nil || len(ps) != 1 || ps[0].OutputLen != 4 {
			t.Fatalf("%v %v", ps, err)
		}
	}
	if hits.Load() != 1 {
		t.Fatalf("%d downloads, want 1 (then the cached file)", hits.Load())
	}
	if _, err := os.Stat(filepath.Join(tmp, "synthetic_trace.jsonl")); err != nil {
		t.Fatal(err)
	}
}
