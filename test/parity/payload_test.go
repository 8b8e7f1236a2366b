package parity

import (
	"slices"
	"testing"
)

// payloadBackends are every generation backend the reference and bs share (fact sheet §3).
var payloadBackends = []string{"sglang", "sglang-oai", "vllm", "lmdeploy", "sglang-oai-chat", "vllm-chat", "lmdeploy-chat", "trt", "truss"}

// TestPayloads: for every backend, the same prompts under each request flag give the same endpoint,
// headers and body from the reference and from bs (--compat sglang on both tools). Variants:
//
//   - plain: no flags.
//   - no-ignore-eos: --disable-ignore-eos, plus OPENAI_API_KEY in the environment (Authorization:
//     Bearer …, redacted by bs-sim) and --header X-Parity-Case=no-ignore-eos.
//   - no-stream: --disable-stream, plus API_KEY in the environment (Authorization sent raw).
//   - extra-lora: --extra-request-body without sampling_params (keys that override the OpenAI
//     defaults temperature/ignore_eos, and new ones) and --lora-name with a single adapter (so the
//     reference's random.choice is deterministic). trt and truss get the extra body only: the
//     reference ignores LoRA there and bs refuses it (docs/compat.md).
//   - extra-sampling-params: --extra-request-body with a sampling_params object (on /generate it
//     replaces the whole sampling dict; elsewhere it is one more top-level key).
//   - cache-report-fake-prefill: --cache-report (return_cached_tokens_details on sglang-oai and
//     sglang-oai-chat) and --fake-prefill (bootstrap keys), added after --extra-request-body's keys.
//   - tokenize-prompt (sglang only): random-ids with --tokenize-prompt (input_ids bodies).
func TestPayloads(t *testing.T) {
	t.Parallel()
	needReference(t)
	reference(t)

	data := []string{"--dataset-name", "random", "--dataset-path", sharegpt, "--num-prompts", "2",
		"--random-input-len", "24", "--random-output-len", "6", "--random-range-ratio", "1", "--seed", "21"}
	type variant struct {
		name  string
		flags []string // reference and bs-fire
		env   map[string]string
		skip  []string // backends without this variant
	}
	variants := []variant{
		{name: "plain"},
		{name: "no-ignore-eos", flags: []string{"--disable-ignore-eos", "--header", "X-Parity-Case=no-ignore-eos"},
			env: map[string]string{"OPENAI_API_KEY": "sk-parity-test-key"}},
		{name: "no-stream", flags: []string{"--disable-stream"}, env: map[string]string{"API_KEY": "parity-raw-key"}},
		{name: "extra-lora", flags: []string{"--extra-request-body", `{"temperature": 0.5, "ignore_eos": false, "top_k": 5, "min_tokens": 2, "stop": ["\n\n"], "note": "caf\u00e9 \u2713"}`,
			"--lora-name", "parity-lora"}, skip: []string{"trt", "truss"}},
		{name: "extra-only", flags: []string{"--extra-request-body", `{"temperature": 0.5, "top_k": 5, "note": "caf\u00e9"}`},
			skip: []string{"sglang", "sglang-oai", "vllm", "lmdeploy", "sglang-oai-chat", "vllm-chat", "lmdeploy-chat"}},
		{name: "extra-sampling-params", flags: []string{"--extra-request-body", `{"sampling_params": {"temperature": 0.25, "max_new_tokens": 3, "ignore_eos": true}, "top_k": 3}`}},
		{name: "cache-report-fake-prefill", flags: []string{"--cache-report", "--fake-prefill", "--extra-request-body", `{"top_k": 3}`}},
	}
	var cases []pairCase
	for _, b := range payloadBackends {
		model := []string(nil)
		switch b {
		case "trt":
			// Both clients' ready check for trt polls GET / (the base URL), which bs-sim answers 404.
			model = []string{"--model", "bs-sim", "--ready-check-timeout-sec", "0"}
		case "truss":
			model = []string{"--model", "bs-sim"}
		}
		for _, v := range variants {
			if slices.Contains(v.skip, b) {
				continue
			}
			cases = append(cases, pairCase{
				name: b + "/" + v.name, backend: b,
				ref:  concat(data, model, v.flags),
				gen:  data,
				fire: concat(model, v.flags),
				env:  v.env, sim: fastSim, want: 2,
			})
		}
	}
	ids := []string{"--dataset-name", "random-ids", "--num-prompts", "2", "--random-input-len", "24",
		"--random-output-len", "6", "--random-range-ratio", "1", "--seed", "22", "--tokenize-prompt"}
	cases = append(cases, pairCase{name: "sglang/tokenize-prompt", backend: "sglang", ref: ids, gen: ids, sim: fastSim, want: 2})

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			runPair("payloads", c).check(t, c)
		})
	}
}

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
