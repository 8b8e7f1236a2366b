package tokenizer

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Files fetched from the hub for a model id: tokenizer.json is required, the
// others are optional (a 404 is not an error).
var hubFiles = []struct {
	name     string
	required bool
}{
	{"tokenizer.json", true},
	{"tokenizer_config.json", false},
	{"chat_template.jinja", false},
}

const defaultEndpoint = "https://huggingface.co"

var (
	repoIDRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.\-]*(/[A-Za-z0-9_.\-]+)?$`)
	commitRe   = regexp.MustCompile(`^[0-9a-f]{40}$`)
	safeNameRe = regexp.MustCompile(`^[A-Za-z0-9_.\-]+$`)
)

// validRepoID reports whether s looks like a Hugging Face repo id
// ("name" or "org/name"), following huggingface_hub's rules.
func validRepoID(s string) bool {
	return len(s) <= 96 && repoIDRe.MatchString(s) && !strings.Contains(s, "--") &&
		!strings.Contains(s, "..") && !strings.HasSuffix(s, ".git")
}

// hubCacheDir returns the Hugging Face hub cache directory, resolved like
// huggingface_hub: $HF_HUB_CACHE, else $HF_HOME/hub, else
// $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
func hubCacheDir() (string, error) {
	if d := os.Getenv("HF_HUB_CACHE"); d != "" {
		return expandHome(d)
	}
	home, err := hfHome()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, "hub"), nil
}

func hfHome() (string, error) {
	if d := os.Getenv("HF_HOME"); d != "" {
		return expandHome(d)
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "huggingface"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("locating the Hugging Face cache: %w", err)
	}
	return filepath.Join(home, ".cache", "huggingface"), nil
}

func expandHome(p string) (string, error) {
	if p == "~" || strings.HasPrefix(p, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(home, p[1:]), nil
	}
	return p, nil
}

// hubOffline reports whether HF_HUB_OFFLINE asks for offline mode.
func hubOffline() bool {
	switch strings.ToUpper(strings.TrimSpace(os.Getenv("HF_HUB_OFFLINE"))) {
	case "1", "ON", "YES", "TRUE":
		return true
	}
	return false
}

// hubToken returns the access token: $HF_TOKEN, else the legacy
// $HUGGING_FACE_HUB_TOKEN, else the file written by `hf auth login`
// ($HF_TOKEN_PATH or $HF_HOME/token). Empty when there is none.
func hubToken() string {
	for _, k := range []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"} {
		if v := strings.TrimSpace(os.Getenv(k)); v != "" {
			return v
		}
	}
	path := os.Getenv("HF_TOKEN_PATH")
	if path == "" {
		home, err := hfHome()
		if err != nil {
			return ""
		}
		path = filepath.Join(home, "token")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// validRevision accepts branch and tag names (and refs/pr/N) that are safe to
// use as a path below refs/.
func validRevision(rev string) bool {
	return rev != "" && !strings.Contains(rev, "..") && !strings.HasPrefix(rev, "/") &&
		safeNameRe.MatchString(strings.ReplaceAll(rev, "/", "_"))
}

func repoFolder(cache, repo string) string {
	return filepath.Join(cache, "models--"+strings.ReplaceAll(repo, "/", "--"))
}

// findCached returns the snapshot directory holding tokenizer.json for
// repo@revision in the hub cache, or "" when it is not there.
func findCached(cache, repo, revision string) (string, error) {
	folder := repoFolder(cache, repo)
	commit := revision
	if !commitRe.MatchString(revision) {
		if !validRevision(revision) {
			return "", fmt.Errorf("invalid revision %q", revision)
		}
		b, err := os.ReadFile(filepath.Join(folder, "refs", filepath.FromSlash(revision)))
		if errors.Is(err, os.ErrNotExist) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("read the %s ref of %s: %w", revision, repo, err)
		}
		commit = strings.TrimSpace(string(b))
		if !commitRe.MatchString(commit) {
			return "", fmt.Errorf("%s: ref %q holds %q, not a commit hash", folder, revision, truncate(commit, 50))
		}
	}
	dir := filepath.Join(folder, "snapshots", commit)
	if fi, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err == nil && !fi.IsDir() {
		return dir, nil
	}
	return "", nil
}

// hubClient downloads files into the hub cache layout:
// models--org--name/{blobs/<etag>, snapshots/<commit>/<file> -> ../../blobs/<etag>, refs/<revision>}.
type hubClient struct {
	endpoint string
	token    string
	client   *http.Client
	cache    string
}

// hubError is an HTTP failure from the hub. Its text never contains the token.
type hubError struct {
	url    string
	status int
}

func (e *hubError) Error() string {
	hint := ""
	switch e.status {
	case http.StatusUnauthorized, http.StatusForbidden:
		hint = " (gated or private repo: set HF_TOKEN to a token with access)"
	case http.StatusNotFound:
		hint = " (no such repo, revision or file)"
	}
	return fmt.Sprintf("GET %s: HTTP %d%s", e.url, e.status, hint)
}

func (h *hubClient) resolveURL(repo, rev, file string) string {
	return fmt.Sprintf("%s/%s/resolve/%s/%s", strings.TrimRight(h.endpoint, "/"), repo, url.PathEscape(rev), file)
}

func (h *hubClient) newRequest(method, u string) (*http.Request, error) {
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		return nil, err
	}
	if h.token != "" {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	req.Header.Set("User-Agent", "bs-tokenizer/1 (Go)")
	return req, nil
}

// metadata does a HEAD on the resolve URL without following redirects to
// another host (the CDN), returning the commit and the blob etag.
func (h *hubClient) metadata(repo, rev, file string) (commit, etag string, err error) {
	u := h.resolveURL(repo, rev, file)
	c := *h.client
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		// Like huggingface_hub, follow only relative redirects (renamed
		// repos); an absolute one goes to the CDN, whose response lacks the
		// X-Repo-Commit / X-Linked-Etag headers we need.
		if len(via) >= 10 || req.Response == nil {
			return http.ErrUseLastResponse
		}
		if loc, err := url.Parse(req.Response.Header.Get("Location")); err != nil || loc.IsAbs() || loc.Host != "" {
			return http.ErrUseLastResponse
		}
		return nil
	}
	req, err := h.newRequest(http.MethodHead, u)
	if err != nil {
		return "", "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", "", fmt.Errorf("HEAD %s: %w", u, err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return "", "", &hubError{url: u, status: resp.StatusCode}
	}
	commit = resp.Header.Get("X-Repo-Commit")
	etag = resp.Header.Get("X-Linked-Etag")
	if etag == "" {
		etag = resp.Header.Get("ETag")
	}
	etag = strings.Trim(strings.TrimPrefix(etag, "W/"), `"`)
	if !commitRe.MatchString(commit) {
		return "", "", fmt.Errorf("HEAD %s: response has no valid X-Repo-Commit header", u)
	}
	if etag != "" && !safeNameRe.MatchString(etag) {
		etag = ""
	}
	return commit, etag, nil
}

