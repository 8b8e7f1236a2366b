package datasets

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

type vectorCase struct {
	Name      string         `json:"name"`
	Tokenizer string         `json:"tokenizer"`
	Options   map[string]any `json:"options"`
	Rows      []struct {
		Prompt     json.RawMessage `json:"prompt"`
		PromptLen  int             `json:"prompt_len"`
		OutputLen  int             `json:"output_len"`
		RoutingKey *string         `json:"routing_key"`
	} `json:"rows"`
	Lora []string `json:"lora"`
}

// optionsFromVector maps the script's option names onto Options.
func optionsFromVector(t *testing.T, m map[string]any) Options {
	o := DefaultOptions()
	o.Compat = CompatSGLang
	num := func(v any) int { return int(v.(float64)) }
	for k, v := range m {
		switch k {
		case "dataset":
			o.Dataset = v.(string)
		case "seed":
			o.Seed = int64(num(v))
		case "num_prompts":
			o.NumPrompts = num(v)
		case "random_input_len":
			o.RandomInputLen = num(v)
		case "random_output_len":
			o.RandomOutputLen = num(v)
		case "random_range_ratio":
			o.RandomRangeRatio = v.(float64)
		case "tokenize_prompt":
			o.TokenizePrompt = v.(bool)
		case "dataset_path":
			o.DatasetPath = filepath.Join("testdata", v.(string))
		case "sharegpt_output_len":
			n := num(v)
			o.SharegptOutputLen = &n
		case "sharegpt_context_len":
			n := num(v)
			o.SharegptContextLen = &n
		case "prompt_suffix":
			o.PromptSuffix = v.(string)
		case "apply_chat_template":
			o.ApplyChatTemplate = v.(bool)
		case "lora_names":
			for _, s := range v.([]any) {
				o.LoraNames = append(o.LoraNames, s.(string))
			}
		case "lora_distribution":
			o.LoraDistribution = v.(string)
		case "lora_zipf_alpha":
			o.LoraZipfAlpha = v.(float64)
		case "gsp":
			for gk, gv := range v.(map[string]any) {
				switch gk {
				case "num_groups":
					o.GSP.NumGroups = num(gv)
				case "prompts_per_group":
					o.GSP.PromptsPerGroup = num(gv)
				case "system_prompt_len":
					o.GSP.SystemPromptLen = num(gv)
				case "question_len":
					o.GSP.QuestionLen = num(gv)
				case "output_len":
					o.GSP.OutputLen = num(gv)
				case "range_ratio":
					o.GSP.RangeRatio = gv.(float64)
				case "ordered":
					o.GSP.Ordered = gv.(bool)
				case "num_turns":
					o.GSP.NumTurns = num(gv)
				case "send_routing_key":
					o.GSP.SendRoutingKey = gv.(bool)
				case "group_distribution":
					o.GSP.GroupDistribution = gv.(string)
				case "zipf_alpha":
					a := gv.(float64)
					o.GSP.ZipfAlpha = &a
				default:
					t.Fatalf("unknown gsp option %q", gk)
				}
			}
		default:
			t.Fatalf("unknown option %q", k)
		}
	}
	return o
}

// TestSGLangParity checks --compat sglang against vectors made by SGLang's own dataset functions
// (scripts/gen-dataset-vectors.py) for the Qwen3 and Llama 3 tokenizers.
func TestSGLangParity(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "sglang-vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []vectorCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) < 40 {
		t.Fatalf("only %d cases", len(doc.Cases))
	}
	for _, c := range doc.Cases {
		t.Run(c.Tokenizer+"/"+c.Name, func(t *testing.T) {
			tok, chat := loadReal(t, c.Tokenizer)
			o := optionsFromVector(t, c.Options)
			ps := mustGen(t, o, tok, chat)
			if len(ps) != len(c.Rows) {
				t.Fatalf("%d prompts, reference %d", len(ps), len(c.Rows))
			}
			for i, want := range c.Rows {
				p := ps[i]
				var s string
				var ids []int
				var turns []string
				switch {
				case json.Unmarshal(want.Prompt, &s) == nil:
					if p.Text != s {
						t.Fatalf("row %d text\n got %q\nwant %q", i, p.Text, s)
					}
				case json.Unmarshal(want.Prompt, &ids) == nil:
					if !reflect.DeepEqual(p.IDs, ids) && !(len(ids) == 0 && p.IDs == nil) {
						t.Fatalf("row %d ids\n got %v\nwant %v", i, p.IDs, ids)
					}
				case json.Unmarshal(want.Prompt, &turns) == nil:
					if len(p.Turns) != len(turns) {
						t.Fatalf("row %d: %d turns, want %d", i, len(p.Turns), len(turns))
					}
					for k, tt := range turns {
						var got string
						_ = json.Unmarshal(p.Turns[k][0].Content, &got)
						if got != tt {
							t.Fatalf("row %d turn %d\n got %q\nwant %q", i, k, got, tt)
						}
					}
				default:
					t.Fatalf("row %d: unexpected prompt %s", i, want.Prompt)
				}
				if p.PromptLen != want.PromptLen || p.OutputLen != want.OutputLen {
					t.Fatalf("row %d lengths %d/%d, want %d/%d", i, p.PromptLen, p.OutputLen, want.PromptLen, want.OutputLen)
				}
				if want.RoutingKey != nil {
					g := (*want.RoutingKey)[strings.LastIndex(*want.RoutingKey, "_")+1:]
					if !strings.HasSuffix(p.RoutingKey, "_"+g) || p.Group != g {
						t.Fatalf("row %d routing key %q group %q, reference group %s", i, p.RoutingKey, p.Group, g)
					}
				}
				if c.Lora != nil && p.Lora != c.Lora[i] {
					t.Fatalf("row %d lora %q, want %q", i, p.Lora, c.Lora[i])
				}
			}
		})
	}
}
