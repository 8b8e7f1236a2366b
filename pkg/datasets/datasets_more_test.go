package datasets

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/bsbench/bs/pkg/records"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func wantDecodeError(t *testing.T, err error, file string, line int, field string) {
	t.Helper()
	var de *records.DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("error %v is not a DecodeError", err)
	}
	if de.File != file || de.Line != line || de.Field != field {
		t.Fatalf("error %q names %s:%d field %q, want %s:%d field %q", err, de.File, de.Line, de.Field, file, line, field)
	}
}

func TestSmartResize(t *testing.T) {
	// Expected values from transformers' qwen2_vl smart_resize (min 3136, max 12845056).
	cases := []struct{ h, w, rh, rw, tokens int }{
		{1080, 1920, 1092, 1932, 2691}, {2160, 3840, 2156, 3836, 10549}, {50, 30, 84, 56, 6},
		{5000, 6000, 3248, 3920, 16240}, {720, 1280, 728, 1288, 1196}, {42, 70, 56, 56, 4}, {300, 14, 280, 28, 10},
	}
	v := DefaultVision()
	for _, c := range cases {
		h, w, err := v.SmartResize(c.h, c.w)
		if err != nil || h != c.rh || w != c.rw {
			t.Fatalf("SmartResize(%d, %d) = %d, %d, %v; want %d, %d", c.h, c.w, h, w, err, c.rh, c.rw)
		}
		if n, _ := v.ImageTokens(c.h, c.w); n != c.tokens {
			t.Fatalf("ImageTokens(%d, %d) = %d, want %d", c.h, c.w, n, c.tokens)
		}
	}
	if _, _, err := v.SmartResize(1, 300); err == nil {
		t.Fatal("aspect ratio 300 accepted")
	}
}

