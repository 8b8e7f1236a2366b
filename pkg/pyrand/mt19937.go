package pyrand

const (
	mtN         = 624
	mtM         = 397
	mtMatrixA   = 0x9908b0df
	mtUpperMask = 0x80000000
	mtLowerMask = 0x7fffffff
)

// MT19937 is the 32-bit Mersenne Twister of Matsumoto and Nishimura (1998),
// the generator behind both CPython's random module and NumPy's legacy
// RandomState. The zero value is not seeded; call InitGenrand or InitByArray
// first; like the reference code, an unseeded generator seeds itself with
// InitGenrand(5489).
//
// Copying an MT19937 value copies its whole state, so the copy replays the
// same stream.
type MT19937 struct {
	state  [mtN]uint32
	index  int
	seeded bool
}

// InitGenrand seeds the generator from one 32-bit word (the reference
// init_genrand). NumPy's RandomState.seed(int) uses this.
func (m *MT19937) InitGenrand(s uint32) {
	m.state[0] = s
	for i := 1; i < mtN; i++ {
		prev := m.state[i-1]
		m.state[i] = 1812433253*(prev^(prev>>30)) + uint32(i)
	}
	m.index = mtN
	m.seeded = true
}

// InitByArray seeds the generator from a key of 32-bit words (the reference
// init_by_array). CPython's random.seed(int) uses this with the absolute value
// of the seed split into little-endian 32-bit words. An empty key is treated
// as []uint32{0}, the key CPython passes for seed 0.
func (m *MT19937) InitByArray(key []uint32) {
	if len(key) == 0 {
		key = []uint32{0}
	}
	m.InitGenrand(19650218)
	i, j := 1, 0
	for k := max(mtN, len(key)); k > 0; k-- {
		prev := m.state[i-1]
		m.state[i] = (m.state[i] ^ ((prev ^ (prev >> 30)) * 1664525)) + key[j] + uint32(j)
		i++
		j++
		if i >= mtN {
			m.state[0] = m.state[mtN-1]
			i = 1
		}
		if j >= len(key) {
			j = 0
		}
	}
	for k := mtN - 1; k > 0; k-- {
		prev := m.state[i-1]
		m.state[i] = (m.state[i] ^ ((prev ^ (prev >> 30)) * 1566083941)) - uint32(i)
		i++
		if i >= mtN {
			m.state[0] = m.state[mtN-1]
			i = 1
		}
	}
	m.state[0] = 0x80000000 // MSB set: the state is never all zero
	m.index = mtN
}

// twist regenerates the 624 state words.
func (m *MT19937) twist() {
	mag := func(y uint32) uint32 { return (y >> 1) ^ (-(y & 1) & mtMatrixA) }
	s := &m.state
	kk := 0
	for ; kk < mtN-mtM; kk++ {
		s[kk] = s[kk+mtM] ^ mag((s[kk]&mtUpperMask)|(s[kk+1]&mtLowerMask))
	}
	for ; kk < mtN-1; kk++ {
		s[kk] = s[kk+mtM-mtN] ^ mag((s[kk]&mtUpperMask)|(s[kk+1]&mtLowerMask))
	}
	s[mtN-1] = s[mtM-1] ^ mag((s[mtN-1]&mtUpperMask)|(s[0]&mtLowerMask))
	m.index = 0
}

// Uint32 returns the next tempered 32-bit output (the reference genrand_int32).
func (m *MT19937) Uint32() uint32 {
	if !m.seeded {
		m.InitGenrand(5489)
	}
	if m.index >= mtN {
		m.twist()
	}
	y := m.state[m.index]
	m.index++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

// Float64 returns a double in [0, 1) with 53 random bits, built from two
// outputs a, b as (a>>5 * 2^26 + b>>6) / 2^53. Both CPython's random() and
// NumPy's random_sample() use this construction.
func (m *MT19937) Float64() float64 {
	a := m.Uint32() >> 5
	b := m.Uint32() >> 6
	return (float64(a)*67108864.0 + float64(b)) * (1.0 / 9007199254740992.0)
}
