package sim

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Defaults applied by New to zero-valued Config fields.
const (
	DefaultModel          = "bs-sim"
	DefaultOutputLen      = 128
	DefaultTokensPerChunk = 1
	DefaultFailStatus     = 500
	DefaultMaxModelLen    = 32768
	DefaultMaxBodyBytes   = 64 << 20
)

// Config is the behaviour of a simulated server. The zero value is usable: New fills in the
// defaults above, and every latency is zero (tokens are sent as fast as the machine allows).
type Config struct {
	// Model is the served model name: returned by /v1/models, /model_info and in OpenAI responses
	// when the request names no model.
	Model string
	// TokenizerPath is returned as tokenizer_path by /model_info (default: Model).
	TokenizerPath string
	// MaxModelLen is reported by /v1/models.
	MaxModelLen int

	// TTFT is the base time from admission (a free running slot) to the first token.
	TTFT time.Duration
	// PrefillPerToken is added to TTFT for each prompt token.
	PrefillPerToken time.Duration
	// ITL is the time between two consecutive tokens.
	ITL time.Duration
	// Jitter perturbs TTFT and every ITL gap (see Jitter).
	Jitter Jitter
	// Spin, when positive, makes each wait end with a busy-wait (yielding to other goroutines) of up
	// to Spin instead of a timer sleep, for sub-millisecond emission accuracy: Go timers here fire
	// 0.1-1 ms late. It costs CPU, so it suits a few concurrent streams, not thousands.
	Spin time.Duration
	// Seed makes every pseudo-random choice (words, jitter, faults, generated ids) reproducible.
	Seed uint64

	// TokensPerChunk is the number of tokens carried by one streamed event (default 1).
	TokensPerChunk int
	// MaxConcurrency is the number of running slots; further requests wait in a FIFO queue and
	// their wait adds to their TTFT. Zero means unlimited.
	MaxConcurrency int
	// DefaultOutputLen is the number of tokens generated when the request sets no maximum.
	DefaultOutputLen int
	// EOSAfter, when positive, simulates an end-of-sequence token: a request that does not ask to
	// ignore EOS stops after max(EOSAfter, min_tokens) tokens if that is below its maximum.
	EOSAfter int
	// CharsPerToken, when positive, estimates a text prompt's token count as
	// ceil(characters / CharsPerToken); when zero the estimate is the number of whitespace-separated
	// words. Prompts given as token ids are counted exactly.
	CharsPerToken float64

	// APIKey, when set, is required as "Authorization: Bearer <APIKey>" on every path except
	// /health* and /metrics; other requests get 401. It is never logged.
	APIKey string

	// TruthLog, when set, receives one JSON line (a TruthRecord) per generation request, written
	// when the request ends.
	TruthLog io.Writer
	// RecordBodies, when set, receives one JSON line (a BodyRecord) per HTTP request received,
	// with credential headers redacted.
	RecordBodies io.Writer

	// FailRate is the fraction of generation requests answered at once with HTTP FailStatus.
	FailRate float64
	// FailStatus is the status used for FailRate failures (default 500).
	FailStatus int
	// StreamErrorAfter and StreamErrorRate: a fraction StreamErrorRate of streamed requests send an
	// in-band error event after StreamErrorAfter content events, then end the stream.
	// StreamErrorRate zero disables the fault.
	StreamErrorAfter int
	StreamErrorRate  float64
	// DropAfter and DropRate: a fraction DropRate of streamed requests have their connection closed
	// after DropAfter content events, without ending the HTTP response. DropRate zero disables it.
	DropAfter int
	DropRate  float64

	// SpecAcceptLength, when positive, simulates speculative decoding statistics: /server_info
	// reports it as internal_states[0].avg_spec_accept_length, and each native /generate response
	// reports spec_verify_ct and spec_accept_length in its final meta_info.
	SpecAcceptLength float64

	// TritonAccumulate makes the Triton generate_stream endpoint send the accumulated text in every
	// event (as the tensorrt_llm_bls model does when configured with accumulate_tokens) instead of
	// the new text only (what the "ensemble" model sends).
	TritonAccumulate bool

	// PrefixCache simulates a prefix cache (see cache.go): a prompt whose leading blocks an earlier
	// prompt had is prefilled only from the first uncached token (PrefillPerToken counts uncached
	// tokens only), and responses report the hit: native meta_info.cached_tokens, OpenAI
	// usage.prompt_tokens_details.cached_tokens, and with the request's
	// return_cached_tokens_details the sglext member. Off, cached_tokens is always 0 and the
	// OpenAI responses have neither member.
	PrefixCache bool
	// PrefixCacheBlocks is the capacity of the prefix cache in 64-byte blocks
	// (DefaultPrefixCacheBlocks when zero); when full, the cache is cleared.
	PrefixCacheBlocks int

	// MaxBodyBytes limits request bodies (default 64 MiB); larger bodies get 413.
	MaxBodyBytes int64

	// Mimic, when set, imitates another server's OpenAI API where it differs from vLLM/SGLang.
	// The only value is MimicLlamaCpp (see llamacpp.go); "" is bs-sim's usual vLLM/SGLang dialect.
	Mimic string
	// PingInterval is the period of the ": ping - <time>" SSE comment lines the llama.cpp mimic
	// writes on every event stream, counted from the response headers (sse-starlette's default,
	// DefaultPingInterval, when zero). Only used with Mimic.
	PingInterval time.Duration
}

