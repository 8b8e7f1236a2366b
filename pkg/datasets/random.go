package datasets

import (
	"fmt"

	"github.com/bsbench/bs/pkg/records"
)

// randomDataset generates the random and random-ids datasets (the reference's sample_random_requests).
//
// Both modes draw the same random numbers in the reference's order: input lengths, output lengths
// (NumPy), then for random the ShareGPT shuffle (Python), for random-ids one offset per prompt (NumPy).
//
// --compat sglang: in text mode the tokenizer's special-token count is subtracted from each input
// length (floor 1) and recorded as prompt_len; ids are decoded without any check, as the reference does.
//
// --compat bs: text prompts are built so that Encode(text, add_special_tokens=True) has exactly the
// sampled length (the special tokens the tokenizer adds count, as a server counts them); the text
// part has at least one token, so with a BOS-adding tokenizer a sampled length of 1 becomes 2.
// With --tokenize-prompt the ids are sent as they are and prompt_len is their number.
func (g *gen) random(fromShareGPT bool) ([]records.Prompt, error) {
	o := g.opts
	n := o.NumPrompts
	inLens := RandomLens(g.rng.NP, o.RandomInputLen, o.RandomRangeRatio, n)
	outLens := RandomLens(g.rng.NP, o.RandomOutputLen, o.RandomRangeRatio, n)
	text := !o.TokenizePrompt
	nSpecial := g.tok.NumSpecialTokensToAdd()
	if text && !o.exact() {
		for i := range inLens {
			inLens[i] = max(1, inLens[i]-nSpecial)
		}
	}
	// contentLen is the number of ids to take from the source for prompt i.
	contentLen := func(i int) int {
		if text && o.exact() && inLens[i] > 0 {
			return max(1, inLens[i]-nSpecial)
		}
		return inLens[i]
	}
	prompts := make([]records.Prompt, n)

	if !fromShareGPT {
		vocab := g.tok.VocabSize()
		if vocab <= 0 {
			return nil, fmt.Errorf("random-ids: the tokenizer reports a vocabulary size of %d", vocab)
		}
		offsets := g.rng.NP.Randint(0, int64(vocab), n)
		err := parallelFor(o.Workers, n, func(i int) error {
			next := int(offsets[i]) + i
			src := func(k int) []int {
				ids := make([]int, k)
				for j := range ids {
					ids[j] = next % vocab
					next++
				}
				return ids
			}
			return g.fillRandom(&prompts[i], src, contentLen(i), inLens[i], outLens[i])
		})
		if err != nil {
			return nil, err
		}
		g.logf("#Input tokens: %d\n#Output tokens: %d\n", sum(inLens), sum(outLens))
		return prompts, nil
	}

	path, err := g.sharegptPath(true)
	if err != nil {
		return nil, err
	}
	pairs, err := LoadShareGPT(path)
	if err != nil {
		return nil, err
	}
	g.rng.Py.Shuffle(len(pairs), func(i, j int) { pairs[i], pairs[j] = pairs[j], pairs[i] })

	// Walk the shuffled pairs, skipping prompts that encode to nothing, until n prompts are made.
	// The encodes run in parallel batches; the walk itself is sequential, as in the reference.
	addSpecial := !o.exact()
	made := 0
	for start := 0; start < len(pairs) && made < n; {
		end := min(len(pairs), start+max(64, n-made))
		encs := make([][]int, end-start)
		if err := parallelFor(o.Workers, end-start, func(k int) error {
			encs[k] = g.tok.Encode(pairs[start+k].prompt, addSpecial)
			return nil
		}); err != nil {
			return nil, err
		}
		var todo []int
		var srcs [][]int
		for _, e := range encs {
			if made+len(todo) == n {
				break
			}
			if len(e) == 0 {
				continue
			}
			todo = append(todo, made+len(todo))
			srcs = append(srcs, e)
		}
		if err := parallelFor(o.Workers, len(todo), func(k int) error {
			i, ids := todo[k], srcs[k]
			pos := 0
			src := func(m int) []int {
				out := make([]int, m)
				for j := range out {
					out[j] = ids[pos%len(ids)]
					pos++
				}
				return out
			}
			return g.fillRandom(&prompts[i], src, contentLen(i), inLens[i], outLens[i])
		}); err != nil {
			return nil, err
		}
		made += len(todo)
		start = end
	}
	prompts = prompts[:made]
	g.logf("#Input tokens: %d\n#Output tokens: %d\n", sum(inLens), sum(outLens))
	return prompts, nil
}

// fillRandom builds one random prompt from the id source: take k ids; in compat mode decode them
// as they are, in bs mode build exact-length text.
func (g *gen) fillRandom(p *records.Prompt, src Source, k, inLen, outLen int) error {
	o := g.opts
	p.OutputLen = outLen
	ids := src(k)
	if o.TokenizePrompt {
		p.IDs = ids
		p.PromptLen = len(ids)
		if len(ids) == 0 {
			p.IDs = nil
		}
		return nil
	}
	if !o.exact() {
		p.Text = g.tok.Decode(ids, false)
		p.PromptLen = inLen
		return nil
	}
	if k == 0 {
		return nil
	}
	s, err := g.exact.Build(ids, k, src)
	if err != nil {
		return err
	}
	p.Text = s
	p.PromptLen = k + g.tok.NumSpecialTokensToAdd()
	return nil
}

func sum(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}
