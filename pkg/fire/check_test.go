package fire

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/bsbench/bs/pkg/records"
	"github.com/bsbench/bs/pkg/schedule"
)

func TestCheckPrompt(t *testing.T) {
	msgs := []records.Message{records.TextMessage("user", "hi")}
	for _, tc := range []struct {
		backend string
		p       records.Prompt
		field   string // "" = accepted
	}{
		{"sglang", records.Prompt{Text: "a"}, ""},                                      // text everywhere
		{"vllm", records.Prompt{Text: "a"}, ""},                                        // text everywhere
		{"sglang", records.Prompt{IDs: []int{1}}, ""},                                  // ids: native only
		{"sglang-native", records.Prompt{IDs: []int{1}}, ""},                           // ids: native only
		{"sglang-oai", records.Prompt{IDs: []int{1}}, "ids"},                           // not completions
		{"vllm-chat", records.Prompt{IDs: []int{1}}, "ids"},                            // not chat
		{"sglang-oai-chat", records.Prompt{Text: "a", Images: []string{"x"}}, ""},      // images: chat
		{"sglang", records.Prompt{Text: "a", Images: []string{"x"}}, ""},               // images: native
		{"vllm", records.Prompt{Text: "a", Images: []string{"x"}}, "images"},           // not completions
		{"trt", records.Prompt{Text: "a", Images: []string{"x"}}, "images"},            // not trt
		{"vllm-chat", records.Prompt{Messages: msgs, Images: []string{"x"}}, "images"}, // images belong in the messages
		{"lmdeploy-chat", records.Prompt{Turns: [][]records.Message{msgs}}, ""},        // turns: chat
		{"sglang", records.Prompt{Turns: [][]records.Message{msgs}}, "turns"},          // not native
		{"vllm-chat", records.Prompt{Messages: msgs}, ""},                              // messages: chat
		{"vllm", records.Prompt{Messages: msgs}, "messages"},                           // not completions
		{"truss", records.Prompt{Text: "a", Lora: "l"}, "lora"},                        // no LoRA on truss
		{"sglang", records.Prompt{Text: "a", Lora: "l"}, ""},                           // LoRA on native
	} {
		err := CheckPrompt(tc.backend, &tc.p)
		fe, _ := err.(*records.FieldError)
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s %+v: %v", tc.backend, tc.p, err)
		case tc.field != "" && (fe == nil || fe.Field != tc.field):
			t.Errorf("%s %+v: got %v, want an error on field %s", tc.backend, tc.p, err, tc.field)
		}
	}
	if err := CheckPrompt("nope", &records.Prompt{}); err == nil || !strings.Contains(err.Error(), "unknown backend") {
		t.Errorf("unknown backend: %v", err)
	}
}