// withDefaults returns c with zero fields replaced by defaults, or an error naming the first
// invalid field.
func (c Config) withDefaults() (Config, error) {
	if c.Model == "" {
		c.Model = DefaultModel
	}
	if c.TokenizerPath == "" {
		c.TokenizerPath = c.Model
	}
	if c.MaxModelLen == 0 {
		c.MaxModelLen = DefaultMaxModelLen
	}
	if c.TokensPerChunk == 0 {
		c.TokensPerChunk = DefaultTokensPerChunk
	}
	if c.DefaultOutputLen == 0 {
		c.DefaultOutputLen = DefaultOutputLen
	}
	if c.FailStatus == 0 {
		c.FailStatus = DefaultFailStatus
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.PrefixCacheBlocks == 0 {
		c.PrefixCacheBlocks = DefaultPrefixCacheBlocks
	}
	if c.Mimic == MimicLlamaCpp {
		if c.PingInterval == 0 {
			c.PingInterval = DefaultPingInterval
		}
		if c.MaxConcurrency == 0 {
			c.MaxConcurrency = 1 // llama-cpp-python serves one request at a time
		}
	}
	var errs []error
	check := func(ok bool, field, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
		}
	}
	check(c.TTFT >= 0, "ttft", "must not be negative, got %v", c.TTFT)
	check(c.PrefillPerToken >= 0, "prefill-per-token", "must not be negative, got %v", c.PrefillPerToken)
	check(c.Spin >= 0, "spin", "must not be negative, got %v", c.Spin)
	check(c.ITL >= 0, "itl", "must not be negative, got %v", c.ITL)
	check(c.TokensPerChunk >= 1, "tokens-per-chunk", "must be at least 1, got %d", c.TokensPerChunk)
	check(c.MaxConcurrency >= 0, "max-concurrency", "must not be negative, got %d", c.MaxConcurrency)
	check(c.DefaultOutputLen >= 0, "default-output-len", "must not be negative, got %d", c.DefaultOutputLen)
	check(c.EOSAfter >= 0, "eos-after", "must not be negative, got %d", c.EOSAfter)
	check(c.CharsPerToken >= 0 && !math.IsInf(c.CharsPerToken, 0), "chars-per-token", "must be a finite number >= 0, got %v", c.CharsPerToken)
	check(isRate(c.FailRate), "fail-rate", "must be in [0, 1], got %v", c.FailRate)
	check(c.FailStatus >= 400 && c.FailStatus <= 599, "fail-status", "must be an HTTP error status (400-599), got %d", c.FailStatus)
	check(isRate(c.StreamErrorRate), "stream-error-rate", "must be in [0, 1], got %v", c.StreamErrorRate)
	check(c.StreamErrorAfter >= 0 || c.StreamErrorRate == 0, "stream-error-after", "must not be negative, got %d", c.StreamErrorAfter)
	check(isRate(c.DropRate), "drop-rate", "must be in [0, 1], got %v", c.DropRate)
	check(c.DropAfter >= 0 || c.DropRate == 0, "drop-after", "must not be negative, got %d", c.DropAfter)
	check(c.SpecAcceptLength == 0 || c.SpecAcceptLength >= 1 && !math.IsInf(c.SpecAcceptLength, 0), "spec-accept-length", "must be 0 (off) or a number >= 1, got %v", c.SpecAcceptLength)
	check(c.MaxModelLen > 0, "max-model-len", "must be positive, got %d", c.MaxModelLen)
	check(c.MaxBodyBytes > 0, "max-body-bytes", "must be positive, got %d", c.MaxBodyBytes)
	check(c.PrefixCacheBlocks > 0, "prefix-cache-blocks", "must be positive, got %d", c.PrefixCacheBlocks)
	check(c.Mimic == "" || c.Mimic == MimicLlamaCpp, "mimic", "must be empty or %q, got %q", MimicLlamaCpp, c.Mimic)
	check(c.PingInterval >= 0, "ping-interval", "must not be negative, got %v", c.PingInterval)
	check(c.Jitter.Frac >= 0 && c.Jitter.Frac <= 1 && c.Jitter.Dur >= 0, "jitter", "must be a fraction in [0, 1] or a non-negative duration, got %v", c.Jitter)
	return c, errors.Join(errs...)
}

