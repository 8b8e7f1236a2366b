package datasets

import (
	"errors"

	"github.com/bsbench/bs/pkg/records"
)

// Tokenizer is what the generators need from a tokenizer. cmd/bs-gen wires the real one
// (pkg/tokenizer, Hugging Face tokenizers through cgo); tests use small fakes. Its methods must be
// safe for concurrent use: per-prompt work runs on several goroutines.
type Tokenizer interface {
	// Encode tokenizes text. With addSpecialTokens the tokenizer's post-processor adds its special
	// tokens (for example a BOS id), as transformers' tokenizer.encode(text) does by default.
	Encode(text string, addSpecialTokens bool) []int
	// Decode turns ids back into text, as transformers' tokenizer.decode(ids) does (the tokenizers
	// library's decoder, no clean-up of spaces).
	Decode(ids []int, skipSpecialTokens bool) string
	// VocabSize is the base vocabulary size, without added tokens (transformers' tokenizer.vocab_size).
	VocabSize() int
	// FullVocabSize is the size of the whole vocabulary including added tokens (len(tokenizer));
	// ids 0..FullVocabSize()-1 are the values of transformers' tokenizer.get_vocab().
	FullVocabSize() int
	// NumSpecialTokensToAdd is the number of special tokens Encode adds to a single sequence.
	NumSpecialTokensToAdd() int
	// SpecialIDs are the ids of the special tokens (transformers' all_special_ids).
	SpecialIDs() []int
	// BOSToken is the BOS token's text, "" if the tokenizer has none.
	BOSToken() string
	// TokenID returns the id of a token given by its text (for example "<|image_pad|>").
	TokenID(token string) (int, bool)
}

// ChatTemplateFunc renders messages with the model's chat template into a prompt string, as
// transformers' apply_chat_template(messages, tokenize=False, add_generation_prompt=…) does.
// It returns ErrNoChatTemplate when the tokenizer has no template.
type ChatTemplateFunc func(messages []records.Message, addGenerationPrompt bool) (string, error)

// ErrNoChatTemplate is returned by a ChatTemplateFunc when the tokenizer has no chat template.
var ErrNoChatTemplate = errors.New("the tokenizer has no chat template")
