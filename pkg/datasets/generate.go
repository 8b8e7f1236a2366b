// Package datasets generates the prompts of bs-gen: the reference benchmark's datasets (random,
// random-ids, sharegpt, generated-shared-prefix, image, mmmu, mooncake, custom, openai,
// longbench_v2, speed-bench, agentic-trace) as records.Prompt values.
//
// Random numbers are drawn from the reference's two streams (Python's random and NumPy's legacy
// RandomState, see RNG) in the reference's order, so with --compat sglang the random, random-ids,
// sharegpt and generated-shared-prefix datasets give the reference's prompts for the same seed,
// tokenizer and input file. Per-prompt work (tokenizing, building exact-length text, encoding
// images) runs on several goroutines; random draws stay sequential and results are kept in
// index order, so the output does not depend on scheduling.
package datasets

import (
	"context"
	"fmt"
	"io"

	"github.com/bsbench/bs/pkg/records"
)

// Env is what Generate needs besides the options.
type Env struct {
	// Tok is the tokenizer (required for every dataset but custom re-reads).
	Tok Tokenizer
	// Chat renders the chat template; nil if the tokenizer has none.
	Chat ChatTemplateFunc
	// RNG holds the two seeded random streams.
	RNG RNG
	// Fetch downloads and caches files the reference downloads (ShareGPT, mooncake traces, MMMU);
	// nil means no downloads (a local --dataset-path is then required).
	Fetch *Fetcher
	// Log receives the statistics lines the reference prints (for example "#Input tokens: N");
	// nil discards them.
	Log io.Writer
}

type gen struct {
	ctx   context.Context
	opts  Options
	tok   Tokenizer
	chat  ChatTemplateFunc
	rng   RNG
	fetch *Fetcher
	log   io.Writer
	exact *exactBuilder
}

func (g *gen) logf(format string, args ...any) {
	if g.log != nil {
		fmt.Fprintf(g.log, format, args...)
	}
}

// Generate makes the prompts of the dataset o.Dataset. IDs are assigned 0..n-1 in output order,
// then LoRA adapters (if any) are assigned with AssignLora on the same random streams.
// Nothing is returned on error: the caller writes no partial output.
func Generate(ctx context.Context, o Options, env Env) ([]records.Prompt, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	g := &gen{ctx: ctx, opts: o, tok: env.Tok, chat: env.Chat, rng: env.RNG, fetch: env.Fetch, log: env.Log}
	if g.tok == nil && !(o.Dataset == Custom) {
		return nil, fmt.Errorf("--dataset-name %s needs a tokenizer (--tokenizer)", o.Dataset)
	}
	if g.tok != nil {
		g.exact = newExactBuilder(g.tok)
	}
	var (
		ps        []records.Prompt
		err       error
		keepIDs   bool
		skipLoras bool
	)
	switch o.Dataset {
	case Random:
		ps, err = g.random(true)
	case RandomIDs:
		ps, err = g.random(false)
	case ShareGPT:
		ps, err = g.sharegpt()
	case GeneratedSharedPrefix:
		ps, err = g.gsp()
	case Image:
		ps, err = g.image()
	case MMMU:
		ps, err = g.mmmu()
	case Mooncake:
		ps, err = g.mooncake()
	case Custom:
		ps, keepIDs, err = g.custom()
		skipLoras = keepIDs
	case OpenAI:
		ps, err = g.openai()
	case LongBenchV2:
		ps, err = g.longbench()
	case SpeedBench:
		ps, err = g.speedBench()
	case AgenticTrace:
		ps, err = g.agentic()
	}
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !keepIDs {
		for i := range ps {
			ps[i].ID = i
		}
	}
	if !skipLoras && len(o.LoraNames) > 0 {
		names := AssignLora(g.rng, len(ps), o.LoraNames, o.LoraDistribution, o.LoraZipfAlpha)
		for i := range ps {
			ps[i].Lora = names[i]
		}
	}
	return ps, nil
}
