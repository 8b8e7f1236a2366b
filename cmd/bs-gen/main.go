// Command bs-gen generates a prompt stream: the datasets of SGLang's bench_serving (random,
// random-ids, sharegpt, generated-shared-prefix, image, mmmu, mooncake, custom, openai, longbench_v2,
// speed-bench, agentic-trace) as JSON Lines records (a header, then one prompt per line) for bs-fire.
//
// The whole dataset is generated in memory before the first byte is written, so bad input never
// leaves a partial stream: bs-gen exits non-zero with an error naming the file, line and field and
// writes nothing to standard output. With -o FILE the stream goes to a temporary file in the same
// folder that is renamed to FILE when complete (.zst / .gz names are compressed).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"

	bscli "github.com/bsbench/bs/pkg/cli"

	"github.com/alecthomas/kong"

	"github.com/bsbench/bs/pkg/chattmpl"
	"github.com/bsbench/bs/pkg/datasets"
	"github.com/bsbench/bs/pkg/records"
	"github.com/bsbench/bs/pkg/tokenizer"
	"github.com/bsbench/bs/pkg/version"
)

// cli holds bs-gen's flags. Names, defaults and aliases follow the reference's flags.
type cli struct {
	DatasetName string `name:"dataset-name" default:"sharegpt" enum:"sharegpt,random,random-ids,generated-shared-prefix,image,mmmu,mooncake,custom,openai,longbench_v2,speed-bench,agentic-trace" help:"Dataset to generate (${enum})."`
	DatasetPath string `name:"dataset-path" default:"" help:"Input file: ShareGPT JSON (sharegpt, random; downloaded when empty), conversation JSONL or an earlier bs-gen stream (custom), chat-request JSONL (openai), trace JSONL (mooncake), parquet/JSON (mmmu), parquet/JSON/JSONL (longbench_v2; downloaded when empty), JSONL (speed-bench), trace JSON (agentic-trace)."`
	NumPrompts  int    `name:"num-prompts" aliases:"num-prompt" default:"1000" help:"Number of prompts (generated-shared-prefix ignores it)."`
	Seed        int64  `default:"42" help:"Seed of Python's random and NumPy's legacy random streams."`
	Compat      string `default:"bs" enum:"bs,sglang" help:"bs: random text re-encodes to exactly its prompt_len; sglang: the reference's prompts for the same seed, tokenizer and file."`
	Output      string `short:"o" default:"-" help:"Output file (- for stdout; .zst/.gz names are compressed)."`
	Tokenizer   string `help:"Tokenizer: a Hugging Face model id or a local folder/tokenizer.json."`
	Model       string `help:"Model id; used as the tokenizer when --tokenizer is not given."`
	Workers     int    `default:"0" help:"Goroutines for per-prompt work (0: one per CPU)."`
	Backend     string `default:"sglang" help:"Backend the prompts are for; image/mmmu prompts are raw text for chat backends and chat-templated text otherwise."`
	Quiet       bool   `short:"q" help:"Do not print dataset statistics on stderr."`

	TokenizePrompt    bool   `name:"tokenize-prompt" help:"Emit token ids instead of text (random, random-ids, generated-shared-prefix)."`
	ApplyChatTemplate bool   `name:"apply-chat-template" help:"Wrap sharegpt/custom prompts in the tokenizer's chat template."`
	PromptSuffix      string `name:"prompt-suffix" default:"" help:"Suffix for sharegpt/custom prompts, placed before a final 'Assistant:'."`

	SharegptOutputLen  *int `name:"sharegpt-output-len" aliases:"sharegpt-output" help:"Fixed output length (sharegpt, custom, openai, longbench_v2, agentic-trace)."`
	SharegptContextLen *int `name:"sharegpt-context-len" aliases:"sharegpt-context" help:"Drop sharegpt/custom/longbench_v2 prompts whose prompt+output length exceeds this."`

	RandomInputLen   int     `name:"random-input-len" aliases:"random-input" default:"1024" help:"Input length (random, random-ids, image text)."`
	RandomOutputLen  int     `name:"random-output-len" aliases:"random-output" default:"1024" help:"Output length (random, random-ids, image; mmmu's fixed output length)."`
	RandomRangeRatio float64 `name:"random-range-ratio" aliases:"random-range" default:"0.0" help:"Lengths are uniform on [max(floor(L*r),1), L]."`

	ImageCount       int    `name:"image-count" default:"1" help:"Images per prompt (the maximum with --random-image-count)."`
	RandomImageCount bool   `name:"random-image-count" help:"Draw each prompt's image count uniformly from [1, image-count]."`
	ImageResolution  string `name:"image-resolution" default:"1080p" help:"4k, 1080p, 720p, 360p, HEIGHTxWIDTH, or random:<min_h>x<min_w>-<max_h>x<max_w>."`
	ImageFormat      string `name:"image-format" default:"jpeg" help:"jpeg or png."`
	ImageContent     string `name:"image-content" default:"random" help:"random or blank."`

	VisionPatchSize  int    `name:"vision-patch-size" default:"14" help:"Vision token estimate: patch size (Qwen2/2.5-VL)."`
	VisionMergeSize  int    `name:"vision-merge-size" default:"2" help:"Vision token estimate: spatial merge size."`
	VisionMinPixels  int    `name:"vision-min-pixels" default:"3136" help:"Vision token estimate: minimum pixels after resize."`
	VisionMaxPixels  int    `name:"vision-max-pixels" default:"12845056" help:"Vision token estimate: maximum pixels after resize."`
	VisionImageToken string `name:"vision-image-token" default:"<|image_pad|>" help:"Image placeholder token."`
	VisionStartToken string `name:"vision-start-token" default:"<|vision_start|>" help:"Token before each image placeholder."`
	VisionEndToken   string `name:"vision-end-token" default:"<|vision_end|>" help:"Token after each image placeholder."`

	GSPNumGroups         int      `name:"gsp-num-groups" default:"64" help:"Number of system prompts."`
	GSPPromptsPerGroup   int      `name:"gsp-prompts-per-group" default:"16" help:"Questions per system prompt."`
	GSPSystemPromptLen   int      `name:"gsp-system-prompt-len" default:"2048" help:"System prompt tokens."`
	GSPQuestionLen       int      `name:"gsp-question-len" default:"128" help:"Question tokens."`
	GSPOutputLen         int      `name:"gsp-output-len" default:"256" help:"Output tokens."`
	GSPRangeRatio        float64  `name:"gsp-range-ratio" default:"1.0" help:"Range ratio of the gsp lengths (1 = fixed)."`
	GSPFastPrepare       bool     `name:"gsp-fast-prepare" help:"With --compat sglang: skip tokenizing (prompt_len 1)."`
	GSPSendRoutingKey    bool     `name:"gsp-send-routing-key" help:"Give each group a routing key (X-SMG-Routing-Key)."`
	GSPNumTurns          int      `name:"gsp-num-turns" default:"1" help:"Turns per conversation (> 1: multi-turn)."`
	GSPOrdered           bool     `name:"gsp-ordered" help:"Keep prompts in group order (no shuffle)."`
	GSPGroupDistribution string   `name:"gsp-group-distribution" default:"uniform" enum:"uniform,zipf" help:"Group of each prompt: uniform or zipf."`
	GSPZipfAlpha         *float64 `name:"gsp-zipf-alpha" help:"Zipf exponent (> 0), required with zipf."`

	MooncakeSlowdownFactor float64 `name:"mooncake-slowdown-factor" default:"1.0" help:"Multiplies the trace timestamps."`
	MooncakeNumRounds      int     `name:"mooncake-num-rounds" default:"1" help:"Rounds per session."`
	MooncakeWorkload       string  `name:"mooncake-workload" default:"conversation" enum:"mooncake,conversation,synthetic,toolagent" help:"Trace to download when --dataset-path is empty."`

	LoraName                []string `name:"lora-name" sep:"none" help:"LoRA adapter names (--lora-name a b c)."`
	LoraRequestDistribution string   `name:"lora-request-distribution" default:"uniform" enum:"uniform,distinct,skewed" help:"How adapters are assigned to prompts."`
	LoraZipfAlpha           float64  `name:"lora-zipf-alpha" default:"1.5" help:"Zipf alpha (> 1) for skewed."`

	DatasetOffset       int     `name:"dataset-offset" default:"0" help:"agentic-trace: rotate the conversation list left by this many before taking prompts."`
	AgenticMaxTurns     *int    `name:"agentic-max-turns" help:"agentic-trace: at most this many rounds per conversation (0: all)."`
	SpeedBenchCategory  *string `name:"speed-bench-category" enum:"low_entropy,mixed,high_entropy," default:"" help:"speed-bench: only rows of this category (low_entropy, mixed, high_entropy; default all)."`
	SpeedBenchOutputLen int     `name:"speed-bench-output-len" default:"512" help:"speed-bench: output length of every prompt."`

	Version kong.VersionFlag `help:"Print the version and exit."`
}

