package sim

import "sync"

// Prefix-cache model (Config.PrefixCache, bs-sim --prefix-cache).
//
// A request's cache key is a byte string taken from its prompt (see genParams.key): the text of
// a text prompt; 4 bytes (little-endian) per token id of a token-id prompt; for chat, each
// message's role, a 0x00 byte, its text (text parts, and the raw image_url JSON of image parts,
// each followed by 0x00) and a 0x01 byte. The key is cut into blocks of cacheBlockBytes bytes
// (the last one may be shorter), and block i is named by a chain hash: the hash of block i−1's
// chain hash and block i's bytes, so a name stands for the whole prefix up to the block's end.
//
// A lookup matches the leading blocks whose names are in the cache; the matched prefix is their
// length in bytes (at most the key's length), and the cached tokens are
// floor(prompt_tokens × matched / len(key)), at most prompt_tokens − 1: a server always computes
// the last prompt token, whose logits give the first output token. An empty key never hits. The
// lookup then inserts all of the request's block names, so an identical later prompt hits.
//
// The cache holds at most Config.PrefixCacheBlocks names. When a request's names would not fit,
// the cache is cleared first (a crude eviction, but deterministic); a request with more blocks
// than the capacity inserts only its first PrefixCacheBlocks. POST /flush_cache (SGLang) and
// /reset_prefix_cache (vLLM) clear it too.
//
// Lookups run once per request, under a mutex, in the order requests reach them (after their
// body is parsed, before they queue for a slot); the result is deterministic for a given order.

// cacheBlockBytes is the size of a cache block, in key bytes.
const cacheBlockBytes = 64

// DefaultPrefixCacheBlocks is the default capacity of the prefix cache, in blocks.
const DefaultPrefixCacheBlocks = 1 << 20

// prefixCache is the set of block names currently cached.
type prefixCache struct {
	mu       sync.Mutex
	capacity int
	blocks   map[uint64]struct{}
	clears   int // times the cache was cleared because it was full (for tests)
}

func newPrefixCache(capacity int) *prefixCache {
	return &prefixCache{capacity: capacity, blocks: map[uint64]struct{}{}}
}

// blockNames returns the chain hashes of key's blocks: FNV-1a (64-bit) over the previous block's
// name (8 bytes, little-endian; 0 for the first block) followed by the block's bytes.
func blockNames(key string) []uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	names := make([]uint64, 0, (len(key)+cacheBlockBytes-1)/cacheBlockBytes)
	var prev uint64
	for start := 0; start < len(key); start += cacheBlockBytes {
		h := uint64(offset)
		for i := range 8 {
			h = (h ^ (prev >> (8 * i) & 0xff)) * prime
		}
		for _, c := range []byte(key[start:min(start+cacheBlockBytes, len(key))]) {
			h = (h ^ uint64(c)) * prime
		}
		prev = h
		names = append(names, h)
	}
	return names
}

// lookup returns the number of cached tokens of a prompt of promptTokens tokens with cache key
// key, then caches the prompt's blocks.
func (c *prefixCache) lookup(key string, promptTokens int) int {
	if len(key) == 0 {
		return 0
	}
	names := blockNames(key)
	c.mu.Lock()
	defer c.mu.Unlock()
	matched := 0
	for _, n := range names {
		if _, ok := c.blocks[n]; !ok {
			break
		}
		matched++
	}
	if len(c.blocks)+len(names)-matched > c.capacity {
		clear(c.blocks)
		c.clears++
	}
	for _, n := range names[:min(len(names), c.capacity)] {
		c.blocks[n] = struct{}{}
	}
	bytes := min(matched*cacheBlockBytes, len(key))
	cached := int(int64(promptTokens) * int64(bytes) / int64(len(key)))
	return max(min(cached, promptTokens-1), 0)
}

// flush empties the cache.
func (c *prefixCache) flush() {
	c.mu.Lock()
	clear(c.blocks)
	c.mu.Unlock()
}
