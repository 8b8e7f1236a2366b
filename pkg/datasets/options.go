package datasets

import (
	"fmt"
	"math"
	"strings"
)

// Dataset names accepted by Generate (the reference's --dataset-name choices that bs-gen implements).
const (
	Random                = "random"
	RandomIDs             = "random-ids"
	ShareGPT              = "sharegpt"
	GeneratedSharedPrefix = "generated-shared-prefix"
	Image                 = "image"
	MMMU                  = "mmmu"
	Mooncake              = "mooncake"
	Custom                = "custom"
	OpenAI                = "openai"
	LongBenchV2           = "longbench_v2"
	SpeedBench            = "speed-bench"
	AgenticTrace          = "agentic-trace"
)

// Names lists the dataset names in the order the help text shows them.
var Names = []string{ShareGPT, Random, RandomIDs, GeneratedSharedPrefix, Image, MMMU, Mooncake, Custom, OpenAI,
	LongBenchV2, SpeedBench, AgenticTrace}

// Compatibility modes.
const (
	// CompatBS is bs's own behaviour: text prompts of random, random-ids and image re-encode to
	// exactly the length recorded for them.
	CompatBS = "bs"
	// CompatSGLang reproduces the reference's prompts for the same seed, tokenizer and input file:
	// decode without a check, special-token subtraction, and the reference's own length bookkeeping.
	CompatSGLang = "sglang"
)

// Options are the dataset flags of bs-gen. Their names, defaults and meaning follow the reference's
// flags of the same names (see DefaultOptions).
type Options struct {
	Dataset     string
	DatasetPath string
	NumPrompts  int
	Seed        int64
	Compat      string

	TokenizePrompt    bool
	ApplyChatTemplate bool
	PromptSuffix      string

	// SharegptOutputLen and SharegptContextLen are unset when nil.
	SharegptOutputLen  *int
	SharegptContextLen *int

	RandomInputLen   int
	RandomOutputLen  int
	RandomRangeRatio float64

	ImageCount       int
	RandomImageCount bool
	ImageResolution  string
	ImageFormat      string
	ImageContent     string
	// Backend decides the prompt form of image and mmmu rows, as in the reference: chat backends
	// get the raw text, native /generate backends the chat-templated text with image placeholders.
	Backend string
	Vision  VisionOptions

	GSP GSPOptions

	MooncakeWorkload       string
	MooncakeNumRounds      int
	MooncakeSlowdownFactor float64

	// SpeedBenchCategory filters speed-bench rows by their "category" ("" for all);
	// SpeedBenchOutputLen is the fixed output length of every speed-bench prompt.
	SpeedBenchCategory  string
	SpeedBenchOutputLen int

	// DatasetOffset rotates the agentic-trace conversation list before rows are taken;
	// AgenticMaxTurns caps the rounds of each conversation (nil or 0: no cap).
	DatasetOffset   int
	AgenticMaxTurns *int

	LoraNames        []string
	LoraDistribution string
	LoraZipfAlpha    float64

	// Workers is the number of goroutines for per-prompt work (0: GOMAXPROCS).
	Workers int
}

// GSPOptions are the generated-shared-prefix flags (--gsp-*).
type GSPOptions struct {
	NumGroups         int
	PromptsPerGroup   int
	SystemPromptLen   int
	QuestionLen       int
	OutputLen         int
	RangeRatio        float64
	FastPrepare       bool
	SendRoutingKey    bool
	NumTurns          int
	Ordered           bool
	GroupDistribution string
	// ZipfAlpha is unset when nil.
	ZipfAlpha *float64
}

// DefaultOptions returns the reference's defaults.
func DefaultOptions() Options {
	return Options{
		Dataset:          ShareGPT,
		NumPrompts:       1000,
		Seed:             42,
		Compat:           CompatBS,
		RandomInputLen:   1024,
		RandomOutputLen:  1024,
		RandomRangeRatio: 0,
		ImageCount:       1,
		ImageResolution:  "1080p",
		ImageFormat:      "jpeg",
		ImageContent:     "random",
		Backend:          "sglang",
		Vision:           DefaultVision(),
		GSP: GSPOptions{
			NumGroups: 64, PromptsPerGroup: 16, SystemPromptLen: 2048, QuestionLen: 128, OutputLen: 256,
			RangeRatio: 1, NumTurns: 1, GroupDistribution: "uniform",
		},
		MooncakeWorkload:       "conversation",
		MooncakeNumRounds:      1,
		MooncakeSlowdownFactor: 1,
		SpeedBenchOutputLen:    512,
		LoraDistribution:       "uniform",
		LoraZipfAlpha:          1.5,
	}
}

