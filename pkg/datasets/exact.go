package datasets

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
)

// Exact lengths
//
// A random token sequence decoded to text does not, in general, encode back to the same number of
// tokens: byte-level pieces merge differently, a cut can split a character, and so on. bs's
// default (--compat bs) therefore turns every random prompt into text whose encoding
// (Encode(text, false)) has exactly the target length:
//
//  1. Decode the ids and encode the text once: enc is its canonical tokenization (M tokens).
//     If M is the target L, the text is used as it is.
//  2. Otherwise find, near the end, a cut t in enc where the token before ends with a letter and
//     the token at t starts with a space followed by a letter. Byte-level BPE pre-tokenizers
//     (GPT-2, Llama 3, Qwen, DeepSeek) always split there, so the encoding of prefix+tail is the
//     encoding of the prefix (enc[:t], unchanged) followed by the encoding of the tail alone.
//     Whether the loaded tokenizer really behaves so is probed once (probeLocality); if it does
//     not, step 3 runs on the whole sequence instead of the tail.
//  3. Repair the tail alone: truncate its canonical ids, or extend them with further ids from
//     the source, decode, re-encode, until the tail encodes to exactly L-t tokens. This touches
//     a few dozen tokens, so it costs little next to step 1.
//  4. If there is no such boundary in the last 512 tokens (a long run of CJK letters is one huge
//     pre-token) or the tail does not settle in a few rounds, make a boundary: keep a prefix that
//     ends with a letter, encode it once more to learn its length m, and append the one-token
//     filler word (" the") L-m times; a letter followed by " the" is always a boundary.
//  5. Otherwise (short prompts, or a tokenizer that fails the probe) repair the whole sequence the
//     same way, backing off to a shorter stable piece padded with the filler word.
//
// The cost is one decode and one encode of the whole prompt plus one decode of the prefix and a
// few small tail operations. The property tests (exact_real_test.go) check the result with a full
// encode for many seeds and lengths on the Qwen3 and Llama 3 tokenizers.

// exactBuilder builds exact-length text with one tokenizer. It is safe for concurrent use.
type exactBuilder struct {
	tok Tokenizer

	once       sync.Once
	local      bool
	fillerText string // a word that is one token after a non-space character, e.g. " the"
	flags      []atomic.Uint32

	// Counts of the paths Build took (for tests and benchmarks).
	nDirect, nTail, nSynth, nFull atomic.Int64
}

const (
	flagKnown       = 1 << 0
	flagStartsSpace = 1 << 1 // decoded alone: " " followed by a letter
	flagEndsLetter  = 1 << 2 // decoded alone: valid text ending with a letter
)

func newExactBuilder(tok Tokenizer) *exactBuilder { return &exactBuilder{tok: tok} }

func (b *exactBuilder) init() {
	b.once.Do(func() {
		n := b.tok.FullVocabSize()
		if n < 1 {
			n = 1
		}
		b.flags = make([]atomic.Uint32, n)
		b.local = b.probeLocality()
		b.fillerText = b.findFiller()
	})
}

// probeLocality checks on a few strings that encoding splits between a letter and " "+letter.
func (b *exactBuilder) probeLocality() bool {
	pairs := [][2]string{
		{"hello", " world"}, {"The quick brown", " fox jumps"}, {"abc123def", " ghi"},
		{"naïve café", " résumé"}, {"x.y,z;w", " and more words"}, {"日本語テキストです", " text"},
		{"line one\nline", " two\n\n  three"}, {"it's", " fine"},
	}
	for _, p := range pairs {
		whole := b.tok.Encode(p[0]+p[1], false)
		left := b.tok.Encode(p[0], false)
		right := b.tok.Encode(p[1], false)
		if len(whole) != len(left)+len(right) {
			return false
		}
		for i, id := range left {
			if whole[i] != id {
				return false
			}
		}
		for i, id := range right {
			if whole[len(left)+i] != id {
				return false
			}
		}
	}
	return true
}

// findFiller picks a word that encodes to one token per repetition after a letter.
func (b *exactBuilder) findFiller() string {
	for _, w := range []string{" the", " a", " and", " of", " to", " in", " is", " x"} {
		if len(b.tok.Encode(w, false)) != 1 {
			continue
		}
		ok := true
		for k := 1; k <= 4 && ok; k++ {
			ok = len(b.tok.Encode("word"+strings.Repeat(w, k), false)) == len(b.tok.Encode("word", false))+k &&
				len(b.tok.Encode(strings.Repeat(w, k), false)) == k
		}
		if ok {
			return w
		}
	}
	return ""
}

