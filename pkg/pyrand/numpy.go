package pyrand

import (
	"errors"
	"fmt"
	"math"
)

// RandomState reproduces NumPy's legacy numpy.random.RandomState, which is
// also what the module-level functions use after np.random.seed(int)
// (np.random.randint, np.random.exponential, np.random.choice, ...). Every
// method consumes the MT19937 stream exactly as NumPy does; a size-n draw is
// the same as n scalar draws.
//
// Float distributions that call the C library (exponential, gamma, normal)
// reproduce glibc's log and pow; see Libm. The arithmetic around those calls
// is done without fused multiply-add, as in NumPy's x86-64 wheels.
//
// Copying a RandomState value copies its state. A RandomState is not safe for
// concurrent use.
type RandomState struct {
	mt       MT19937
	hasGauss bool
	gauss    float64
	libm     Libm
}

// NewRandomState returns a RandomState seeded like np.random.RandomState(seed)
// / np.random.seed(seed). seed must be in [0, 2^32-1], as in NumPy.
func NewRandomState(seed int64) (*RandomState, error) {
	s := &RandomState{}
	if err := s.Seed(seed); err != nil {
		return nil, err
	}
	return s, nil
}

// Seed reseeds like np.random.seed(seed) for an int seed: init_genrand(seed).
// It also clears the cached second normal deviate.
func (s *RandomState) Seed(seed int64) error {
	if seed < 0 || seed > math.MaxUint32 {
		return fmt.Errorf("pyrand: numpy seed %d: seed must be between 0 and 2**32 - 1", seed)
	}
	s.mt.InitGenrand(uint32(seed))
	s.hasGauss, s.gauss = false, 0
	return nil
}

// SeedArray reseeds like np.random.seed(array) for a 1-d integer array seed:
// init_by_array over the values, each of which must be in [0, 2^32-1].
func (s *RandomState) SeedArray(key []int64) error {
	if len(key) == 0 {
		return errors.New("pyrand: numpy seed array must be non-empty")
	}
	words := make([]uint32, len(key))
	for i, v := range key {
		if v < 0 || v > math.MaxUint32 {
			return fmt.Errorf("pyrand: numpy seed array element %d (%d): seed must be between 0 and 2**32 - 1", i, v)
		}
		words[i] = uint32(v)
	}
	s.mt.InitByArray(words)
	s.hasGauss, s.gauss = false, 0
	return nil
}

// SetLibm selects which glibc build the log/pow-based distributions
// reproduce (default LibmFMA).
func (s *RandomState) SetLibm(l Libm) { s.libm = l }

// Libm reports the selected glibc build.
func (s *RandomState) Libm() Libm { return s.libm }

// Uint32 returns the next raw 32-bit output of the underlying MT19937.
func (s *RandomState) Uint32() uint32 { return s.mt.Uint32() }

// uint64 is NumPy's 64-bit draw for MT19937: the first 32-bit output is the
// high word.
func (s *RandomState) uint64() uint64 {
	hi := uint64(s.mt.Uint32())
	return hi<<32 | uint64(s.mt.Uint32())
}

// RandomSample returns np.random.random_sample(): a double in [0, 1) with 53
// random bits.
func (s *RandomState) RandomSample() float64 { return s.mt.Float64() }

// RandomSampleN returns np.random.random_sample(n).
func (s *RandomState) RandomSampleN(n int) []float64 {
	out := make([]float64, max(n, 0))
	for i := range out {
		out[i] = s.mt.Float64()
	}
	return out
}

// Randint returns np.random.randint(low, high) for the default int64 dtype:
// uniform on [low, high). Rejection sampling on draws masked to the smallest
// covering power of two minus one; 32-bit draws when high-1-low fits in 32
// bits, 64-bit draws otherwise; no draw at all when high-1 == low.
func (s *RandomState) Randint(low, high int64) (int64, error) {
	if low >= high {
		return 0, fmt.Errorf("pyrand: randint(%d, %d): high <= low", low, high)
	}
	return int64(uint64(low) + s.bounded(uint64(high-1)-uint64(low))), nil
}