func main() {
	c, parser, err := parse(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bs-gen:", err)
		if parser != nil {
			fmt.Fprintln(os.Stderr, "bs-gen: see bs-gen --help")
		}
		os.Exit(bscli.ExitUsage)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bs-gen:", err)
		os.Exit(1)
	}
}

// parse parses the command line (after the program name).
func parse(args []string) (*cli, *kong.Kong, error) {
	var c cli
	parser, err := kong.New(&c,
		kong.Name("bs-gen"),
		kong.Description("Generate a prompt stream (JSON Lines) for bs-fire from SGLang bench_serving's datasets."),
		kong.Vars{"version": version.String()},
	)
	if err != nil {
		return nil, nil, err
	}
	if _, err := parser.Parse(normalizeArgs(args)); err != nil {
		return nil, parser, err
	}
	return &c, parser, nil
}

// normalizeArgs turns the reference's "--lora-name a b c" (argparse nargs) into repeated
// "--lora-name=a" flags. As with the reference's action, only the last --lora-name counts.
// A negative number after a flag is its value, as argparse reads it ("--dataset-offset -3").
func normalizeArgs(args []string) []string {
	var out, names []string
	seen := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		name, val, hasVal := strings.Cut(a, "=")
		if name != "--lora-name" {
			if strings.HasPrefix(a, "--") && !hasVal && i+1 < len(args) && negativeNumber.MatchString(args[i+1]) {
				a += "=" + args[i+1]
				i++
			}
			out = append(out, a)
			continue
		}
		seen, names = true, nil
		if hasVal {
			names = append(names, val)
		}
		for i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			i++
			names = append(names, args[i])
		}
	}
	if seen {
		for _, n := range names {
			out = append(out, "--lora-name="+n)
		}
	}
	return out
}