func (b *exactBuilder) flag(id int) uint32 {
	if id < 0 || id >= len(b.flags) {
		return flagKnown
	}
	f := b.flags[id].Load()
	if f&flagKnown != 0 {
		return f
	}
	f = flagKnown
	s := b.tok.Decode([]int{id}, false)
	if !strings.ContainsRune(s, utf8.RuneError) {
		if len(s) >= 2 && s[0] == ' ' {
			if r, _ := utf8.DecodeRuneInString(s[1:]); unicode.IsLetter(r) {
				f |= flagStartsSpace
			}
		}
		if r, _ := utf8.DecodeLastRuneInString(s); s != "" && unicode.IsLetter(r) {
			f |= flagEndsLetter
		}
	}
	b.flags[id].Store(f)
	return f
}

// Source supplies further token ids to extend a prompt: each call returns the next k ids of an
// endless, deterministic sequence.
type Source func(k int) []int

// Build returns text whose encoding without special tokens has exactly L tokens, starting from
// the token sequence ids (usually of length L). more supplies further ids when the text must grow.
func (b *exactBuilder) Build(ids []int, L int, more Source) (string, error) {
	if L <= 0 {
		return "", nil
	}
	b.init()
	text := b.tok.Decode(ids, false)
	enc := b.tok.Encode(text, false)
	if len(enc) == L {
		b.nDirect.Add(1)
		return text, nil
	}
	if b.local && L > 8 {
		hi := min(L, len(enc)) - 1
		lo := max(1, hi-512)
		for t := hi; t >= lo; t-- {
			if b.flag(enc[t])&flagStartsSpace == 0 || b.flag(enc[t-1])&flagEndsLetter == 0 {
				continue
			}
			tail := append([]int(nil), enc[t:]...)
			if tt, ok := b.fix(tail, L-t, more, true); ok {
				b.nTail.Add(1)
				return b.tok.Decode(enc[:t], false) + tt, nil
			}
			break
		}
		// No usable boundary near the end (for example a long run of CJK letters, one huge
		// pre-token): make one. Keep a prefix ending with a letter, re-encode it once, and fill the
		// rest with the one-token filler word, which a letter always separates from.
		if s, ok := b.synthCut(enc, L); ok {
			b.nSynth.Add(1)
			return s, nil
		}
	}
	if tt, ok := b.fix(enc, L, more, false); ok {
		b.nFull.Add(1)
		return tt, nil
	}
	return "", fmt.Errorf("could not build a prompt of exactly %d tokens", L)
}

// synthCut returns Decode(enc[:t]) + filler×(L-m) for a t near min(L, len(enc)) whose prefix ends
// with a letter, where m is the prefix's own token count (one extra encode of the prefix).
func (b *exactBuilder) synthCut(enc []int, L int) (string, bool) {
	if b.fillerText == "" {
		return "", false
	}
	tries := 0
	for t := min(L, len(enc)) - 1; t >= 1 && tries < 3; t-- {
		if b.flag(enc[t-1])&flagEndsLetter == 0 {
			continue
		}
		tries++
		pre := b.tok.Decode(enc[:t], false)
		r, _ := utf8.DecodeLastRuneInString(pre)
		if !unicode.IsLetter(r) {
			continue
		}
		m := len(b.tok.Encode(pre, false))
		if m > L {
			continue
		}
		return pre + strings.Repeat(b.fillerText, L-m), true
	}
	return "", false
}

// fix makes the canonical sequence cur encode to exactly need tokens. With tail set, the text must
// keep starting with a space and a letter (so it stays separable from the prefix before it).
func (b *exactBuilder) fix(cur []int, need int, more Source, tail bool) (string, bool) {
	okStart := func(s string) bool {
		if !tail {
			return true
		}
		if len(s) < 2 || s[0] != ' ' {
			return false
		}
		r, _ := utf8.DecodeRuneInString(s[1:])
		return unicode.IsLetter(r)
	}
	for round := 0; round < 6; round++ {
		switch {
		case len(cur) > need:
			cur = cur[:need]
		case len(cur) < need:
			cur = append(cur[:len(cur):len(cur)], more(need-len(cur))...)
		}
		s := b.tok.Decode(cur, false)
		e := b.tok.Encode(s, false)
		if len(e) == need && okStart(s) {
			return s, true
		}
		cur = e
	}
	// Back off: a stable canonical piece ending in a non-space character, padded with filler words.
	if b.fillerText == "" {
		return "", false
	}
	if len(cur) > need {
		cur = cur[:need]
	}
	ks := make([]int, 0, 66)
	for k := len(cur); k >= 0 && k >= len(cur)-64; k-- {
		ks = append(ks, k)
	}
	if ks[len(ks)-1] != 0 {
		ks = append(ks, 0)
	}
	for _, k := range ks {
		var s string
		if k > 0 {
			s = b.tok.Decode(cur[:k], false)
			r, _ := utf8.DecodeLastRuneInString(s)
			if r == utf8.RuneError || unicode.IsSpace(r) || !okStart(s) {
				continue
			}
			if len(b.tok.Encode(s, false)) != k {
				continue
			}
		}
		s += strings.Repeat(b.fillerText, need-k)
		if len(b.tok.Encode(s, false)) == need && okStart(s) {
			return s, true
		}
	}
	return "", false
}
