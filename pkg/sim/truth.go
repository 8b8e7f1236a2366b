package sim

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/bsbench/bs/pkg/records"
)

// Outcomes of a generation request, as written in TruthRecord.Outcome.
const (
	OutcomeOK           = "ok"            // the response was sent in full
	OutcomeBadRequest   = "bad_request"   // the body was invalid (HTTP 400 or 413)
	OutcomeUnauthorized = "unauthorized"  // missing or wrong API key (HTTP 401)
	OutcomeFailed       = "failed"        // injected HTTP error (--fail-rate)
	OutcomeStreamError  = "stream_error"  // injected in-band error event (--stream-error-after)
	OutcomeDropped      = "dropped"       // injected connection close (--drop-after)
	OutcomeClientClosed = "client_closed" // the client went away before the response ended
	OutcomeShutdown     = "shutdown"      // the server was closed before the response ended
)

// TruthRecord is one line of the truth log (--truth-log): what bs-sim actually did for one
// generation request. It is written when the request ends.
//
// Every *_ns field is a Unix time in nanoseconds, computed as the server's start wall-clock time
// plus a monotonic-clock duration since then, so differences between fields are exact monotonic
// durations and fields are ordered even if the wall clock is stepped. Each is taken as follows:
//   - ReceivedNS: when the handler was invoked (request line and headers read, before the body).
//   - AdmittedNS: when the request got a running slot (after any --max-concurrency queue wait).
//   - ChunkNS[i]: right after the i-th event carrying generated tokens was handed to the socket
//     (the write(2) system call that sent it returned). Non-streamed responses have one chunk:
//     the whole body.
//   - FirstTokenNS: ChunkNS[0].
//   - EndNS: right after the last byte of the response was flushed (after "data: [DONE]" where the
//     protocol has it), or when the request was abandoned.
type TruthRecord struct {
	// ID is the id used in the response (meta_info.id; OpenAI ids add a "cmpl-"/"chatcmpl-" prefix).
	ID string `json:"id"`
	// XRequestID is the X-Request-Id request header, if the client sent one.
	XRequestID string `json:"x_request_id,omitempty"`
	// Seq is the arrival order of generation requests (0-based). Words and faults derive from it.
	Seq uint64 `json:"seq"`
	// Endpoint is "generate", "completions", "chat", "trt" or "truss".
	Endpoint string `json:"endpoint"`
	// Path is the URL path requested.
	Path string `json:"path"`
	// Stream tells whether the response was streamed.
	Stream bool `json:"stream"`
	// Status is the HTTP status code sent.
	Status int `json:"status"`
	// Outcome is one of the Outcome* constants.
	Outcome string `json:"outcome"`
	// Error is the error message sent, if any.
	Error string `json:"error,omitempty"`

	ReceivedNS   int64   `json:"received_ns"`
	AdmittedNS   int64   `json:"admitted_ns,omitempty"`
	FirstTokenNS int64   `json:"first_token_ns,omitempty"`
	ChunkNS      []int64 `json:"chunk_ns,omitempty"`
	// ChunkTokens[i] is the number of tokens carried by chunk i.
	ChunkTokens []int `json:"chunk_tokens,omitempty"`
	EndNS       int64 `json:"end_ns"`

	// PromptTokens is the prompt length bs-sim assumed (exact for token-id prompts, else an estimate).
	PromptTokens int `json:"prompt_tokens"`
	// CompletionTokens is the number of tokens actually sent.
	CompletionTokens int `json:"completion_tokens"`
	// CachedTokens is the number of prompt tokens the simulated prefix cache held (bs-sim
	// --prefix-cache; absent when 0 or without it): the value the response reported, and the
	// tokens PrefillPerToken did not apply to.
	CachedTokens int `json:"cached_tokens,omitempty"`
	// MaxTokens is the maximum the request asked for (or the default).
	MaxTokens int `json:"max_tokens"`
	// FinishReason is "length" or "stop" when the response completed.
	FinishReason string `json:"finish_reason,omitempty"`
}

// BodyRecord is one line of the body log (--record-bodies): one HTTP request as received.
type BodyRecord struct {
	// TimeNS is when the handler was invoked, on the same clock as TruthRecord times.
	TimeNS int64  `json:"time_ns"`
	Method string `json:"method"`
	Path   string `json:"path"`
	// Query is the raw query string, if any.
	Query string `json:"query,omitempty"`
	// Headers are the request headers. Values of credential headers (records.IsSecretHeader) are
	// replaced by "REDACTED"; an Authorization value keeps its scheme word ("Bearer REDACTED").
	Headers http.Header `json:"headers"`
	// Body is the raw body when it is valid UTF-8 ...
	Body string `json:"body"`
	// BodyBase64 is the raw body, base64-encoded, when it is not valid UTF-8 (Body is then empty).
	BodyBase64 string `json:"body_base64,omitempty"`
}

// redactHeaders returns a copy of h with credential values replaced.
func redactHeaders(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, vs := range h {
		if !records.IsSecretHeader(k) {
			out[k] = vs
			continue
		}
		red := make([]string, len(vs))
		for i, v := range vs {
			red[i] = records.Redacted
			if scheme, _, ok := strings.Cut(v, " "); ok && strings.EqualFold(k, "Authorization") && isSchemeWord(scheme) {
				red[i] = scheme + " " + records.Redacted
			}
		}
		out[k] = red
	}
	return out
}

// isSchemeWord reports whether s looks like an HTTP authentication scheme ("Bearer", "Basic").
func isSchemeWord(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func newBodyRecord(t int64, r *http.Request, body []byte) *BodyRecord {
	rec := &BodyRecord{TimeNS: t, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Headers: redactHeaders(r.Header)}
	if utf8.Valid(body) {
		rec.Body = string(body)
	} else {
		rec.BodyBase64 = base64.StdEncoding.EncodeToString(body)
	}
	return rec
}

// jsonlWriter writes JSON lines to an io.Writer from many goroutines. Lines are buffered and
// flushed at least once a second and on close.
type jsonlWriter struct {
	mu     sync.Mutex
	bw     *bufio.Writer
	err    error // first write error; later writes are dropped
	stop   chan struct{}
	done   chan struct{}
	bufs   sync.Pool
	closed bool
}

func newJSONLWriter(w io.Writer) *jsonlWriter {
	j := &jsonlWriter{bw: bufio.NewWriterSize(w, 256<<10), stop: make(chan struct{}), done: make(chan struct{})}
	j.bufs.New = func() any { return new(bytes.Buffer) }
	go j.flusher()
	return j
}

func (j *jsonlWriter) flusher() {
	defer close(j.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			j.mu.Lock()
			if j.err == nil {
				j.err = j.bw.Flush()
			}
			j.mu.Unlock()
		case <-j.stop:
			return
		}
	}
}

// write encodes v as one line. Encoding happens outside the lock.
func (j *jsonlWriter) write(v any) {
	buf := j.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only plain data structures are written; this cannot happen short of a programming error.
		panic(fmt.Sprintf("sim: encoding %T: %v", v, err))
	}
	j.mu.Lock()
	if j.err == nil && !j.closed {
		_, j.err = j.bw.Write(buf.Bytes())
	}
	j.mu.Unlock()
	j.bufs.Put(buf)
}

// close flushes buffered lines and stops the background flusher. It returns the first write error.
func (j *jsonlWriter) close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return j.err
	}
	j.closed = true
	if j.err == nil {
		j.err = j.bw.Flush()
	}
	err := j.err
	j.mu.Unlock()
	close(j.stop)
	<-j.done
	return err
}
