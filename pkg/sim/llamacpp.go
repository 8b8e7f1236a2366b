package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// The llama.cpp mimic (Config.Mimic = MimicLlamaCpp) imitates the OpenAI API of llama.cpp's Python
// server, llama-cpp-python 0.3.36 (python -m llama_cpp.server, sse-starlette, starlette-context),
// where it differs from vLLM/SGLang in ways a client sees. Observed against the real server in
// test/llamacpp (README.md there):
//
//   - Every request whose X-Request-Id header is not a UUID (32 hex digits once "urn:", "uuid:",
//     braces and dashes are removed, as Python's uuid.UUID reads it) gets HTTP 400 with an empty
//     body, on every path. The response's X-Request-Id echoes the request's, or is a new uuid4 in
//     32 hex digits.
//   - Only /v1/completions and /v1/chat/completions generate; GET /v1/models answers
//     {"object":"list","data":[{"id":M,"object":"model","owned_by":"me","permissions":[]}]};
//     every other path (/generate, /health, /metrics, /server_info, /model_info, Triton, truss)
//     is 404 {"detail":"Not Found"}.
//   - One request at a time: MaxConcurrency defaults to 1 (requests queue FIFO; stream headers go
//     out at once, the tokens after the previous request ended).
//   - Streams never carry usage (stream_options is ignored). Events are "data: <json>\n\n" with
//     Python json.dumps spacing (", ", ": ") and \uXXXX escapes; completions chunks are
//     {"id","object","created","model","choices":[{"text","index","logprobs","finish_reason"}]},
//     chat chunks {"id","model","created","object","choices":[{"index","delta","logprobs",
//     "finish_reason"}]}. Chat sends a role-only first chunk (delta {"role":"assistant"}, no
//     content) together with the first token. Every token chunk has finish_reason null; a final
//     chunk with empty text (completions) or an empty delta {} (chat) carries the finish reason,
//     then data: [DONE].
//   - ": ping - <UTC time>" comment lines every PingInterval (15 s by default) from the response
//     headers on, also while the request waits for its turn.
//   - ids are "cmpl-<uuid4>" / "chatcmpl-<uuid4>" (derived from Seed and the arrival order).
//   - ignore_eos is ignored (EOSAfter always applies); min_tokens is honoured.
//   - max_tokens: completions default to 16 when it is absent; max_tokens 0 or null, and chat
//     without max_tokens, generate until the context (MaxModelLen, llama.cpp's n_ctx) is full:
//     MaxModelLen − prompt tokens. Chat's max_completion_tokens is ignored.
//   - prompt + max_tokens > MaxModelLen: HTTP 400 {"error":{"message":…,"type":
//     "invalid_request_error","param":"messages"|"prompt","code":"context_length_exceeded"}}
//     without streaming; with streaming HTTP 200, event-stream headers, then the stream ends
//     with no data line at all.
//   - Non-streamed bodies: compact JSON, usage keys in the order prompt_tokens, completion_tokens,
//     total_tokens; chat's message is {"content","role"}.

// MimicLlamaCpp is the Config.Mimic value that imitates llama.cpp's Python server (llamacpp.go).
const MimicLlamaCpp = "llamacpp"

// DefaultPingInterval is sse-starlette's keep-alive comment period, the llama.cpp mimic's default.
const DefaultPingInterval = 15 * time.Second

// llamaCompletionsDefaultMax is llama-cpp-python's max_tokens default for /v1/completions.
const llamaCompletionsDefaultMax = 16

