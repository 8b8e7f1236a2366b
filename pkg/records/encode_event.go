package records

import (
	"strconv"

	"github.com/bsbench/bs/pkg/internal/jsonscan"
)

// appendEvent appends e as encoding/json writes it with SetEscapeHTML(false), without the newline:
// the fields in declaration order, omitempty fields left out when empty. It is what Writer.Write uses
// for an *Event (the tests compare the two byte for byte). ok is false when SpecAcceptLength is NaN or
// ±Inf, which encoding/json refuses; the caller then lets encoding/json report the error.
func appendEvent(b []byte, e *Event) (_ []byte, ok bool) {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, int64(e.ID), 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, int64(e.Seq), 10)
	b = appendIntField(b, `,"turn":`, e.Turn)
	b = append(b, `,"request_id":`...)
	b = jsonscan.AppendString(b, e.RequestID)
	b = appendStringField(b, `,"response_id":`, e.ResponseID)
	b = append(b, `,"scheduled_ns":`...)
	b = strconv.AppendInt(b, e.ScheduledNS, 10)
	b = append(b, `,"sent_ns":`...)
	b = strconv.AppendInt(b, e.SentNS, 10)
	if e.HeadersNS != 0 {
		b = append(b, `,"headers_ns":`...)
		b = strconv.AppendInt(b, e.HeadersNS, 10)
	}
	b = append(b, `,"end_ns":`...)
	b = strconv.AppendInt(b, e.EndNS, 10)
	if len(e.ChunkNS) > 0 {
		b = append(b, `,"chunk_ns":[`...)
		for i, v := range e.ChunkNS {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, v, 10)
		}
		b = append(b, ']')
	}
	if len(e.ChunkTokens) > 0 {
		b = append(b, `,"chunk_tokens":[`...)
		for i, v := range e.ChunkTokens {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(v), 10)
		}
		b = append(b, ']')
	}
	if len(e.ChunkText) > 0 {
		b = append(b, `,"chunk_text":[`...)
		for i, s := range e.ChunkText {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonscan.AppendString(b, s)
		}
		b = append(b, ']')
	}
	b = appendStringField(b, `,"text":`, e.Text)
	if e.OK {
		b = append(b, `,"ok":true`...)
	} else {
		b = append(b, `,"ok":false`...)
	}
	b = appendIntField(b, `,"status":`, e.Status)
	b = appendStringField(b, `,"error_kind":`, e.ErrorKind)
	b = appendStringField(b, `,"error":`, e.Error)
	b = appendStringField(b, `,"finish_reason":`, e.FinishReason)
	b = append(b, `,"prompt_len":`...)
	b = strconv.AppendInt(b, int64(e.PromptLen), 10)
	b = appendIntField(b, `,"text_prompt_len":`, e.TextPromptLen)
	b = appendIntField(b, `,"vision_prompt_len":`, e.VisionPromptLen)
	b = append(b, `,"output_len":`...)
	b = strconv.AppendInt(b, int64(e.OutputLen), 10)
	b = appendIntPtrField(b, `,"usage_prompt_tokens":`, e.UsagePromptTokens)
	b = appendIntPtrField(b, `,"usage_completion_tokens":`, e.UsageCompletionTokens)
	b = appendIntPtrField(b, `,"cached_tokens":`, e.CachedTokens)
	if c := e.CachedDetails; c != nil {
		b = append(b, `,"cached_tokens_details":{"device":`...)
		b = strconv.AppendInt(b, int64(c.Device), 10)
		b = append(b, `,"host":`...)
		b = strconv.AppendInt(b, int64(c.Host), 10)
		b = append(b, `,"storage":`...)
		b = strconv.AppendInt(b, int64(c.Storage), 10)
		b = appendStringField(b, `,"storage_backend":`, c.StorageBackend)
		b = append(b, '}')
	}
	if e.SpecAcceptLength != nil {
		b = append(b, `,"spec_accept_length":`...)
		if b, ok = jsonscan.AppendFloat(b, *e.SpecAcceptLength); !ok {
			return b, false
		}
	}
	b = appendIntPtrField(b, `,"spec_verify_ct":`, e.SpecVerifyCt)
	b = appendStringField(b, `,"lora":`, e.Lora)
	b = appendStringField(b, `,"group":`, e.Group)
	b = appendStringField(b, `,"session":`, e.Session)
	return append(b, '}'), true
}

// appendIntField appends an omitempty int field: key (with its leading comma) and value, unless v is 0.
func appendIntField(b []byte, key string, v int) []byte {
	if v == 0 {
		return b
	}
	return strconv.AppendInt(append(b, key...), int64(v), 10)
}

// appendIntPtrField appends an omitempty *int field unless v is nil.
func appendIntPtrField(b []byte, key string, v *int) []byte {
	if v == nil {
		return b
	}
	return strconv.AppendInt(append(b, key...), int64(*v), 10)
}

// appendStringField appends an omitempty string field unless s is empty.
func appendStringField(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return jsonscan.AppendString(append(b, key...), s)
}
