package backends

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/bsbench/bs/pkg/internal/jsonscan"
	"github.com/bsbench/bs/pkg/records"
)

var update = flag.Bool("update", false, "rewrite testdata/payloads.golden")

// baseOpts are the options bs-fire passes with the reference's defaults.
func baseOpts() Options {
	return Options{
		BaseURL:         "http://127.0.0.1:30000",
		Model:           "org/model-7b",
		Stream:          true,
		IgnoreEOS:       true,
		Temperature:     0,
		TopP:            1,
		LogprobStartLen: -1,
	}
}

type optCase struct {
	name string
	mod  func(*Options)
}

var optCases = []optCase{
	{"default", func(o *Options) {}},
	{"compat", func(o *Options) { o.Compat = CompatSGLang }},
	{"disable-ignore-eos", func(o *Options) { o.IgnoreEOS = false }},
	{"disable-stream", func(o *Options) { o.Stream = false }},
	{"disable-stream-compat", func(o *Options) { o.Stream = false; o.Compat = CompatSGLang }},
	{"extra", func(o *Options) {
		o.ExtraBody = json.RawMessage(`{"top_k": 20, "temperature": 0.7, "ignore_eos": false,
			"stream_options": {"continuous_usage_stats": true}}`)
	}},
	{"extra-compat", func(o *Options) {
		o.ExtraBody = json.RawMessage(`{"top_k": 20, "temperature": 0.7}`)
		o.Compat = CompatSGLang
	}},
	{"extra-sampling-params", func(o *Options) {
		o.ExtraBody = json.RawMessage(`{"sampling_params": {"temperature": 0.3, "max_new_tokens": 5}, "top_k": 3, "min_length": 7, "stream": true}`)
	}},
	{"sampling-flags", func(o *Options) {
		o.Temperature, o.TopP = 0.6, 0.9
		o.ReturnLogprob, o.TopLogprobsNum, o.TokenIDsLogprob = true, 3, []int{5, 6}
		o.ReturnRoutedExperts, o.LogprobStartLen = true, 0
	}},
	{"auth-headers", func(o *Options) {
		o.Authorization = "Bearer sk-secret-1234"
		o.Header = http.Header{"X-Custom": {"a=b"}, "X-Tenant": {"t1"}}
	}},
}

type promptCase struct {
	name string
	p    records.Prompt
	msgs []records.Message
}

func promptCases() []promptCase {
	return []promptCase{
		{"text", records.Prompt{ID: 1, Text: "Hello <|im_start|> \"world\"\n\tü ☃", PromptLen: 9, OutputLen: 16}, nil},
		{"ids", records.Prompt{ID: 2, IDs: []int{101, 7592, 2088}, PromptLen: 3, OutputLen: 8}, nil},
		{"images", records.Prompt{ID: 3, Text: "Describe the image.", Images: []string{"data:image/png;base64,iVBORw0K", "https://example.test/cat.jpg"}, PromptLen: 700, TextPromptLen: 4, VisionPromptLen: 696, OutputLen: 32}, nil},
		{"lora", records.Prompt{ID: 4, Text: "hi", Lora: "adapter-a", PromptLen: 1, OutputLen: 4}, nil},
		{"routing-prompt-extra", records.Prompt{ID: 5, Text: "hi", RoutingKey: "user-7", ExtraBody: json.RawMessage(`{"temperature":0.5,"seed":11,"top_k":null}`), PromptLen: 1, OutputLen: 4}, nil},
		{"messages", records.Prompt{ID: 6, Messages: []records.Message{
			records.TextMessage("system", "Be brief."),
			{Role: "user", Content: json.RawMessage(`[ {"type": "text", "text": "Hi"} ]`)},
		}, PromptLen: 12, OutputLen: 10}, nil},
		{"multi-turn", records.Prompt{ID: 7, Turns: [][]records.Message{
			{records.TextMessage("user", "first")}, {records.TextMessage("user", "second")},
		}, PromptLen: 3, OutputLen: 6}, []records.Message{
			records.TextMessage("user", "first"), records.TextMessage("assistant", "ok"), records.TextMessage("user", "second"),
		}},
	}
}