// validUUID reports whether s parses as Python's uuid.UUID(s) does: after removing "urn:" and
// "uuid:", surrounding braces and every dash, exactly 32 hex digits remain.
func validUUID(s string) bool {
	s = strings.ReplaceAll(s, "urn:", "")
	s = strings.ReplaceAll(s, "uuid:", "")
	s = strings.Trim(s, "{}")
	s = strings.ReplaceAll(s, "-", "")
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// llamaRequestID applies starlette-context's RequestIdPlugin: a request with a non-UUID
// X-Request-Id gets 400 with an empty body (false is returned); otherwise the response's
// X-Request-Id is set to the request's, or to a new uuid4 in 32 hex digits.
func (s *Server) llamaRequestID(w http.ResponseWriter, r *http.Request) bool {
	xrid := r.Header.Get("X-Request-Id")
	if xrid == "" {
		xrid = fmt.Sprintf("%016x%016x", rand.Uint64(), rand.Uint64())
	} else if !validUUID(xrid) {
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusBadRequest)
		return false
	}
	w.Header().Set("X-Request-Id", xrid)
	return true
}

// llamaRejectGen writes the truth record of a generation request refused for its X-Request-Id.
func (s *Server) llamaRejectGen(r *http.Request, ep endpoint, received time.Time) {
	seq := s.seq.Add(1) - 1
	if s.truth == nil {
		return
	}
	s.truth.write(&TruthRecord{
		Seq: seq, Endpoint: ep.name, Path: r.URL.Path, XRequestID: r.Header.Get("X-Request-Id"),
		Status: http.StatusBadRequest, Outcome: OutcomeBadRequest,
		Error:      "X-Request-Id is not a UUID (llama.cpp mimic: HTTP 400, empty body)",
		ReceivedNS: s.ns(received), EndNS: s.ns(time.Now()),
	})
}

// llamaParams applies llama-cpp-python's reading of a request: no usage in streams, ignore_eos
// ignored, and its max_tokens rules (see the top of this file).
func (s *Server) llamaParams(p genParams, k kind) genParams {
	p.ignoreEOS = false
	p.includeUsage, p.continuousUsage = false, false
	full := max(s.cfg.MaxModelLen-p.promptTokens, 0)
	switch {
	case p.oaiMaxTokensNull || p.oaiMaxTokens == 0:
		p.maxTokens = full
	case p.oaiMaxTokens == unset && k == kindCompletions:
		p.maxTokens = llamaCompletionsDefaultMax
	case p.oaiMaxTokens == unset:
		p.maxTokens = full
	default:
		p.maxTokens = p.oaiMaxTokens
	}
	return p
}

// llamaContextExceeded answers a request whose prompt and max_tokens do not fit the context:
// 400 with llama-cpp-python's error object, or, streaming, 200 and an event stream with no data.
func (s *Server) llamaContextExceeded(w http.ResponseWriter, g *gen, p genParams) string {
	rec := g.rec
	rec.Stream, rec.PromptTokens, rec.MaxTokens = p.stream, p.promptTokens, p.maxTokens
	rec.Error = fmt.Sprintf("This model's maximum context length is %d tokens, however you requested %d tokens (%d in your prompt; %d for the completion). Please reduce your prompt; or completion length.",
		s.cfg.MaxModelLen, p.promptTokens+p.maxTokens, p.promptTokens, p.maxTokens)
	if p.stream {
		rec.Status = http.StatusOK
		h := w.Header()
		h.Set("Content-Type", "text/event-stream; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		_ = http.NewResponseController(w).Flush() // a chunked body that ends with no event
		return OutcomeBadRequest
	}
	param := "prompt"
	if g.kind == kindChat {
		param = "messages"
	}
	b := []byte(`{"error":{"message":`)
	b = appendJSONString(b, rec.Error)
	b = append(b, `,"type":"invalid_request_error","param":"`...)
	b = append(b, param...)
	b = append(b, `","code":"context_length_exceeded"}}`...)
	rec.Status = http.StatusBadRequest
	writeJSON(w, http.StatusBadRequest, b)
	return OutcomeBadRequest
}

// llamaInfo answers the non-generation paths: GET /v1/models, else 404.
func (s *Server) llamaInfo(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/models" {
		writeJSON(w, http.StatusNotFound, []byte(`{"detail":"Not Found"}`))
		return
	}
	if r.Method != http.MethodGet {
		methodNotAllowed(w, "GET")
		return
	}
	b := []byte(`{"object":"list","data":[{"id":`)
	b = appendJSONString(b, s.cfg.Model)
	writeJSON(w, http.StatusOK, append(b, `,"object":"model","owned_by":"me","permissions":[]}]}`...))
}

