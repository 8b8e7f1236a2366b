package sim

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"unicode/utf8"
)

var intType = reflect.TypeOf(0)

// kind is the wire protocol of a generation endpoint.
type kind uint8

const (
	kindNative      kind = iota // SGLang POST /generate
	kindCompletions             // OpenAI POST /v1/completions (and truss)
	kindChat                    // OpenAI POST /v1/chat/completions
	kindTriton                  // Triton POST /v2/models/<model>/generate[_stream]
)

// genParams is what bs-sim needs from a generation request, whatever its protocol.
type genParams struct {
	promptTokens    int
	maxTokens       int
	minTokens       int
	ignoreEOS       bool
	stream          bool // the response is an event stream
	oneEvent        bool // stream everything in one event (Triton generate_stream with stream=false)
	includeUsage    bool
	continuousUsage bool
	model           string // OpenAI "model", echoed back; "" means the served name
	rid             string // native "rid"
	// key is the prompt's prefix-cache key (see cache.go): always for text prompts (it is the
	// text), for token-id and chat prompts only when promptCounter.keys is set.
	key string
	// cacheDetails is OpenAI's return_cached_tokens_details (SGLang): add sglext to the response.
	cacheDetails bool
	// oaiMaxTokens is the OpenAI max_tokens field alone (unset when absent or null) and
	// oaiMaxTokensNull tells that it was JSON null; the llama.cpp mimic reads them (see llamacpp.go).
	oaiMaxTokens     int
	oaiMaxTokensNull bool
}

// badRequest is a client error (HTTP 400) with a message naming the offending field.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func badf(format string, args ...any) error { return &badRequest{fmt.Sprintf(format, args...)} }

// decodeBody unmarshals a JSON object body into v, turning decoding errors into badRequest errors
// that name the field.
func decodeBody(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return badf("request body is empty; a JSON object is required")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return badf("field %q: expected %s, got JSON %s", jsonField(te.Field), te.Type, te.Value)
		}
		return badf("request body is not a valid JSON object: %v", err)
	}
	return nil
}

// jsonField removes the names of embedded Go structs that encoding/json puts in error paths.
func jsonField(f string) string {
	for _, embedded := range []string{"openAICommon.", "tritonParams."} {
		f = strings.ReplaceAll(f, embedded, "")
	}
	return f
}

// isNull reports whether a raw JSON value is absent or null.
func isNull(r json.RawMessage) bool { return len(r) == 0 || string(r) == "null" }

// optInt is an optional non-negative integer field that also accepts integral floats (128.0).
type optInt struct {
	set  bool
	null bool // the field was JSON null
	v    int
}

func (o *optInt) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*o = optInt{null: true}
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil || f != math.Trunc(f) || f < math.MinInt32 || f > math.MaxInt32 {
		return &json.UnmarshalTypeError{Value: string(b), Type: intType}
	}
	*o = optInt{set: true, v: int(f)}
	return nil
}

type streamOptions struct {
	IncludeUsage         bool `json:"include_usage"`
	ContinuousUsageStats bool `json:"continuous_usage_stats"`
}

// promptCounter estimates prompt tokens from text. With keys set, the parsers also build each
// prompt's prefix-cache key (genParams.key), which costs a copy for token-id and chat prompts.
type promptCounter struct {
	charsPerToken float64
	keys          bool
}

// count returns the estimated token count of s: ceil(runes/charsPerToken) when charsPerToken is
// set, else the number of whitespace-separated words.
func (pc promptCounter) count(s string) int {
	if pc.charsPerToken > 0 {
		return int(math.Ceil(float64(utf8.RuneCountInString(s)) / pc.charsPerToken))
	}
	n, inWord := 0, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r', '\v', '\f':
			inWord = false
		default:
			if !inWord {
				n++
			}
			inWord = true
		}
	}
	return n
}

// idsKey returns the prefix-cache key of a token-id prompt: 4 bytes (little-endian) per id.
func idsKey(ids []int64) string {
	b := make([]byte, 0, 4*len(ids))
	for _, id := range ids {
		b = binary.LittleEndian.AppendUint32(b, uint32(id))
	}
	return string(b)
}

// tokenIDs returns a JSON list of integers, or an error naming field.
func tokenIDs(raw json.RawMessage, field string) ([]int64, error) {
	var ids []int64
	if err := json.Unmarshal(raw, &ids); err != nil {
		var nested [][]int64
		if json.Unmarshal(raw, &nested) == nil {
			return nil, badf("field %q: batched token-id lists are not supported by bs-sim; send one prompt per request", field)
		}
		return nil, badf("field %q: expected a list of integer token ids", field)
	}
	return ids, nil
}