var negativeNumber = regexp.MustCompile(`^-[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?$`)

func (c *cli) options() (datasets.Options, error) {
	o := datasets.DefaultOptions()
	o.Dataset = c.DatasetName
	o.DatasetPath = c.DatasetPath
	o.NumPrompts = c.NumPrompts
	o.Seed = c.Seed
	o.Compat = c.Compat
	o.TokenizePrompt = c.TokenizePrompt
	o.ApplyChatTemplate = c.ApplyChatTemplate
	o.PromptSuffix = c.PromptSuffix
	o.SharegptOutputLen = c.SharegptOutputLen
	o.SharegptContextLen = c.SharegptContextLen
	o.RandomInputLen = c.RandomInputLen
	o.RandomOutputLen = c.RandomOutputLen
	o.RandomRangeRatio = c.RandomRangeRatio
	o.ImageCount = c.ImageCount
	o.RandomImageCount = c.RandomImageCount
	o.ImageResolution = c.ImageResolution
	o.ImageFormat = c.ImageFormat
	o.ImageContent = c.ImageContent
	o.Backend = c.Backend
	o.Vision = datasets.VisionOptions{
		PatchSize: c.VisionPatchSize, MergeSize: c.VisionMergeSize, MinPixels: c.VisionMinPixels, MaxPixels: c.VisionMaxPixels,
		ImageToken: c.VisionImageToken, StartToken: c.VisionStartToken, EndToken: c.VisionEndToken,
	}
	o.GSP = datasets.GSPOptions{
		NumGroups: c.GSPNumGroups, PromptsPerGroup: c.GSPPromptsPerGroup, SystemPromptLen: c.GSPSystemPromptLen,
		QuestionLen: c.GSPQuestionLen, OutputLen: c.GSPOutputLen, RangeRatio: c.GSPRangeRatio,
		FastPrepare: c.GSPFastPrepare, SendRoutingKey: c.GSPSendRoutingKey, NumTurns: c.GSPNumTurns,
		Ordered: c.GSPOrdered, GroupDistribution: c.GSPGroupDistribution, ZipfAlpha: c.GSPZipfAlpha,
	}
	o.MooncakeWorkload = c.MooncakeWorkload
	o.MooncakeNumRounds = c.MooncakeNumRounds
	o.MooncakeSlowdownFactor = c.MooncakeSlowdownFactor
	if c.SpeedBenchCategory != nil {
		o.SpeedBenchCategory = *c.SpeedBenchCategory
	}
	o.SpeedBenchOutputLen = c.SpeedBenchOutputLen
	o.DatasetOffset = c.DatasetOffset
	o.AgenticMaxTurns = c.AgenticMaxTurns
	o.LoraNames = c.LoraName
	o.LoraDistribution = c.LoraRequestDistribution
	o.LoraZipfAlpha = c.LoraZipfAlpha
	o.Workers = c.Workers
	return o, o.Validate()
}

