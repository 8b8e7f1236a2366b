// Package tokenizer loads Hugging Face tokenizers (tokenizer.json +
// tokenizer_config.json) and encodes/decodes text exactly like Python's
// transformers.AutoTokenizer, which the reference benchmark uses.
//
// The work is done by the Rust `tokenizers` crate through cgo: the static
// library libtokenizers.a is built from the Rust sources that ship in the Go
// module github.com/daulet/tokenizers, plus a small bs extension (see
// scripts/build-libtokenizers.sh and scripts/libtokenizers-ext.rs). Building
// needs CGO_LDFLAGS="-L<dir of libtokenizers.a>".
//
// Behaviour notes, checked against transformers 5.24 / tokenizers 0.23 with
// the golden vectors in testdata/ (scripts/gen-tokenizer-vectors.py):
//   - Encode(text, true) adds what the tokenizer.json post-processor adds
//     (BOS for Llama 3, nothing for Qwen3). transformers 5 loads
//     tokenizer.json-backed tokenizers as TokenizersBackend and ignores
//     add_bos_token from tokenizer_config.json; transformers 4's
//     LlamaTokenizerFast honoured it (relevant for e.g. DeepSeek V3, whose
//     tokenizer.json has no BOS template).
//   - Decode does not apply clean_up_tokenization_spaces: transformers 5
//     ignores it for BPE tokenizers.
//   - Text containing U+0000 and decodes that produce NUL bytes are handled
//     exactly (the bs extension passes lengths, not C strings).
//
// A *Tokenizer is safe for concurrent use by multiple goroutines: the Rust
// tokenizer is Sync (encode/decode take &self) and a read-write lock keeps
// Close from freeing it while a call is running.
package tokenizer

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// LoadOptions controls how Load resolves a Hugging Face model id. The zero
// value uses the environment like huggingface_hub does.
type LoadOptions struct {
	// Revision is the branch, tag or commit to use for a model id ("main" when empty).
	Revision string
	// CacheDir is the hub cache; default $HF_HUB_CACHE, else $HF_HOME/hub,
	// else ~/.cache/huggingface/hub.
	CacheDir string
	// Offline forbids downloads (also forced by HF_HUB_OFFLINE=1).
	Offline bool
	// Token is the hub access token; default $HF_TOKEN (or the login token
	// file). It is sent only to the hub endpoint and never logged.
	Token string
	// Endpoint is the hub URL; default $HF_ENDPOINT, else https://huggingface.co.
	Endpoint string
	// HTTPClient is used for downloads; default a client with a 10 min timeout.
	HTTPClient *http.Client
}

// Tokenizer is a loaded tokenizer. Create it with Load; release it with Close.
type Tokenizer struct {
	mu   sync.RWMutex
	h    handle
	name string
	dir  string
	path string

	vocabSize       int
	vocabSizeAdded  int
	numSpecialAdd   int
	numSpecialAddPr int
	specialIDs      []int
	bosID, eosID    int
	cfg             Config
}

// ErrClosed is returned by calls on a closed Tokenizer.
var ErrClosed = errors.New("tokenizer: use of closed tokenizer")

