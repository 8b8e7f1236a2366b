package pyrand

import (
	"crypto/sha512"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
)

// Random reproduces CPython 3.11's random.Random (the generator behind the
// module-level random.seed, random.shuffle, random.choices, ...). Methods
// consume the underlying MT19937 stream exactly as CPython does, so a Random
// seeded like the Python one yields the same values in the same order.
//
// Copying a Random value copies its state. A Random is not safe for
// concurrent use.
type Random struct {
	mt MT19937
}

// NewRandom returns a generator seeded like random.Random(seed).
func NewRandom(seed int64) *Random {
	r := &Random{}
	r.Seed(seed)
	return r
}

// Seed reseeds like random.seed(seed) for an int seed: the absolute value is
// split into little-endian 32-bit words (one word of 0 for seed 0) and fed to
// init_by_array.
func (r *Random) Seed(seed int64) {
	u := uint64(seed)
	if seed < 0 {
		u = -u // two's complement: also right for math.MinInt64
	}
	if u>>32 == 0 {
		r.mt.InitByArray([]uint32{uint32(u)})
	} else {
		r.mt.InitByArray([]uint32{uint32(u), uint32(u >> 32)})
	}
}

// SeedBig reseeds like random.seed(seed) for an arbitrarily large int seed.
func (r *Random) SeedBig(seed *big.Int) {
	a := new(big.Int).Abs(seed)
	b := a.Bytes() // big-endian
	n := 1
	if bl := a.BitLen(); bl > 0 {
		n = (bl-1)/32 + 1
	}
	key := make([]uint32, n)
	for i := 0; i < len(b); i++ {
		// byte i from the least significant end
		v := b[len(b)-1-i]
		key[i/4] |= uint32(v) << (8 * (i % 4))
	}
	r.mt.InitByArray(key)
}

// SeedBytes reseeds like random.seed(b) for a bytes seed (version 2, the
// default): the seed becomes int.from_bytes(b + sha512(b).digest(), "big").
func (r *Random) SeedBytes(b []byte) {
	sum := sha512.Sum512(b)
	buf := make([]byte, 0, len(b)+len(sum))
	buf = append(buf, b...)
	buf = append(buf, sum[:]...)
	r.SeedBig(new(big.Int).SetBytes(buf))
}

// SeedString reseeds like random.seed(s) for a str seed (UTF-8 encoded, then
// as SeedBytes).
func (r *Random) SeedString(s string) { r.SeedBytes([]byte(s)) }

// Uint32 returns the next raw 32-bit output of the underlying MT19937.
func (r *Random) Uint32() uint32 { return r.mt.Uint32() }

// Random returns random.random(): a double in [0, 1) with 53 random bits.
func (r *Random) Random() float64 { return r.mt.Float64() }

// Uniform returns random.uniform(a, b) = a + (b-a)*random().
func (r *Random) Uniform(a, b float64) float64 {
	return a + float64((b-a)*r.Random())
}

// getrandbits returns getrandbits(k) for 0 <= k <= 64 without checks.
func (r *Random) getrandbits(k int) uint64 {
	switch {
	case k == 0:
		return 0
	case k <= 32:
		return uint64(r.mt.Uint32() >> (32 - k))
	}
	lo := uint64(r.mt.Uint32())
	hi := uint64(r.mt.Uint32() >> (64 - k))
	return hi<<32 | lo
}

// GetRandBits returns random.getrandbits(k) for 0 <= k <= 64. Words are drawn
// least significant first; the last word keeps its top bits.
func (r *Random) GetRandBits(k int) (uint64, error) {
	if k < 0 || k > 64 {
		return 0, fmt.Errorf("pyrand: getrandbits(%d): k must be in [0, 64] (use GetRandBitsBig)", k)
	}
	return r.getrandbits(k), nil
}