// Validate checks the options the way the reference does before generating anything, and returns
// an error whose text names the flag.
func (o *Options) Validate() error {
	known := false
	for _, n := range Names {
		if o.Dataset == n {
			known = true
		}
	}
	if !known {
		return fmt.Errorf("--dataset-name %q: unknown dataset (choose from %s)", o.Dataset, strings.Join(Names, ", "))
	}
	switch o.Compat {
	case CompatBS, CompatSGLang:
	default:
		return fmt.Errorf("--compat %q: must be %q or %q", o.Compat, CompatBS, CompatSGLang)
	}
	if o.NumPrompts < 0 {
		return fmt.Errorf("--num-prompts %d: must not be negative", o.NumPrompts)
	}
	if o.RandomRangeRatio < 0 || o.RandomRangeRatio > 1 || math.IsNaN(o.RandomRangeRatio) {
		return fmt.Errorf("--random-range-ratio %v: must be in [0, 1]", o.RandomRangeRatio)
	}
	if o.RandomInputLen < 0 || o.RandomOutputLen < 0 {
		return fmt.Errorf("--random-input-len/--random-output-len must not be negative")
	}
	if o.SharegptOutputLen != nil && *o.SharegptOutputLen < 4 && (o.Dataset == ShareGPT || o.Dataset == Custom) {
		return fmt.Errorf("--sharegpt-output-len %d: output_len too small (minimum 4)", *o.SharegptOutputLen)
	}
	if o.TokenizePrompt {
		switch o.Dataset {
		case ShareGPT, Custom:
			return fmt.Errorf("--tokenize-prompt is not supported with --dataset-name %s (the reference asserts it is off)", o.Dataset)
		case Image, MMMU:
			return fmt.Errorf("--tokenize-prompt not compatible with image dataset")
		case Mooncake, OpenAI, LongBenchV2, SpeedBench, AgenticTrace:
			return fmt.Errorf("--tokenize-prompt is not supported with --dataset-name %s", o.Dataset)
		}
	}
	if err := o.validateGSP(); err != nil {
		return err
	}
	if o.Dataset == Image {
		if o.ImageCount < 1 {
			return fmt.Errorf("--image-count %d: must be at least 1", o.ImageCount)
		}
		switch o.ImageFormat {
		case "jpeg", "png":
		default:
			return fmt.Errorf("--image-format %q: supports jpeg and png", o.ImageFormat)
		}
		switch o.ImageContent {
		case "random", "blank":
		default:
			return fmt.Errorf("--image-content %q: supports random and blank", o.ImageContent)
		}
		if _, err := ParseImageResolution(o.ImageResolution); err != nil {
			return err
		}
	}
	if o.Dataset == Image || o.Dataset == MMMU {
		if err := checkImageBackend(o.Backend); err != nil {
			return err
		}
		if err := o.Vision.Validate(); err != nil {
			return err
		}
	}
	if o.Dataset == Mooncake {
		if _, ok := MooncakeURLs[o.MooncakeWorkload]; !ok {
			return fmt.Errorf("--mooncake-workload %q: choose from mooncake, conversation, synthetic, toolagent", o.MooncakeWorkload)
		}
		if o.MooncakeNumRounds < 1 {
			return fmt.Errorf("--mooncake-num-rounds %d: must be at least 1", o.MooncakeNumRounds)
		}
		if !(o.MooncakeSlowdownFactor > 0) || math.IsInf(o.MooncakeSlowdownFactor, 0) {
			return fmt.Errorf("--mooncake-slowdown-factor %v: must be a finite number > 0", o.MooncakeSlowdownFactor)
		}
	}
	if (o.Dataset == Custom || o.Dataset == OpenAI || o.Dataset == AgenticTrace) && o.DatasetPath == "" {
		return fmt.Errorf("--dataset-path is required with --dataset-name %s", o.Dataset)
	}
	if err := o.validateNewer(); err != nil {
		return err
	}
	return o.validateLora()
}

