//go:build tokenizers

package main

import (
	"github.com/bsbench/bs/pkg/metrics"
	"github.com/bsbench/bs/pkg/tokenizer"
)

// loadTokenizer loads a Hugging Face tokenizer (this build links the tokenizers library).
func loadTokenizer(spec string) (metrics.Tokenizer, func(), error) {
	t, err := tokenizer.Load(spec, tokenizer.LoadOptions{})
	if err != nil {
		return nil, nil, err
	}
	return t, func() { t.Close() }, nil
}