// parseNative reads an SGLang /generate body.
func parseNative(body []byte, pc promptCounter) (genParams, error) {
	var req struct {
		Text           json.RawMessage `json:"text"`
		InputIDs       json.RawMessage `json:"input_ids"`
		SamplingParams json.RawMessage `json:"sampling_params"`
		Stream         bool            `json:"stream"`
		Rid            json.RawMessage `json:"rid"`
	}
	if err := decodeBody(body, &req); err != nil {
		return genParams{}, err
	}
	var p genParams
	p.stream = req.Stream
	switch {
	case !isNull(req.Text):
		var s string
		if err := json.Unmarshal(req.Text, &s); err != nil {
			if len(req.Text) > 0 && req.Text[0] == '[' {
				return p, badf("field \"text\": a list of prompts (batch request) is not supported by bs-sim; send one string per request")
			}
			return p, badf("field \"text\": expected a string")
		}
		p.promptTokens = pc.count(s)
		p.key = s
	case !isNull(req.InputIDs):
		ids, err := tokenIDs(req.InputIDs, "input_ids")
		if err != nil {
			return p, err
		}
		p.promptTokens = len(ids)
		if pc.keys {
			p.key = idsKey(ids)
		}
	default:
		return p, badf("Either text, input_ids or input_embeds should be provided.")
	}
	if !isNull(req.Rid) {
		if err := json.Unmarshal(req.Rid, &p.rid); err != nil {
			return p, badf("field \"rid\": expected a string")
		}
	}
	if !isNull(req.SamplingParams) {
		if req.SamplingParams[0] == '[' {
			return p, badf("field \"sampling_params\": a list (batch request) is not supported by bs-sim")
		}
		var sp struct {
			MaxNewTokens optInt `json:"max_new_tokens"`
			MinNewTokens optInt `json:"min_new_tokens"`
			IgnoreEOS    bool   `json:"ignore_eos"`
		}
		if err := decodeField(req.SamplingParams, &sp, "sampling_params"); err != nil {
			return p, err
		}
		p.maxTokens = intOr(sp.MaxNewTokens, unset)
		p.minTokens = intOr(sp.MinNewTokens, 0)
		p.ignoreEOS = sp.IgnoreEOS
	} else {
		p.maxTokens = unset
	}
	return p, nil
}

// decodeField unmarshals a nested object, prefixing errors with its field name.
func decodeField(raw json.RawMessage, v any, field string) error {
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return badf("field \"%s.%s\": expected %s, got JSON %s", field, jsonField(te.Field), te.Type, te.Value)
		}
		return badf("field %q: expected a JSON object", field)
	}
	return nil
}

// unset marks an integer field the request did not set (optInt values fit in 32 bits).
const unset = math.MinInt

func intOr(o optInt, def int) int {
	if o.set {
		return o.v
	}
	return def
}

// openAICommon holds the OpenAI fields shared by completions and chat.
type openAICommon struct {
	Model         string         `json:"model"`
	MaxTokens     optInt         `json:"max_tokens"`
	MinTokens     optInt         `json:"min_tokens"`
	IgnoreEOS     bool           `json:"ignore_eos"`
	Stream        bool           `json:"stream"`
	StreamOptions *streamOptions `json:"stream_options"`
	// ReturnCachedTokensDetails is SGLang's request for the cache hit by tier (sglext).
	ReturnCachedTokensDetails bool `json:"return_cached_tokens_details"`
}

func (c *openAICommon) params() genParams {
	p := genParams{
		model:     c.Model,
		maxTokens: intOr(c.MaxTokens, unset),
		minTokens: intOr(c.MinTokens, 0),
		ignoreEOS: c.IgnoreEOS,
		stream:    c.Stream,

		cacheDetails: c.ReturnCachedTokensDetails,

		oaiMaxTokens:     intOr(c.MaxTokens, unset),
		oaiMaxTokensNull: c.MaxTokens.null,
	}
	if c.StreamOptions != nil && c.Stream {
		p.includeUsage = c.StreamOptions.IncludeUsage
		p.continuousUsage = c.StreamOptions.IncludeUsage && c.StreamOptions.ContinuousUsageStats
	}
	return p
}