// goldenCase is one request built for the golden file (and for the Python cross-check).
type goldenCase struct {
	Backend string            `json:"backend"`
	Opts    string            `json:"opts"`
	Prompt  string            `json:"prompt"`
	Options Options           `json:"options"`
	Input   records.Prompt    `json:"input"`
	Msgs    []records.Message `json:"msgs,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
	Text    string            `json:"body_text,omitempty"`
	Error   string            `json:"error,omitempty"`
	Header  map[string]string `json:"header,omitempty"`
}

func buildAll(t *testing.T) []goldenCase {
	t.Helper()
	var out []goldenCase
	for _, name := range Names() {
		for _, oc := range optCases {
			opts := baseOpts()
			oc.mod(&opts)
			be, err := New(name, opts)
			if err != nil {
				t.Fatalf("New(%s, %s): %v", name, oc.name, err)
			}
			b := be.(*backend)
			for _, pc := range promptCases() {
				var bl builder
				gc := goldenCase{Backend: name, Opts: oc.name, Prompt: pc.name, Options: opts, Input: pc.p, Msgs: pc.msgs}
				body, err := b.buildBody(&bl, &pc.p, pc.msgs)
				if err != nil {
					var ce *clientError
					if !errors.As(err, &ce) {
						t.Fatalf("%s/%s/%s: error is not a client error: %v", name, oc.name, pc.name, err)
					}
					gc.Error = err.Error()
				} else {
					if !json.Valid(body) {
						t.Fatalf("%s/%s/%s: invalid JSON %s", name, oc.name, pc.name, body)
					}
					gc.Body, gc.Text = body, string(body)
					req, _ := http.NewRequest("POST", b.URL(), nil)
					b.setHeaders(req, &pc.p, "req-42")
					gc.Header = map[string]string{}
					for k, v := range req.Header {
						gc.Header[k] = strings.Join(v, ", ")
					}
					if req.Host != req.URL.Host {
						gc.Header["Host"] = req.Host
					}
				}
				out = append(out, gc)
			}
		}
	}
	return out
}

func renderGolden(cases []goldenCase) []byte {
	var buf bytes.Buffer
	for _, c := range cases {
		fmt.Fprintf(&buf, "== %s %s %s\n", c.Backend, c.Opts, c.Prompt)
		if c.Error != "" {
			fmt.Fprintf(&buf, "error: %s\n", c.Error)
			continue
		}
		keys := make([]string, 0, len(c.Header))
		for k := range c.Header {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&buf, "%s: %s\n", k, c.Header[k])
		}
		fmt.Fprintf(&buf, "%s\n", c.Body)
	}
	return buf.Bytes()
}

// TestPayloadGolden checks every backend's request body and headers, byte for byte, for a matrix of
// prompts and flags. The golden file was checked against an independent Python model of the
// reference's payload code (testdata/payload_oracle.py; run it with BS_DUMP_CASES set, see there).
func TestPayloadGolden(t *testing.T) {
	cases := buildAll(t)
	got := renderGolden(cases)
	path := filepath.Join("testdata", "payloads.golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if dump := os.Getenv("BS_DUMP_CASES"); dump != "" {
		b, _ := json.MarshalIndent(cases, "", " ")
		if err := os.WriteFile(dump, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestPayloadGolden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) && i < len(wl); i++ {
			if gl[i] != wl[i] {
				t.Fatalf("payloads differ from %s at line %d:\n got: %s\nwant: %s", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("payloads differ from %s in length: %d vs %d lines", path, len(gl), len(wl))
	}
}

// A few bodies spelled out in full, so the most important rules are visible in the test itself.
func TestPayloadExamples(t *testing.T) {
	text := records.Prompt{ID: 1, Text: "Hi", OutputLen: 16, Lora: ""}
	cases := []struct {
		backend string
		mod     func(*Options)
		p       records.Prompt
		want    string
	}{
		{"sglang", func(o *Options) {}, text,
			`{"text":"Hi","sampling_params":{"temperature":0.0,"max_new_tokens":16,"ignore_eos":true},"stream":true,"lora_path":null,"return_logprob":false,"return_routed_experts":false,"logprob_start_len":-1}`},
		{"sglang", func(o *Options) {
			o.ExtraBody = json.RawMessage(`{"sampling_params":{"top_k":2},"stream":false,"x":1}`)
		}, text,
			`{"text":"Hi","sampling_params":{"top_k":2},"stream":false,"lora_path":null,"return_logprob":false,"return_routed_experts":false,"logprob_start_len":-1,"x":1}`},
		{"sglang-oai", func(o *Options) { o.Compat = CompatSGLang }, text,
			`{"model":"org/model-7b","prompt":"Hi","best_of":1,"max_tokens":16,"stream":true,"temperature":0.0,"ignore_eos":true}`},
		{"vllm", func(o *Options) {}, text,
			`{"model":"org/model-7b","prompt":"Hi","best_of":1,"max_tokens":16,"stream":true,"temperature":0.0,"ignore_eos":true,"stream_options":{"include_usage":true}}`},
		{"vllm", func(o *Options) { o.ExtraBody = json.RawMessage(`{"ignore_eos":false,"model":"other"}`) },
			records.Prompt{ID: 1, Text: "Hi", OutputLen: 16, Lora: "lo"},
			`{"model":"lo","prompt":"Hi","best_of":1,"max_tokens":16,"stream":true,"temperature":0.0,"ignore_eos":false,"stream_options":{"include_usage":true},"lora_path":"lo"}`},
		{"vllm-chat", func(o *Options) { o.Compat = CompatSGLang; o.IgnoreEOS = false }, text,
			`{"model":"org/model-7b","messages":[{"role":"user","content":"Hi"}],"max_completion_tokens":16,"stream":true,"temperature":0.0,"ignore_eos":false}`},
		{"trt", func(o *Options) { o.IgnoreEOS = false; o.Stream = false }, text,
			`{"accumulate_tokens":true,"text_input":"Hi","temperature":1e-06,"top_p":1.0,"max_tokens":16,"stream":true}`},
		{"truss", func(o *Options) {}, text,
			`{"model":"org/model-7b","prompt":"Hi","temperature":0.0,"best_of":1,"max_tokens":16,"stream":true,"ignore_eos":true}`},
	}
	for i, c := range cases {
		opts := baseOpts()
		c.mod(&opts)
		be, err := New(c.backend, opts)
		if err != nil {
			t.Fatal(err)
		}
		var bl builder
		got, err := be.(*backend).buildBody(&bl, &c.p, nil)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if string(got) != c.want {
			t.Errorf("case %d (%s):\n got %s\nwant %s", i, c.backend, got, c.want)
		}
	}
}

func TestPyFloat(t *testing.T) {
	a, b := 0.1, 0.2
	if got, _ := appendPyFloat(nil, a+b); string(got) != "0.30000000000000004" {
		t.Errorf("0.1+0.2 = %s", got)
	}
	for f, want := range map[float64]string{
		0: "0.0", 1: "1.0", 0.5: "0.5", 0.000001: "1e-06", 0.0001: "0.0001", 0.00012: "0.00012",
		-2.5: "-2.5", 1e16: "1e+16", 123456789.0: "123456789.0", 1e15: "1000000000000000.0",
		1.5e-7: "1.5e-07", 2.5e20: "2.5e+20",
	} {
		got, err := appendPyFloat(nil, f)
		if err != nil || string(got) != want {
			t.Errorf("appendPyFloat(%v) = %s, %v; want %s", f, got, err, want)
		}
	}
}

func TestJSONString(t *testing.T) {
	in := "a\"b\\c\n\r\t\b\f\x01<>&\u2028é\xff"
	got := string(jsonscan.AppendString(nil, in))
	want := `"a\"b\\c\n\r\t\b\f\u0001<>&\u2028é\ufffd"`
	if got != want {
		t.Fatalf("got %s want %s", got, want)
	}
	var back string
	if err := json.Unmarshal([]byte(got), &back); err != nil || back != strings.ToValidUTF8(in, "\ufffd") {
		t.Fatalf("round trip: %q %v", back, err)
	}
}

func TestNewErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		mod  func(*Options)
		want string
	}{
		{"gserver", func(o *Options) {}, "backend gserver is not supported (the reference raises NotImplementedError too)"},
		{"sglang-embedding", func(o *Options) {}, "not supported"},
		{"nope", func(o *Options) {}, `unknown backend "nope"`},
		{"sglang", func(o *Options) { o.ExtraBody = json.RawMessage(`[1]`) }, "extra request body"},
		{"sglang", func(o *Options) { o.ExtraBody = json.RawMessage(`{"a":1} x`) }, "extra request body"},
		{"sglang", func(o *Options) { o.BaseURL = "127.0.0.1:30000" }, "base URL"},
		{"sglang", func(o *Options) { o.BaseURL = "http://u:hunter22@[::1" }, "base URL"},
		{"sglang", func(o *Options) { o.Compat = "vllm" }, "compat"},
	} {
		opts := baseOpts()
		c.mod(&opts)
		_, err := New(c.name, opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%s): %v, want error containing %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter22") {
			t.Errorf("error leaks a password: %v", err)
		}
	}
}

func TestDefaultPortAndNames(t *testing.T) {
	want := map[string]int{
		"sglang": 30000, "sglang-native": 30000, "sglang-oai": 30000, "sglang-oai-chat": 30000,
		"vllm": 8000, "vllm-chat": 30000, "lmdeploy": 23333, "lmdeploy-chat": 30000, "trt": 8000,
		"truss": 8080, "gserver": 9988, "vllm-embedding": 8000, "sglang-embedding": 30000,
	}
	for name, port := range want {
		if got := DefaultPort(name); got != port {
			t.Errorf("DefaultPort(%s) = %d, want %d", name, got, port)
		}
	}
	names := strings.Join(Names(), " ")
	if names != "sglang sglang-native sglang-oai sglang-oai-chat vllm vllm-chat lmdeploy lmdeploy-chat trt truss" {
		t.Errorf("Names() = %s", names)
	}
	for _, n := range Names() {
		b, err := New(n, baseOpts())
		if err != nil {
			t.Fatal(err)
		}
		if b.Name() != n || !strings.HasPrefix(b.URL(), "http://127.0.0.1:30000/") {
			t.Errorf("%s: name %s url %s", n, b.Name(), b.URL())
		}
	}
	o := baseOpts()
	o.BaseURL += "/"
	b, _ := New("trt", o)
	if b.URL() != "http://127.0.0.1:30000/v2/models/ensemble/generate_stream" {
		t.Errorf("trt URL %s", b.URL())
	}
}
