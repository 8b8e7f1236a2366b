// Package stats computes summary statistics exactly as NumPy does, bit for bit: np.sum (pairwise
// summation), np.mean, np.median, np.std (population, ddof=0), np.percentile with the default "linear"
// method, np.min and np.max. The reference benchmark (SGLang bench_serving) reports these NumPy
// functions, so reproducing its numbers needs NumPy's exact order of floating-point operations, not
// just the same formulas. scripts/gen-stats-vectors.py produces the test vectors from real NumPy.
//
// Functions that need sorted data say so; Describe partitions its input in place once (Select).
package stats

import (
	"math"
	"slices"

	"github.com/bsbench/bs/pkg/records"
)

// pwBlock is NumPy's PW_BLOCKSIZE: below it a block is summed with 8 interleaved accumulators.
const pwBlock = 128

// pairwise is NumPy's DOUBLE_pairwise_sum (numpy/_core/src/umath/loops_utils.h.src).
func pairwise(a []float64) float64 {
	n := len(a)
	switch {
	case n < 8:
		res := math.Copysign(0, -1) // NumPy starts at -0.0 so that a sum of -0.0 stays -0.0
		for _, v := range a {
			res += v
		}
		return res
	case n <= pwBlock:
		var r [8]float64
		copy(r[:], a[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			r[0] += a[i]
			r[1] += a[i+1]
			r[2] += a[i+2]
			r[3] += a[i+3]
			r[4] += a[i+4]
			r[5] += a[i+5]
			r[6] += a[i+6]
			r[7] += a[i+7]
		}
		res := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			res += a[i]
		}
		return res
	default:
		n2 := n / 2
		n2 -= n2 % 8
		return pairwise(a[:n2]) + pairwise(a[n2:])
	}
}

// pairwiseSq is pairwise applied to (a[i]-mean)², without materialising the deviations (np.std does
// square(arr - mean) into a temporary array, then sums it with the same pairwise algorithm).
func pairwiseSq(a []float64, mean float64) float64 {
	// float64(...) forbids fusing the multiply into the following add (FMA), which NumPy does not do.
	sq := func(v float64) float64 { d := v - mean; return float64(d * d) }
	n := len(a)
	switch {
	case n < 8:
		res := math.Copysign(0, -1)
		for _, v := range a {
			res += sq(v)
		}
		return res
	case n <= pwBlock:
		var r [8]float64
		for j := range 8 {
			r[j] = sq(a[j])
		}
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := range 8 {
				r[j] += sq(a[i+j])
			}
		}
		res := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			res += sq(a[i])
		}
		return res
	default:
		n2 := n / 2
		n2 -= n2 % 8
		return pairwiseSq(a[:n2], mean) + pairwiseSq(a[n2:], mean)
	}
}

// Sum returns np.sum(xs) for a contiguous float64 array: the additive identity plus NumPy's pairwise
// sum of all elements. The sum of an empty slice is 0.
func Sum(xs []float64) float64 {
	return 0 + pairwise(xs)
}

// Mean returns np.mean(xs) (np.sum(xs) / len(xs)). It returns 0 for an empty slice, where NumPy would
// return NaN; callers that must tell the difference check len(xs).
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return Sum(xs) / float64(len(xs))
}

// Std returns np.std(xs), the population standard deviation (ddof=0), computed as NumPy does: the mean,
// then the pairwise sum of squared deviations divided by n, then the square root. It returns 0 for an
// empty slice.
func Std(xs []float64) float64 {
	n := len(xs)
	if n == 0 {
		return 0
	}
	mean := Sum(xs) / float64(n)
	return math.Sqrt((0 + pairwiseSq(xs, mean)) / float64(n))
}

// Median returns np.median of sorted data: the middle element, or np.mean of the two middle elements
// ((a+b)/2, which can differ in the last bit from Percentile(sorted, 50)). It returns 0 for empty data.
func Median(sorted []float64) float64 {
	n := len(sorted)
	switch {
	case n == 0:
		return 0
	case n%2 == 1:
		return sorted[n/2]
	}
	return Sum(sorted[n/2-1:n/2+1]) / 2
}

// Percentile returns np.percentile(sorted, p) with the default "linear" method, for p in [0, 100]:
// the virtual index (n-1)·(p/100) and NumPy's two-sided lerp between its neighbours. It returns 0 for
// empty data. Only the two neighbours need to be in sorted position (see Select).
func Percentile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	vi := float64(n-1) * (p / 100)
	lo, hi := pctIndices(n, p)
	if lo == hi {
		return sorted[lo]
	}
	return lerp(sorted[lo], sorted[hi], vi-float64(lo))
}

// lerp is NumPy's _lerp: a + (b-a)·t, but b - (b-a)·(1-t) when t >= 0.5.
func lerp(a, b, t float64) float64 {
	d := b - a
	if t >= 0.5 {
		return b - float64(d*(1-t)) // float64(): no fused multiply-add
	}
	return a + float64(d*t)
}

// Max returns the largest element (np.max), or 0 for empty data.
func Max(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return slices.Max(xs)
}

// Min returns the smallest element (np.min), or 0 for empty data.
func Min(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return slices.Min(xs)
}

// pctIndices returns the two order statistics Percentile reads for p.
func pctIndices(n int, p float64) (int, int) {
	vi := float64(n-1) * (p / 100)
	if vi >= float64(n-1) {
		return n - 1, n - 1
	}
	if vi < 0 {
		return 0, 0
	}
	lo := int(math.Floor(vi))
	return lo, lo + 1
}

// Describe summarises xs: count, mean, std, median, min, max, p90/p95/p99 and the extra percentiles
// asked for (each in [0, 100]). Mean and standard deviation are taken over xs in the given order (order
// changes the last bits of a pairwise sum, as in NumPy); then xs is partitioned in place (Select) so
// that every order statistic used, and those at the indices in also, sit where a sort would put them.
// An empty xs gives a Dist of zeros with Empty set, as the reference does for TTFT, TPOT and ITL
// (np.mean([] or 0) = 0).
func Describe(xs []float64, extra []float64, also ...int) records.Dist {
	d := records.Dist{Count: len(xs)}
	n := len(xs)
	if n == 0 {
		d.Empty = true
		for _, p := range extra {
			d.Percentiles = append(d.Percentiles, records.Quantile{P: p})
		}
		return d
	}
	d.Mean = Mean(xs)
	d.Std = Std(xs)
	ks := append([]int{0, n - 1, n/2 - 1, n / 2}, also...)
	for _, p := range append([]float64{90, 95, 99}, extra...) {
		lo, hi := pctIndices(n, p)
		ks = append(ks, lo, hi)
	}
	Select(xs, ks)
	d.Median = Median(xs)
	d.P90 = Percentile(xs, 90)
	d.P95 = Percentile(xs, 95)
	d.P99 = Percentile(xs, 99)
	d.Min = xs[0]
	d.Max = xs[n-1]
	for _, p := range extra {
		d.Percentiles = append(d.Percentiles, records.Quantile{P: p, V: Percentile(xs, p)})
	}
	return d
}
