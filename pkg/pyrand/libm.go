package pyrand

import "math"

// Libm selects which build of glibc's log and pow the float distributions
// reproduce. NumPy's legacy exponential, gamma and normal draws call the C
// library's log and pow, and glibc (>= 2.28) picks one of two builds at load
// time. The builds agree on almost every input but differ in the last bit on
// roughly one input in ten thousand, and Go's math.Log differs from both far
// more often, so the algorithms are re-implemented here.
//
// Only the algorithm's rounding is reproduced; special values (NaN payloads,
// errno, floating-point exceptions) are not.
type Libm int

const (
	// LibmFMA reproduces glibc's FMA build (__log_fma, __pow_fma), which glibc
	// uses on x86-64 CPUs with FMA and AVX2 (Intel Haswell / AMD Zen and later).
	// This is the default.
	LibmFMA Libm = iota
	// LibmGeneric reproduces glibc's baseline x86-64 build, used on CPUs without
	// FMA or when GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2,-FMA is set.
	LibmGeneric
)

// String names the flavour.
func (l Libm) String() string {
	switch l {
	case LibmFMA:
		return "fma"
	case LibmGeneric:
		return "generic"
	}
	return "unknown"
}

// fma returns a*b+c, fused when the flavour's build fuses that expression and
// rounded twice otherwise.
func (l Libm) fma(a, b, c float64) float64 {
	if l == LibmFMA {
		return math.FMA(a, b, c)
	}
	return float64(a*b) + c
}

func top12(x float64) uint32 { return uint32(math.Float64bits(x) >> 52) }

// Log returns the natural logarithm of x exactly as glibc's log does in this
// flavour.
func (l Libm) Log(x float64) float64 {
	ix := math.Float64bits(x)
	top := uint32(ix >> 48)
	const (
		lo = 0x3fee000000000000 // bits of 1 - 0x1p-4
		hi = 0x3ff1090000000000 // bits of 1 + 0x1.09p-4
	)
	if ix-lo < hi-lo {
		// Close to 1: polynomial in r = x - 1, with the r^2 term split so that
		// it is added with extra precision.
		if ix == 0x3ff0000000000000 {
			return 0
		}
		B := &logPoly1
		r := x - 1.0
		r2 := float64(r * r)
		r3 := float64(r * r2)
		p3 := l.fma(r3, B[10], l.fma(r2, B[9], l.fma(r, B[8], B[7])))
		p2 := l.fma(r3, p3, l.fma(r2, B[6], l.fma(r, B[5], B[4])))
		p1 := l.fma(r3, p2, l.fma(r2, B[3], l.fma(r, B[2], B[1])))
		w := float64(r * 0x1p27)
		rhi := (r + w) - w
		rlo := r - rhi
		w = float64(float64(rhi*rhi) * B[0]) // exact: B[0] = -0.5
		h := r + w
		lw := (r - h) + w
		lw = l.fma(float64(B[0]*rlo), rhi+r, lw)
		y := l.fma(r3, p1, lw)
		return y + h
	}
	if top-0x0010 >= 0x7ff0-0x0010 {
		// Subnormal, zero, negative, infinite or NaN.
		switch {
		case ix<<1 == 0:
			return math.Inf(-1)
		case ix == 0x7ff0000000000000:
			return x
		case top&0x8000 != 0 || top&0x7ff0 == 0x7ff0:
			return math.NaN()
		}
		ix = math.Float64bits(x * 0x1p52)
		ix -= 52 << 52
	}
	// x = 2^k z with z in [0x1.6p-1, 0x1.6p0); log(x) = k ln2 + log(c) + log1p(z/c - 1).
	const off = 0x3fe6000000000000
	tmp := ix - off
	i := (tmp >> (52 - 7)) % 128
	k := int64(tmp) >> 52
	z := math.Float64frombits(ix - tmp&(0xfff<<52))
	invc, logc := logTab[i][0], logTab[i][1]
	var r float64
	if l == LibmFMA {
		r = math.FMA(z, invc, -1.0)
	} else {
		r = float64((z-logTab2[i][0])-logTab2[i][1]) * invc
	}
	kd := float64(k)
	w := l.fma(kd, logLn2Hi, logc)
	h := w + r
	lw := l.fma(kd, logLn2Lo, (w-h)+r)
	A := &logPoly
	r2 := float64(r * r)
	p := l.fma(r2, l.fma(r, A[4], A[3]), l.fma(r, A[2], A[1]))
	return l.fma(float64(r*r2), p, l.fma(r2, A[0], lw)) + h
}

