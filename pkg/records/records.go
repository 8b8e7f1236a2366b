// Package records defines the three record streams that connect the bs tools, and nothing else:
//
//	bs-gen  --prompts-->  bs-fire  --events-->  bs-stat  --summary-->  bs-report
//
// Every stream is JSON Lines. Its first line is a Header that says what the stream is and how it was
// made; every following line is one record of the stream's kind (Prompt, Event or Summary). Each
// record type is defined once, here, and docs/records.md documents every field with its type and unit.
//
// Streams are read and written in constant memory: one line at a time (see Reader and Writer), from
// any mix of standard input and files, compressed with zstd or gzip or not (see Open and Create).
package records

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// FormatVersion is the version of the record formats described in docs/records.md. A reader refuses a
// stream whose header carries a different version.
const FormatVersion = 1

// Stream kinds, as written in Header.Stream.
const (
	StreamPrompts = "prompts"
	StreamEvents  = "events"
	StreamSummary = "summary"
)

// KindHeader is the value of Header.Kind; it is how a reader recognises the header line.
const KindHeader = "header"

// Header is the first line of every stream. It records how the stream was made so that a saved file
// can be understood, re-analysed or reproduced later.
type Header struct {
	// Kind is always "header".
	Kind string `json:"kind"`
	// Format is FormatVersion of the writer.
	Format int `json:"format"`
	// Stream is one of StreamPrompts, StreamEvents, StreamSummary.
	Stream string `json:"stream"`
	// Tool is the program that wrote the stream ("bs-gen", "bs-fire", "bs-stat").
	Tool string `json:"tool"`
	// Version is the version of that program.
	Version string `json:"version"`
	// Args is the command line after the program name, with secret values replaced by "REDACTED".
	Args []string `json:"args,omitempty"`
	// Seed is the seed the tool used, when it draws random numbers.
	Seed *int64 `json:"seed,omitempty"`
	// Tokenizer names the tokenizer the tool loaded (path or model id), if any.
	Tokenizer string `json:"tokenizer,omitempty"`
	// Dataset names the dataset the prompts came from (bs-gen's --dataset-name).
	Dataset string `json:"dataset,omitempty"`
	// StartTime is the wall-clock time at which the run started (RFC 3339, nanoseconds). All *_ns
	// offsets of an event stream count from this instant. Prompt streams leave it out so that the
	// same flags and seed give byte-identical files.
	StartTime *time.Time `json:"start_time,omitempty"`
	// Host is the host name of the machine that wrote an event stream.
	Host string `json:"host,omitempty"`
	// Run describes the load of an event stream (bs-fire only).
	Run *Run `json:"run,omitempty"`
	// Inputs holds the headers of the streams this tool read (for bs-fire: the prompt header), so the
	// provenance of a result travels with it.
	Inputs []Header `json:"inputs,omitempty"`
}

// Run describes how bs-fire drove the load. It is part of an event stream's header.
type Run struct {
	Backend  string `json:"backend"`
	BaseURL  string `json:"base_url"`
	Endpoint string `json:"endpoint"`
	Model    string `json:"model"`
	// ServedModel is the value sent in the request's model field, when it differs from Model.
	ServedModel string `json:"served_model,omitempty"`
	// RequestRate is the target arrival rate in requests per second; +Inf means all at once.
	RequestRate Rate `json:"request_rate"`
	// Arrival is the arrival process: "poisson", "gamma", "constant", "burst", "trace", "closed".
	Arrival string `json:"arrival"`
	// Burstiness is the gamma shape parameter when Arrival is "gamma" (1 = Poisson).
	Burstiness float64 `json:"burstiness,omitempty"`
	// MaxConcurrency caps requests in flight; 0 means no cap.
	MaxConcurrency int `json:"max_concurrency,omitempty"`
	// NumPrompts is the number of requests the run intended to send.
	NumPrompts int `json:"num_prompts"`
	// Stream is false when the run used non-streaming requests (--disable-stream).
	Stream bool `json:"stream"`
	// WarmupRequests is the number of warm-up requests sent before the measured run (not recorded as events).
	WarmupRequests int `json:"warmup_requests,omitempty"`
	// UseTraceTimestamps is true when arrivals followed the prompts' timestamps.
	UseTraceTimestamps bool `json:"use_trace_timestamps,omitempty"`
	// ServerInfo is the JSON the server returned from GET /server_info after the run, verbatim.
	ServerInfo json.RawMessage `json:"server_info,omitempty"`
	// AcceptLength is the speculative-decoding accept length read from ServerInfo, if any.
	AcceptLength *float64 `json:"accept_length,omitempty"`
	// Tag is a free label copied from --tag.
	Tag string `json:"tag,omitempty"`
	// CacheReport is set when bs-fire ran with --cache-report: reports then add the reference's
	// cache-hit section.
	CacheReport bool `json:"cache_report,omitempty"`
}