// parseCompletions reads an OpenAI /v1/completions (or truss) body.
func parseCompletions(body []byte, pc promptCounter) (genParams, error) {
	var req struct {
		openAICommon
		Prompt json.RawMessage `json:"prompt"`
	}
	if err := decodeBody(body, &req); err != nil {
		return genParams{}, err
	}
	p := req.params()
	if isNull(req.Prompt) {
		return p, badf("field \"prompt\": required")
	}
	var s string
	if json.Unmarshal(req.Prompt, &s) == nil {
		p.promptTokens = pc.count(s)
		p.key = s
		return p, nil
	}
	var ss []string
	if json.Unmarshal(req.Prompt, &ss) == nil {
		if len(ss) != 1 {
			return p, badf("field \"prompt\": a list of %d prompts (batch request) is not supported by bs-sim; send one prompt per request", len(ss))
		}
		p.promptTokens = pc.count(ss[0])
		p.key = ss[0]
		return p, nil
	}
	ids, err := tokenIDs(req.Prompt, "prompt")
	if err != nil {
		return p, badf("field \"prompt\": expected a string, a list of one string or a list of token ids")
	}
	p.promptTokens = len(ids)
	if pc.keys {
		p.key = idsKey(ids)
	}
	return p, nil
}

// parseChat reads an OpenAI /v1/chat/completions body. The prompt estimate counts the text of every
// message (text content parts included); image parts and chat-template tokens are not counted.
func parseChat(body []byte, pc promptCounter) (genParams, error) {
	var req struct {
		openAICommon
		MaxCompletionTokens optInt `json:"max_completion_tokens"`
		Messages            []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if err := decodeBody(body, &req); err != nil {
		return genParams{}, err
	}
	p := req.params()
	if req.MaxCompletionTokens.set {
		p.maxTokens = req.MaxCompletionTokens.v
	}
	if len(req.Messages) == 0 {
		return p, badf("field \"messages\": at least one message is required")
	}
	// The cache key: per message, role 0x00, then each text (or image_url JSON) and 0x00, then 0x01.
	var key []byte
	addKey := func(parts ...string) {
		if pc.keys {
			for _, s := range parts {
				key = append(key, s...)
			}
		}
	}
	for i, m := range req.Messages {
		addKey(m.Role, "\x00")
		if isNull(m.Content) {
			addKey("\x01")
			continue
		}
		var s string
		if json.Unmarshal(m.Content, &s) == nil {
			p.promptTokens += pc.count(s)
			addKey(s, "\x00\x01")
			continue
		}
		var parts []struct {
			Type     string          `json:"type"`
			Text     string          `json:"text"`
			ImageURL json.RawMessage `json:"image_url"`
		}
		if err := json.Unmarshal(m.Content, &parts); err != nil {
			return p, badf("field \"messages[%d].content\": expected a string or a list of content parts", i)
		}
		for j, part := range parts {
			switch part.Type {
			case "text":
				p.promptTokens += pc.count(part.Text)
				addKey(part.Text, "\x00")
			case "image_url":
				if isNull(part.ImageURL) {
					return p, badf("field \"messages[%d].content[%d].image_url\": required for an image_url part", i, j)
				}
				addKey(string(part.ImageURL), "\x00")
			}
		}
		addKey("\x01")
	}
	p.key = string(key)
	return p, nil
}

// parseTriton reads a Triton generate / generate_stream body. Parameters may be top-level keys (as
// bench_serving sends them) or inside "parameters" (as Triton's documentation shows); top-level
// keys win. min_length acts as min_tokens; EOS is never ignored explicitly.
func parseTriton(body []byte, pc promptCounter, streamEndpoint bool) (genParams, error) {
	type tritonParams struct {
		MaxTokens optInt `json:"max_tokens"`
		MinLength optInt `json:"min_length"`
		Stream    *bool  `json:"stream"`
	}
	var req struct {
		TextInput  *string         `json:"text_input"`
		Parameters json.RawMessage `json:"parameters"`
		tritonParams
	}
	if err := decodeBody(body, &req); err != nil {
		return genParams{}, err
	}
	if req.TextInput == nil {
		return genParams{}, badf("field \"text_input\": required")
	}
	var nested tritonParams
	if !isNull(req.Parameters) {
		if err := decodeField(req.Parameters, &nested, "parameters"); err != nil {
			return genParams{}, err
		}
	}
	pick := func(top, inner optInt) optInt {
		if top.set {
			return top
		}
		return inner
	}
	p := genParams{
		promptTokens: pc.count(*req.TextInput),
		key:          *req.TextInput,
		maxTokens:    intOr(pick(req.MaxTokens, nested.MaxTokens), unset),
		minTokens:    intOr(pick(req.MinLength, nested.MinLength), 0),
		stream:       streamEndpoint,
	}
	// generate_stream always answers with events; with stream=false the model sends its whole
	// output as one response, hence one event.
	if s := req.Stream; s != nil {
		p.oneEvent = streamEndpoint && !*s
	} else if s := nested.Stream; s != nil {
		p.oneEvent = streamEndpoint && !*s
	}
	return p, nil
}