func (o *Options) validateGSP() error {
	g := &o.GSP
	if o.Dataset == GeneratedSharedPrefix && o.TokenizePrompt && g.NumTurns > 1 {
		return fmt.Errorf("--tokenize-prompt requires --gsp-num-turns=1")
	}
	switch g.GroupDistribution {
	case "uniform":
		if g.ZipfAlpha != nil {
			return fmt.Errorf("--gsp-zipf-alpha is only meaningful with --gsp-group-distribution=zipf; " +
				"remove --gsp-zipf-alpha or set --gsp-group-distribution=zipf")
		}
	case "zipf":
		if g.ZipfAlpha == nil {
			return fmt.Errorf("--gsp-group-distribution=zipf requires --gsp-zipf-alpha (a finite float > 0)")
		}
	default:
		return fmt.Errorf("--gsp-group-distribution must be 'uniform' or 'zipf', got %q", g.GroupDistribution)
	}
	if g.ZipfAlpha != nil && (math.IsNaN(*g.ZipfAlpha) || math.IsInf(*g.ZipfAlpha, 0) || *g.ZipfAlpha <= 0) {
		return fmt.Errorf("--gsp-zipf-alpha: expected a finite float > 0, got %v", *g.ZipfAlpha)
	}
	if o.Dataset != GeneratedSharedPrefix {
		return nil
	}
	if g.NumGroups <= 0 {
		return fmt.Errorf("--gsp-num-groups %d: must be > 0", g.NumGroups)
	}
	if g.PromptsPerGroup <= 0 {
		return fmt.Errorf("--gsp-prompts-per-group %d: must be > 0", g.PromptsPerGroup)
	}
	if g.NumTurns < 1 {
		return fmt.Errorf("--gsp-num-turns %d: must be at least 1", g.NumTurns)
	}
	if g.RangeRatio < 0 || g.RangeRatio > 1 || math.IsNaN(g.RangeRatio) {
		return fmt.Errorf("--gsp-range-ratio %v: must be in [0, 1]", g.RangeRatio)
	}
	if g.SystemPromptLen < 0 || g.QuestionLen < 0 || g.OutputLen < 0 {
		return fmt.Errorf("--gsp-system-prompt-len, --gsp-question-len and --gsp-output-len must not be negative")
	}
	return nil
}

// validateNewer checks the flags of longbench_v2, speed-bench and agentic-trace.
func (o *Options) validateNewer() error {
	switch o.Dataset {
	case LongBenchV2:
		if o.SharegptOutputLen != nil && *o.SharegptOutputLen < 0 {
			return fmt.Errorf("--sharegpt-output-len %d: must not be negative", *o.SharegptOutputLen)
		}
	case SpeedBench:
		if o.DatasetPath == "" {
			return fmt.Errorf("--dataset-path must point to the SPEED-Bench JSONL file (run prepare_speed_bench.sh to generate it)")
		}
		switch o.SpeedBenchCategory {
		case "", "low_entropy", "mixed", "high_entropy":
		default:
			return fmt.Errorf("--speed-bench-category %q: choose from low_entropy, mixed, high_entropy", o.SpeedBenchCategory)
		}
		if o.SpeedBenchOutputLen < 0 {
			return fmt.Errorf("--speed-bench-output-len %d: must not be negative", o.SpeedBenchOutputLen)
		}
	case AgenticTrace:
		if o.AgenticMaxTurns != nil && *o.AgenticMaxTurns < 0 {
			return fmt.Errorf("--agentic-max-turns %d: must not be negative (0: no cap)", *o.AgenticMaxTurns)
		}
		if o.SharegptOutputLen != nil && *o.SharegptOutputLen < 0 {
			return fmt.Errorf("--sharegpt-output-len %d: must not be negative", *o.SharegptOutputLen)
		}
	}
	return nil
}

func (o *Options) validateLora() error {
	switch o.LoraDistribution {
	case "uniform", "distinct", "skewed":
	default:
		return fmt.Errorf("--lora-request-distribution %q: choose from uniform, distinct, skewed", o.LoraDistribution)
	}
	if (o.LoraDistribution == "distinct" || o.LoraDistribution == "skewed") && len(o.LoraNames) < 2 {
		return fmt.Errorf("more than 1 LoRA adapter must be specified via --lora-name to use 'distinct' or 'skewed' request distribution")
	}
	if !(o.LoraZipfAlpha > 1) {
		return fmt.Errorf("got invalid value for --lora-zipf-alpha of %v: it must be greater than 1", o.LoraZipfAlpha)
	}
	return nil
}

func (o *Options) exact() bool { return o.Compat != CompatSGLang }