// llamaUUID returns the uuid4 of request seq's response id.
func llamaUUID(seed, seq uint64) string {
	hi, lo := draw(seed, seq, saltID, 0), draw(seed, seq, saltID, 1)
	hi = hi&^(0xf<<12) | 4<<12 // version 4
	lo = lo&^(3<<62) | 2<<62   // RFC 4122 variant
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", hi>>32, hi>>16&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
}

// appendPyString appends s as Python's json.dumps writes it by default: non-ASCII characters as
// \uXXXX escapes (UTF-16 surrogate pairs beyond the BMP).
func appendPyString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r == '\b':
			b = append(b, `\b`...)
		case r == '\f':
			b = append(b, `\f`...)
		case r < 0x20 || r > 0x7e:
			units := []rune{r}
			if r > 0xffff {
				r1, r2 := utf16.EncodeRune(r)
				units = []rune{r1, r2}
			}
			for _, u := range units {
				b = append(b, '\\', 'u', hex[u>>12&0xf], hex[u>>8&0xf], hex[u>>4&0xf], hex[u&0xf])
			}
		default:
			b = append(b, byte(r))
		}
	}
	return append(b, '"')
}

// modelPy returns the response's model name as a Python-encoded JSON string.
func (g *gen) modelPy() []byte {
	if g.modelPyJSON == nil {
		var m string
		_ = json.Unmarshal(g.modelJSON, &m) // written by appendJSONString: always valid
		g.modelPyJSON = appendPyString(nil, m)
	}
	return g.modelPyJSON
}

// appendLlamaHead appends a stream chunk's opening up to and including `"choices": `, in
// llama-cpp-python's key order for the protocol.
func (g *gen) appendLlamaHead(b []byte) []byte {
	b = append(b, sseData...)
	b = append(b, `{"id": `...)
	b = append(b, g.idJSON...)
	if g.kind == kindChat {
		b = append(b, `, "model": `...)
		b = append(b, g.modelPy()...)
		b = append(b, `, "created": `...)
		b = strconv.AppendInt(b, g.created, 10)
		return append(b, `, "object": "chat.completion.chunk", "choices": `...)
	}
	b = append(b, `, "object": "text_completion", "created": `...)
	b = strconv.AppendInt(b, g.created, 10)
	b = append(b, `, "model": `...)
	b = append(b, g.modelPy()...)
	return append(b, `, "choices": `...)
}

// appendLlamaEvent appends the chunk(s) carrying the new text delta: the role-only chunk first
// (chat, with the first token), then one chunk with finish_reason null. The finish reason
// comes in a chunk of its own (appendLlamaTrailer).
func (g *gen) appendLlamaEvent(b, delta []byte, first bool) []byte {
	if first && g.kind == kindChat {
		b = g.appendLlamaHead(b)
		b = append(b, `[{"index": 0, "delta": {"role": "assistant"}, "logprobs": null, "finish_reason": null}]}`...)
		b = append(b, sseEnd...)
	}
	if len(delta) == 0 {
		return b
	}
	b = g.appendLlamaHead(b)
	if g.kind == kindChat {
		b = append(b, `[{"index": 0, "delta": {"content": "`...)
		b = append(b, delta...)
		b = append(b, `"}, "logprobs": null, "finish_reason": null}]}`...)
	} else {
		b = append(b, `[{"text": "`...)
		b = append(b, delta...)
		b = append(b, `", "index": 0, "logprobs": null, "finish_reason": null}]}`...)
	}
	return append(b, sseEnd...)
}

// llamaFinish returns the finish reason as a JSON string.
func (g *gen) llamaFinish() string {
	if g.stop {
		return `"stop"`
	}
	return `"length"`
}

