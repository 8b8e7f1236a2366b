//go:build !tokenizers

package main

import (
	"errors"

	"github.com/bsbench/bs/pkg/metrics"
)

// loadTokenizer reports that this build has no tokenizer: bs-stat links the Rust tokenizers library
// only when built with -tags tokenizers (make build does).
func loadTokenizer(string) (metrics.Tokenizer, func(), error) {
	return nil, nil, errors.New("this bs-stat was built without the tokenizer library; rebuild with -tags tokenizers (make build does)")
}
