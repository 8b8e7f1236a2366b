package fire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/bsbench/bs/pkg/records"
)

// API kinds of the backends (fact sheet §3).
const (
	KindNative      = "native"      // sglang, sglang-native: POST /generate, text or input_ids
	KindCompletions = "completions" // sglang-oai, vllm, lmdeploy: POST /v1/completions
	KindChat        = "chat"        // sglang-oai-chat, vllm-chat, lmdeploy-chat: POST /v1/chat/completions
	KindTRT         = "trt"         // trt: TensorRT-LLM Triton ensemble, text only
	KindTruss       = "truss"       // truss: completions-shaped payload
)

var backendKinds = map[string]string{
	"sglang": KindNative, "sglang-native": KindNative,
	"sglang-oai": KindCompletions, "vllm": KindCompletions, "lmdeploy": KindCompletions,
	"sglang-oai-chat": KindChat, "vllm-chat": KindChat, "lmdeploy-chat": KindChat,
	"trt": KindTRT, "truss": KindTruss,
}

// BackendKind returns the API kind of a backend name, or "" for an unknown name.
func BackendKind(name string) string { return backendKinds[name] }

// BackendNames returns the backend names bs-fire knows, sorted.
func BackendNames() []string {
	names := make([]string, 0, len(backendKinds))
	for n := range backendKinds {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// CheckPrompt reports a prompt the backend cannot send: token ids other than to the native /generate,
// images other than to chat or native (the reference also attaches image_data to completions requests,
// which OpenAI-compatible servers ignore, so bs refuses rather than benchmark text-only by accident),
// images next to chat messages (they belong in the messages' content parts), chat messages or
// multi-turn conversations other than to a chat backend, and a LoRA adapter on trt or truss.
func CheckPrompt(backend string, p *records.Prompt) error {
	kind := BackendKind(backend)
	switch {
	case kind == "":
		return fmt.Errorf("unknown backend %q (known: %s)", backend, strings.Join(BackendNames(), ", "))
	case len(p.IDs) > 0 && kind != KindNative:
		return &records.FieldError{Field: "ids", Msg: fmt.Sprintf("prompt %d is token ids, which only the native backends (sglang, sglang-native) accept, not %s", p.ID, backend)}
	case len(p.Images) > 0 && kind != KindChat && kind != KindNative:
		return &records.FieldError{Field: "images", Msg: fmt.Sprintf("prompt %d has images, which backend %s (%s) cannot send; use a chat backend or sglang", p.ID, backend, kind)}
	case len(p.Turns) > 0 && kind != KindChat:
		return &records.FieldError{Field: "turns", Msg: fmt.Sprintf("prompt %d is a multi-turn conversation, which needs a chat backend (sglang-oai-chat, vllm-chat, lmdeploy-chat), not %s", p.ID, backend)}
	case len(p.Messages) > 0 && kind != KindChat:
		return &records.FieldError{Field: "messages", Msg: fmt.Sprintf("prompt %d is a chat conversation, which needs a chat backend, not %s", p.ID, backend)}
	case len(p.Messages) > 0 && len(p.Images) > 0:
		return &records.FieldError{Field: "images", Msg: fmt.Sprintf("prompt %d has images next to chat messages; put them in the messages' content parts", p.ID)}
	case p.Lora != "" && (kind == KindTRT || kind == KindTruss):
		return &records.FieldError{Field: "lora", Msg: fmt.Sprintf("prompt %d names a LoRA adapter, which backend %s cannot use", p.ID, backend)}
	}
	return nil
}

// LoRA distributions (--lora-request-distribution).
const (
	LoraUniform  = "uniform"
	LoraDistinct = "distinct"
	LoraSkewed   = "skewed"
)

// LoraPicker assigns a LoRA adapter to each prompt that has none, in dispatch order: uniform picks one
// at random, distinct goes round-robin, skewed draws with Zipf weights alpha^-i (i = 0, 1, …) normalised,
// as the reference. Draws come from a generator seeded with the run's seed; the reference draws from
// Python's and NumPy's global generators interleaved with other uses, which bs-fire does not reproduce.
type LoraPicker struct {
	names   []string
	dist    string
	cum     []float64
	rng     *rand.Rand
	counter int
}

// NewLoraPicker checks the settings and returns a picker (nil when there are no names).
func NewLoraPicker(names []string, dist string, alpha float64, rng *rand.Rand) (*LoraPicker, error) {
	if len(names) == 0 {
		return nil, nil
	}
	switch dist {
	case LoraUniform, "":
		dist = LoraUniform
	case LoraDistinct, LoraSkewed:
		if len(names) < 2 {
			return nil, fmt.Errorf("--lora-request-distribution %s needs at least two --lora-name values", dist)
		}
	default:
		return nil, fmt.Errorf("unknown --lora-request-distribution %q (uniform, distinct or skewed)", dist)
	}
	if !(alpha > 1) {
		return nil, errors.New("--lora-zipf-alpha must be greater than 1")
	}
	lp := &LoraPicker{names: names, dist: dist, rng: rng}
	if dist == LoraSkewed {
		var sum float64
		w := make([]float64, len(names))
		for i := range w {
			w[i] = 1 / pow(alpha, i)
			sum += w[i]
		}
		acc := 0.0
		for i := range w {
			acc += w[i] / sum
			lp.cum = append(lp.cum, acc)
		}
	}
	return lp, nil
}

func pow(a float64, n int) float64 {
	r := 1.0
	for range n {
		r *= a
	}
	return r
}

// Assign sets p.Lora when it is empty.
func (lp *LoraPicker) Assign(p *records.Prompt) {
	if lp == nil || p.Lora != "" {
		return
	}
	switch lp.dist {
	case LoraDistinct:
		p.Lora = lp.names[lp.counter%len(lp.names)]
		lp.counter++
	case LoraSkewed:
		u := lp.rng.Float64()
		i, _ := slices.BinarySearch(lp.cum, u)
		p.Lora = lp.names[min(i, len(lp.names)-1)]
	default:
		p.Lora = lp.names[lp.rng.IntN(len(lp.names))]
	}
}

// SetKeys returns the JSON object obj with each key of kv set, in place when the key exists (Python
// dict semantics) and appended otherwise; the order of the other keys is kept. obj may be empty
// (meaning {}). kv alternates keys and already encoded JSON values.
func SetKeys(obj json.RawMessage, kv ...string) (json.RawMessage, error) {
	type member struct {
		k string
		v json.RawMessage
	}
	var members []member
	if len(strings.TrimSpace(string(obj))) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(obj)))
		tok, err := dec.Token()
		if err != nil || tok != json.Delim('{') {
			return nil, errors.New("not a JSON object")
		}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return nil, err
			}
			k := kt.(string)
			if j := slices.IndexFunc(members, func(m member) bool { return m.k == k }); j >= 0 {
				members[j].v = v // a repeated key keeps its first place and its last value, as json.loads
				continue
			}
			members = append(members, member{k, v})
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		found := false
		for j := range members {
			if members[j].k == kv[i] {
				members[j].v, found = json.RawMessage(kv[i+1]), true
			}
		}
		if !found {
			members = append(members, member{kv[i], json.RawMessage(kv[i+1])})
		}
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(m.k)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(m.v)
	}
	b.WriteByte('}')
	var out bytes.Buffer
	if err := json.Compact(&out, []byte(b.String())); err != nil {
		return nil, err
	}
	return json.RawMessage(out.Bytes()), nil
}

// ParseObject validates a --extra-request-body value: a JSON object, returned compact with its key order
// kept.
func ParseObject(s string) (json.RawMessage, error) {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "{") || !json.Valid([]byte(t)) {
		return nil, errors.New("--extra-request-body must be a JSON object, e.g. '{\"top_k\": 20}'")
	}
	dec := json.NewDecoder(strings.NewReader(t))
	var first json.RawMessage
	if err := dec.Decode(&first); err != nil || dec.More() {
		return nil, errors.New("--extra-request-body must be one JSON object")
	}
	return SetKeys(first)
}