// appendLlamaTrailer appends the finish chunk (empty text, or an empty delta for chat) and
// data: [DONE]. There is never a usage chunk.
func (g *gen) appendLlamaTrailer(b []byte) []byte {
	b = g.appendLlamaHead(b)
	if g.kind == kindChat {
		b = append(b, `[{"index": 0, "delta": {}, "logprobs": null, "finish_reason": `...)
	} else {
		b = append(b, `[{"text": "", "index": 0, "logprobs": null, "finish_reason": `...)
	}
	b = append(b, g.llamaFinish()...)
	b = append(b, "}]}"...)
	b = append(b, sseEnd...)
	return append(b, sseDone...)
}

// appendLlamaBody appends a non-streamed response: compact JSON with usage.
func (g *gen) appendLlamaBody(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = append(b, g.idJSON...)
	if g.kind == kindChat {
		b = append(b, `,"object":"chat.completion","created":`...)
	} else {
		b = append(b, `,"object":"text_completion","created":`...)
	}
	b = strconv.AppendInt(b, g.created, 10)
	b = append(b, `,"model":`...)
	b = append(b, g.modelJSON...)
	if g.kind == kindChat {
		b = append(b, `,"choices":[{"index":0,"message":{"content":"`...)
		b = append(b, g.text...)
		b = append(b, `","role":"assistant"},"logprobs":null,"finish_reason":`...)
	} else {
		b = append(b, `,"choices":[{"text":"`...)
		b = append(b, g.text...)
		b = append(b, `","index":0,"logprobs":null,"finish_reason":`...)
	}
	b = append(b, g.llamaFinish()...)
	b = append(b, `}],"usage":{"prompt_tokens":`...)
	b = appendInt(b, g.p.promptTokens)
	b = append(b, `,"completion_tokens":`...)
	b = appendInt(b, g.sent)
	b = append(b, `,"total_tokens":`...)
	b = appendInt(b, g.p.promptTokens+g.sent)
	return append(b, "}}"...)
}

// appendPing appends sse-starlette's keep-alive comment, e.g.
// ": ping - 2026-11-30 16:15:26.123456+00:00\n\n".
func appendPing(b []byte, t time.Time) []byte {
	b = append(b, ": ping - "...)
	b = t.UTC().AppendFormat(b, "2006-01-02 15:04:05.000000")
	return append(b, "+00:00\n\n"...)
}

// writePing sends a ping comment and schedules the next one.
func (g *gen) writePing(w http.ResponseWriter, rc *http.ResponseController) error {
	g.buf = appendPing(g.buf[:chunkRoom], time.Now())
	if err := g.flush(w, rc); err != nil {
		return err
	}
	g.nextPing = g.nextPing.Add(g.s.cfg.PingInterval)
	return nil
}

// sleepPinging is sleepUntil for event streams: in the llama.cpp mimic it writes the ping
// comments that fall due before deadline.
func (g *gen) sleepPinging(ctx context.Context, w http.ResponseWriter, rc *http.ResponseController, deadline time.Time) error {
	if g.s.llama && !g.nextPing.IsZero() {
		for g.nextPing.Before(deadline) {
			if err := g.sleepUntil(ctx, g.nextPing); err != nil {
				return err
			}
			if err := g.writePing(w, rc); err != nil {
				return err
			}
		}
	}
	return g.sleepUntil(ctx, deadline)
}

// llamaWaitSlot waits for the running slot of place (from slots.join) like slots.wait, writing
// ping comments while the streamed request waits. It reports whether the slot was obtained; if
// not, the place has been given up.
func (g *gen) llamaWaitSlot(ctx context.Context, w http.ResponseWriter, rc *http.ResponseController, place *waiter) bool {
	if place == nil {
		return true
	}
	s := g.s
	t := time.NewTimer(time.Until(g.nextPing))
	defer t.Stop()
	for {
		select {
		case <-place.ready:
			return true
		case <-ctx.Done():
		case <-s.quit:
		case <-t.C:
			if g.writePing(w, rc) == nil {
				t.Reset(time.Until(g.nextPing))
				continue
			}
		}
		s.slots.leave(place)
		return false
	}
}