// Load loads a tokenizer. spec is one of:
//   - a tokenizer.json file (tokenizer_config.json is read from the same directory);
//   - a directory holding tokenizer.json (and optionally tokenizer_config.json,
//     chat_template.jinja);
//   - a Hugging Face model id ("Qwen/Qwen3-8B"), looked up in the local hub
//     cache (models--org--name/snapshots/<commit>, via refs/<revision>) and,
//     only when it is not there and downloads are allowed, fetched from the
//     hub into that cache (HF_TOKEN honoured).
func Load(spec string, opts LoadOptions) (*Tokenizer, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, errors.New("tokenizer: empty tokenizer name or path")
	}
	path, err := resolve(spec, opts)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %q: %w", spec, err)
	}
	dir := filepath.Dir(path)
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %q: %w", spec, err)
	}
	h, err := loadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %q: load %s: %w", spec, path, err)
	}
	t := &Tokenizer{
		h:               h,
		name:            spec,
		dir:             dir,
		path:            path,
		vocabSize:       h.vocabSize(false),
		vocabSizeAdded:  h.vocabSize(true),
		numSpecialAdd:   h.numSpecialTokensToAdd(false),
		numSpecialAddPr: h.numSpecialTokensToAdd(true),
		cfg:             cfg,
		bosID:           -1,
		eosID:           -1,
	}
	if t.specialIDs, err = h.specialIDs(); err != nil {
		h.free()
		return nil, fmt.Errorf("tokenizer %q: %w", spec, err)
	}
	if cfg.BOSToken != "" {
		if id, ok := h.tokenToID(cfg.BOSToken); ok {
			t.bosID = id
		}
	}
	if cfg.EOSToken != "" {
		if id, ok := h.tokenToID(cfg.EOSToken); ok {
			t.eosID = id
		}
	}
	return t, nil
}