// RandintN returns np.random.randint(low, high, size=n).
func (s *RandomState) RandintN(low, high int64, n int) ([]int64, error) {
	if low >= high {
		return nil, fmt.Errorf("pyrand: randint(%d, %d): high <= low", low, high)
	}
	if n < 0 {
		return nil, fmt.Errorf("pyrand: randint size %d: negative dimensions are not allowed", n)
	}
	rng := uint64(high-1) - uint64(low)
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(uint64(low) + s.bounded(rng))
	}
	return out, nil
}

// bounded returns a value uniform on [0, rng] (NumPy's masked bounded draw).
// NumPy's rng == 2^64-1 case (a plain 64-bit draw) cannot occur for int64
// bounds and is left out.
func (s *RandomState) bounded(rng uint64) uint64 {
	switch {
	case rng == 0:
		return 0
	case rng <= math.MaxUint32:
		if rng == math.MaxUint32 {
			return uint64(s.mt.Uint32())
		}
		mask := uint32(mask64(rng))
		for {
			if v := s.mt.Uint32() & mask; uint64(v) <= rng {
				return uint64(v)
			}
		}
	}
	mask := mask64(rng)
	for {
		if v := s.uint64() & mask; v <= rng {
			return v
		}
	}
}

// mask64 returns the smallest 2^k-1 >= v.
func mask64(v uint64) uint64 {
	v |= v >> 1
	v |= v >> 2
	v |= v >> 4
	v |= v >> 8
	v |= v >> 16
	v |= v >> 32
	return v
}

// interval returns a value uniform on [0, max] the way NumPy's legacy shuffle
// draws (masked rejection, 32-bit draws while max fits in 32 bits).
func (s *RandomState) interval(max uint64) uint64 {
	if max == 0 {
		return 0
	}
	mask := mask64(max)
	if max <= math.MaxUint32 {
		for {
			if v := uint64(s.mt.Uint32()) & mask; v <= max {
				return v
			}
		}
	}
	for {
		if v := s.uint64() & mask; v <= max {
			return v
		}
	}
}

// ShuffleN shuffles n elements like np.random.shuffle on a 1-d array: for i
// from n-1 down to 1, swap(i, j) with j uniform on [0, i].
func (s *RandomState) ShuffleN(n int, swap func(i, j int)) {
	for i := n - 1; i >= 1; i-- {
		swap(i, int(s.interval(uint64(i))))
	}
}