func TestParseImageResolution(t *testing.T) {
	for s, want := range map[string]Resolution{
		"1080p":                 {1920, 1080, 1920, 1080, false},
		"4k":                    {3840, 2160, 3840, 2160, false},
		"1080x1920":             {1920, 1080, 1920, 1080, false}, // height first
		"random:256x128-512x64": {},                              // min > max in width
		"random:10x20-30x40":    {20, 10, 40, 30, true},
	} {
		got, err := ParseImageResolution(s)
		if want == (Resolution{}) {
			if err == nil {
				t.Fatalf("%q accepted", s)
			}
			continue
		}
		if err != nil || got != want {
			t.Fatalf("%q: %+v, %v; want %+v", s, got, err, want)
		}
	}
	for _, bad := range []string{"", "0x10", "10x", "axb", "1080", "random:10x10"} {
		if _, err := ParseImageResolution(bad); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
}

func decodeURI(t *testing.T, uri, mime string) image.Image {
	t.Helper()
	prefix := "data:" + mime + ";base64,"
	if !strings.HasPrefix(uri, prefix) {
		t.Fatalf("uri starts %q, want %q", uri[:min(len(uri), 30)], prefix)
	}
	b, err := base64.StdEncoding.DecodeString(uri[len(prefix):])
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestImagePixelsMatchNumPy checks the pixel values against NumPy: np.random.seed(42);
// randint(1, 9, 2); randint(1, 5, 2); (rand(4, 6, 3) * 255).astype(uint8) twice.
func TestImagePixelsMatchNumPy(t *testing.T) {
	want := [][]uint8{
		{186, 152, 39, 39, 14, 220, 153, 180, 5, 247, 212, 54, 46, 46, 77, 133, 110, 74, 156, 35, 74, 93, 116, 200, 50, 131, 151, 11, 154, 43, 16, 241, 246, 206, 77, 24, 174, 112, 31, 126, 8, 231, 65, 168, 79, 132, 139, 47, 247, 197, 239, 228, 152, 235, 22, 49, 11, 82, 99, 69, 211, 90, 71, 138, 35, 204, 19, 251, 196, 50, 1, 207},
		{180, 185, 196, 18, 91, 29, 220, 158, 84, 16, 79, 82, 186, 162, 226, 120, 30, 181, 194, 143, 196, 125, 133, 109, 6, 27, 8, 162, 80, 129, 231, 63, 104, 192, 58, 19, 73, 41, 237, 206, 161, 222, 204, 47, 227, 137, 205, 228, 81, 28, 58, 108, 208, 219, 1, 130, 106, 56, 30, 86, 240, 82, 132, 179, 92, 247, 245, 64, 126, 76, 72, 9},
	}
	tok := newFakeTok(false)
	o := DefaultOptions()
	o.Dataset = Image
	o.NumPrompts = 2
	o.ImageResolution = "4x6"
	o.ImageFormat = "png"
	o.RandomInputLen = 8
	o.RandomOutputLen = 4
	o.Vision.ImageToken, o.Vision.StartToken, o.Vision.EndToken = "<img>", "", ""
	ps := mustGen(t, o, tok, nil)
	if ps[0].OutputLen != 1 || ps[1].OutputLen != 3 {
		t.Fatalf("output lens %d %d, want 1 3", ps[0].OutputLen, ps[1].OutputLen)
	}
	for i, p := range ps {
		if len(p.Images) != 1 {
			t.Fatalf("prompt %d: %d images", i, len(p.Images))
		}
		img := decodeURI(t, p.Images[0], "image/png")
		if b := img.Bounds(); b.Dx() != 6 || b.Dy() != 4 {
			t.Fatalf("image size %v, want 6x4 (width x height)", b)
		}
		var got []uint8
		for y := 0; y < 4; y++ {
			for x := 0; x < 6; x++ {
				c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
				got = append(got, c.R, c.G, c.B)
			}
		}
		if !reflect.DeepEqual(got, want[i]) {
			t.Fatalf("prompt %d pixels\n got %v\nwant %v", i, got, want[i])
		}
		// Text of the native backend: placeholder then exact-length text (7 and 4 tokens).
		if !strings.HasPrefix(p.Text, "<img>") {
			t.Fatalf("prompt %d text %q lacks the image placeholder", i, p.Text)
		}
		textLen := len(tok.Encode(strings.TrimPrefix(p.Text, "<img>"), false))
		if textLen != []int{7, 4}[i] {
			t.Fatalf("prompt %d: text is %d tokens", i, textLen)
		}
		// 4x6 resizes to 56x84: 4x6 patches, 6 tokens; the placeholder counted once is replaced.
		if p.PromptLen != len(tok.Encode(p.Text, true))-1+6 || p.VisionPromptLen != 6 {
			t.Fatalf("prompt %d: prompt_len %d vision %d", i, p.PromptLen, p.VisionPromptLen)
		}
	}
}

func TestImageOptions(t *testing.T) {
	tok := newFakeTok(true)
	o := DefaultOptions()
	o.Dataset = Image
	o.NumPrompts = 6
	o.ImageCount = 3
	o.RandomImageCount = true
	o.ImageResolution = "random:20x30-40x50"
	o.ImageContent = "blank"
	o.RandomInputLen = 16
	o.Backend = "sglang-oai-chat"
	o.Vision.ImageToken = "<img>"
	ps := mustGen(t, o, tok, nil)
	counts := map[int]bool{}
	for i, p := range ps {
		counts[len(p.Images)] = true
		if len(p.Images) < 1 || len(p.Images) > 3 {
			t.Fatalf("prompt %d: %d images", i, len(p.Images))
		}
		if strings.Contains(p.Text, "<img>") {
			t.Fatalf("chat backend prompt %d has a placeholder: %q", i, p.Text)
		}
		for _, u := range p.Images {
			img := decodeURI(t, u, "image/jpeg")
			b := img.Bounds()
			if b.Dy() < 20 || b.Dy() > 40 || b.Dx() < 30 || b.Dx() > 50 {
				t.Fatalf("image %v outside the random bounds", b)
			}
			r, g, bb, _ := img.At(b.Dx()/2, b.Dy()/2).RGBA()
			if r>>8 < 250 || g>>8 < 250 || bb>>8 < 250 {
				t.Fatalf("blank image is not white")
			}
		}
	}
	if len(counts) < 2 {
		t.Fatalf("random image counts all equal: %v", counts)
	}
	o.Backend = "vllm"
	if _, err := genWith(t, o, tok, nil); err == nil || !strings.Contains(err.Error(), "image datasets only support backends") {
		t.Fatalf("vllm backend: %v", err)
	}
}

func TestMooncake(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "trace.jsonl", `{"timestamp": 2000, "input_length": 10, "output_length": 3, "hash_ids": [5, 7]}
{"timestamp": 1000, "input_length": 10, "hash_ids": [1]}

{"timestamp": 2000, "output_length": 2, "hash_ids": []}
{"timestamp": 500, "output_length": 2, "hash_ids": [9]}
`)
	tok := newFakeTok(true)
	o := DefaultOptions()
	o.Dataset = Mooncake
	o.DatasetPath = path
	o.NumPrompts = 3 // the first three records
	o.MooncakeNumRounds = 2
	o.MooncakeSlowdownFactor = 2
	ps := mustGen(t, o, tok, fakeChat("<s>"))
	if len(ps) != 6 {
		t.Fatalf("%d prompts, want 3 sessions x 2 rounds", len(ps))
	}
	hi := strings.TrimSuffix(strings.Repeat("hi ", 128), " ")
	base1 := "1" + hi + "Tell me a story based on this context."
	if got := MooncakeBaseQuery([]int64{1}); got != base1 {
		t.Fatalf("base query %q", got[:40])
	}
	wantTS := []float64{2000, 2000, 4000, 4000, 4000, 4000}
	wantOut := []int{256, 256, 3, 3, 2, 2}
	for i, p := range ps {
		if *p.TimestampMS != wantTS[i] || p.OutputLen != wantOut[i] || p.Round != i%2+1 || p.Session != []string{"0", "0", "1", "1", "2", "2"}[i] {
			t.Fatalf("prompt %d: ts %v out %d session %s round %d", i, *p.TimestampMS, p.OutputLen, p.Session, p.Round)
		}
		if p.PromptLen != len(tok.Encode(p.Text, true)) {
			t.Fatalf("prompt %d: prompt_len %d", i, p.PromptLen)
		}
	}
	want1 := "<s><|user|>Round 1: " + base1 + "\n<|assistant|>"
	if ps[0].Text != want1 {
		t.Fatalf("round 1 text %q", ps[0].Text)
	}
	want2 := "<s><|user|>Round 1: " + base1 + "\n<|assistant|>" + strings.TrimSuffix(strings.Repeat("story ", 256), " ") +
		"\n<|user|>Round 2: " + base1 + "\n<|assistant|>"
	if ps[1].Text != want2 {
		t.Fatalf("round 2 text differs")
	}
	// Without a chat template: "role: content" lines.
	ps = mustGen(t, o, tok, nil)
	if ps[0].Text != "user: Round 1: "+base1 {
		t.Fatalf("fallback text %q", ps[0].Text[:30])
	}
	// Bad lines.
	for _, c := range []struct{ body, field string }{
		{`{"input_length": 3}`, "timestamp"},
		{`{"timestamp": "x"}`, "timestamp"},
		{`{"timestamp": 1, "hash_ids": [1.5]}`, "hash_ids"},
		{`{"timestamp": 1, "output_length": -1}`, "output_length"},
		{`not json`, ""},
	} {
		bad := writeFile(t, dir, "bad.jsonl", "{\"timestamp\": 1}\n"+c.body+"\n")
		o.DatasetPath = bad
		_, err := genWith(t, o, tok, nil)
		wantDecodeError(t, err, bad, 2, c.field)
	}
}

func TestCustomConversations(t *testing.T) {
	dir := t.TempDir()
	img := image.NewRGBA(image.Rect(0, 0, 60, 40))
	var pb bytes.Buffer
	if err := png.Encode(&pb, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pic.png"), pb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, dir, "conv.jsonl", `{"conversations": [{"role": "user", "content": "hello world and the abc"}, {"role": "assistant", "content": "the the the"}]}
{"conversation": [{"value": "x y z hello"}, {"value": "abc abc"}]}
{"conversations": [{"content": "only one turn"}]}

{"conversations": [{"content": "look <image 1> at the picture"}, {"content": "a cat in the world"}], "image": "pic.png"}
`)
	tok := newFakeTok(true)
	o := DefaultOptions()
	o.Dataset = Custom
	o.DatasetPath = path
	o.NumPrompts = 10
	o.Vision.ImageToken = "<img>"
	ps := mustGen(t, o, tok, nil)
	if len(ps) != 3 {
		t.Fatalf("%d prompts, want 3", len(ps))
	}
	seen := map[string]bool{}
	for _, p := range ps {
		seen[strings.TrimPrefix(strings.TrimPrefix(p.Text, "<|vision_start|>"), "")] = true
		if len(p.Images) == 1 {
			if strings.Contains(p.Text, "<image 1>") {
				t.Fatalf("image marker kept: %q", p.Text)
			}
			decodeURI(t, p.Images[0], "image/png")
			// 40x60 -> 56x56: 4x4 patches, 4 tokens.
			if p.VisionPromptLen <= 0 {
				t.Fatalf("vision_prompt_len %d", p.VisionPromptLen)
			}
			continue
		}
		if p.PromptLen != len(tok.Encode(p.Text, true)) {
			t.Fatalf("prompt_len %d for %q", p.PromptLen, p.Text)
		}
	}
	if !seen["hello world and the abc"] || !seen["x y z hello"] {
		t.Fatalf("prompts %v", seen)
	}
	bad := writeFile(t, dir, "bad.jsonl", "{\"conversations\": []}\n\n{\"conversations\": [{\"content\": 5}, {\"content\": \"x\"}]}\n")
	o.DatasetPath = bad
	_, err := genWith(t, o, tok, nil)
	wantDecodeError(t, err, bad, 3, "conversations[0].content")
	bad = writeFile(t, dir, "bad2.jsonl", "{\"conversations\": []}\n{oops\n")
	o.DatasetPath = bad
	_, err = genWith(t, o, tok, nil)
	wantDecodeError(t, err, bad, 2, "")
}

func TestCustomRereadsPromptStream(t *testing.T) {
	dir := t.TempDir()
	tok := newFakeTok(false)
	o := DefaultOptions()
	o.Dataset = RandomIDs
	o.NumPrompts = 5
	o.RandomInputLen = 12
	o.LoraNames = []string{"a", "b"}
	ps := mustGen(t, o, tok, nil)
	for _, name := range []string{"s.jsonl", "s.jsonl.zst"} {
		path := filepath.Join(dir, name)
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		wc, err := records.Compress(f, name)
		if err != nil {
			t.Fatal(err)
		}
		w := records.NewWriter(wc)
		if err := w.WriteHeader(records.Header{Stream: records.StreamPrompts, Tool: "bs-gen", Version: "t"}); err != nil {
			t.Fatal(err)
		}
		for i := range ps {
			must(w.Write(&ps[i]))
		}
		must(w.Flush())
		must(wc.Close())
		c := DefaultOptions()
		c.Dataset = Custom
		c.DatasetPath = path
		c.NumPrompts = 2 // ignored: the stream is passed through unchanged
		got, err := genWith(t, c, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(encodeAll(t, got), encodeAll(t, ps)) {
			t.Fatalf("%s: re-read prompts differ", name)
		}
	}
}

func TestOpenAIDataset(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "req.jsonl", `{"model": "m", "temperature": 0.5, "messages": [{"role": "system", "content": "be nice"}, {"role": "user", "content": "hello world"}], "max_tokens": 17, "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Météo 🙂 \"x\"", "parameters": {"b": 1.5, "a": [true, null]}}}], "top_p": 0.9}
{"messages": [], "max_tokens": 3}
{"messages": [{"role": "user", "content": "abc"}], "max_completion_tokens": 9}
`)
	tok := newFakeTok(true)
	chat := fakeChat("<s>")
	o := DefaultOptions()
	o.Dataset = OpenAI
	o.DatasetPath = path
	o.NumPrompts = 10
	ps := mustGen(t, o, tok, chat)
	if len(ps) != 2 {
		t.Fatalf("%d prompts", len(ps))
	}
	wantExtra := `{"temperature":0.5,"tools":[{"type": "function", "function": {"name": "get_weather", "description": "Météo 🙂 \"x\"", "parameters": {"b": 1.5, "a": [true, null]}}}],"top_p":0.9}`
	if string(ps[0].ExtraBody) != wantExtra {
		t.Fatalf("extra body\n got %s\nwant %s", ps[0].ExtraBody, wantExtra)
	}
	// Python's json.dumps of the tools (checked with CPython 3.11).
	pyTools := `[{"type": "function", "function": {"name": "get_weather", "description": "M\u00e9t\u00e9o \ud83d\ude42 \"x\"", "parameters": {"b": 1.5, "a": [true, null]}}}]`
	rendered, _ := chat(ps[0].Messages, true)
	if want := len(tok.Encode(rendered, false)) + len(tok.Encode(pyTools, true)); ps[0].PromptLen != want {
		t.Fatalf("prompt_len %d, want %d", ps[0].PromptLen, want)
	}
	if ps[0].OutputLen != 17 || ps[1].OutputLen != 256 || ps[1].ExtraBody != nil {
		t.Fatalf("output lens %d %d, extra %s", ps[0].OutputLen, ps[1].OutputLen, ps[1].ExtraBody)
	}
	n := 5
	o.SharegptOutputLen = &n
	o.NumPrompts = 2 // the first two lines, one of them empty
	ps = mustGen(t, o, tok, chat)
	if len(ps) != 1 || ps[0].OutputLen != 5 {
		t.Fatalf("%d prompts, output len %d", len(ps), ps[0].OutputLen)
	}
	bad := writeFile(t, dir, "bad.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}\n{\"messages\": \"nope\"}\n")
	o.DatasetPath = bad
	_, err := genWith(t, o, tok, chat)
	wantDecodeError(t, err, bad, 2, "messages")
}

func TestMMMUParquetAndJSON(t *testing.T) {
	dir := t.TempDir()
	// An RGBA image whose alpha must be dropped.
	img := image.NewNRGBA(image.Rect(0, 0, 30, 20))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	var pb bytes.Buffer
	must(png.Encode(&pb, img))
	type pqImage struct {
		Bytes []byte  `parquet:"bytes,optional"`
		Path  *string `parquet:"path,optional"`
	}
	type pqRow struct {
		ID       string   `parquet:"id"`
		Question string   `parquet:"question"`
		Options  string   `parquet:"options"`
		Image1   *pqImage `parquet:"image_1,optional"`
		Image2   *pqImage `parquet:"image_2,optional"`
	}
	var rows []pqRow
	for i := 0; i < 5; i++ {
		r := pqRow{ID: string(rune('a' + i)), Question: "What is " + string(rune('A'+i)) + "?", Options: "[]"}
		if i != 3 {
			r.Image1 = &pqImage{Bytes: pb.Bytes()}
		}
		rows = append(rows, r)
	}
	pq := filepath.Join(dir, "test-00000-of-00001.parquet")
	f, err := os.Create(pq)
	must(err)
	w := parquet.NewGenericWriter[pqRow](f)
	_, err = w.Write(rows)
	must(err)
	must(w.Close())
	must(f.Close())

	tok := newFakeTok(false)
	o := DefaultOptions()
	o.Dataset = MMMU
	o.DatasetPath = pq
	o.NumPrompts = 10
	o.RandomOutputLen = 33
	o.Vision.ImageToken = "<img>"
	ps := mustGen(t, o, tok, nil)
	if len(ps) != 4 {
		t.Fatalf("%d prompts, want 4 (one example has no image)", len(ps))
	}
	for i, p := range ps {
		q := "Question: What is " + string(rune('A'+[]int{0, 1, 2, 4}[i])) + "?\n\nAnswer: "
		if !strings.HasSuffix(p.Text, q) || p.OutputLen != 33 {
			t.Fatalf("prompt %d: %q, output %d", i, p.Text, p.OutputLen)
		}
		got := decodeURI(t, p.Images[0], "image/png")
		c := color.NRGBAModel.Convert(got.At(3, 2)).(color.NRGBA)
		src := img.NRGBAAt(3, 2)
		if c.A != 255 || c.R != src.R || c.G != src.G || c.B != src.B {
			t.Fatalf("pixel %v, want RGB of %v with alpha dropped", c, src)
		}
	}
	// A folder of parquet files, and random.sample when there are more examples than prompts.
	o.DatasetPath = dir
	o.NumPrompts = 2
	ps = mustGen(t, o, tok, nil)
	if len(ps) > 2 {
		t.Fatalf("%d prompts", len(ps))
	}
	// JSONL with a relative path and a data URI.
	must(os.WriteFile(filepath.Join(dir, "p.png"), pb.Bytes(), 0o644))
	js := writeFile(t, dir, "mmmu.jsonl", `{"question": "one", "image_1": "p.png"}
{"question": "two", "image_1": "data:image/png;base64,`+base64.StdEncoding.EncodeToString(pb.Bytes())+`"}
{"question": "three", "image_1": {"bytes": "`+base64.StdEncoding.EncodeToString(pb.Bytes())+`"}}
`)
	o.DatasetPath = js
	o.NumPrompts = 10
	if ps = mustGen(t, o, tok, nil); len(ps) != 3 {
		t.Fatalf("%d prompts from JSONL", len(ps))
	}
	bad := writeFile(t, dir, "bad.jsonl", `{"question": "one", "image_1": "missing.png"}`+"\n")
	o.DatasetPath = bad
	_, err = genWith(t, o, tok, nil)
	wantDecodeError(t, err, bad, 1, "image_1")
}

func TestGSPValidationAndShape(t *testing.T) {
	o := DefaultOptions()
	o.Dataset = GeneratedSharedPrefix
	o.GSP.GroupDistribution = "zipf"
	for _, c := range []struct {
		mod  func(*Options)
		want string
	}{
		{func(o *Options) { o.GSP.GroupDistribution = "zipf" }, "--gsp-group-distribution=zipf requires --gsp-zipf-alpha (a finite float > 0)"},
		{func(o *Options) { a := 1.0; o.GSP.ZipfAlpha = &a }, "--gsp-zipf-alpha is only meaningful with --gsp-group-distribution=zipf; remove --gsp-zipf-alpha or set --gsp-group-distribution=zipf"},
		{func(o *Options) { o.TokenizePrompt = true; o.GSP.NumTurns = 2 }, "--tokenize-prompt requires --gsp-num-turns=1"},
		{func(o *Options) { a := -1.0; o.GSP.GroupDistribution = "zipf"; o.GSP.ZipfAlpha = &a }, "--gsp-zipf-alpha: expected a finite float > 0, got -1"},
	} {
		oo := DefaultOptions()
		oo.Dataset = GeneratedSharedPrefix
		c.mod(&oo)
		if err := oo.Validate(); err == nil || err.Error() != c.want {
			t.Fatalf("got %v, want %q", err, c.want)
		}
	}
	tok := newFakeTok(true)
	o = DefaultOptions()
	o.Dataset = GeneratedSharedPrefix
	o.NumPrompts = 3 // ignored
	o.GSP.NumGroups, o.GSP.PromptsPerGroup, o.GSP.SystemPromptLen, o.GSP.QuestionLen, o.GSP.OutputLen = 3, 4, 30, 6, 9
	o.GSP.NumTurns = 2
	o.GSP.SendRoutingKey = true
	ps := mustGen(t, o, tok, nil)
	if len(ps) != 12 {
		t.Fatalf("%d prompts", len(ps))
	}
	keys := map[string]string{}
	for _, p := range ps {
		if len(p.Turns) != 2 || p.Text != "" || p.OutputLen != 9 {
			t.Fatalf("prompt %+v", p)
		}
		if k, ok := keys[p.Group]; ok && k != p.RoutingKey {
			t.Fatalf("group %s has two routing keys", p.Group)
		}
		keys[p.Group] = p.RoutingKey
		var first string
		must(json.Unmarshal(p.Turns[0][0].Content, &first))
		if p.PromptLen != len(tok.Encode(first, true)) {
			t.Fatalf("prompt_len %d", p.PromptLen)
		}
		sys, q, ok := strings.Cut(first, "\n\n")
		if !ok || len(tok.Encode(q, false)) != 6 || len(tok.Encode(sys, false)) != 30 {
			t.Fatalf("bs mode system/question lengths: %d %d", len(tok.Encode(sys, false)), len(tok.Encode(q, false)))
		}
	}
	if len(keys) != 3 {
		t.Fatalf("%d groups", len(keys))
	}
}

func TestShareGPTBadInput(t *testing.T) {
	dir := t.TempDir()
	tok := newFakeTok(true)
	o := DefaultOptions()
	for _, c := range []struct{ body, field string }{
		{"[\n{\"conversations\": [{\"value\": \"a\"}, {\"from\": \"gpt\"}]}\n]", "[0].conversations[1].value"},
		{"[\n{\"conversations\": [{\"value\": \"a\"}, {\"value\": \"b\"}]},\n{\"conversations\": [{\"value\": 3}, {\"value\": \"b\"}]}\n]", "[1].conversations[0].value"},
		{"{\"a\": 1}", ""},
	} {
		p := writeFile(t, dir, "sg.json", c.body)
		o.DatasetPath = p
		_, err := genWith(t, o, tok, nil)
		var de *records.DecodeError
		if !errors.As(err, &de) || de.File != p || de.Field != c.field || de.Line < 1 {
			t.Fatalf("%q: error %v", c.body, err)
		}
	}
	o.DatasetPath = filepath.Join(dir, "missing.json")
	if _, err := genWith(t, o, tok, nil); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Fatalf("missing file: %v", err)
	}
	o.DatasetPath = ""
	if _, err := genWith(t, o, tok, nil); err == nil || !strings.Contains(err.Error(), "downloads are off") {
		t.Fatalf("no path and no fetcher: %v", err)
	}
}

func TestLoraDistinctAndValidation(t *testing.T) {
	got := AssignLora(RNG{}, 5, []string{"a", "b"}, "distinct", 1.5)
	if !reflect.DeepEqual(got, []string{"a", "b", "a", "b", "a"}) {
		t.Fatalf("%v", got)
	}
	o := DefaultOptions()
	o.LoraDistribution = "skewed"
	o.LoraNames = []string{"a"}
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "more than 1 LoRA adapter") {
		t.Fatalf("%v", err)
	}
	o.LoraNames = []string{"a", "b"}
	o.LoraZipfAlpha = 1
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "--lora-zipf-alpha") {
		t.Fatalf("%v", err)
	}
}