// resolve turns a spec into the path of a tokenizer.json.
func resolve(spec string, opts LoadOptions) (string, error) {
	if fi, err := os.Stat(spec); err == nil {
		if !fi.IsDir() {
			return spec, nil
		}
		p := filepath.Join(spec, "tokenizer.json")
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("directory has no tokenizer.json: %w", err)
		}
		return p, nil
	}
	looksLikePath := filepath.IsAbs(spec) || strings.HasPrefix(spec, ".") || strings.HasPrefix(spec, "~") ||
		strings.HasSuffix(spec, ".json") || strings.Count(spec, "/") > 1 || strings.Contains(spec, `\`)
	if looksLikePath || !validRepoID(spec) {
		return "", fmt.Errorf("no such file or directory, and not a valid Hugging Face model id")
	}

	cache := opts.CacheDir
	if cache == "" {
		var err error
		if cache, err = hubCacheDir(); err != nil {
			return "", err
		}
	}
	rev := opts.Revision
	if rev == "" {
		rev = "main"
	}
	if !commitRe.MatchString(rev) && !validRevision(rev) {
		return "", fmt.Errorf("invalid revision %q", rev)
	}
	dir, err := findCached(cache, spec, rev)
	if err != nil {
		return "", err
	}
	if dir != "" {
		return filepath.Join(dir, "tokenizer.json"), nil
	}
	if opts.Offline || hubOffline() {
		return "", fmt.Errorf("no such local file or directory; as a Hugging Face model id: not in the cache %s (revision %s) and offline mode is on", cache, rev)
	}
	h := &hubClient{endpoint: opts.Endpoint, token: opts.Token, client: opts.HTTPClient, cache: cache}
	if h.endpoint == "" {
		h.endpoint = os.Getenv("HF_ENDPOINT")
	}
	if h.endpoint == "" {
		h.endpoint = defaultEndpoint
	}
	if h.token == "" {
		h.token = hubToken()
	}
	if h.client == nil {
		h.client = defaultHTTPClient()
	}
	dir, err = h.download(spec, rev)
	if err != nil {
		return "", fmt.Errorf("no such local file or directory; as a Hugging Face model id: not in the cache %s; download: %w", cache, err)
	}
	return filepath.Join(dir, "tokenizer.json"), nil
}

// Close frees the native tokenizer. It waits for running calls; later calls
// return ErrClosed (or nil/"" from Encode/Decode). Close is idempotent.
func (t *Tokenizer) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.h.free()
	t.h = handle{}
	return nil
}

// EncodeErr is Encode returning an error instead of nil on failure.
func (t *Tokenizer) EncodeErr(text string, addSpecialTokens bool) ([]int, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.h.p == nil {
		return nil, ErrClosed
	}
	return t.h.encode(text, addSpecialTokens)
}

// Encode returns the token ids of text, like transformers'
// tokenizer.encode(text, add_special_tokens=addSpecialTokens). Invalid UTF-8
// is replaced by U+FFFD first. It returns nil only if the tokenizer is closed
// or the library fails (use EncodeErr to see why); the empty text gives an
// empty, non-nil slice (or just the special tokens).
func (t *Tokenizer) Encode(text string, addSpecialTokens bool) []int {
	ids, err := t.EncodeErr(text, addSpecialTokens)
	if err != nil {
		return nil
	}
	return ids
}

// DecodeErr is Decode returning an error (closed tokenizer, negative id)
// instead of "".
func (t *Tokenizer) DecodeErr(ids []int, skipSpecialTokens bool) (string, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.h.p == nil {
		return "", ErrClosed
	}
	return t.h.decode(ids, skipSpecialTokens)
}

// Decode returns the text of ids, like transformers'
// tokenizer.decode(ids, skip_special_tokens=skipSpecialTokens). Ids the
// vocabulary does not know are skipped; incomplete UTF-8 becomes U+FFFD.
func (t *Tokenizer) Decode(ids []int, skipSpecialTokens bool) string {
	s, err := t.DecodeErr(ids, skipSpecialTokens)
	if err != nil {
		return ""
	}
	return s
}

// Name returns the spec the tokenizer was loaded from (model id or path).
func (t *Tokenizer) Name() string { return t.name }

// Dir returns the directory holding the tokenizer files.
func (t *Tokenizer) Dir() string { return t.dir }

// VocabSize returns the base vocabulary size without added tokens, like
// transformers' tokenizer.vocab_size (151643 for Qwen3, 128000 for Llama 3).
func (t *Tokenizer) VocabSize() int { return t.vocabSize }

// Len returns the vocabulary size including added tokens, like len(tokenizer).
func (t *Tokenizer) Len() int { return t.vocabSizeAdded }

// FullVocabSize is Len under the name pkg/datasets uses: the whole vocabulary, added tokens included.
func (t *Tokenizer) FullVocabSize() int { return t.vocabSizeAdded }

// TokenID returns the id of a token given by its text (for example "<|image_pad|>"): the text must
// encode to exactly one id that decodes back to the same text.
func (t *Tokenizer) TokenID(tok string) (int, bool) {
	ids := t.Encode(tok, false)
	if len(ids) == 1 && t.Decode(ids, false) == tok {
		return ids[0], true
	}
	return 0, false
}

// NumSpecialTokensToAdd returns how many special tokens Encode(text, true)
// adds to a single sequence, like transformers'
// tokenizer.num_special_tokens_to_add() (1 for Llama 3's BOS, 0 for Qwen3).
func (t *Tokenizer) NumSpecialTokensToAdd() int { return t.numSpecialAdd }

// NumSpecialTokensToAddPair is NumSpecialTokensToAdd for a sequence pair.
func (t *Tokenizer) NumSpecialTokensToAddPair() int { return t.numSpecialAddPr }

// SpecialIDs returns the sorted ids of the added tokens flagged special: the
// ones Decode(ids, true) drops. (transformers' all_special_ids is narrower:
// only the ids named in the special-token attributes.)
func (t *Tokenizer) SpecialIDs() []int { return append([]int(nil), t.specialIDs...) }

// Config returns the settings read from tokenizer_config.json.
func (t *Tokenizer) Config() Config { return t.cfg }

// ChatTemplate returns the default chat template ("" when there is none).
func (t *Tokenizer) ChatTemplate() string { return t.cfg.ChatTemplate }

// BOSToken returns the configured BOS token string ("" when none).
func (t *Tokenizer) BOSToken() string { return t.cfg.BOSToken }

// EOSToken returns the configured EOS token string ("" when none).
func (t *Tokenizer) EOSToken() string { return t.cfg.EOSToken }

// BOSID returns the id of the BOS token, or -1 when there is none.
func (t *Tokenizer) BOSID() int { return t.bosID }

// EOSID returns the id of the EOS token, or -1 when there is none.
func (t *Tokenizer) EOSID() int { return t.eosID }

// AddBOSToken returns tokenizer_config.json's add_bos_token (nil when absent).
func (t *Tokenizer) AddBOSToken() *bool { return t.cfg.AddBOSToken }