// Pow returns x**y exactly as glibc's pow does in this flavour.
func (l Libm) Pow(x, y float64) float64 {
	var signBias uint64
	ix := math.Float64bits(x)
	iy := math.Float64bits(y)
	topx := top12(x)
	topy := top12(y)
	const one = 0x3ff0000000000000
	const inf = 0x7ff0000000000000
	if topx-0x001 >= 0x7ff-0x001 || (topy&0x7ff)-0x3be >= 0x43e-0x3be {
		// x is subnormal, zero, negative, infinite or NaN, or |y| is tiny, huge or NaN.
		if zeroInfNaN(iy) {
			switch {
			case iy<<1 == 0:
				return 1.0
			case ix == one:
				return 1.0
			case ix<<1 > inf<<1 || iy<<1 > inf<<1:
				return x + y
			case ix<<1 == one<<1:
				return 1.0
			case (ix<<1 < one<<1) == (iy>>63 == 0):
				return 0.0
			}
			return y * y
		}
		if zeroInfNaN(ix) {
			x2 := x * x
			if ix>>63 != 0 && checkInt(iy) == 1 {
				x2 = -x2
			}
			if iy>>63 != 0 {
				return 1 / x2
			}
			return x2
		}
		if ix>>63 != 0 {
			// Finite x < 0: only integral y has a real result.
			switch checkInt(iy) {
			case 0:
				return math.NaN()
			case 1:
				signBias = 0x800 << 7
			}
			ix &= 0x7fffffffffffffff
			topx &= 0x7ff
		}
		if (topy&0x7ff)-0x3be >= 0x43e-0x3be {
			if ix == one {
				return 1.0
			}
			if topy&0x7ff < 0x3be {
				// |y| < 2^-65: x^y ~= 1 + y*log(x).
				if ix > one {
					return 1.0 + y
				}
				return 1.0 - y
			}
			if (ix > one) == (topy < 0x800) {
				return math.Inf(1)
			}
			return 0
		}
		if topx == 0 {
			// Subnormal x: normalise so that the exponent becomes negative.
			ix = math.Float64bits(x * 0x1p52)
			ix &= 0x7fffffffffffffff
			ix -= 52 << 52
		}
	}
	hi, lo := l.powLog(ix)
	var ehi, elo float64
	if l == LibmFMA {
		ehi = float64(y * hi)
		elo = math.FMA(y, lo, math.FMA(y, hi, -ehi))
	} else {
		yhi := math.Float64frombits(iy & 0xfffffffff8000000)
		ylo := y - yhi
		lhi := math.Float64frombits(math.Float64bits(hi) & 0xfffffffff8000000)
		llo := (hi - lhi) + lo
		ehi = float64(yhi * lhi)
		elo = float64(ylo*lhi) + float64(y*llo)
	}
	return l.powExp(ehi, elo, signBias)
}

func zeroInfNaN(i uint64) bool { return i<<1-1 >= 0x7ff0000000000000<<1-1 }

// checkInt classifies y (as bits): 0 not an integer, 1 odd integer, 2 even integer.
func checkInt(iy uint64) int {
	e := int(iy >> 52 & 0x7ff)
	if e < 0x3ff {
		return 0
	}
	if e > 0x3ff+52 {
		return 2
	}
	if iy&(uint64(1)<<(0x3ff+52-e)-1) != 0 {
		return 0
	}
	if iy&(uint64(1)<<(0x3ff+52-e)) != 0 {
		return 1
	}
	return 2
}

