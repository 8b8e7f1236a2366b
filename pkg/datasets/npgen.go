package datasets

import (
	"math/bits"
	"sort"
)

// npGenerator is NumPy's numpy.random.default_rng(seed) for a non-negative integer seed: a PCG64
// bit generator seeded through SeedSequence. The reference uses it (not the legacy global state) for
// the zipf group assignment of generated-shared-prefix, so the legacy streams stay untouched.
type npGenerator struct {
	stateHi, stateLo uint64
	incHi, incLo     uint64
}

// pcg64 multiplier 0x2360ED051FC65DA44385DF649FCCF645.
const (
	pcgMulHi = 0x2360ED051FC65DA4
	pcgMulLo = 0x4385DF649FCCF645
)

// seedSequenceState is SeedSequence(entropy).generate_state(n, uint32) for entropy given as
// 32-bit words (an int seed is split into little-endian 32-bit words).
func seedSequenceState(entropy []uint32, n int) []uint32 {
	const (
		initA    = 0x43b0d7e5
		multA    = 0x931e8875
		initB    = 0x8b51f9dd
		multB    = 0x58f38ded
		mixMultL = 0xca01f9dd
		mixMultR = 0x4973f715
		xshift   = 16
		poolSize = 4
	)
	hashConst := uint32(initA)
	hashmix := func(v uint32) uint32 {
		v ^= hashConst
		hashConst *= multA
		v *= hashConst
		v ^= v >> xshift
		return v
	}
	mix := func(x, y uint32) uint32 {
		r := mixMultL*x - mixMultR*y
		r ^= r >> xshift
		return r
	}
	var pool [poolSize]uint32
	for i := 0; i < poolSize; i++ {
		if i < len(entropy) {
			pool[i] = hashmix(entropy[i])
		} else {
			pool[i] = hashmix(0)
		}
	}
	for src := 0; src < poolSize; src++ {
		for dst := 0; dst < poolSize; dst++ {
			if src != dst {
				pool[dst] = mix(pool[dst], hashmix(pool[src]))
			}
		}
	}
	for src := poolSize; src < len(entropy); src++ {
		for dst := 0; dst < poolSize; dst++ {
			pool[dst] = mix(pool[dst], hashmix(entropy[src]))
		}
	}
	out := make([]uint32, n)
	hc := uint32(initB)
	for i := range out {
		v := pool[i%poolSize]
		v ^= hc
		hc *= multB
		v *= hc
		v ^= v >> xshift
		out[i] = v
	}
	return out
}

// newNPGenerator returns default_rng(seed) for seed >= 0.
func newNPGenerator(seed uint64) *npGenerator {
	var entropy []uint32
	if seed == 0 {
		entropy = []uint32{0}
	}
	for s := seed; s > 0; s >>= 32 {
		entropy = append(entropy, uint32(s))
	}
	w := seedSequenceState(entropy, 8)
	u := func(i int) uint64 { return uint64(w[2*i]) | uint64(w[2*i+1])<<32 }
	// PCG64 takes seed = val[0]<<64 | val[1] and inc = val[2]<<64 | val[3].
	g := &npGenerator{}
	initHi, initLo := u(0), u(1)
	seqHi, seqLo := u(2), u(3)
	g.incHi = seqHi<<1 | seqLo>>63
	g.incLo = seqLo<<1 | 1
	g.step()
	var c uint64
	g.stateLo, c = bits.Add64(g.stateLo, initLo, 0)
	g.stateHi, _ = bits.Add64(g.stateHi, initHi, c)
	g.step()
	return g
}

func (g *npGenerator) step() {
	hi, lo := bits.Mul64(g.stateLo, pcgMulLo)
	hi += g.stateHi*pcgMulLo + g.stateLo*pcgMulHi
	var c uint64
	g.stateLo, c = bits.Add64(lo, g.incLo, 0)
	g.stateHi, _ = bits.Add64(hi, g.incHi, c)
}

// Uint64 is PCG64's next 64-bit output (XSL-RR).
func (g *npGenerator) Uint64() uint64 {
	g.step()
	return bits.RotateLeft64(g.stateHi^g.stateLo, -int(g.stateHi>>58))
}

// Float64 is Generator.random(): a double on [0, 1) from the top 53 bits.
func (g *npGenerator) Float64() float64 {
	return float64(g.Uint64()>>11) * (1.0 / 9007199254740992.0)
}

// ChoiceP is Generator.choice(len(p), size=size, replace=True, p=p).
func (g *npGenerator) ChoiceP(p []float64, size int) []int {
	cdf := cumsumNormalised(p)
	out := make([]int, size)
	for i := range out {
		out[i] = searchRight(cdf, g.Float64())
	}
	return out
}

// cumsumNormalised is NumPy's p.cumsum(); cdf /= cdf[-1].
func cumsumNormalised(p []float64) []float64 {
	cdf := make([]float64, len(p))
	s := 0.0
	for i, v := range p {
		s += v
		cdf[i] = s
	}
	last := cdf[len(cdf)-1]
	for i := range cdf {
		cdf[i] /= last
	}
	return cdf
}

// searchRight is searchsorted(cdf, u, side="right").
func searchRight(cdf []float64, u float64) int {
	return sort.Search(len(cdf), func(i int) bool { return cdf[i] > u })
}

// pairwiseSum is NumPy's summation of a float64 array (np.sum / ndarray.sum): pairwise with
// blocks of 128 and eight partial sums, as in numpy's pairwise_sum.
func pairwiseSum(a []float64) float64 {
	n := len(a)
	switch {
	case n < 8:
		s := 0.0
		for _, v := range a {
			s += v
		}
		return s
	case n <= 128:
		var r [8]float64
		copy(r[:], a[:8])
		i := 8
		for ; i < n-(n%8); i += 8 {
			for j := 0; j < 8; j++ {
				r[j] += a[i+j]
			}
		}
		res := (r[0] + r[1]) + (r[2] + r[3]) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			res += a[i]
		}
		return res
	default:
		n2 := n / 2
		n2 -= n2 % 8
		return pairwiseSum(a[:n2]) + pairwiseSum(a[n2:])
	}
}
