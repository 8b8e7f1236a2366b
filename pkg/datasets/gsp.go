package datasets

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/bsbench/bs/pkg/records"
)

// zipfGroupProbs is the reference's rank-based Zipf vector: p(rank) ∝ 1/rank^alpha, rank from 1,
// group 0 hottest, normalised by NumPy's (pairwise) sum.
func zipfGroupProbs(n int, alpha float64) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 1.0 / pow(float64(i+1), alpha)
	}
	total := pairwiseSum(w)
	for i := range w {
		w[i] /= total
	}
	return w
}

// gspRoutingKeyPrefix replaces the reference's per-run "{uuid4 hex[:8]}_{YYYYmmddHHMMSS}" with a
// value derived from the seed, so the same flags give the same bytes.
func gspRoutingKeyPrefix(seed int64) string {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(seed))
	h := sha256.Sum256(append([]byte("bs-gen gsp routing key "), b[:]...))
	return hex.EncodeToString(h[:4])
}

// gsp generates the generated-shared-prefix dataset (the reference's
// sample_generated_shared_prefix_requests). --num-prompts is ignored: the dataset has
// groups × prompts-per-group prompts. Group is the group index.
//
// Draw order (reference): system lengths, question lengths (groups×prompts×turns), output lengths
// (groups×prompts) on NumPy; system prompts then questions in (group, prompt, turn) order with
// random.choices over the vocabulary ids; the zipf assignment on a separate default_rng(seed);
// finally random.shuffle of the rows unless --gsp-ordered.
//
// In bs mode each system prompt and question is made exact-length text (the same drawn ids, repaired
// as for random) and prompt_len is always measured; --gsp-fast-prepare only has an effect with
// --compat sglang, where it records prompt_len 1 as the reference does.
func (g *gen) gsp() ([]records.Prompt, error) {
	o := g.opts
	c := o.GSP
	G, P, T := c.NumGroups, c.PromptsPerGroup, c.NumTurns
	sysLens := RandomLens(g.rng.NP, c.SystemPromptLen, c.RangeRatio, G)
	qLens := RandomLens(g.rng.NP, c.QuestionLen, c.RangeRatio, G*P*T)
	outLens := RandomLens(g.rng.NP, c.OutputLen, c.RangeRatio, G*P)
	vocab := g.tok.FullVocabSize()
	if vocab <= 0 {
		return nil, fmt.Errorf("generated-shared-prefix: the tokenizer reports a vocabulary size of %d", vocab)
	}
	ids := o.TokenizePrompt
	sysIDs := make([][]int, G)
	for i := range sysIDs {
		sysIDs[i] = g.rng.Py.Choices(vocab, sysLens[i])
	}
	qIDs := make([][]int, G*P*T)
	for i := range qIDs {
		qIDs[i] = g.rng.Py.Choices(vocab, qLens[i])
	}
	var assignment []int
	if c.GroupDistribution == "zipf" {
		if o.Seed < 0 {
			return nil, fmt.Errorf("--seed %d: numpy.random.default_rng needs a non-negative seed for --gsp-group-distribution=zipf", o.Seed)
		}
		assignment = newNPGenerator(uint64(o.Seed)).ChoiceP(zipfGroupProbs(G, *c.ZipfAlpha), G*P)
	} else {
		assignment = make([]int, G*P)
		for i := range assignment {
			assignment[i] = i / P
		}
	}

	// Texts (in parallel: decoding, and in bs mode exact-length repair).
	var sysText, qText []string
	if !ids {
		sysText = make([]string, G)
		qText = make([]string, G*P*T)
		all := append(append([][]int{}, sysIDs...), qIDs...)
		err := parallelFor(o.Workers, len(all), func(i int) error {
			s, err := g.randomText(all[i])
			if err != nil {
				return err
			}
			if i < G {
				sysText[i] = s
			} else {
				qText[i-G] = s
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}

	keyPrefix := gspRoutingKeyPrefix(o.Seed)
	rows := make([]records.Prompt, G*P)
	err := parallelFor(o.Workers, G*P, func(slot int) error {
		sg := assignment[slot]
		p := &rows[slot]
		p.OutputLen = outLens[slot]
		p.Group = strconv.Itoa(sg)
		if c.SendRoutingKey {
			p.RoutingKey = fmt.Sprintf("%s_%d", keyPrefix, sg)
		}
		if ids {
			p.IDs = append(append([]int{}, sysIDs[sg]...), qIDs[slot*T]...)
			p.PromptLen = len(p.IDs)
			if len(p.IDs) == 0 {
				p.IDs = nil
			}
			return nil
		}
		first := sysText[sg] + "\n\n" + qText[slot*T]
		if T == 1 {
			p.Text = first
		} else {
			p.Turns = make([][]records.Message, T)
			p.Turns[0] = []records.Message{records.TextMessage("user", first)}
			for t := 1; t < T; t++ {
				p.Turns[t] = []records.Message{records.TextMessage("user", qText[slot*T+t])}
			}
		}
		if c.FastPrepare && !o.exact() {
			p.PromptLen = 1
		} else {
			p.PromptLen = len(g.tok.Encode(first, true))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !c.Ordered {
		g.rng.Py.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	}
	g.logf("Generated shared prefix dataset statistics:\nNumber of groups: %d\nPrompts per group: %d\n"+
		"Number of turns: %d\nGroup distribution: %s\nTotal prompts: %d\nTotal input tokens: %d\nTotal output tokens: %d\n",
		G, P, T, c.GroupDistribution, len(rows), sumPromptLen(rows), sumOutputLen(rows))
	return rows, nil
}

// randomText decodes randomly drawn ids: as they are with --compat sglang, as exact-length text
// (same length as ids, special tokens not added) in bs mode, extending by cycling through the ids.
func (g *gen) randomText(ids []int) (string, error) {
	if !g.opts.exact() || len(ids) == 0 {
		return g.tok.Decode(ids, false), nil
	}
	pos := 0
	src := func(k int) []int {
		out := make([]int, k)
		for j := range out {
			out[j] = ids[pos%len(ids)]
			pos++
		}
		return out
	}
	return g.exact.Build(src(len(ids)), len(ids), src)
}