// fetch downloads one file of repo at commit into the cache and links it
// into the snapshot directory.
func (h *hubClient) fetch(repo, commit, etag, file string) error {
	folder := repoFolder(h.cache, repo)
	snap := filepath.Join(folder, "snapshots", commit)
	target := filepath.Join(snap, file)
	if _, err := os.Stat(target); err == nil {
		return nil
	}
	blobs := filepath.Join(folder, "blobs")
	for _, d := range []string{blobs, snap} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	u := h.resolveURL(repo, commit, file)
	req, err := h.newRequest(http.MethodGet, u)
	if err != nil {
		return err
	}
	// net/http drops the Authorization header when a redirect leaves the host.
	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &hubError{url: u, status: resp.StatusCode}
	}
	tmp, err := os.CreateTemp(blobs, ".download-*.incomplete")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	sum := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, sum), resp.Body); err != nil {
		tmp.Close()
		return fmt.Errorf("GET %s: %w", u, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if etag == "" {
		etag = hex.EncodeToString(sum.Sum(nil))
	}
	blob := filepath.Join(blobs, etag)
	if err := os.Rename(tmp.Name(), blob); err != nil {
		return err
	}
	rel, err := filepath.Rel(snap, blob)
	if err != nil {
		return err
	}
	if err := os.Symlink(rel, target); err != nil {
		// No symlinks (some file systems): copy, as huggingface_hub does.
		return copyFile(blob, target)
	}
	return nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// download fetches the tokenizer files of repo@revision into the cache and
// returns the snapshot directory.
func (h *hubClient) download(repo, revision string) (string, error) {
	commit, etag, err := h.metadata(repo, revision, hubFiles[0].name)
	if err != nil {
		return "", err
	}
	for i, f := range hubFiles {
		e := etag
		if i > 0 {
			_, e, err = h.metadata(repo, commit, f.name)
			var he *hubError
			if errors.As(err, &he) && he.status == http.StatusNotFound && !f.required {
				continue
			}
			if err != nil {
				return "", err
			}
		}
		if err := h.fetch(repo, commit, e, f.name); err != nil {
			return "", err
		}
	}
	if revision != commit {
		ref := filepath.Join(repoFolder(h.cache, repo), "refs", filepath.FromSlash(revision))
		if err := os.MkdirAll(filepath.Dir(ref), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(ref, []byte(commit), 0o644); err != nil {
			return "", err
		}
	}
	return filepath.Join(repoFolder(h.cache, repo), "snapshots", commit), nil
}

func defaultHTTPClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Minute}
}
