package fire

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Server talks to the server's control endpoints around the measured run: the ready check, model
// detection, cache flush, profiler, and /server_info. Generation requests go through a Backend instead.
type Server struct {
	// Client sends the requests.
	Client *http.Client
	// BaseURL is the server's base URL (no trailing slash needed).
	BaseURL string
	// Authorization is the Authorization header value, or "" (never logged).
	Authorization string
}

func (s *Server) url(path string) string { return strings.TrimRight(s.BaseURL, "/") + path }

// get performs a GET with the auth header and returns the status and at most limit bytes of the body.
func (s *Server) do(ctx context.Context, method, u string, body []byte, auth bool) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth && s.Authorization != "" {
		req.Header.Set("Authorization", s.Authorization)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, b, err
}

// ReadyURL returns the URL the ready check polls: {base}/v1/models, or the bare base URL for trt and
// gserver (fact sheet §1.1).
func ReadyURL(backend, base string) string {
	if backend == "trt" || backend == "gserver" {
		return base
	}
	return strings.TrimRight(base, "/") + "/v1/models"
}

// WaitReady polls u with GET (5 s per attempt, 1 s apart, with the auth header) until it answers 200 or
// timeout passes. A timeout of 0 skips the check.
func (s *Server) WaitReady(ctx context.Context, u string, timeout time.Duration) error {
	if timeout <= 0 {
		return nil
	}
	deadline := time.Now().Add(timeout)
	var last error
	for {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		status, _, err := s.do(actx, http.MethodGet, u, nil, true)
		cancel()
		switch {
		case err == nil && status == http.StatusOK:
			return nil
		case err != nil:
			last = err
		default:
			last = fmt.Errorf("HTTP %d", status)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().Add(time.Second).After(deadline) {
			return fmt.Errorf("server at %s is not ready after %v (--ready-check-timeout-sec): %w", redactURL(u), timeout, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// DetectModel returns data[0].id from GET {base}/v1/models, the model the server serves.
func (s *Server) DetectModel(ctx context.Context) (string, error) {
	u := s.url("/v1/models")
	status, body, err := s.do(ctx, http.MethodGet, u, nil, true)
	if err != nil {
		return "", fmt.Errorf("detecting the model from %s: %w", redactURL(u), err)
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("detecting the model from %s: HTTP %d: %s", redactURL(u), status, snippet(body))
	}
	var resp struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return "", fmt.Errorf("detecting the model from %s: %w", redactURL(u), err)
	}
	if len(resp.Data) == 0 || resp.Data[0].ID == "" {
		return "", fmt.Errorf("detecting the model from %s: the server lists no model; give --model", redactURL(u))
	}
	return resp.Data[0].ID, nil
}

// FlushCachePath returns the cache-flush endpoint for a backend: /reset_prefix_cache for vllm*,
// /flush_cache?timeout=… for sglang*, /flush_cache otherwise (fact sheet §8).
func FlushCachePath(backend string, timeout float64) string {
	switch {
	case strings.HasPrefix(backend, "vllm"):
		return "/reset_prefix_cache"
	case strings.HasPrefix(backend, "sglang"):
		return "/flush_cache?timeout=" + strconv.FormatFloat(timeout, 'f', -1, 64)
	}
	return "/flush_cache"
}

// FlushCache POSTs to the backend's cache-flush endpoint with the auth header; a non-2xx answer is an
// error (the reference aborts).
func (s *Server) FlushCache(ctx context.Context, backend string, timeout float64) error {
	u := s.url(FlushCachePath(backend, timeout))
	status, body, err := s.do(ctx, http.MethodPost, u, nil, true)
	if err != nil {
		return fmt.Errorf("flushing the cache (%s): %w", redactURL(u), err)
	}
	if status/100 != 2 {
		return fmt.Errorf("flushing the cache (%s): HTTP %d: %s", redactURL(u), status, snippet(body))
	}
	return nil
}

// Profile holds the profiler settings (--profile-*); see StartBody.
type Profile struct {
	Activities  []string
	NumSteps    *int // --profile-num-steps
	ByStage     bool
	Stages      []string
	OutputDir   string // resolved, absolute
	Prefix      *string
	StartStep   *int // --profile-start-step, sent as a string
	Steps       *int // --profile-steps, sent as a string num_steps
	PrefillURLs []string
	DecodeURLs  []string
}

// StartBody is the JSON body of POST /start_profile, keys in the reference's order: activities,
// num_steps, profile_by_stage, profile_stages, output_dir, profile_prefix, then start_step and
// num_steps as strings when set. With ByStage and no NumSteps, num_steps is 5.
func (p *Profile) StartBody() []byte {
	numSteps := "null"
	if p.NumSteps != nil {
		numSteps = strconv.Itoa(*p.NumSteps)
	} else if p.ByStage {
		numSteps = "5"
	}
	var b bytes.Buffer
	b.WriteString(`{"activities": `)
	b.WriteString(pyList(p.Activities))
	b.WriteString(`, "num_steps": `)
	if p.Steps != nil {
		numSteps = strconv.Quote(strconv.Itoa(*p.Steps)) // overwritten in place, as a Python dict
	}
	b.WriteString(numSteps)
	b.WriteString(`, "profile_by_stage": `)
	b.WriteString(strconv.FormatBool(p.ByStage))
	b.WriteString(`, "profile_stages": `)
	if p.Stages == nil {
		b.WriteString("null")
	} else {
		b.WriteString(pyList(p.Stages))
	}
	b.WriteString(`, "output_dir": `)
	b.Write(mustJSON(p.OutputDir))
	b.WriteString(`, "profile_prefix": `)
	if p.Prefix == nil {
		b.WriteString("null")
	} else {
		b.Write(mustJSON(*p.Prefix))
	}
	if p.StartStep != nil {
		b.WriteString(`, "start_step": `)
		b.WriteString(strconv.Quote(strconv.Itoa(*p.StartStep)))
	}
	b.WriteString("}")
	return b.Bytes()
}

// StopBody is the body of POST /stop_profile: {} plus start_step when set, as the reference.
func (p *Profile) StopBody() []byte {
	if p.StartStep != nil {
		return []byte(`{"start_step": ` + strconv.Quote(strconv.Itoa(*p.StartStep)) + `}`)
	}
	return []byte(`{}`)
}

// NeedsStop reports whether the profiler must be stopped after the run: not when a step count was given
// (the server stops by itself).
func (p *Profile) NeedsStop() bool { return p.Steps == nil && p.NumSteps == nil }

// Targets returns the base URLs to profile: the PD worker URLs when given, else base.
func (p *Profile) Targets(base string) []string {
	if len(p.PrefillURLs)+len(p.DecodeURLs) > 0 {
		return append(append([]string{}, p.PrefillURLs...), p.DecodeURLs...)
	}
	return []string{base}
}

// PostProfile POSTs body to {base}{path} without auth headers (as the reference) and fails on non-200.
func (s *Server) PostProfile(ctx context.Context, base, path string, body []byte) error {
	u := strings.TrimRight(base, "/") + path
	status, resp, err := s.do(ctx, http.MethodPost, u, body, false)
	if err != nil {
		return fmt.Errorf("POST %s: %w", redactURL(u), err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("POST %s: HTTP %d: %s", redactURL(u), status, snippet(resp))
	}
	return nil
}

// ServerInfo fetches GET {base}/server_info and extracts the speculative accept length. Failures are not
// errors: it returns nil values (the reference crashes here, §10.19; bs-fire never does).
func (s *Server) ServerInfo(ctx context.Context) (json.RawMessage, *float64) {
	status, body, err := s.do(ctx, http.MethodGet, s.url("/server_info"), nil, true)
	if err != nil || status != http.StatusOK {
		return nil, nil
	}
	body = bytes.TrimSpace(body)
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil || obj == nil {
		return nil, nil
	}
	var compact bytes.Buffer
	if json.Compact(&compact, body) != nil {
		return nil, nil
	}
	return json.RawMessage(compact.Bytes()), AcceptLength(obj)
}

// AcceptLength reads internal_states[0].avg_spec_accept_length from a /server_info object, looking in
// decode[0] first when the object has a "decode" key (a PD router). It returns nil when absent.
func AcceptLength(info map[string]json.RawMessage) *float64 {
	if d, ok := info["decode"]; ok {
		var list []map[string]json.RawMessage
		if json.Unmarshal(d, &list) != nil || len(list) == 0 {
			return nil
		}
		info = list[0]
	}
	var states []map[string]json.RawMessage
	if json.Unmarshal(info["internal_states"], &states) != nil || len(states) == 0 {
		return nil
	}
	var v *float64
	if json.Unmarshal(states[0]["avg_spec_accept_length"], &v) != nil {
		return nil
	}
	return v
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// mustJSON encodes a string as Python's json.dumps does (ASCII only).
func mustJSON(s string) []byte {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r > 0x7e:
			if r > 0xffff {
				r -= 0x10000
				fmt.Fprintf(&b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return []byte(b.String())
}

// pyList encodes a list of strings as Python's json.dumps: ["a", "b"].
func pyList(list []string) string {
	parts := make([]string, len(list))
	for i, s := range list {
		parts[i] = string(mustJSON(s))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// redactURL hides the password of a URL with user info.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

// RedactURL hides the password of a URL with user info (for headers and messages).
func RedactURL(s string) string { return redactURL(s) }