// Rate is a request rate in requests per second that encodes +Inf as the JSON string "inf"
// (JSON has no infinity).
type Rate float64

// MarshalJSON writes a finite rate as a number and an infinite one as "inf".
func (r Rate) MarshalJSON() ([]byte, error) {
	f := float64(r)
	if math.IsInf(f, 1) {
		return []byte(`"inf"`), nil
	}
	if math.IsNaN(f) || math.IsInf(f, -1) {
		return nil, fmt.Errorf("invalid request rate %v", f)
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// UnmarshalJSON reads a number or the strings "inf" / "Infinity".
func (r *Rate) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		switch s {
		case "inf", "Infinity", "+inf", "+Infinity":
			*r = Rate(math.Inf(1))
			return nil
		}
		return fmt.Errorf("invalid request rate %q", s)
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("invalid request rate %s", b)
	}
	*r = Rate(f)
	return nil
}

// Message is one chat message. Content is a string or a list of content parts
// (for example {"type":"text","text":…} and {"type":"image_url","image_url":{"url":…}}), kept verbatim.
type Message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// TextMessage returns a message whose content is the plain string s.
func TextMessage(role, s string) Message {
	b, _ := json.Marshal(s)
	return Message{Role: role, Content: b}
}

// Prompt is one request to send: a record of a prompt stream (bs-gen → bs-fire).
//
// Exactly one of Text, IDs, Messages and Turns carries the prompt. Lengths are in tokens of the
// tokenizer named in the stream header and state what the prompt was built for, so bs-stat can compare
// them with what the server reports.
type Prompt struct {
	// ID identifies the prompt within its stream (0-based position in the generated dataset).
	ID int `json:"id"`
	// Text is a plain-text prompt (completions, native /generate, or one user message on chat backends).
	Text string `json:"text,omitempty"`
	// IDs is a prompt given as token ids (--tokenize-prompt; native /generate input_ids).
	IDs []int `json:"ids,omitempty"`
	// Messages is a prompt given as a chat conversation (chat backends).
	Messages []Message `json:"messages,omitempty"`
	// Turns is a multi-turn conversation: round i appends Turns[i] to the history, then sends it;
	// the assistant's reply is appended before the next round (chat backends).
	Turns [][]Message `json:"turns,omitempty"`
	// Images are image data URIs (or URLs) attached to the prompt.
	Images []string `json:"images,omitempty"`
	// PromptLen is the prompt's length in tokens (text and vision).
	PromptLen int `json:"prompt_len"`
	// TextPromptLen is the text part of PromptLen; omitted when equal to PromptLen.
	TextPromptLen int `json:"text_prompt_len,omitempty"`
	// VisionPromptLen is the vision part of PromptLen (image tokens).
	VisionPromptLen int `json:"vision_prompt_len,omitempty"`
	// OutputLen is the number of tokens to ask for (max_tokens / max_new_tokens).
	OutputLen int `json:"output_len"`
	// TimestampMS is the arrival time from a trace, in milliseconds (used with --use-trace-timestamps).
	TimestampMS *float64 `json:"timestamp_ms,omitempty"`
	// Session groups prompts of one trace session (mooncake); Round is the 1-based round in it.
	Session string `json:"session,omitempty"`
	Round   int    `json:"round,omitempty"`
	// Group is a dataset-defined group label (for example the shared-prefix group), usable with --group-by.
	Group string `json:"group,omitempty"`
	// RoutingKey is sent as the X-SMG-Routing-Key header.
	RoutingKey string `json:"routing_key,omitempty"`
	// Lora is the LoRA adapter to use for this prompt.
	Lora string `json:"lora,omitempty"`
	// ExtraBody is merged into this prompt's request body; its keys win over the global extra body.
	ExtraBody json.RawMessage `json:"extra_body,omitempty"`
}

// TextLen returns the text part of the prompt's length.
func (p *Prompt) TextLen() int {
	if p.TextPromptLen == 0 && p.VisionPromptLen == 0 {
		return p.PromptLen
	}
	return p.TextPromptLen
}

// Error kinds recorded in Event.ErrorKind. They are stable: scripts may match on them.
const (
	ErrConnect      = "connect"       // the connection could not be made (refused, DNS, dial timeout)
	ErrTimeout      = "timeout"       // the request exceeded its deadline
	ErrHTTPStatus   = "http_status"   // the server answered with a non-2xx status
	ErrStreamBroken = "stream_broken" // the connection failed or closed before the response ended
	ErrServerEvent  = "server_error"  // the server sent an error object inside a 2xx response or stream
	ErrDecode       = "decode"        // the response could not be parsed
	ErrCancelled    = "cancelled"     // bs-fire was interrupted before the request completed
	ErrClient       = "client"        // the request could not be built or sent for a local reason
)

