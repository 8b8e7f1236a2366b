package backends

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"

	"github.com/bsbench/bs/pkg/internal/jsonscan"
	"github.com/bsbench/bs/pkg/records"
)

// backend implements Backend for every supported name; spec.kind selects payload and parser.
type backend struct {
	spec    spec
	url     string
	opts    Options
	compat  bool
	header  http.Header
	extra   object // the global extra body, parsed once
	secrets []string
}

func (b *backend) Name() string { return b.spec.name }
func (b *backend) URL() string  { return b.url }

// clientError is a request that cannot be built from its prompt.
type clientError struct{ msg string }

func (e *clientError) Error() string { return e.msg }

func clientErrorf(format string, a ...any) error { return &clientError{fmt.Sprintf(format, a...)} }

// builder holds the scratch objects of one request body (pooled with the rest of a request's state).
type builder struct {
	body  object // the payload
	extra object // merged extra body
	sub   object // sampling_params, messages parts
}

// buildBody returns the JSON request body for prompt p (msgs, if non-nil, replaces its messages).
// The returned slice is freshly allocated at its exact size and owned by the caller.
func (b *backend) buildBody(bl *builder, p *records.Prompt, msgs []records.Message) ([]byte, error) {
	bl.body.reset()
	bl.extra.reset()
	bl.sub.reset()
	ex := &bl.extra
	ex.update(&b.extra)
	if t := bytes.TrimSpace(p.ExtraBody); len(t) > 0 && string(t) != "null" {
		if err := ex.parseObject(t); err != nil {
			return nil, clientErrorf("prompt %d: extra_body: %v", p.ID, err)
		}
	}
	var err error
	switch b.spec.kind {
	case kindNative:
		err = b.nativeBody(bl, p)
	case kindCompletions:
		err = b.completionsBody(bl, p)
	case kindChat:
		err = b.chatBody(bl, p, msgs)
	case kindTRT:
		err = b.trtBody(bl, p)
	case kindTruss:
		err = b.trussBody(bl, p)
	}
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, bl.body.size())
	return bl.body.appendTo(out), nil
}

// onlyText rejects prompt shapes a text-only backend cannot send.
func (b *backend) onlyText(p *records.Prompt, ids, images, lora bool) error {
	switch {
	case len(p.Turns) > 0:
		return clientErrorf("prompt %d: backend %s cannot send a multi-turn conversation (use a chat backend)", p.ID, b.spec.name)
	case len(p.Messages) > 0:
		return clientErrorf("prompt %d: backend %s cannot send chat messages (use a chat backend)", p.ID, b.spec.name)
	case len(p.IDs) > 0 && !ids:
		return clientErrorf("prompt %d: backend %s cannot send token ids (only sglang and sglang-native send input_ids)", p.ID, b.spec.name)
	case len(p.Images) > 0 && !images:
		return clientErrorf("prompt %d: backend %s cannot send images", p.ID, b.spec.name)
	case p.Lora != "" && !lora:
		return clientErrorf("prompt %d: backend %s has no LoRA support", p.ID, b.spec.name)
	}
	return nil
}

