package records

import (
	"encoding/json"
	"time"
)

// KindTrailer is the value of Trailer.Kind; it is how a reader recognises the trailer line.
const KindTrailer = "trailer"

// Interruption causes, as written in Trailer.Interrupted.
const (
	// InterruptSignal: SIGINT or SIGTERM stopped the run.
	InterruptSignal = "signal"
	// InterruptOutputClosed: the reader of the event stream went away (broken pipe).
	InterruptOutputClosed = "output_closed"
	// InterruptOutputError: writing the event stream failed for another reason (disk full, …).
	InterruptOutputError = "output_error"
	// InterruptInputError: a prompt record could not be read; the run stopped dispatching.
	InterruptInputError = "input_error"
)

// Trailer is the last line of an event stream written by bs-fire: what is only known once the run has
// ended. The header is written before the first request, so facts gathered after the run (the server's
// /server_info, the achieved rate, the client's own schedule lag) go here instead. A stream cut short
// (killed process, closed pipe) has no trailer; readers must not require one. Reader skips trailer lines
// and keeps them (see Reader.Trailers).
type Trailer struct {
	// Kind is always "trailer".
	Kind string `json:"kind"`
	// EndTime is the wall-clock time the run ended (RFC 3339, nanoseconds).
	EndTime time.Time `json:"end_time"`
	// DurationNS is the time from the run's start (the header's StartTime) to the end of the last
	// request, in nanoseconds.
	DurationNS int64 `json:"duration_ns"`
	// Sent is the number of requests sent, which is the number of events in the stream (each round of
	// a multi-turn conversation counts once).
	Sent int `json:"sent"`
	// OK, Failed and Cancelled split Sent: successful requests, failed ones other than cancelled, and
	// requests cancelled by an interruption (error_kind "cancelled").
	OK        int `json:"ok"`
	Failed    int `json:"failed"`
	Cancelled int `json:"cancelled"`
	// NotSent is the number of prompts read (or planned, with --num-prompts) that were never sent
	// because the run was interrupted. They have no event.
	NotSent int `json:"not_sent,omitempty"`
	// Interrupted says why the run stopped early (one of the Interrupt* constants); empty when it ran
	// to completion.
	Interrupted string `json:"interrupted,omitempty"`
	// SendRate is the achieved send rate in requests per second: (sent − 1) / (last sent_ns − first
	// sent_ns), over first rounds only. Compare it with the header's request_rate. Absent with fewer
	// than two requests.
	SendRate float64 `json:"send_rate,omitempty"`
	// Lag summarises the client's own schedule lag.
	Lag LagStats `json:"lag"`
	// ServerInfo is the JSON the server returned from GET /server_info after the run, verbatim
	// (absent if the request failed or returned something other than a JSON object).
	ServerInfo json.RawMessage `json:"server_info,omitempty"`
	// AcceptLength is the speculative-decoding accept length read from ServerInfo
	// (internal_states[0].avg_spec_accept_length, or decode[0]… for a PD router), if any.
	AcceptLength *float64 `json:"accept_length,omitempty"`
}

// LagStats is the schedule lag of the requests that did not wait for a concurrency slot: sent_ns −
// scheduled_ns, the time the client took to send a request that was due. A large lag means the client,
// not the server, limited the load.
type LagStats struct {
	// Count is the number of requests measured (first rounds that found a free slot).
	Count int `json:"count"`
	// P50NS, P99NS and MaxNS are the median, 99th percentile and maximum lag in nanoseconds.
	P50NS int64 `json:"p50_ns"`
	P99NS int64 `json:"p99_ns"`
	MaxNS int64 `json:"max_ns"`
	// LimitNS is the --max-lag threshold the p99 was compared with.
	LimitNS int64 `json:"limit_ns"`
	// ClientBottleneck is true when P99NS exceeded LimitNS: the client could not keep to the schedule.
	// It is never set for a burst (every request due at 0, --request-rate inf), where the lag is the
	// time taken to issue the burst rather than a failure to keep to a schedule.
	ClientBottleneck bool `json:"client_bottleneck"`
}

// WriteTrailer writes t after filling in its Kind.
func (w *Writer) WriteTrailer(t Trailer) error {
	t.Kind = KindTrailer
	return w.Write(&t)
}
