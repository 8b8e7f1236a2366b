package backends

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
)

// kind is the request/response family of a backend.
type kind int

const (
	kindNative      kind = iota // SGLang /generate
	kindCompletions             // OpenAI /v1/completions
	kindChat                    // OpenAI /v1/chat/completions
	kindTRT                     // TensorRT-LLM Triton ensemble generate_stream
	kindTruss                   // Baseten truss model:predict
)

type spec struct {
	name string
	kind kind
	path string
	port int
}

// specs lists the backends New accepts, in the reference's --backend order (fact sheet §1.1, §3).
var specs = []spec{
	{"sglang", kindNative, "/generate", 30000},
	{"sglang-native", kindNative, "/generate", 30000},
	{"sglang-oai", kindCompletions, "/v1/completions", 30000},
	{"sglang-oai-chat", kindChat, "/v1/chat/completions", 30000},
	{"vllm", kindCompletions, "/v1/completions", 8000},
	{"vllm-chat", kindChat, "/v1/chat/completions", 30000},
	{"lmdeploy", kindCompletions, "/v1/completions", 23333},
	{"lmdeploy-chat", kindChat, "/v1/chat/completions", 30000},
	{"trt", kindTRT, "/v2/models/ensemble/generate_stream", 8000},
	{"truss", kindTruss, "/v1/models/model:predict", 8080},
}

// otherDefaultPorts are the reference's default ports of backends bs does not drive.
var otherDefaultPorts = map[string]int{"gserver": 9988, "vllm-embedding": 8000, "sglang-embedding": 30000}

// Names returns the backends New accepts, in the reference's order.
func Names() []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.name
	}
	return out
}

// DefaultPort returns the port the reference uses for a backend when --port is not given:
// 30000 for sglang, sglang-native and sglang-oai, 23333 for lmdeploy, 8000 for vllm, vllm-embedding
// and trt, 9988 for gserver, 8080 for truss, and 30000 for every other name — including
// sglang-oai-chat, vllm-chat and lmdeploy-chat, whose engines listen elsewhere (a quirk of the
// reference kept for compatibility, fact sheet §1.1 and bug §10.17).
func DefaultPort(backend string) int {
	for _, s := range specs {
		if s.name == backend {
			return s.port
		}
	}
	if p, ok := otherDefaultPorts[backend]; ok {
		return p
	}
	return 30000
}

// New returns the backend called name, configured with opts.
//
// opts.TopP == 0 is taken as "not set" (1.0, so no top_p is sent): a top_p of 0 is invalid for every
// engine. opts.LogprobStartLen has no such default: set it to -1 (the reference's default) unless
// the user chose another value. opts.ExtraBody must be a JSON object (or empty).
func New(name string, opts Options) (Backend, error) {
	var sp *spec
	for i := range specs {
		if specs[i].name == name {
			sp = &specs[i]
		}
	}
	if sp == nil {
		switch name {
		case "gserver":
			return nil, fmt.Errorf("backend gserver is not supported (the reference raises NotImplementedError too)")
		case "sglang-embedding", "vllm-embedding":
			return nil, fmt.Errorf("backend %s is not supported: bs benchmarks generation only", name)
		}
		return nil, fmt.Errorf("unknown backend %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	switch opts.Compat {
	case "", CompatSGLang:
	default:
		return nil, fmt.Errorf("unknown compat mode %q (known: %q)", opts.Compat, CompatSGLang)
	}
	base := strings.TrimRight(opts.BaseURL, "/")
	u, err := url.Parse(base)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error quotes the URL, which may hold a password
		}
		return nil, fmt.Errorf("base URL is not a valid URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("base URL %q: want http://host:port or https://host:port", u.Redacted())
	}
	if math.IsNaN(opts.Temperature) || math.IsInf(opts.Temperature, 0) {
		return nil, fmt.Errorf("temperature %v is not a finite number", opts.Temperature)
	}
	if math.IsNaN(opts.TopP) || math.IsInf(opts.TopP, 0) {
		return nil, fmt.Errorf("top_p %v is not a finite number", opts.TopP)
	}
	if opts.TopP == 0 {
		opts.TopP = 1
	}
	b := &backend{
		spec:   *sp,
		url:    base + sp.path,
		opts:   opts,
		compat: opts.Compat == CompatSGLang,
		header: opts.Header.Clone(),
	}
	if t := bytes.TrimSpace(opts.ExtraBody); len(t) > 0 && string(t) != "null" {
		if err := b.extra.parseObject(t); err != nil {
			return nil, fmt.Errorf("extra request body: %w", err)
		}
	}
	b.secrets = secretValues(opts.Authorization, b.header)
	if b.header == nil {
		b.header = http.Header{}
	}
	return b, nil
}

// CompatSGLang is the Options.Compat value that makes every request body exactly the reference's.
const CompatSGLang = "sglang"

// secretValues lists the strings that must never appear in a recorded message: the Authorization
// value, its token without the scheme, and any user header that carries credentials.
func secretValues(auth string, h http.Header) []string {
	var out []string
	add := func(v string) {
		v = strings.TrimSpace(v)
		if len(v) < 4 {
			return
		}
		out = append(out, v)
		if _, tok, ok := strings.Cut(v, " "); ok && len(strings.TrimSpace(tok)) >= 4 {
			out = append(out, strings.TrimSpace(tok))
		}
	}
	add(auth)
	for k, vs := range h {
		switch http.CanonicalHeaderKey(k) {
		case "Authorization", "Proxy-Authorization", "X-Api-Key", "Api-Key", "Cookie":
			for _, v := range vs {
				add(v)
			}
		}
	}
	return out
}