// nativeBody builds the SGLang /generate payload (fact sheet §3.1).
func (b *backend) nativeBody(bl *builder, p *records.Prompt) error {
	if err := b.onlyText(p, true, true, true); err != nil {
		return err
	}
	o, sp := &bl.body, &bl.sub
	if len(p.IDs) > 0 {
		o.setInts("input_ids", p.IDs)
	} else {
		o.setString("text", p.Text)
	}
	if err := sp.setFloat("temperature", b.opts.Temperature); err != nil {
		return clientErrorf("%v", err)
	}
	sp.setInt("max_new_tokens", p.OutputLen)
	sp.setBool("ignore_eos", b.opts.IgnoreEOS)
	if b.opts.TopP < 1 {
		if err := sp.setFloat("top_p", b.opts.TopP); err != nil {
			return clientErrorf("%v", err)
		}
	}
	o.setObject("sampling_params", sp)
	o.setBool("stream", b.opts.Stream)
	if p.Lora != "" {
		o.setString("lora_path", p.Lora)
	} else {
		o.setRaw("lora_path", []byte("null"))
	}
	o.setBool("return_logprob", b.opts.ReturnLogprob)
	o.setBool("return_routed_experts", b.opts.ReturnRoutedExperts)
	o.setInt("logprob_start_len", b.opts.LogprobStartLen)
	o.update(&bl.extra)
	if b.opts.TopLogprobsNum > 0 {
		o.setInt("top_logprobs_num", b.opts.TopLogprobsNum)
	}
	if b.opts.TokenIDsLogprob != nil {
		o.setInts("token_ids_logprob", b.opts.TokenIDsLogprob)
	}
	if len(p.Images) > 0 {
		o.setStrings("image_data", p.Images)
	}
	return nil
}

// openAIDefaults adds temperature 0.0 and ignore_eos unless the extra body sets them.
func (b *backend) openAIDefaults(bl *builder) {
	if !bl.extra.has("temperature") {
		_ = bl.body.setFloat("temperature", 0)
	}
	if !bl.extra.has("ignore_eos") {
		bl.body.setBool("ignore_eos", b.opts.IgnoreEOS)
	}
}

// wantUsage adds stream_options.include_usage = true to the extra body unless the user set it (the
// reference does this only for multi-turn chat; bs does it for every streamed completions/chat
// request, so that the server reports the real output token count).
func (b *backend) wantUsage(bl *builder, multiTurn bool) {
	if !b.opts.Stream {
		return
	}
	if v, ok := bl.extra.value("stream"); ok && string(v) == "false" {
		return
	}
	if b.compat && !multiTurn {
		return
	}
	ex := &bl.extra
	v, ok := ex.value("stream_options")
	switch {
	case !ok || isNull(v) || string(v) == "false" || string(v) == `""` || string(v) == "0" || string(v) == "[]" || string(v) == "{}":
		// Python: body.get("stream_options") or {} — a falsy value becomes a new dict.
		ex.setRaw("stream_options", []byte(`{"include_usage":true}`))
	case v[0] == '{':
		it := newObjIter(v, 0, 0)
		for {
			k, _, ok := it.next()
			if !ok {
				break
			}
			if keyIs(k, "include_usage") {
				return
			}
		}
		nv := make([]byte, 0, len(v)+24)
		nv = append(nv, v[:len(v)-1]...)
		nv = append(nv, `,"include_usage":true}`...)
		ex.setRaw("stream_options", nv)
	}
}

// completionsBody builds the OpenAI completions payload (fact sheet §3.2).
func (b *backend) completionsBody(bl *builder, p *records.Prompt) error {
	if err := b.onlyText(p, false, true, true); err != nil {
		return err
	}
	o := &bl.body
	o.setString("model", b.opts.Model)
	o.setString("prompt", p.Text)
	o.setInt("best_of", 1)
	o.setInt("max_tokens", p.OutputLen)
	o.setBool("stream", b.opts.Stream)
	b.openAIDefaults(bl)
	if b.opts.ReturnLogprob && b.opts.TopLogprobsNum > 0 {
		o.setInt("logprobs", b.opts.TopLogprobsNum)
	}
	b.wantUsage(bl, false)
	o.update(&bl.extra)
	if p.Lora != "" {
		o.setString("model", p.Lora)
		o.setString("lora_path", p.Lora)
	}
	if len(p.Images) > 0 {
		o.setStrings("image_data", p.Images)
	}
	return nil
}

