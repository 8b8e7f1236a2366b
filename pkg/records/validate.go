package records

import (
	"fmt"
	"strings"
)

// Validate checks a prompt record after decoding.
func (p *Prompt) Validate() error {
	n := 0
	if p.Text != "" {
		n++
	}
	if len(p.IDs) > 0 {
		n++
	}
	if len(p.Messages) > 0 {
		n++
	}
	if len(p.Turns) > 0 {
		n++
	}
	switch {
	case n == 0 && p.PromptLen > 0:
		return &FieldError{"text", "the prompt is empty: one of text, ids, messages or turns is required"}
	case n > 1:
		return &FieldError{"text", "more than one of text, ids, messages and turns is set"}
	case p.PromptLen < 0:
		return &FieldError{"prompt_len", fmt.Sprintf("negative length %d", p.PromptLen)}
	case p.OutputLen < 0:
		return &FieldError{"output_len", fmt.Sprintf("negative length %d", p.OutputLen)}
	case p.VisionPromptLen < 0 || p.VisionPromptLen > p.PromptLen:
		return &FieldError{"vision_prompt_len", fmt.Sprintf("%d is outside [0, prompt_len=%d]", p.VisionPromptLen, p.PromptLen)}
	}
	for i, m := range p.Messages {
		if m.Role == "" || len(m.Content) == 0 {
			return &FieldError{"messages", fmt.Sprintf("message %d needs role and content", i)}
		}
	}
	for i, t := range p.Turns {
		for j, m := range t {
			if m.Role == "" || len(m.Content) == 0 {
				return &FieldError{"turns", fmt.Sprintf("turn %d message %d needs role and content", i, j)}
			}
		}
	}
	return nil
}

// Validate checks an event record after decoding.
func (e *Event) Validate() error {
	if e.OK && e.ErrorKind != "" {
		return &FieldError{"error_kind", "set on a successful request"}
	}
	if !e.OK && e.ErrorKind == "" {
		return &FieldError{"error_kind", "missing on a failed request"}
	}
	if e.EndNS < e.SentNS {
		return &FieldError{"end_ns", fmt.Sprintf("end %d is before sent %d", e.EndNS, e.SentNS)}
	}
	if len(e.ChunkTokens) > 0 && len(e.ChunkTokens) != len(e.ChunkNS) {
		return &FieldError{"chunk_tokens", fmt.Sprintf("%d entries for %d chunks", len(e.ChunkTokens), len(e.ChunkNS))}
	}
	if len(e.ChunkText) > 0 && len(e.ChunkText) != len(e.ChunkNS) {
		return &FieldError{"chunk_text", fmt.Sprintf("%d entries for %d chunks", len(e.ChunkText), len(e.ChunkNS))}
	}
	for i := range e.ChunkNS {
		if e.ChunkNS[i] < 0 || (i > 0 && e.ChunkNS[i] < e.ChunkNS[i-1]) {
			return &FieldError{"chunk_ns", fmt.Sprintf("entry %d (%d) is negative or out of order", i, e.ChunkNS[i])}
		}
	}
	return nil
}

// Redacted is what replaces a secret in headers, logs and reports.
const Redacted = "REDACTED"

// secretFlags are flags whose value is always a secret.
var secretFlags = map[string]bool{"--api-key": true, "--token": true, "--hf-token": true}

// RedactArgs returns a copy of a command line with secrets replaced by Redacted: the values of
// --api-key-style flags, and the values of --header KEY=VALUE pairs whose key looks like a credential
// (authorization, cookie, or containing key, token, secret, password).
func RedactArgs(args []string) []string {
	out := make([]string, len(args))
	copy(out, args)
	inHeader := false
	for i := 0; i < len(out); i++ {
		a := out[i]
		if strings.HasPrefix(a, "-") {
			name, val, hasVal := strings.Cut(a, "=")
			inHeader = name == "--header" || name == "-H"
			switch {
			case secretFlags[name] && hasVal:
				out[i] = name + "=" + Redacted
			case secretFlags[name] && i+1 < len(out):
				out[i+1] = Redacted
				i++
			case inHeader && hasVal:
				out[i] = name + "=" + RedactHeaderPair(val)
				inHeader = false
			}
			continue
		}
		if inHeader {
			out[i] = RedactHeaderPair(a)
		}
	}
	return out
}

// RedactHeaderPair redacts the value of a "Key=Value" (or "Key: Value") header if the key names a credential.
func RedactHeaderPair(kv string) string {
	i := strings.IndexAny(kv, "=:")
	if i > 0 && IsSecretHeader(kv[:i]) {
		return kv[:i+1] + Redacted
	}
	return kv
}

// IsSecretHeader reports whether an HTTP header name looks like it carries a credential.
func IsSecretHeader(name string) bool {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "authorization" || n == "proxy-authorization" || n == "cookie" || n == "set-cookie" {
		return true
	}
	if n == "x-smg-routing-key" { // a routing hint, not a credential
		return false
	}
	for _, w := range []string{"key", "token", "secret", "password", "auth"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}