func TestSetKeysAndParseObject(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// Existing keys keep their place (Python dict update), new ones are appended.
		{`{"z": 1, "bootstrap_room": 5, "a": [1, 2]}`, `{"z":1,"bootstrap_room":0,"a":[1,2],"bootstrap_host":"2.2.2.2"}`},
		// Empty means {}.
		{``, `{"bootstrap_room":0,"bootstrap_host":"2.2.2.2"}`},
		// A repeated key keeps its first place and its last value, as json.loads.
		{`{"x":1,"y":2,"x":3}`, `{"x":3,"y":2,"bootstrap_room":0,"bootstrap_host":"2.2.2.2"}`},
	} {
		got, err := SetKeys(json.RawMessage(tc.in), "bootstrap_room", "0", "bootstrap_host", `"2.2.2.2"`)
		if err != nil || string(got) != tc.want {
			t.Errorf("SetKeys(%s) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	if o, err := ParseObject(` {"b": {"c": 1},  "a": "x"} `); err != nil || string(o) != `{"b":{"c":1},"a":"x"}` {
		t.Errorf("ParseObject: %s %v", o, err)
	}
	for _, bad := range []string{`[1]`, `"s"`, `{"a":1} {"b":2}`, `{"a":}`, `{`} {
		if _, err := ParseObject(bad); err == nil {
			t.Errorf("ParseObject(%s) accepted", bad)
		}
	}
}

func TestLoraPicker(t *testing.T) {
	names := []string{"a", "b", "c"}
	assign := func(lp *LoraPicker, n int) map[string]int {
		counts := map[string]int{}
		for range n {
			p := records.Prompt{}
			lp.Assign(&p)
			counts[p.Lora]++
		}
		return counts
	}
	// distinct: round-robin, exactly equal counts.
	lp, err := NewLoraPicker(names, LoraDistinct, 1.5, schedule.NewRand(1))
	if err != nil {
		t.Fatal(err)
	}
	if c := assign(lp, 9); c["a"] != 3 || c["b"] != 3 || c["c"] != 3 {
		t.Errorf("distinct %v", c)
	}
	// A prompt that names an adapter keeps it.
	p := records.Prompt{Lora: "mine"}
	lp.Assign(&p)
	if p.Lora != "mine" {
		t.Error("prompt's own adapter replaced")
	}
	// skewed: weights alpha^-i normalised: with alpha 2, 4/7, 2/7, 1/7 — checked within 6 standard errors.
	lp, _ = NewLoraPicker(names, LoraSkewed, 2, schedule.NewRand(42))
	const n = 70000
	c := assign(lp, n)
	for i, name := range names {
		pr := math.Pow(2, -float64(i)) / (1 + 0.5 + 0.25)
		if se := math.Sqrt(n * pr * (1 - pr)); math.Abs(float64(c[name])-n*pr) > 6*se {
			t.Errorf("skewed %s: %d, want %.0f ± %.0f", name, c[name], n*pr, 6*se)
		}
	}
	// uniform: every adapter about a third.
	lp, _ = NewLoraPicker(names, LoraUniform, 1.5, schedule.NewRand(42))
	c = assign(lp, 30000)
	for _, name := range names {
		if math.Abs(float64(c[name])-10000) > 6*math.Sqrt(30000*(1.0/3)*(2.0/3)) {
			t.Errorf("uniform %s: %d", name, c[name])
		}
	}
	if lp, err := NewLoraPicker(nil, LoraUniform, 1.5, nil); lp != nil || err != nil {
		t.Error("no names must give no picker")
	}
	var nilPicker *LoraPicker
	nilPicker.Assign(&p) // no-op
	for _, bad := range []struct {
		names []string
		dist  string
		alpha float64
	}{{[]string{"a"}, LoraDistinct, 1.5}, {[]string{"a"}, LoraSkewed, 1.5}, {names, "zipf", 1.5}, {names, LoraUniform, 1}} {
		if _, err := NewLoraPicker(bad.names, bad.dist, bad.alpha, schedule.NewRand(1)); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestLoaderAndSort(t *testing.T) {
	in := `{"kind":"header","format":1,"stream":"prompts","tool":"bs-gen","version":"x"}
{"id":0,"text":"a","prompt_len":1,"output_len":1,"timestamp_ms":3000}
{"id":1,"text":"b","prompt_len":1,"output_len":1,"timestamp_ms":1000}
{"id":2,"text":"c","prompt_len":1,"output_len":1,"timestamp_ms":1000}
{"id":3,"ids":[1],"prompt_len":1,"output_len":1,"timestamp_ms":5}
`
	rd := records.NewReaderFrom[records.Prompt](records.StreamPrompts, "p.jsonl", strings.NewReader(in))
	l := &Loader{Reader: rd, Backend: "vllm", Limit: 3, NeedTimestamp: true}
	ps, err := l.All()
	if err != nil || len(ps) != 3 {
		t.Fatalf("%d prompts, %v", len(ps), err)
	}
	ts := SortByTimestamp(ps)
	if ps[0].ID != 1 || ps[1].ID != 2 || ps[2].ID != 0 || ts[0] != 1000 || ts[2] != 3000 {
		t.Errorf("sorted %v %v", ps, ts)
	}
	// Without the limit the 4th (token ids on vllm) is refused, naming its line and field.
	rd = records.NewReaderFrom[records.Prompt](records.StreamPrompts, "p.jsonl", strings.NewReader(in))
	_, err = (&Loader{Reader: rd, Backend: "vllm"}).All()
	var ie *IncompatibleError
	if err == nil || !strings.Contains(err.Error(), `p.jsonl:5: field "ids"`) || !errors.As(err, &ie) {
		t.Errorf("error %v", err)
	}
	if Rounds([]records.Prompt{{}, {Turns: make([][]records.Message, 3)}}) != 4 {
		t.Error("Rounds")
	}
}