// Event is the outcome of one request: a record of an event stream (bs-fire → bs-stat). bs-fire writes
// it as soon as the request ends. Times are integer nanoseconds; *_ns offsets with no other base count
// from the header's StartTime, chunk times count from SentNS.
type Event struct {
	// ID is the Prompt.ID the request was built from.
	ID int `json:"id"`
	// Seq is the dispatch order within the run (0-based).
	Seq int `json:"seq"`
	// Turn is the 1-based round of a multi-turn conversation (0 for single requests).
	Turn int `json:"turn,omitempty"`
	// RequestID is the id bs-fire sent in the X-Request-Id header.
	RequestID string `json:"request_id"`
	// ResponseID is the id the server returned (OpenAI "id", native meta_info.id), if any.
	ResponseID string `json:"response_id,omitempty"`

	// ScheduledNS is when the request was meant to be sent (the arrival schedule).
	ScheduledNS int64 `json:"scheduled_ns"`
	// SentNS is when the request was actually sent (after any wait for a concurrency slot).
	SentNS int64 `json:"sent_ns"`
	// HeadersNS is when the response headers arrived (0 if they never did).
	HeadersNS int64 `json:"headers_ns,omitempty"`
	// EndNS is when the last byte of the response arrived, or when the request failed.
	EndNS int64 `json:"end_ns"`
	// ChunkNS holds, for each chunk that carried generated output, its arrival time counted from SentNS.
	// The first entry is the time to first token.
	ChunkNS []int64 `json:"chunk_ns,omitempty"`
	// ChunkTokens holds the number of tokens each chunk carried, when the server reported it
	// (native meta_info.completion_tokens, or per-chunk usage). Omitted when unknown.
	ChunkTokens []int `json:"chunk_tokens,omitempty"`
	// ChunkText holds each chunk's text (only with bs-fire --record-text).
	ChunkText []string `json:"chunk_text,omitempty"`
	// Text is the whole generated text (only with bs-fire --record-text).
	Text string `json:"text,omitempty"`

	// OK is true when the request succeeded.
	OK bool `json:"ok"`
	// Status is the HTTP status code (0 if no response was received).
	Status int `json:"status,omitempty"`
	// ErrorKind is one of the Err* constants when OK is false.
	ErrorKind string `json:"error_kind,omitempty"`
	// Error is the error message (never contains credentials).
	Error string `json:"error,omitempty"`
	// FinishReason is the finish reason the server reported, if any.
	FinishReason string `json:"finish_reason,omitempty"`

	// PromptLen, TextPromptLen and VisionPromptLen are copied from the prompt (client-side counts).
	PromptLen       int `json:"prompt_len"`
	TextPromptLen   int `json:"text_prompt_len,omitempty"`
	VisionPromptLen int `json:"vision_prompt_len,omitempty"`
	// OutputLen is the number of output tokens requested.
	OutputLen int `json:"output_len"`
	// UsagePromptTokens and UsageCompletionTokens are the counts the server reported, if it did.
	UsagePromptTokens     *int `json:"usage_prompt_tokens,omitempty"`
	UsageCompletionTokens *int `json:"usage_completion_tokens,omitempty"`
	// CachedTokens is the prefix-cache hit the server reported, if it did: SGLang's
	// meta_info.cached_tokens, the sum of sglext.cached_tokens_details, or OpenAI/vLLM's
	// usage.prompt_tokens_details.cached_tokens.
	CachedTokens *int `json:"cached_tokens,omitempty"`
	// CachedDetails splits the hit by cache tier, when the server said (SGLang's
	// cached_tokens_details, sent with bs-fire --cache-report).
	CachedDetails *CacheTiers `json:"cached_tokens_details,omitempty"`
	// SpecAcceptLength and SpecVerifyCt are the speculative-decoding figures the server reported.
	SpecAcceptLength *float64 `json:"spec_accept_length,omitempty"`
	SpecVerifyCt     *int     `json:"spec_verify_ct,omitempty"`

	// Lora, Group and Session are copied from the prompt, for --group-by.
	Lora    string `json:"lora,omitempty"`
	Group   string `json:"group,omitempty"`
	Session string `json:"session,omitempty"`
}

// CacheTiers is a prefix-cache hit by tier, as SGLang's hierarchical cache reports it.
type CacheTiers struct {
	Device  int `json:"device"`
	Host    int `json:"host"`
	Storage int `json:"storage"`
	// StorageBackend names the storage tier's backend, if the server did.
	StorageBackend string `json:"storage_backend,omitempty"`
}

// TTFTNS returns the time to first token counted from SentNS, or -1 if no output arrived.
func (e *Event) TTFTNS() int64 {
	if len(e.ChunkNS) == 0 {
		return -1
	}
	return e.ChunkNS[0]
}

// LatencyNS returns the end-to-end latency counted from SentNS.
func (e *Event) LatencyNS() int64 { return e.EndNS - e.SentNS }
