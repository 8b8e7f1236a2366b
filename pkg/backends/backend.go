// Package backends knows every serving API bs-fire can drive: how to build each backend's request from
// a prompt record, and how to read its response (streamed or not) into an event record with the arrival
// time of every chunk. Payload and parsing rules follow the reference (SGLang bench_serving, fact sheet
// §3) unless docs/compat.md says otherwise.
package backends

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/bsbench/bs/pkg/records"
)

// Options are the run-wide settings that shape every request.
type Options struct {
	// BaseURL is the server's base URL without a trailing path (e.g. http://127.0.0.1:30000).
	BaseURL string
	// Model is the value of the request's model field (--served-model-name, else --model).
	Model string
	// Stream selects streaming responses (false with --disable-stream).
	Stream bool
	// IgnoreEOS is sent as ignore_eos (true unless --disable-ignore-eos).
	IgnoreEOS bool
	// ExtraBody is the global --extra-request-body object (key order kept); prompt keys win over it.
	ExtraBody json.RawMessage
	// Header holds user headers (--header) sent with every generation request.
	Header http.Header
	// Authorization is the value of the Authorization header ("" for none). It must never be recorded.
	Authorization string
	// Native sampling and logprob settings (fact sheet §1.6).
	Temperature         float64
	TopP                float64
	ReturnLogprob       bool
	TopLogprobsNum      int
	TokenIDsLogprob     []int
	LogprobStartLen     int
	ReturnRoutedExperts bool
	// RecordText keeps the generated text and each chunk's text in the event.
	RecordText bool
	// NoText says the caller uses the generated text Send returns only for multi-turn rounds (msgs
	// given): for other requests without RecordText, Send returns "" and a stream keeps no copy of
	// the text (the native protocol's cumulative text is ~2.5 KiB per stream at 256 tokens).
	// Escapes are still checked: a response whose text does not decode fails the same way.
	NoText bool
	// Compat is "" (bs behaviour) or "sglang" (send exactly what the reference sends; see docs/compat.md).
	Compat string
}

// Backend sends requests to one kind of server API.
type Backend interface {
	// Name is the backend name as given to --backend.
	Name() string
	// URL is the full endpoint URL requests are sent to.
	URL() string
	// Send performs one request for prompt p and records its outcome in ev. msgs, when non-nil, replaces
	// the prompt's messages (multi-turn rounds with the history so far). Times written to ev are
	// nanosecond offsets from zero (the run's start); the caller has already set ev.ID, ev.Seq,
	// ev.RequestID and ev.ScheduledNS. Send never returns an error: a failure is recorded in ev with its
	// kind. It returns the generated text (needed to continue a multi-turn conversation).
	Send(ctx context.Context, c *http.Client, p *records.Prompt, msgs []records.Message, ev *records.Event, zero time.Time) string
}
