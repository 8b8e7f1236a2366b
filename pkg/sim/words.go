package sim

// vocab is the list of words bs-sim emits, one word per generated token. Each entry is a common
// English word with a leading space. Every entry was checked to encode to exactly one token in the
// tiktoken encodings cl100k_base, o200k_base and r50k_base (GPT-2), and any concatenation of entries
// encodes to exactly one token per entry, because those tokenizers split text before each " word".
// The entries are lower-case ASCII letters only, so they never need JSON escaping.
var vocab = [...]string{
	" the", " of", " and", " to", " in", " is", " that", " for", " it", " as", " was", " with",
	" be", " by", " on", " not", " he", " this", " are", " or", " his", " from", " at", " which",
	" but", " have", " an", " had", " they", " you", " were", " their", " one", " all", " we",
	" can", " her", " has", " there", " been", " if", " more", " when", " will", " would", " who",
	" so", " no", " she", " its", " out", " up", " about", " into", " than", " them", " only",
	" other", " new", " some", " could", " these", " two", " may", " first", " then", " do", " any",
	" like", " my", " now", " over", " such", " our", " man", " me", " even", " most", " made",
	" after", " also", " did", " many", " before", " must", " through", " back", " years", " where",
	" much", " your", " way", " well", " down", " should", " because", " each", " just", " those",
	" people", " how", " too", " little", " state", " good", " very", " make", " world", " still",
	" own", " see", " men", " work", " long", " get", " here", " between", " both", " life",
	" being", " under", " never", " day", " same", " another", " know", " while", " last", " might",
	" us", " great", " old", " year", " off", " come", " since", " against", " go", " came",
	" right", " used", " take", " three",
}

// firstTokenID is the synthetic token id of vocab[0]; vocab[i] has id firstTokenID+i. The ids are
// not those of any real tokenizer: they only make output_ids consistent with the text.
const firstTokenID = 1000

// eosTokenID is the synthetic token id reported as the matched stop token when bs-sim simulates an
// end-of-sequence (--eos-after).
const eosTokenID = 2

// Salts that separate the independent pseudo-random draws made for one request.
const (
	saltWord uint64 = iota + 1
	saltJitter
	saltFail
	saltStreamError
	saltDrop
	saltID
)

// mix64 is the splitmix64 finaliser: a fast, well-mixed hash of a 64-bit value.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// draw returns a deterministic pseudo-random 64-bit value for (seed, request sequence number, salt, k).
func draw(seed, seq, salt uint64, k int) uint64 {
	return mix64(mix64(mix64(seed^salt*0xd6e8feb86659fd93)^seq) ^ uint64(k))
}

// unit returns a deterministic value in [0, 1) for (seed, seq, salt, k).
func unit(seed, seq, salt uint64, k int) float64 {
	return float64(draw(seed, seq, salt, k)>>11) / (1 << 53)
}

// wordIndex returns the vocab index of the k-th (0-based) generated token of request seq.
func wordIndex(seed, seq uint64, k int) int {
	return int(draw(seed, seq, saltWord, k) % uint64(len(vocab)))
}
