package datasets

import (
	"encoding/json"
	"os"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bsbench/bs/pkg/records"
)

// fakeTok is a tiny deterministic byte-level tokenizer for unit tests: ids 0..255 are single bytes,
// then a few multi-byte words; text is split into pieces (a letter run with an optional leading
// space, a digit, a punctuation run, a whitespace run) and each piece is encoded greedily with the
// longest word. Like real BPE tokenizers, decode→encode is not always stable, and a split can cut
// a UTF-8 character.
type fakeTok struct {
	words   []string // id 256+i
	byWord  map[string]int
	maxLen  int
	bos     bool
	special []string // added special tokens after the words
}

func newFakeTok(bos bool) *fakeTok {
	t := &fakeTok{bos: bos, byWord: map[string]int{}}
	for _, w := range []string{" the", " a", " and", " of", "he", "ll", "llo", "hello", " hello", " world", "wor", "ld",
		"in", "ing", " in", "th", "er", " er", "an", "é", "日本", "ab", "abc", " x", "xy", "!!", "..", "  ", "\n\n", " café"} {
		t.byWord[w] = 256 + len(t.words)
		t.words = append(t.words, w)
		t.maxLen = max(t.maxLen, len(w))
	}
	t.special = []string{"<s>", "</s>", "<img>"}
	return t
}

func (t *fakeTok) VocabSize() int             { return 256 + len(t.words) }
func (t *fakeTok) FullVocabSize() int         { return 256 + len(t.words) + len(t.special) }
func (t *fakeTok) bosID() int                 { return 256 + len(t.words) }
func (t *fakeTok) SpecialIDs() []int          { return []int{t.bosID(), t.bosID() + 1} }
func (t *fakeTok) NumSpecialTokensToAdd() int { return map[bool]int{true: 1}[t.bos] }
func (t *fakeTok) BOSToken() string {
	if t.bos {
		return "<s>"
	}
	return ""
}

func (t *fakeTok) TokenID(s string) (int, bool) {
	for i, sp := range t.special {
		if sp == s {
			return t.bosID() + i, true
		}
	}
	return 0, false
}

func (t *fakeTok) piece(id int) string {
	switch {
	case id < 256:
		return string([]byte{byte(id)})
	case id < 256+len(t.words):
		return t.words[id-256]
	default:
		return t.special[id-256-len(t.words)]
	}
}

func (t *fakeTok) Decode(ids []int, skip bool) string {
	var b []byte
	for _, id := range ids {
		if skip && id >= t.bosID() {
			continue
		}
		b = append(b, t.piece(id)...)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

type class int

func classOf(r rune) class {
	switch {
	case unicode.IsLetter(r):
		return 1
	case unicode.IsDigit(r):
		return 2
	case unicode.IsSpace(r):
		return 3
	}
	return 4
}

func (t *fakeTok) Encode(text string, add bool) []int {
	var out []int
	if add && t.bos {
		out = append(out, t.bosID())
	}
	// Added tokens first.
	for len(text) > 0 {
		best, at := -1, len(text)
		for i, sp := range t.special {
			if k := strings.Index(text, sp); k >= 0 && k < at {
				best, at = i, k
			}
		}
		out = append(out, t.encodePlain(text[:at])...)
		if best < 0 {
			break
		}
		out = append(out, t.bosID()+best)
		text = text[at+len(t.special[best]):]
	}
	return out
}

func (t *fakeTok) encodePlain(text string) []int {
	var out []int
	for len(text) > 0 {
		// piece: optional space + letters | digit | punct run | whitespace run
		r, n := utf8.DecodeRuneInString(text)
		end := n
		c := classOf(r)
		if r == ' ' && len(text) > 1 {
			if r2, _ := utf8.DecodeRuneInString(text[1:]); classOf(r2) == 1 {
				c = 1
			}
		}
		if c != 2 {
			for end < len(text) {
				r2, n2 := utf8.DecodeRuneInString(text[end:])
				if classOf(r2) != c {
					break
				}
				end += n2
			}
		}
		p := text[:end]
		text = text[end:]
		for len(p) > 0 {
			l := min(len(p), t.maxLen)
			for ; l > 1; l-- {
				if _, ok := t.byWord[p[:l]]; ok {
					break
				}
			}
			if id, ok := t.byWord[p[:l]]; ok {
				out = append(out, id)
			} else {
				out = append(out, int(p[0]))
			}
			p = p[l:]
		}
	}
	return out
}

// fakeChat is a toy chat template: "<|role|>content\n" per message, then "<|assistant|>".
func fakeChat(bos string) ChatTemplateFunc {
	return func(msgs []records.Message, gen bool) (string, error) {
		var sb strings.Builder
		sb.WriteString(bos)
		for _, m := range msgs {
			var s string
			if err := json.Unmarshal(m.Content, &s); err != nil {
				return "", err
			}
			sb.WriteString("<|" + m.Role + "|>" + s + "\n")
		}
		if gen {
			sb.WriteString("<|assistant|>")
		}
		return sb.String(), nil
	}
}

var _ = sort.Ints

func mkdir(p string) error { return os.MkdirAll(p, 0o755) }

func itoa(i int) string { return strconv.Itoa(i) }