// chatBody builds the OpenAI chat payload (fact sheet §3.3, §3.9).
func (b *backend) chatBody(bl *builder, p *records.Prompt, msgs []records.Message) error {
	multiTurn := msgs != nil || len(p.Turns) > 0
	switch {
	case len(p.IDs) > 0:
		return clientErrorf("prompt %d: backend %s cannot send token ids (only sglang and sglang-native send input_ids)", p.ID, b.spec.name)
	case msgs == nil && len(p.Turns) > 0:
		return clientErrorf("prompt %d: a multi-turn prompt needs the conversation so far (internal error: no messages given)", p.ID)
	case msgs == nil && len(p.Messages) > 0 && len(p.Images) > 0:
		return clientErrorf("prompt %d: images next to chat messages would not be sent; put them in the messages' content parts", p.ID)
	}
	o := &bl.body
	o.setString("model", b.opts.Model)
	off := o.begin()
	var err error
	switch {
	case msgs != nil:
		o.arena, err = appendMessages(o.arena, msgs)
	case len(p.Messages) > 0:
		o.arena, err = appendMessages(o.arena, p.Messages)
	case len(p.Images) > 0:
		a := append(o.arena, `[{"role":"user","content":[`...)
		for _, img := range p.Images {
			a = append(a, `{"type":"image_url","image_url":{"url":`...)
			a = jsonscan.AppendString(a, img)
			a = append(a, `}},`...)
		}
		a = append(a, `{"type":"text","text":`...)
		a = jsonscan.AppendString(a, p.Text)
		o.arena = append(a, `}]}]`...)
	default:
		a := append(o.arena, `[{"role":"user","content":`...)
		a = jsonscan.AppendString(a, p.Text)
		o.arena = append(a, `}]`...)
	}
	if err != nil {
		return clientErrorf("prompt %d: %v", p.ID, err)
	}
	o.commit("messages", off)
	o.setInt("max_completion_tokens", p.OutputLen)
	o.setBool("stream", b.opts.Stream)
	b.openAIDefaults(bl)
	b.wantUsage(bl, multiTurn)
	o.update(&bl.extra)
	if p.Lora != "" {
		o.setString("model", p.Lora)
		o.setString("lora_path", p.Lora)
	}
	return nil
}

var errBadMessage = errors.New("a message needs a role and a JSON content")

func appendMessages(dst []byte, msgs []records.Message) ([]byte, error) {
	dst = append(dst, '[')
	for i, m := range msgs {
		if m.Role == "" || len(m.Content) == 0 || checkValue(m.Content) != nil {
			return dst, fmt.Errorf("message %d: %w", i, errBadMessage)
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"role":`...)
		dst = jsonscan.AppendString(dst, m.Role)
		dst = append(dst, `,"content":`...)
		dst = appendCompact(dst, m.Content)
		dst = append(dst, '}')
	}
	return append(dst, ']'), nil
}

// trtBody builds the TensorRT-LLM ensemble payload (fact sheet §3.5). It always streams.
func (b *backend) trtBody(bl *builder, p *records.Prompt) error {
	if err := b.onlyText(p, false, false, false); err != nil {
		return err
	}
	o := &bl.body
	o.setBool("accumulate_tokens", true)
	o.setString("text_input", p.Text)
	_ = o.setFloat("temperature", 0.000001)
	_ = o.setFloat("top_p", 1.0)
	o.setInt("max_tokens", p.OutputLen)
	o.setBool("stream", true)
	o.setInt("min_length", p.OutputLen)
	o.setInt("end_id", 1048576)
	o.update(&bl.extra)
	if !b.opts.IgnoreEOS {
		o.del("min_length")
		o.del("end_id")
	}
	return nil
}

// trussBody builds the truss payload (fact sheet §3.6).
func (b *backend) trussBody(bl *builder, p *records.Prompt) error {
	if err := b.onlyText(p, false, false, false); err != nil {
		return err
	}
	o := &bl.body
	o.setString("model", b.opts.Model)
	o.setString("prompt", p.Text)
	_ = o.setFloat("temperature", 0)
	o.setInt("best_of", 1)
	o.setInt("max_tokens", p.OutputLen)
	o.setBool("stream", b.opts.Stream)
	o.setBool("ignore_eos", b.opts.IgnoreEOS)
	o.update(&bl.extra)
	return nil
}
