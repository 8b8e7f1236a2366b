package datasets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Fetcher downloads and caches the files the reference downloads: ShareGPT and MMMU from the
// Hugging Face hub (into the hub cache, laid out as huggingface_hub lays it out, so files already
// downloaded by Python are reused), and Mooncake traces from their URLs (to /tmp, as the
// reference does).
type Fetcher struct {
	// Client is the HTTP client (nil: a client with a 30 s connect and 1 h total timeout).
	Client *http.Client
	// Endpoint is the hub address ($HF_ENDPOINT, default https://huggingface.co).
	Endpoint string
	// Token is the hub access token ($HF_TOKEN); it is sent only to Endpoint and never logged.
	Token string
	// Offline forbids network access ($HF_HUB_OFFLINE): only cached files are used.
	Offline bool
	// HubCache is the hub cache directory ($HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub).
	HubCache string
	// TmpDir is where the reference's /tmp downloads go (default /tmp).
	TmpDir string
	// Log receives progress lines ("Downloading … to …"); nil discards them.
	Log io.Writer
}

// NewFetcherFromEnv returns a Fetcher configured from the Hugging Face environment variables.
func NewFetcherFromEnv() *Fetcher {
	f := &Fetcher{Endpoint: "https://huggingface.co", TmpDir: "/tmp"}
	if e := os.Getenv("HF_ENDPOINT"); e != "" {
		f.Endpoint = strings.TrimRight(e, "/")
	}
	f.Token = os.Getenv("HF_TOKEN")
	if f.Token == "" {
		f.Token = os.Getenv("HUGGING_FACE_HUB_TOKEN")
	}
	if f.Token == "" {
		if p := hfTokenPath(); p != "" {
			if b, err := os.ReadFile(p); err == nil {
				f.Token = strings.TrimSpace(string(b))
			}
		}
	}
	switch strings.ToLower(os.Getenv("HF_HUB_OFFLINE")) {
	case "1", "true", "yes", "on":
		f.Offline = true
	}
	f.HubCache = hubCache()
	return f
}

func hfHome() string {
	if d := os.Getenv("HF_HOME"); d != "" {
		return expandHome(d)
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "huggingface")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "huggingface")
	}
	return filepath.Join(home, ".cache", "huggingface")
}

func hubCache() string {
	if d := os.Getenv("HF_HUB_CACHE"); d != "" {
		return expandHome(d)
	}
	return filepath.Join(hfHome(), "hub")
}

func hfTokenPath() string {
	if p := os.Getenv("HF_TOKEN_PATH"); p != "" {
		return expandHome(p)
	}
	return filepath.Join(hfHome(), "token")
}

func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

func (f *Fetcher) client() *http.Client {
	if f.Client != nil {
		return f.Client
	}
	return &http.Client{Timeout: time.Hour}
}

func (f *Fetcher) logf(format string, args ...any) {
	if f.Log != nil {
		fmt.Fprintf(f.Log, format, args...)
	}
}