// Permutation returns np.random.permutation(n).
func (s *RandomState) Permutation(n int) []int {
	out := make([]int, max(n, 0))
	for i := range out {
		out[i] = i
	}
	s.ShuffleN(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// Uniform returns np.random.uniform(low, high) = low + (high-low)*U.
func (s *RandomState) Uniform(low, high float64) (float64, error) {
	rng := high - low
	if math.IsInf(rng, 0) || math.IsNaN(rng) {
		return 0, fmt.Errorf("pyrand: uniform(%v, %v): range exceeds valid bounds", low, high)
	}
	return low + float64(rng*s.mt.Float64()), nil
}

// checkNonNegative mirrors NumPy's CONS_NON_NEGATIVE (which also rejects
// -0.0). NaN, which NumPy lets through, is rejected here because the gamma
// sampler would loop forever on it.
func checkNonNegative(name string, v float64) error {
	if math.IsNaN(v) {
		return fmt.Errorf("pyrand: %s is NaN", name)
	}
	if math.Signbit(v) {
		return fmt.Errorf("pyrand: %s < 0 (%v)", name, v)
	}
	return nil
}

// StandardExponential returns np.random.standard_exponential() = -log(1-U).
func (s *RandomState) StandardExponential() float64 {
	return -s.libm.Log(1.0 - s.mt.Float64())
}

// Exponential returns np.random.exponential(scale) = scale * -log(1-U).
func (s *RandomState) Exponential(scale float64) (float64, error) {
	if err := checkNonNegative("scale", scale); err != nil {
		return 0, err
	}
	return scale * s.StandardExponential(), nil
}

// ExponentialN returns np.random.exponential(scale, size=n).
func (s *RandomState) ExponentialN(scale float64, n int) ([]float64, error) {
	if err := checkNonNegative("scale", scale); err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, fmt.Errorf("pyrand: exponential size %d: negative dimensions are not allowed", n)
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = scale * s.StandardExponential()
	}
	return out, nil
}

// StandardNormal returns np.random.standard_normal(): the legacy polar
// (Marsaglia) method, which yields two deviates per accepted pair and caches
// the second for the next call (gamma draws share that cache).
func (s *RandomState) StandardNormal() float64 {
	if s.hasGauss {
		v := s.gauss
		s.hasGauss, s.gauss = false, 0
		return v
	}
	var x1, x2, r2 float64
	for {
		x1 = 2.0*s.mt.Float64() - 1.0
		x2 = 2.0*s.mt.Float64() - 1.0
		r2 = float64(x1*x1) + float64(x2*x2)
		if r2 < 1.0 && r2 != 0.0 {
			break
		}
	}
	f := math.Sqrt(float64(-2.0*s.libm.Log(r2)) / r2)
	s.gauss, s.hasGauss = float64(f*x1), true
	return f * x2
}

// Normal returns np.random.normal(loc, scale) = loc + scale*StandardNormal().
func (s *RandomState) Normal(loc, scale float64) (float64, error) {
	if err := checkNonNegative("scale", scale); err != nil {
		return 0, err
	}
	return loc + float64(scale*s.StandardNormal()), nil
}

// StandardGamma returns np.random.standard_gamma(shape) with NumPy's legacy
// algorithm: exponential for shape 1, Ahrens-Dieter style rejection (GS) for
// shape < 1, Marsaglia-Tsang for shape > 1.
func (s *RandomState) StandardGamma(shape float64) (float64, error) {
	if err := checkNonNegative("shape", shape); err != nil {
		return 0, err
	}
	return s.standardGamma(shape), nil
}

// Gamma returns np.random.gamma(shape, scale) = scale * StandardGamma(shape).
func (s *RandomState) Gamma(shape, scale float64) (float64, error) {
	if err := checkNonNegative("shape", shape); err != nil {
		return 0, err
	}
	if err := checkNonNegative("scale", scale); err != nil {
		return 0, err
	}
	return scale * s.standardGamma(shape), nil
}

func (s *RandomState) standardGamma(shape float64) float64 {
	lm := s.libm
	switch {
	case shape == 1.0:
		return s.StandardExponential()
	case shape == 0.0:
		return 0.0
	case shape < 1.0:
		for {
			u := s.mt.Float64()
			v := s.StandardExponential()
			if u <= 1.0-shape {
				x := lm.Pow(u, 1.0/shape)
				if x <= v {
					return x
				}
			} else {
				y := -lm.Log((1 - u) / shape)
				x := lm.Pow((1.0-shape)+float64(shape*y), 1.0/shape)
				if x <= v+y {
					return x
				}
			}
		}
	}
	b := shape - 1.0/3.0
	c := 1.0 / math.Sqrt(9*b)
	for {
		var x, v float64
		for {
			x = s.StandardNormal()
			v = 1.0 + float64(c*x)
			if v > 0.0 {
				break
			}
		}
		v = float64(v*v) * v
		u := s.mt.Float64()
		xx := float64(x * x)
		if u < 1.0-float64(float64(0.0331*xx)*xx) {
			return b * v
		}
		if lm.Log(u) < float64(float64(0.5*x)*x)+float64(b*((1.0-v)+lm.Log(v))) {
			return b * v
		}
	}
}

// Choice returns np.random.choice(n, size) without p (replace=True): size
// draws of randint(0, n).
func (s *RandomState) Choice(n, size int) ([]int, error) {
	if size < 0 {
		return nil, fmt.Errorf("pyrand: choice size %d: negative dimensions are not allowed", size)
	}
	if n <= 0 {
		if n == 0 && size == 0 {
			return []int{}, nil
		}
		return nil, fmt.Errorf("pyrand: choice(%d): a must be greater than 0 unless no samples are taken", n)
	}
	out := make([]int, size)
	for i := range out {
		out[i] = int(s.bounded(uint64(n - 1)))
	}
	return out, nil
}

// checkP validates a probability vector as np.random.choice does.
func checkP(p []float64) error {
	if len(p) == 0 {
		return errors.New("pyrand: choice: a cannot be empty unless no samples are taken")
	}
	// Kahan summation, as NumPy checks the total.
	sum, comp := p[0], 0.0
	for _, v := range p[1:] {
		y := v - comp
		t := sum + y
		comp = (t - sum) - y
		sum = t
	}
	if math.IsNaN(sum) {
		return errors.New("pyrand: choice: probabilities contain NaN")
	}
	for i, v := range p {
		if v < 0 {
			return fmt.Errorf("pyrand: choice: probabilities are not non-negative (p[%d] = %v)", i, v)
		}
	}
	if math.Abs(sum-1.0) > math.Sqrt(2.220446049250313e-16) {
		return fmt.Errorf("pyrand: choice: probabilities do not sum to 1 (sum %v)", sum)
	}
	return nil
}

// cdf returns cumsum(p) / cumsum(p)[-1], as np.random.choice builds it.
func cdf(p []float64) []float64 {
	c := make([]float64, len(p))
	var acc float64
	for i, v := range p {
		acc += v
		c[i] = acc
	}
	total := c[len(c)-1]
	for i := range c {
		c[i] /= total
	}
	return c
}

// searchRight returns the number of elements of c that are <= x
// (numpy.searchsorted(c, x, side="right")).
func searchRight(c []float64, x float64) int { return bisectRight(c, x, len(c)) }

// ChoiceP returns np.random.choice(len(p), size, p=p) (replace=True): one
// random_sample per draw, located in the normalised cumulative sum of p.
func (s *RandomState) ChoiceP(p []float64, size int) ([]int, error) {
	if size < 0 {
		return nil, fmt.Errorf("pyrand: choice size %d: negative dimensions are not allowed", size)
	}
	if err := checkP(p); err != nil {
		return nil, err
	}
	c := cdf(p)
	out := make([]int, size)
	for i := range out {
		out[i] = searchRight(c, s.mt.Float64())
	}
	return out, nil
}

// ChoiceNoReplace returns np.random.choice(n, size, replace=False, p=p).
// Without p (p == nil) it is permutation(n)[:size]. With p (len(p) must be n)
// NumPy repeatedly draws the missing number of samples against p with the
// already chosen entries zeroed, keeping the first occurrence of each new
// index.
func (s *RandomState) ChoiceNoReplace(n, size int, p []float64) ([]int, error) {
	if size < 0 {
		return nil, fmt.Errorf("pyrand: choice size %d: negative dimensions are not allowed", size)
	}
	if n < 0 || (n == 0 && size > 0) {
		return nil, fmt.Errorf("pyrand: choice(%d): a must be greater than 0 unless no samples are taken", n)
	}
	if p != nil {
		if len(p) != n {
			return nil, fmt.Errorf("pyrand: choice: a and p must have same size (%d vs %d)", n, len(p))
		}
		if err := checkP(p); err != nil {
			return nil, err
		}
	}
	if size > n {
		return nil, fmt.Errorf("pyrand: choice: cannot take a larger sample (%d) than population (%d) when replace=False", size, n)
	}
	if p == nil {
		return s.Permutation(n)[:size], nil
	}
	nonzero := 0
	for _, v := range p {
		if v > 0 {
			nonzero++
		}
	}
	if nonzero < size {
		return nil, fmt.Errorf("pyrand: choice: fewer non-zero entries in p (%d) than size (%d)", nonzero, size)
	}
	pp := append([]float64(nil), p...)
	found := make([]int, 0, size)
	for len(found) < size {
		x := s.RandomSampleN(size - len(found))
		for _, f := range found {
			pp[f] = 0
		}
		c := cdf(pp)
		seen := make(map[int]bool, len(x))
		for _, u := range x {
			j := searchRight(c, u)
			if !seen[j] {
				seen[j] = true
				found = append(found, j)
			}
		}
	}
	return found, nil
}