// needsTokenizer reports whether the dataset needs one (a custom re-read of a bs-gen stream does not).
func needsTokenizer(o datasets.Options) bool {
	if o.Dataset != datasets.Custom {
		return true
	}
	f, err := os.Open(o.DatasetPath)
	if err != nil {
		return true
	}
	defer f.Close()
	rc, err := records.Decompress(f)
	if err != nil {
		return true
	}
	head := make([]byte, 4096)
	n, _ := io.ReadFull(rc, head)
	return !strings.Contains(string(head[:n]), `"kind":"header"`)
}

func run(ctx context.Context, c *cli, rawArgs []string, stderr io.Writer) error {
	o, err := c.options()
	if err != nil {
		return err
	}
	env := datasets.Env{}
	if !c.Quiet {
		env.Log = stderr
	}
	fetch := datasets.NewFetcherFromEnv()
	fetch.Log = env.Log
	env.Fetch = fetch
	tokSpec := c.Tokenizer
	if tokSpec == "" {
		tokSpec = c.Model
	}
	if needsTokenizer(o) {
		if tokSpec == "" {
			return fmt.Errorf("--tokenizer (or --model) is required for --dataset-name %s", o.Dataset)
		}
		tk, err := tokenizer.Load(tokSpec, tokenizer.LoadOptions{})
		if err != nil {
			return fmt.Errorf("--tokenizer %s: %w", tokSpec, err)
		}
		defer tk.Close()
		env.Tok = tk
		env.Chat = chatFunc(tk)
	}
	rng, err := datasets.NewRNG(o.Seed)
	if err != nil {
		return err
	}
	env.RNG = rng
	ps, err := datasets.Generate(ctx, o, env)
	if err != nil {
		return err
	}
	seed := o.Seed
	h := records.Header{
		Stream: records.StreamPrompts, Tool: "bs-gen", Version: version.String(),
		Args: records.RedactArgs(rawArgs), Seed: &seed, Tokenizer: tokSpec, Dataset: o.Dataset,
	}
	if env.Tok == nil {
		h.Tokenizer = ""
	}
	return writeStream(c.Output, h, ps)
}

// writeStream writes the header and prompts to name ("-": stdout). A file is written to a
// temporary name in the same folder and renamed when complete.
func writeStream(name string, h records.Header, ps []records.Prompt) (err error) {
	var f *os.File
	var dst io.WriteCloser
	if name == records.Stdio {
		dst, err = records.Create(records.Stdio)
	} else {
		f, err = os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*.tmp")
		if err == nil {
			dst, err = records.Compress(f, name)
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer func() {
		if err != nil && f != nil {
			os.Remove(f.Name())
		}
	}()
	w := records.NewWriter(dst)
	if err = w.WriteHeader(h); err != nil {
		dst.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
	for i := range ps {
		if err = w.Write(&ps[i]); err != nil {
			dst.Close()
			if records.IsBrokenPipe(err) {
				return nil
			}
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if err = w.Flush(); err != nil {
		dst.Close()
		if records.IsBrokenPipe(err) {
			return nil
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	if err = dst.Close(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if f != nil {
		if err = os.Rename(f.Name(), name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// chatFunc renders the tokenizer's chat template with its special tokens as template variables.
func chatFunc(t *tokenizer.Tokenizer) datasets.ChatTemplateFunc {
	return chattmpl.ForRecords(t.ChatTemplate(), t.BOSToken(), t.EOSToken())
}
