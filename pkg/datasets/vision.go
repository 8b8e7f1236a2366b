package datasets

import (
	"fmt"
	"math"
	"strings"

	"github.com/bsbench/bs/pkg/records"
)

// VisionOptions describe how image tokens are counted. The reference runs the model's Hugging Face
// processor; bs-gen cannot, so it estimates the count the way Qwen2-VL / Qwen2.5-VL processors
// compute it: the image is resized ("smart resize") to multiples of PatchSize×MergeSize within
// [MinPixels, MaxPixels], cut into PatchSize patches, and every MergeSize×MergeSize patches become
// one ImageToken in the prompt. For other processors the figure is an estimate.
type VisionOptions struct {
	PatchSize  int
	MergeSize  int
	MinPixels  int
	MaxPixels  int
	ImageToken string
	StartToken string
	EndToken   string
}

// DefaultVision returns the Qwen2-VL / Qwen2.5-VL preprocessor defaults.
func DefaultVision() VisionOptions {
	return VisionOptions{
		PatchSize: 14, MergeSize: 2, MinPixels: 56 * 56, MaxPixels: 14 * 14 * 4 * 16384,
		ImageToken: "<|image_pad|>", StartToken: "<|vision_start|>", EndToken: "<|vision_end|>",
	}
}

// Validate checks the vision options.
func (v VisionOptions) Validate() error {
	if v.PatchSize <= 0 || v.MergeSize <= 0 {
		return fmt.Errorf("--vision-patch-size and --vision-merge-size must be > 0")
	}
	if v.MinPixels <= 0 || v.MaxPixels < v.MinPixels {
		return fmt.Errorf("--vision-min-pixels %d / --vision-max-pixels %d: need 0 < min <= max", v.MinPixels, v.MaxPixels)
	}
	if v.ImageToken == "" {
		return fmt.Errorf("--vision-image-token must not be empty")
	}
	return nil
}

// SmartResize is Qwen2-VL's smart_resize: the height and width an image is resized to.
func (v VisionOptions) SmartResize(height, width int) (int, int, error) {
	if height <= 0 || width <= 0 {
		return 0, 0, fmt.Errorf("image size %dx%d: must be positive", height, width)
	}
	factor := float64(v.PatchSize * v.MergeSize)
	h, w := float64(height), float64(width)
	if math.Max(h, w)/math.Min(h, w) > 200 {
		return 0, 0, fmt.Errorf("image size %dx%d: absolute aspect ratio must be smaller than 200", height, width)
	}
	hBar := math.RoundToEven(h/factor) * factor
	wBar := math.RoundToEven(w/factor) * factor
	if hBar*wBar > float64(v.MaxPixels) {
		beta := math.Sqrt(h * w / float64(v.MaxPixels))
		hBar = math.Max(factor, math.Floor(h/beta/factor)*factor)
		wBar = math.Max(factor, math.Floor(w/beta/factor)*factor)
	} else if hBar*wBar < float64(v.MinPixels) {
		beta := math.Sqrt(float64(v.MinPixels) / (h * w))
		hBar = math.Ceil(h*beta/factor) * factor
		wBar = math.Ceil(w*beta/factor) * factor
	}
	return int(hBar), int(wBar), nil
}

// ImageTokens is the number of image tokens an image of the given size becomes.
func (v VisionOptions) ImageTokens(height, width int) (int, error) {
	h, w, err := v.SmartResize(height, width)
	if err != nil {
		return 0, err
	}
	return (h / v.PatchSize) * (w / v.PatchSize) / (v.MergeSize * v.MergeSize), nil
}

// imageInfo is one image of a multimodal prompt.
type imageInfo struct {
	uri           string
	height, width int
}

// chatBackends get the raw text of a multimodal prompt; the others the templated text.
var chatBackends = map[string]bool{"sglang-oai-chat": true, "vllm-chat": true, "lmdeploy-chat": true}

func checkImageBackend(b string) error {
	switch b {
	case "sglang", "sglang-native", "sglang-oai-chat", "vllm-chat", "lmdeploy-chat":
		return nil
	}
	return fmt.Errorf("--backend %q: image datasets only support backends sglang, sglang-native, sglang-oai-chat, vllm-chat, lmdeploy-chat", b)
}

// mmPrompt builds a multimodal prompt like the reference's create_mm_data_row, with the vision
// token count estimated (VisionOptions):
//
//   - the prompt string is the chat template applied to one user message whose content is the
//     image items followed by the text; if the template leaves no image placeholders (a text-only
//     template) or there is none, the placeholders StartToken+ImageToken+EndToken are put in front
//     of the text instead;
//   - prompt_len = tokens of that string (special tokens added, as the processor does), with each
//     ImageToken counted as the image's token count;
//   - text_prompt_len = tokens of the template applied to the text alone;
//   - vision_prompt_len = prompt_len - text_prompt_len.
//
// Text is the raw text for chat backends and the templated string otherwise; Images are the data URIs.
func (g *gen) mmPrompt(text string, imgs []imageInfo, outputLen int) (records.Prompt, error) {
	v := g.opts.Vision
	placeholder := v.StartToken + v.ImageToken + v.EndToken
	var promptStr string
	rendered := false
	if g.chat != nil {
		parts := make([]map[string]any, 0, len(imgs)+1)
		for _, im := range imgs {
			parts = append(parts, map[string]any{"type": "image", "image": map[string]any{"url": im.uri}})
		}
		parts = append(parts, map[string]any{"type": "text", "text": text})
		msg := records.Message{Role: "user", Content: mustJSON(parts)}
		if s, err := g.chat([]records.Message{msg}, true); err == nil && strings.Count(s, v.ImageToken) == len(imgs) {
			promptStr, rendered = s, true
		}
		if !rendered {
			if s, err := g.chat([]records.Message{records.TextMessage("user", strings.Repeat(placeholder, len(imgs))+text)}, true); err == nil {
				promptStr, rendered = s, true
			}
		}
	}
	if !rendered {
		promptStr = strings.Repeat(placeholder, len(imgs)) + text
	}
	padTokens := len(g.tok.Encode(v.ImageToken, false))
	promptLen := len(g.tok.Encode(promptStr, true)) - padTokens*strings.Count(promptStr, v.ImageToken)
	for _, im := range imgs {
		n, err := v.ImageTokens(im.height, im.width)
		if err != nil {
			return records.Prompt{}, err
		}
		promptLen += n
	}
	textOnly := text
	if g.chat != nil {
		if s, err := g.chat([]records.Message{records.TextMessage("user", text)}, true); err == nil {
			textOnly = s
		}
	}
	textLen := len(g.tok.Encode(textOnly, true))
	p := records.Prompt{
		PromptLen:       promptLen,
		TextPromptLen:   textLen,
		VisionPromptLen: max(0, promptLen-textLen),
		OutputLen:       outputLen,
	}
	if p.VisionPromptLen == 0 {
		p.TextPromptLen = 0
	}
	if chatBackends[g.opts.Backend] {
		p.Text = text
	} else {
		p.Text = promptStr
	}
	for _, im := range imgs {
		p.Images = append(p.Images, im.uri)
	}
	return p, nil
}
