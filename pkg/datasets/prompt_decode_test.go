package datasets

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/bsbench/bs/pkg/records"
)

// TestPromptRecordsDecodeAsStrict generates the prompts of every dataset (with the real Qwen3
// tokenizer where the text matters: random token ids decode to arbitrary Unicode), writes them as
// bs-gen does, and decodes every line with records.DecodePrompt (bs-fire's decoder) and with the
// strict encoding/json decoder: the values must be identical.
func TestPromptRecordsDecodeAsStrict(t *testing.T) {
	dir := t.TempDir()
	qwen, qwenChat := loadReal(t, "qwen3")
	fake := newFakeTok(true)

	var pb bytes.Buffer
	must(png.Encode(&pb, image.NewRGBA(image.Rect(0, 0, 60, 40))))
	must(os.WriteFile(filepath.Join(dir, "pic.png"), pb.Bytes(), 0o644))
	mooncake := writeFile(t, dir, "trace.jsonl", `{"timestamp": 2000, "input_length": 10, "output_length": 3, "hash_ids": [5, 7]}
{"timestamp": 1000.5, "input_length": 10, "hash_ids": [1]}
{"timestamp": 500, "output_length": 2, "hash_ids": [9]}
`)
	custom := writeFile(t, dir, "conv.jsonl", `{"conversations": [{"role": "user", "content": "hello \"world\"\n\tand <the> abc"}, {"role": "assistant", "content": "the the"}]}
{"conversations": [{"content": "look <image 1> at the picture"}, {"content": "a cat"}], "image": "pic.png"}
`)
	openai := writeFile(t, dir, "req.jsonl", `{"model": "m", "temperature": 0.5, "messages": [{"role": "system", "content": "be nice"}, {"role": "user", "content": "hello <b>"}], "max_tokens": 17, "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Météo 🙂 \"x\" \u2028", "parameters": {"b": 1.5, "a": [true, null]}}}], "top_p": 0.9}
{"messages": [{"role": "user", "content": "abc"}], "max_completion_tokens": 9}
`)
	share := writeShareGPT(t, dir, 200, 3)
	mmmu := writeFile(t, dir, "mmmu.jsonl", `{"question": "one?", "image_1": "pic.png"}
{"question": "two?", "image_1": "data:image/png;base64,`+base64.StdEncoding.EncodeToString(pb.Bytes())+`"}
`)

	cases := []struct {
		name string
		tok  Tokenizer
		chat ChatTemplateFunc
		set  func(o *Options)
	}{
		{"random", qwen, qwenChat, func(o *Options) {
			o.Dataset, o.DatasetPath, o.RandomInputLen, o.RandomOutputLen, o.RandomRangeRatio = Random, share, 200, 16, 0.5
		}},
		{"random-chat-template", qwen, qwenChat, func(o *Options) {
			o.Dataset, o.DatasetPath, o.RandomInputLen, o.ApplyChatTemplate = Random, share, 64, true
		}},
		{"random-compat-sglang", qwen, qwenChat, func(o *Options) {
			o.Dataset, o.DatasetPath, o.RandomInputLen, o.Compat = Random, share, 64, CompatSGLang
		}},
		{"random-ids", qwen, qwenChat, func(o *Options) {
			o.Dataset, o.RandomInputLen, o.LoraNames = RandomIDs, 100, []string{"a", "b\"c"}
		}},
		{"random-tokenized", qwen, qwenChat, func(o *Options) {
			o.Dataset, o.DatasetPath, o.RandomInputLen, o.TokenizePrompt = Random, share, 50, true
		}},
		{"sharegpt", qwen, qwenChat, func(o *Options) {
			o.Dataset, o.DatasetPath = ShareGPT, share
		}},
		{"generated-shared-prefix", qwen, qwenChat, func(o *Options) {
			o.Dataset = GeneratedSharedPrefix
			o.GSP.NumGroups, o.GSP.PromptsPerGroup, o.GSP.SystemPromptLen, o.GSP.QuestionLen, o.GSP.OutputLen = 3, 4, 30, 6, 9
			o.GSP.NumTurns, o.GSP.SendRoutingKey = 2, true
		}},
		{"generated-shared-prefix-single", qwen, qwenChat, func(o *Options) {
			o.Dataset = GeneratedSharedPrefix
			o.GSP.NumGroups, o.GSP.PromptsPerGroup, o.GSP.SystemPromptLen, o.GSP.QuestionLen, o.GSP.OutputLen = 2, 3, 20, 5, 7
		}},
		{"image", fake, nil, func(o *Options) {
			o.Dataset, o.ImageCount, o.RandomImageCount, o.ImageResolution = Image, 2, true, "random:20x30-40x50"
			o.RandomInputLen, o.Backend, o.Vision.ImageToken = 16, "sglang-oai-chat", "<img>"
		}},
		{"image-native", fake, nil, func(o *Options) {
			o.Dataset, o.ImageResolution, o.ImageFormat, o.RandomInputLen, o.Vision.ImageToken = Image, "24x24", "png", 16, "<img>"
		}},
		{"mmmu", fake, nil, func(o *Options) {
			o.Dataset, o.DatasetPath, o.RandomOutputLen, o.Vision.ImageToken = MMMU, mmmu, 33, "<img>"
		}},
		{"mooncake", qwen, qwenChat, func(o *Options) {
			o.Dataset, o.DatasetPath, o.MooncakeNumRounds, o.MooncakeSlowdownFactor = Mooncake, mooncake, 2, 1.5
		}},
		{"custom", fake, nil, func(o *Options) {
			o.Dataset, o.DatasetPath, o.Vision.ImageToken = Custom, custom, "<img>"
		}},
		{"openai", qwen, qwenChat, func(o *Options) {
			o.Dataset, o.DatasetPath = OpenAI, openai
		}},
	}
	total := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := DefaultOptions()
			o.NumPrompts = 40
			c.set(&o)
			ps := mustGen(t, o, c.tok, c.chat)
			if len(ps) == 0 {
				t.Fatal("no prompts")
			}
			lines := bytes.Split(bytes.TrimSuffix(encodeAll(t, ps), []byte("\n")), []byte("\n"))
			if len(lines) != len(ps) {
				t.Fatalf("%d lines for %d prompts", len(lines), len(ps))
			}
			for i, line := range lines {
				var fast, strict records.Prompt
				if err := records.DecodePrompt(line, &fast); err != nil {
					t.Fatalf("line %d: %v\n%s", i+1, err, line)
				}
				dec := json.NewDecoder(bytes.NewReader(line))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&strict); err != nil {
					t.Fatalf("line %d: encoding/json: %v", i+1, err)
				}
				if !reflect.DeepEqual(fast, strict) {
					t.Fatalf("line %d differs:\nDecodePrompt  %#v\nencoding/json %#v", i+1, fast, strict)
				}
			}
			total += len(lines)
		})
	}
	t.Logf("%d prompt records compared", total)
}
