package sim

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SSE framing.
var (
	sseData = []byte("data: ")
	sseEnd  = []byte("\n\n")
	sseDone = []byte("data: [DONE]\n\n")
)

// appendJSONString appends s as a JSON string literal.
func appendJSONString(b []byte, s string) []byte {
	q, err := json.Marshal(s)
	if err != nil { // a Go string always marshals
		panic(err)
	}
	return append(b, q...)
}

func appendInt(b []byte, v int) []byte { return strconv.AppendInt(b, int64(v), 10) }

// appendFloat appends v in the shortest form that reads back exactly.
func appendFloat(b []byte, v float64) []byte { return strconv.AppendFloat(b, v, 'f', -1, 64) }

// appendOAIFinish appends an OpenAI finish_reason value: null, "length" or "stop".
func (g *gen) appendOAIFinish(b []byte, final bool) []byte {
	switch {
	case !final:
		return append(b, "null"...)
	case g.stop:
		return append(b, `"stop"`...)
	}
	return append(b, `"length"`...)
}

// appendUsage appends an OpenAI usage object for completion tokens c (vLLM/SGLang key order).
func (g *gen) appendUsage(b []byte, c int) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = appendInt(b, g.p.promptTokens)
	b = append(b, `,"total_tokens":`...)
	b = appendInt(b, g.p.promptTokens+c)
	b = append(b, `,"completion_tokens":`...)
	b = appendInt(b, c)
	if g.s.cache != nil {
		// SGLang (with --enable-cache-report) and vLLM report the prefix-cache hit here.
		b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
		b = appendInt(b, g.cached)
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendSGLExt appends SGLang's `,"sglext":{"cached_tokens_details":{...}}` member when the
// prefix cache is simulated and the request asked for it (return_cached_tokens_details). bs-sim
// has one tier: every hit is on the device.
func (g *gen) appendSGLExt(b []byte) []byte {
	if g.s.cache == nil || !g.p.cacheDetails {
		return b
	}
	b = append(b, `,"sglext":{"cached_tokens_details":{"device":`...)
	b = appendInt(b, g.cached)
	return append(b, `,"host":0}}`...)
}

// sglextOnLast reports whether the sglext member goes on the final content event of a stream:
// when no usage-only chunk follows it (without stream_options.include_usage).
func (g *gen) sglextOnLast(final bool) bool { return final && !g.p.includeUsage }

// appendOAIHead appends the fields every OpenAI object starts with, up to and including `"choices":`.
func (g *gen) appendOAIHead(b []byte, object string) []byte {
	b = append(b, `{"id":`...)
	b = append(b, g.idJSON...)
	b = append(b, `,"object":"`...)
	b = append(b, object...)
	b = append(b, `","created":`...)
	b = strconv.AppendInt(b, g.created, 10)
	b = append(b, `,"model":`...)
	b = append(b, g.modelJSON...)
	return append(b, `,"choices":`...)
}

// appendChunkUsage appends `,"usage":{...}` when continuous usage statistics were asked for.
func (g *gen) appendChunkUsage(b []byte) []byte {
	if !g.p.continuousUsage {
		return b
	}
	b = append(b, `,"usage":`...)
	return g.appendUsage(b, g.sent)
}

// appendEvent appends the SSE event(s) carrying the tokens just added (delta is their text).
// final is true for the event that carries the last token. first is true for the first event.
func (g *gen) appendEvent(b, delta []byte, first, final bool) []byte {
	if g.s.llama {
		return g.appendLlamaEvent(b, delta, first)
	}
	switch g.kind {
	case kindNative:
		b = append(b, sseData...)
		b = g.appendNativeBody(b, final)
	case kindCompletions:
		b = append(b, sseData...)
		b = g.appendOAIHead(b, "text_completion")
		b = append(b, `[{"index":0,"text":"`...)
		b = append(b, delta...)
		b = append(b, `","logprobs":null,"finish_reason":`...)
		b = g.appendOAIFinish(b, final)
		b = append(b, `,"stop_reason":null}]`...)
		b = g.appendChunkUsage(b)
		if g.sglextOnLast(final) {
			b = g.appendSGLExt(b)
		}
		b = append(b, '}')
	case kindChat:
		if first {
			// vLLM announces the role in its own chunk when the first output arrives.
			b = append(b, sseData...)
			b = g.appendOAIHead(b, "chat.completion.chunk")
			b = append(b, `[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]`...)
			if g.p.continuousUsage {
				b = append(b, `,"usage":`...)
				b = g.appendUsage(b, 0)
			}
			b = append(b, '}')
			b = append(b, sseEnd...)
		}
		b = append(b, sseData...)
		b = g.appendOAIHead(b, "chat.completion.chunk")
		b = append(b, `[{"index":0,"delta":{"content":"`...)
		b = append(b, delta...)
		b = append(b, `"},"logprobs":null,"finish_reason":`...)
		b = g.appendOAIFinish(b, final)
		if final {
			b = append(b, `,"stop_reason":null`...)
		}
		b = append(b, "}]"...)
		b = g.appendChunkUsage(b)
		if g.sglextOnLast(final) {
			b = g.appendSGLExt(b)
		}
		b = append(b, '}')
	case kindTriton:
		b = append(b, sseData...)
		text := delta
		if g.s.cfg.TritonAccumulate {
			text = g.text
		}
		b = g.appendTritonBody(b, text, len(delta) > 0)
	}
	return append(b, sseEnd...)
}

// appendTrailer appends what follows the last content event: the usage-only chunk (OpenAI, when
// stream_options.include_usage is true) and "data: [DONE]" (SGLang native and OpenAI; Triton has none).
func (g *gen) appendTrailer(b []byte) []byte {
	if g.s.llama {
		return g.appendLlamaTrailer(b)
	}
	switch g.kind {
	case kindCompletions, kindChat:
		if g.p.includeUsage {
			obj := "text_completion"
			if g.kind == kindChat {
				obj = "chat.completion.chunk"
			}
			b = append(b, sseData...)
			b = g.appendOAIHead(b, obj)
			b = append(b, `[],"usage":`...)
			b = g.appendUsage(b, g.sent)
			b = g.appendSGLExt(b)
			b = append(b, '}')
			b = append(b, sseEnd...)
		}
		b = append(b, sseDone...)
	case kindNative:
		b = append(b, sseDone...)
	}
	return b
}

// appendNativeBody appends an SGLang /generate output object: cumulative text and output_ids.
func (g *gen) appendNativeBody(b []byte, final bool) []byte {
	b = append(b, `{"text":"`...)
	b = append(b, g.text...)
	b = append(b, `","output_ids":[`...)
	b = append(b, g.ids...)
	b = append(b, `],"meta_info":{"id":`...)
	b = append(b, g.idJSON...)
	b = append(b, `,"finish_reason":`...)
	switch {
	case !final:
		b = append(b, "null"...)
	case g.stop:
		b = append(b, `{"type":"stop","matched":`...)
		b = appendInt(b, eosTokenID)
		b = append(b, '}')
	default:
		b = append(b, `{"type":"length","length":`...)
		b = appendInt(b, g.sent)
		b = append(b, '}')
	}
	b = append(b, `,"prompt_tokens":`...)
	b = appendInt(b, g.p.promptTokens)
	b = append(b, `,"weight_version":"default","completion_tokens":`...)
	b = appendInt(b, g.sent)
	b = append(b, `,"cached_tokens":`...)
	b = appendInt(b, g.cached) // 0 without Config.PrefixCache
	if final {
		b = append(b, `,"e2e_latency":`...)
		b = appendFloat(b, time.Since(g.received).Seconds())
		if x := g.s.cfg.SpecAcceptLength; x > 0 && g.sent > 0 {
			verify := int(math.Ceil(float64(g.sent) / x))
			b = append(b, `,"spec_accept_length":`...)
			b = appendFloat(b, float64(g.sent)/float64(verify))
			b = append(b, `,"spec_verify_ct":`...)
			b = appendInt(b, verify)
		}
	}
	return append(b, "}}"...)
}

// appendTritonBody appends a Triton generate response object for the TensorRT-LLM ensemble (keys
// in Triton's alphabetical order). The log-prob outputs are placeholders, as the ensemble sends
// when they are not requested.
func (g *gen) appendTritonBody(b, text []byte, hasTokens bool) []byte {
	b = append(b, `{"context_logits":0.0,"cum_log_probs":0.0,"generation_logits":0.0,"model_name":`...)
	b = append(b, g.modelJSON...)
	b = append(b, `,"model_version":"1","output_log_probs":`...)
	if n := g.lastChunk; n > 1 && hasTokens {
		b = append(b, '[')
		for i := range n {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, "0.0"...)
		}
		b = append(b, ']')
	} else {
		b = append(b, "0.0"...)
	}
	b = append(b, `,"sequence_end":false,"sequence_id":0,"sequence_start":false,"text_output":"`...)
	b = append(b, text...)
	return append(b, `"}`...)
}