// powLog returns log(x) as hi + lo with extra precision (x given as bits,
// positive and normal).
func (l Libm) powLog(ix uint64) (float64, float64) {
	const off = 0x3fe6955500000000
	tmp := ix - off
	i := (tmp >> (52 - 7)) % 128
	k := int64(tmp) >> 52
	iz := ix - tmp&(0xfff<<52)
	z := math.Float64frombits(iz)
	kd := float64(k)
	invc, logc, logctail := powLogTab[i][0], powLogTab[i][1], powLogTab[i][2]
	A := &powLogPoly
	var r, rhi, rlo float64
	if l == LibmFMA {
		r = math.FMA(z, invc, -1.0)
	} else {
		zhi := math.Float64frombits((iz + 1<<31) & 0xffffffff00000000)
		zlo := z - zhi
		rhi = float64(zhi*invc) - 1.0
		rlo = float64(zlo * invc)
		r = rhi + rlo
	}
	t1 := l.fma(kd, logLn2Hi, logc)
	t2 := t1 + r
	lo1 := l.fma(kd, logLn2Lo, logctail)
	lo2 := (t1 - t2) + r
	ar := float64(A[0] * r)
	ar2 := float64(r * ar)
	ar3 := float64(r * ar2)
	var hi, lo3, lo4 float64
	if l == LibmFMA {
		hi = t2 + ar2
		lo3 = math.FMA(ar, r, -ar2)
		lo4 = (t2 - hi) + ar2
	} else {
		arhi := float64(A[0] * rhi)
		arhi2 := float64(rhi * arhi)
		hi = t2 + arhi2
		lo3 = float64(rlo * (ar + arhi))
		lo4 = (t2 - hi) + arhi2
	}
	s := l.fma(ar2, l.fma(ar2, l.fma(r, A[6], A[5]), l.fma(r, A[4], A[3])), l.fma(r, A[2], A[1]))
	lo := l.fma(ar3, s, ((lo1+lo2)+lo3)+lo4)
	y := hi + lo
	return y, (hi - y) + lo
}

// powExp returns exp(x + xtail) with the sign given by signBias.
func (l Libm) powExp(x, xtail float64, signBias uint64) float64 {
	abstop := top12(x) & 0x7ff
	if abstop-top12(0x1p-54) >= top12(512.0)-top12(0x1p-54) {
		if abstop-top12(0x1p-54) >= 0x80000000 {
			// |x| tiny (or zero): the result is 1 up to rounding.
			one := 1.0 + x
			if signBias != 0 {
				return -one
			}
			return one
		}
		if abstop >= top12(1024.0) {
			if math.Float64bits(x)>>63 != 0 {
				if signBias != 0 {
					return math.Copysign(0, -1)
				}
				return 0
			}
			if signBias != 0 {
				return math.Inf(-1)
			}
			return math.Inf(1)
		}
		abstop = 0 // large |x|: handled by powExpSpecial
	}
	// exp(x) = 2^(k/128) * exp(r), |r| <= ln2/256.
	kd := l.fma(expInvLn2N, x, expShift)
	ki := math.Float64bits(kd)
	kd -= expShift
	r := l.fma(kd, expNegLn2LoN, l.fma(kd, expNegLn2HiN, x))
	r += xtail
	idx := 2 * (ki % 128)
	top := (ki + signBias) << (52 - 7)
	tail := math.Float64frombits(expTab[idx])
	sbits := expTab[idx+1] + top
	C := &expPoly
	r2 := float64(r * r)
	tmp := l.fma(float64(r2*r2), l.fma(r, C[3], C[2]), l.fma(r2, l.fma(r, C[1], C[0]), tail+r))
	if abstop == 0 {
		return l.powExpSpecial(tmp, sbits, ki)
	}
	scale := math.Float64frombits(sbits)
	return l.fma(scale, tmp, scale)
}

// powExpSpecial finishes exp when the scale may overflow or land in the
// subnormal range.
func (l Libm) powExpSpecial(tmp float64, sbits, ki uint64) float64 {
	if ki&0x80000000 == 0 {
		// k > 0: the exponent of scale may have overflowed by <= 460.
		sbits -= 1009 << 52
		scale := math.Float64frombits(sbits)
		return 0x1p1009 * l.fma(scale, tmp, scale)
	}
	// k < 0: round once before scaling into the subnormal range. glibc's FMA
	// build does not fuse these expressions.
	sbits += 1022 << 52
	scale := math.Float64frombits(sbits)
	st := float64(scale * tmp)
	y := scale + st
	if math.Abs(y) < 1.0 {
		one := 1.0
		if y < 0.0 {
			one = -1.0
		}
		lo := (scale - y) + st
		hi := one + y
		lo = ((one - hi) + y) + lo
		y = (hi + lo) - one
		if y == 0 {
			y = math.Float64frombits(sbits & 0x8000000000000000)
		}
	}
	return 0x1p-1022 * y
}