// GetRandBitsBig returns random.getrandbits(k) for any k >= 0.
func (r *Random) GetRandBitsBig(k int) (*big.Int, error) {
	if k < 0 {
		return nil, fmt.Errorf("pyrand: getrandbits(%d): number of bits must be non-negative", k)
	}
	res := new(big.Int)
	if k == 0 {
		return res, nil
	}
	words := (k-1)/32 + 1
	buf := make([]byte, 4*words) // big-endian
	for i := 0; i < words; i, k = i+1, k-32 {
		v := r.mt.Uint32()
		if k < 32 {
			v >>= 32 - k
		}
		off := 4 * (words - 1 - i)
		buf[off], buf[off+1], buf[off+2], buf[off+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	}
	return res.SetBytes(buf), nil
}

// randbelow is CPython's _randbelow_with_getrandbits for 0 < n < 2^64.
func (r *Random) randbelow(n uint64) uint64 {
	k := bits.Len64(n) // n itself, not n-1: a power of two wastes half the draws, as in CPython
	v := r.getrandbits(k)
	for v >= n {
		v = r.getrandbits(k)
	}
	return v
}

// RandBelow returns random._randbelow(n): uniform in [0, n), by rejection on
// getrandbits(n.bit_length()).
func (r *Random) RandBelow(n uint64) (uint64, error) {
	if n == 0 {
		return 0, errors.New("pyrand: randbelow(0): empty range")
	}
	return r.randbelow(n), nil
}

// RandRange returns random.randrange(start, stop, step).
func (r *Random) RandRange(start, stop, step int64) (int64, error) {
	var n uint64
	switch {
	case step == 1:
		if stop <= start {
			return 0, fmt.Errorf("pyrand: empty range for randrange() (%d, %d, %d)", start, stop, stop-start)
		}
		return int64(uint64(start) + r.randbelow(uint64(stop)-uint64(start))), nil
	case step > 0:
		if stop <= start {
			return 0, fmt.Errorf("pyrand: empty range for randrange(%d, %d, %d)", start, stop, step)
		}
		n = (uint64(stop)-uint64(start)-1)/uint64(step) + 1
	case step < 0:
		if stop >= start {
			return 0, fmt.Errorf("pyrand: empty range for randrange(%d, %d, %d)", start, stop, step)
		}
		n = (uint64(start)-uint64(stop)-1)/(-uint64(step)) + 1
	default:
		return 0, errors.New("pyrand: zero step for randrange()")
	}
	return int64(uint64(start) + uint64(step)*r.randbelow(n)), nil
}

// RandInt returns random.randint(a, b), uniform on the closed range [a, b].
func (r *Random) RandInt(a, b int64) (int64, error) {
	if b < a {
		return 0, fmt.Errorf("pyrand: empty range for randint(%d, %d)", a, b)
	}
	return int64(uint64(a) + r.randbelowClosed(uint64(b)-uint64(a))), nil
}

// randbelowClosed returns randbelow(m+1), also for m = 2^64-1 where m+1 needs
// 65 bits (CPython then draws getrandbits(65) and rejects values >= 2^64).
func (r *Random) randbelowClosed(m uint64) uint64 {
	if m != math.MaxUint64 {
		return r.randbelow(m + 1)
	}
	for {
		lo := uint64(r.mt.Uint32())
		mid := uint64(r.mt.Uint32())
		top := r.mt.Uint32() >> 31
		if top == 0 {
			return mid<<32 | lo
		}
	}
}

// ChoiceIndex returns the index random.choice picks from a sequence of
// length n: _randbelow(n).
func (r *Random) ChoiceIndex(n int) (int, error) {
	if n <= 0 {
		return 0, errors.New("pyrand: cannot choose from an empty sequence")
	}
	return int(r.randbelow(uint64(n))), nil
}

// ShuffleN shuffles n elements like random.shuffle (CPython 3.11): for i from
// n-1 down to 1, swap(i, _randbelow(i+1)).
func (r *Random) ShuffleN(n int, swap func(i, j int)) {
	for i := n - 1; i >= 1; i-- {
		j := int(r.randbelow(uint64(i + 1)))
		swap(i, j)
	}
}

// ChoicesIndex returns the indices random.choices(population, k=k) picks
// from a population of length n without weights: floor(random() * n) each.
// k <= 0 gives an empty result, as in Python.
func (r *Random) ChoicesIndex(n, k int) ([]int, error) {
	if k <= 0 {
		return []int{}, nil
	}
	if n <= 0 {
		return nil, errors.New("pyrand: choices from an empty population")
	}
	fn := float64(n)
	out := make([]int, k)
	for i := range out {
		out[i] = int(math.Floor(r.Random() * fn))
	}
	return out, nil
}

// ChoicesIndexWeighted returns the indices random.choices(population,
// weights=weights, k=k) picks; the population length is len(weights). The
// weights are accumulated left to right in float64 (exact for integer weights
// whose total stays below 2^53).
func (r *Random) ChoicesIndexWeighted(weights []float64, k int) ([]int, error) {
	cum := make([]float64, len(weights))
	var s float64
	for i, w := range weights {
		s += w
		cum[i] = s
	}
	return r.ChoicesIndexCum(cum, k)
}

// ChoicesIndexCum returns the indices random.choices(population,
// cum_weights=cum, k=k) picks: bisect_right(cum, random()*total, 0, n-1).
func (r *Random) ChoicesIndexCum(cum []float64, k int) ([]int, error) {
	n := len(cum)
	if n == 0 {
		return nil, errors.New("pyrand: choices: empty cumulative weights")
	}
	total := cum[n-1] + 0.0
	if total <= 0.0 {
		return nil, errors.New("pyrand: choices: total of weights must be greater than zero")
	}
	if math.IsInf(total, 0) || math.IsNaN(total) {
		return nil, errors.New("pyrand: choices: total of weights must be finite")
	}
	if k <= 0 {
		return []int{}, nil
	}
	out := make([]int, k)
	for i := range out {
		out[i] = bisectRight(cum, r.Random()*total, n-1)
	}
	return out, nil
}

// bisectRight is Python's bisect.bisect_right(a, x, 0, hi): the first index in
// [0, hi] whose element is > x (hi if none).
func bisectRight(a []float64, x float64, hi int) int {
	lo := 0
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if x < a[mid] {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// SampleIndex returns the indices random.sample(population, k) picks from a
// population of length n, in selection order. Like CPython 3.11 it keeps a
// pool (list) when n is small compared to the set it would otherwise need and
// tracks selections in a set otherwise; the two draw differently.
func (r *Random) SampleIndex(n, k int) ([]int, error) {
	if k < 0 || k > n {
		return nil, fmt.Errorf("pyrand: sample(n=%d, k=%d): sample larger than population or is negative", n, k)
	}
	out := make([]int, k)
	setsize := 21
	if k > 5 {
		e := int(math.Ceil(LibmFMA.Log(float64(k)*3) / LibmFMA.Log(4)))
		if 2*e >= bits.UintSize-2 {
			setsize = math.MaxInt // Python's bigger table size: always the pool branch
		} else {
			setsize += 1 << (2 * e)
		}
	}
	if n <= setsize {
		pool := make([]int, n)
		for i := range pool {
			pool[i] = i
		}
		for i := 0; i < k; i++ {
			j := int(r.randbelow(uint64(n - i)))
			out[i] = pool[j]
			pool[j] = pool[n-i-1]
		}
		return out, nil
	}
	selected := make(map[int]struct{}, k)
	for i := 0; i < k; i++ {
		j := int(r.randbelow(uint64(n)))
		for {
			if _, dup := selected[j]; !dup {
				break
			}
			j = int(r.randbelow(uint64(n)))
		}
		selected[j] = struct{}{}
		out[i] = j
	}
	return out, nil
}

// Choice returns random.choice(seq).
func Choice[T any](r *Random, seq []T) (T, error) {
	i, err := r.ChoiceIndex(len(seq))
	if err != nil {
		var zero T
		return zero, err
	}
	return seq[i], nil
}

// Shuffle shuffles x in place like random.shuffle(x).
func Shuffle[T any](r *Random, x []T) {
	r.ShuffleN(len(x), func(i, j int) { x[i], x[j] = x[j], x[i] })
}

// Choices returns random.choices(population, k=k).
func Choices[T any](r *Random, population []T, k int) ([]T, error) {
	idx, err := r.ChoicesIndex(len(population), k)
	if err != nil {
		return nil, err
	}
	return pick(population, idx), nil
}

// ChoicesWeighted returns random.choices(population, weights=weights, k=k).
func ChoicesWeighted[T any](r *Random, population []T, weights []float64, k int) ([]T, error) {
	if len(weights) != len(population) {
		return nil, fmt.Errorf("pyrand: choices: %d weights for a population of %d", len(weights), len(population))
	}
	idx, err := r.ChoicesIndexWeighted(weights, k)
	if err != nil {
		return nil, err
	}
	return pick(population, idx), nil
}

// ChoicesCumWeighted returns random.choices(population, cum_weights=cum, k=k).
func ChoicesCumWeighted[T any](r *Random, population []T, cum []float64, k int) ([]T, error) {
	if len(cum) != len(population) {
		return nil, fmt.Errorf("pyrand: choices: %d cumulative weights for a population of %d", len(cum), len(population))
	}
	idx, err := r.ChoicesIndexCum(cum, k)
	if err != nil {
		return nil, err
	}
	return pick(population, idx), nil
}

// Sample returns random.sample(population, k).
func Sample[T any](r *Random, population []T, k int) ([]T, error) {
	idx, err := r.SampleIndex(len(population), k)
	if err != nil {
		return nil, err
	}
	return pick(population, idx), nil
}

func pick[T any](population []T, idx []int) []T {
	out := make([]T, len(idx))
	for i, j := range idx {
		out[i] = population[j]
	}
	return out
}