func isRate(r float64) bool { return r >= 0 && r <= 1 }

// Jitter is a random perturbation of each latency. With Frac > 0 every TTFT and ITL gap g becomes
// g·(1+Frac·u); with Dur > 0 it becomes g+Dur·u; u is drawn uniformly from [-1, 1) from (Seed,
// request sequence number, token index), and a negative result counts as zero. At most one of Frac
// and Dur is set. Emission times stay on one absolute timeline per request, so jitter never
// accumulates drift.
type Jitter struct {
	Frac float64
	Dur  time.Duration
}

// ParseJitter parses a jitter value: a fraction ("0.1"), a percentage ("10%") or a Go duration
// ("2ms"). The empty string and "0" mean no jitter.
func ParseJitter(s string) (Jitter, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return Jitter{}, nil
	}
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || f < 0 || f > 100 {
			return Jitter{}, fmt.Errorf("invalid jitter %q: a percentage must be a number in [0, 100]", s)
		}
		return Jitter{Frac: f / 100}, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f < 0 || f > 1 {
			return Jitter{}, fmt.Errorf("invalid jitter %q: a fraction must be in [0, 1] (use a unit such as 5ms for a duration)", s)
		}
		return Jitter{Frac: f}, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return Jitter{}, fmt.Errorf("invalid jitter %q: want a fraction (0.1), a percentage (10%%) or a duration (2ms)", s)
	}
	return Jitter{Dur: d}, nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseJitter, so Jitter can be a flag.
func (j *Jitter) UnmarshalText(b []byte) error {
	v, err := ParseJitter(string(b))
	if err != nil {
		return err
	}
	*j = v
	return nil
}

// String formats j the way ParseJitter reads it.
func (j Jitter) String() string {
	switch {
	case j.Dur > 0:
		return j.Dur.String()
	case j.Frac > 0:
		return strconv.FormatFloat(j.Frac, 'g', -1, 64)
	}
	return "0"
}

// apply perturbs the latency g with u in [-1, 1).
func (j Jitter) apply(g time.Duration, u float64) time.Duration {
	switch {
	case j.Frac > 0:
		g = time.Duration(float64(g) * (1 + j.Frac*u))
	case j.Dur > 0:
		g += time.Duration(float64(j.Dur) * u)
	}
	return max(g, 0)
}

// on reports whether j perturbs anything.
func (j Jitter) on() bool { return j.Frac > 0 || j.Dur > 0 }