// appendFullBody appends the non-streamed response body of each protocol.
func (g *gen) appendFullBody(b []byte) []byte {
	if g.s.llama {
		return g.appendLlamaBody(b)
	}
	switch g.kind {
	case kindNative:
		return g.appendNativeBody(b, true)
	case kindCompletions:
		b = g.appendOAIHead(b, "text_completion")
		b = append(b, `[{"index":0,"text":"`...)
		b = append(b, g.text...)
		b = append(b, `","logprobs":null,"finish_reason":`...)
	case kindChat:
		b = g.appendOAIHead(b, "chat.completion")
		b = append(b, `[{"index":0,"message":{"role":"assistant","content":"`...)
		b = append(b, g.text...)
		b = append(b, `"},"logprobs":null,"finish_reason":`...)
	case kindTriton:
		return g.appendTritonBody(b, g.text, g.sent > 0)
	}
	b = g.appendOAIFinish(b, true)
	b = append(b, `,"stop_reason":null}],"usage":`...)
	b = g.appendUsage(b, g.sent)
	b = g.appendSGLExt(b)
	return append(b, '}')
}

// appendErrorBody appends the error object each protocol uses, both as an HTTP error body and as an
// in-band stream event: SGLang native {"error":{"message"}}, OpenAI (vLLM) {"error":{"message",
// "type","param","code"}}, Triton {"error":"message"}.
func appendErrorBody(b []byte, k kind, status int, msg string) []byte {
	switch k {
	case kindNative:
		b = append(b, `{"error":{"message":`...)
		b = appendJSONString(b, msg)
		return append(b, "}}"...)
	case kindTriton:
		b = append(b, `{"error":`...)
		b = appendJSONString(b, msg)
		return append(b, '}')
	}
	b = append(b, `{"error":{"message":`...)
	b = appendJSONString(b, msg)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, errorType(status))
	b = append(b, `,"param":null,"code":`...)
	b = appendInt(b, status)
	return append(b, "}}"...)
}

// errorType names an HTTP status the way vLLM's error responses do ("BadRequestError",
// "InternalServerError").
func errorType(status int) string {
	t := strings.ReplaceAll(http.StatusText(status), " ", "")
	t = strings.ReplaceAll(t, "-", "")
	if t == "" {
		t = "Unknown"
	}
	if !strings.HasSuffix(t, "Error") {
		t += "Error"
	}
	return t
}
