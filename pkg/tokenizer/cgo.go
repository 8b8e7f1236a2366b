package tokenizer

/*
#cgo LDFLAGS: -ltokenizers -ldl -lm -lstdc++
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

// From github.com/daulet/tokenizers (tokenizers.h).
void *tokenizers_from_file(const char *config, char **error);
void tokenizers_free_tokenizer(void *ptr);
void tokenizers_free_string(char *string);

// bs extension compiled into the same libtokenizers.a by
// scripts/build-libtokenizers.sh (scripts/libtokenizers-ext.rs).
bool bs_tokenizers_encode(void *p, const uint8_t *text, size_t len, bool add_special_tokens,
                          uint32_t **out_ids, size_t *out_len, char **err);
void bs_tokenizers_free_ids(uint32_t *ids, size_t len);
bool bs_tokenizers_decode(void *p, const uint32_t *ids, size_t len, bool skip_special_tokens,
                          uint8_t **out, size_t *out_len, char **err);
void bs_tokenizers_free_bytes(uint8_t *b, size_t len);
size_t bs_tokenizers_vocab_size(void *p, bool with_added_tokens);
size_t bs_tokenizers_num_special_tokens_to_add(void *p, bool is_pair);
bool bs_tokenizers_special_ids(void *p, uint32_t **out_ids, size_t *out_len);
bool bs_tokenizers_token_to_id(void *p, const uint8_t *token, size_t len, uint32_t *out_id);
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"unsafe"

	// The Rust half of daulet/tokenizers is what libtokenizers.a is built
	// from; importing the Go package also links its link-time version check
	// (tokenizers_version_1_23_0), so a stale .a fails to link instead of
	// misbehaving.
	_ "github.com/daulet/tokenizers"
)

// handle is the native tokenizer (a Box<UnifiedTokenizer> owned by Rust).
type handle struct{ p unsafe.Pointer }

func takeError(cerr *C.char, fallback string) error {
	if cerr == nil {
		return errors.New(fallback)
	}
	msg := C.GoString(cerr)
	C.tokenizers_free_string(cerr)
	return errors.New(msg)
}

func loadFile(path string) (handle, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var cerr *C.char
	p := C.tokenizers_from_file(cpath, &cerr)
	if p == nil {
		return handle{}, takeError(cerr, "tokenizers_from_file failed")
	}
	return handle{p: p}, nil
}

func (h handle) free() {
	if h.p != nil {
		C.tokenizers_free_tokenizer(h.p)
	}
}

func (h handle) encode(text string, addSpecial bool) ([]int, error) {
	var (
		ids  *C.uint32_t
		n    C.size_t
		cerr *C.char
	)
	// The string's bytes are passed without copying; they hold no Go
	// pointers and Rust does not keep them after the call.
	var data *C.uint8_t
	if len(text) > 0 {
		data = (*C.uint8_t)(unsafe.Pointer(unsafe.StringData(text)))
	}
	if !C.bs_tokenizers_encode(h.p, data, C.size_t(len(text)), C.bool(addSpecial), &ids, &n, &cerr) {
		return nil, takeError(cerr, "encode failed")
	}
	if n == 0 {
		return []int{}, nil
	}
	defer C.bs_tokenizers_free_ids(ids, n)
	src := unsafe.Slice((*uint32)(unsafe.Pointer(ids)), int(n))
	out := make([]int, len(src))
	for i, v := range src {
		out[i] = int(v)
	}
	return out, nil
}

func (h handle) decode(ids []int, skipSpecial bool) (string, error) {
	if len(ids) == 0 {
		return "", nil
	}
	buf := make([]uint32, len(ids))
	for i, id := range ids {
		if id < 0 || uint64(id) > math.MaxUint32 {
			return "", fmt.Errorf("decode: token id %d at index %d is out of range", id, i)
		}
		buf[i] = uint32(id)
	}
	var (
		out  *C.uint8_t
		n    C.size_t
		cerr *C.char
	)
	if !C.bs_tokenizers_decode(h.p, (*C.uint32_t)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)), C.bool(skipSpecial), &out, &n, &cerr) {
		return "", takeError(cerr, "decode failed")
	}
	if n == 0 {
		return "", nil
	}
	defer C.bs_tokenizers_free_bytes(out, n)
	return C.GoStringN((*C.char)(unsafe.Pointer(out)), C.int(n)), nil
}

func (h handle) vocabSize(withAdded bool) int {
	return int(C.bs_tokenizers_vocab_size(h.p, C.bool(withAdded)))
}

func (h handle) numSpecialTokensToAdd(pair bool) int {
	return int(C.bs_tokenizers_num_special_tokens_to_add(h.p, C.bool(pair)))
}

func (h handle) specialIDs() ([]int, error) {
	var (
		ids *C.uint32_t
		n   C.size_t
	)
	if !C.bs_tokenizers_special_ids(h.p, &ids, &n) {
		return nil, errors.New("reading the special added tokens failed")
	}
	if n == 0 {
		return []int{}, nil
	}
	defer C.bs_tokenizers_free_ids(ids, n)
	src := unsafe.Slice((*uint32)(unsafe.Pointer(ids)), int(n))
	out := make([]int, len(src))
	for i, v := range src {
		out[i] = int(v)
	}
	return out, nil
}

func (h handle) tokenToID(token string) (int, bool) {
	var id C.uint32_t
	var data *C.uint8_t
	if len(token) > 0 {
		data = (*C.uint8_t)(unsafe.Pointer(unsafe.StringData(token)))
	}
	if !C.bs_tokenizers_token_to_id(h.p, data, C.size_t(len(token)), &id) {
		return 0, false
	}
	return int(id), true
}