var (
	safeRepo   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.\-]*/[A-Za-z0-9_.\-]+$`)
	commitHash = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

// repoDir is the cache folder of a repo: datasets--org--name.
func (f *Fetcher) repoDir(repoType, repo string) string {
	return filepath.Join(f.HubCache, repoType+"s--"+strings.ReplaceAll(repo, "/", "--"))
}

// cached returns the snapshot path of filename in repo at refs/main, or "" if it is not cached.
func (f *Fetcher) cached(repoType, repo, filename string) string {
	dir := f.repoDir(repoType, repo)
	ref, err := os.ReadFile(filepath.Join(dir, "refs", "main"))
	if err != nil {
		return ""
	}
	commit := strings.TrimSpace(string(ref))
	if !commitHash.MatchString(commit) {
		return ""
	}
	p := filepath.Join(dir, "snapshots", commit, filepath.FromSlash(filename))
	if fileExists(p) {
		return p
	}
	return ""
}

func (f *Fetcher) hubRequest(ctx context.Context, method, u string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "bs-gen")
	if f.Token != "" {
		req.Header.Set("Authorization", "Bearer "+f.Token)
	}
	return req, nil
}

// HubFile returns the local path of filename in the hub repo (repoType "dataset" or "model"),
// downloading it into the hub cache when it is not there yet (hf_hub_download). A cached file is
// used without contacting the hub.
func (f *Fetcher) HubFile(ctx context.Context, repoType, repo, filename string) (string, error) {
	if !safeRepo.MatchString(repo) || strings.Contains(repo, "..") {
		return "", fmt.Errorf("invalid hub repo id %q", repo)
	}
	if p := f.cached(repoType, repo, filename); p != "" {
		return p, nil
	}
	if f.Offline {
		return "", fmt.Errorf("HF_HUB_OFFLINE is set and %s/%s is not in the hub cache %s; download it or pass --dataset-path",
			repo, filename, f.HubCache)
	}
	prefix := ""
	if repoType != "model" {
		prefix = repoType + "s/"
	}
	u := fmt.Sprintf("%s/%s%s/resolve/main/%s", f.Endpoint, prefix, repo, escapePath(filename))
	req, err := f.hubRequest(ctx, http.MethodGet, u)
	if err != nil {
		return "", err
	}
	// The hub redirects to a CDN; the token must not follow to another host.
	cl := *f.client()
	hubHost := req.URL.Host
	// The commit and etag headers come with the hub's first answer (the redirect).
	var meta http.Header
	cl.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if meta == nil && r.Response != nil {
			meta = r.Response.Header
		}
		if r.URL.Host != hubHost {
			r.Header.Del("Authorization")
		}
		if len(via) > 10 {
			return errors.New("too many redirects")
		}
		return nil
	}
	f.logf("Downloading %s/%s from %s\n", repo, filename, f.Endpoint)
	resp, err := cl.Do(req)
	if err != nil {
		return "", fmt.Errorf("downloading %s/%s: %w", repo, filename, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("downloading %s/%s: HTTP %s (for gated or private repos set HF_TOKEN)", repo, filename, resp.Status)
	}
	if meta == nil {
		meta = resp.Header
	}
	commit := firstHeader(meta, "X-Repo-Commit")
	etag := strings.Trim(strings.TrimPrefix(firstHeader(meta, "X-Linked-Etag", "Etag"), "W/"), `"`)
	if !commitHash.MatchString(commit) {
		commit = strings.Repeat("0", 40)
	}
	if etag == "" || strings.ContainsAny(etag, `/\`) || strings.Contains(etag, "..") {
		etag = "bs-" + commit + "-" + strings.ReplaceAll(filename, "/", "_")
	}
	dir := f.repoDir(repoType, repo)
	blob := filepath.Join(dir, "blobs", etag)
	if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
		return "", err
	}
	if err := writeAtomic(blob, resp.Body); err != nil {
		return "", fmt.Errorf("downloading %s/%s: %w", repo, filename, err)
	}
	snap := filepath.Join(dir, "snapshots", commit, filepath.FromSlash(filename))
	if err := os.MkdirAll(filepath.Dir(snap), 0o755); err != nil {
		return "", err
	}
	rel, err := filepath.Rel(filepath.Dir(snap), blob)
	if err != nil {
		return "", err
	}
	_ = os.Remove(snap)
	if err := os.Symlink(rel, snap); err != nil {
		return "", fmt.Errorf("linking %s: %w", snap, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "refs"), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "refs", "main"), []byte(commit), 0o644); err != nil {
		return "", err
	}
	return snap, nil
}

// HubList lists the files under folder in a hub repo at main (the hub's tree API), sorted.
// Offline, it lists the cached snapshot instead.
func (f *Fetcher) HubList(ctx context.Context, repoType, repo, folder string) ([]string, error) {
	if f.Offline {
		dir := f.repoDir(repoType, repo)
		ref, err := os.ReadFile(filepath.Join(dir, "refs", "main"))
		if err != nil {
			return nil, fmt.Errorf("HF_HUB_OFFLINE is set and %s is not in the hub cache %s; pass --dataset-path", repo, f.HubCache)
		}
		root := filepath.Join(dir, "snapshots", strings.TrimSpace(string(ref)))
		ents, err := os.ReadDir(filepath.Join(root, filepath.FromSlash(folder)))
		if err != nil {
			return nil, fmt.Errorf("HF_HUB_OFFLINE is set and %s/%s is not in the hub cache: %w", repo, folder, err)
		}
		var out []string
		for _, e := range ents {
			out = append(out, folder+"/"+e.Name())
		}
		sort.Strings(out)
		return out, nil
	}
	u := fmt.Sprintf("%s/api/%ss/%s/tree/main/%s", f.Endpoint, repoType, repo, escapePath(folder))
	req, err := f.hubRequest(ctx, http.MethodGet, u)
	if err != nil {
		return nil, err
	}
	resp, err := f.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("listing %s/%s: %w", repo, folder, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("listing %s/%s: HTTP %s", repo, folder, resp.Status)
	}
	var entries []struct {
		Type string `json:"type"`
		Path string `json:"path"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&entries); err != nil {
		return nil, fmt.Errorf("listing %s/%s: %w", repo, folder, err)
	}
	var out []string
	for _, e := range entries {
		if e.Type == "file" {
			out = append(out, e.Path)
		}
	}
	sort.Strings(out)
	return out, nil
}

// URL downloads u to dest (written to a temporary file, then renamed), as the reference's
// download_and_cache_file does for the Mooncake traces.
func (f *Fetcher) URL(ctx context.Context, u, dest string) error {
	if _, err := url.Parse(u); err != nil {
		return err
	}
	f.logf("Downloading from %s to %s\n", u, dest)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "bs-gen")
	resp, err := f.client().Do(req)
	if err != nil {
		return fmt.Errorf("downloading %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("downloading %s: HTTP %s", u, resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	return writeAtomic(dest, resp.Body)
}

func firstHeader(h http.Header, names ...string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// writeAtomic writes r to path through a temporary file in the same folder.
func writeAtomic(path string, r io.Reader) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.incomplete")
	if err != nil {
		return err
	}
	if _, err := io.Copy(tmp, r); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

// ShareGPT hub location (the reference's SHAREGPT_REPO_ID and SHAREGPT_FILENAME).
const (
	ShareGPTRepo = "anon8231489123/ShareGPT_Vicuna_unfiltered"
	ShareGPTFile = "ShareGPT_V3_unfiltered_cleaned_split.json"
	MMMURepo     = "MMMU/MMMU"
)

// sharegptPath resolves the ShareGPT file: --dataset-path if given, else the hub download. With
// forRandom (the random dataset) the reference also downloads when the path is not valid JSON;
// bs-gen reports an error instead of silently replacing a file the user named.
func (g *gen) sharegptPath(forRandom bool) (string, error) {
	if p := g.opts.DatasetPath; p != "" {
		if !fileExists(p) {
			return "", fmt.Errorf("--dataset-path %s: no such file", p)
		}
		return p, nil
	}
	if g.fetch == nil {
		return "", fmt.Errorf("no --dataset-path given and downloads are off; pass a ShareGPT JSON file")
	}
	return g.fetch.HubFile(g.ctx, "dataset", ShareGPTRepo, ShareGPTFile)
}

func (g *gen) tmpDir() string {
	if g.fetch != nil && g.fetch.TmpDir != "" {
		return g.fetch.TmpDir
	}
	return "/tmp"
}
