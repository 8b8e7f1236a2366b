package stats

import (
	"math/bits"
	"slices"
)

// Select partially sorts xs in place so that, for every index k in ks, xs[k] holds the value a full
// sort would put there (NumPy's np.partition with several kth). Indices outside [0, len(xs)) are
// ignored. It is a three-way-partition multiselect: about n·log2(len(ks)) comparisons instead of a
// sort's n·log2(n), linear in the common case of many equal values, and it falls back to sorting a
// part that keeps partitioning badly (introselect), so the worst case stays O(n log n).
func Select(xs []float64, ks []int) {
	want := make([]int, 0, len(ks))
	for _, k := range ks {
		if k >= 0 && k < len(xs) {
			want = append(want, k)
		}
	}
	slices.Sort(want)
	want = slices.Compact(want)
	if len(want) == 0 {
		return
	}
	rng := uint64(0x9E3779B97F4A7C15)
	multiselect(xs, want, 0, 3*bits.Len(uint(len(xs))), &rng)
}

// multiselect places the values of the sorted, distinct indices ks (relative to a) in their sorted
// positions.
// Pivots are the median of three pseudo-random elements (xorshift), so structured inputs (sorted,
// sawtooth) do not degrade it; the output values do not depend on the pivots.
func multiselect(a []float64, ks []int, base, depth int, rng *uint64) {
	for len(ks) > 0 {
		n := len(a)
		if n <= 24 || depth == 0 {
			slices.Sort(a)
			return
		}
		depth--
		pick := func() float64 {
			*rng ^= *rng << 13
			*rng ^= *rng >> 7
			*rng ^= *rng << 17
			return a[*rng%uint64(n)]
		}
		p := median3(pick(), pick(), pick())
		// Dutch national flag: a[:lt] < p, a[lt:gt] == p, a[gt:] > p.
		lt, i, gt := 0, 0, n
		for i < gt {
			switch v := a[i]; {
			case v < p:
				a[lt], a[i] = a[i], a[lt]
				lt++
				i++
			case v > p:
				gt--
				a[gt], a[i] = a[i], a[gt]
			default:
				i++
			}
		}
		// Split the wanted indices into left (< lt), done (in [lt, gt)) and right (>= gt).
		l := 0
		for l < len(ks) && ks[l]-base < lt {
			l++
		}
		r := l
		for r < len(ks) && ks[r]-base < gt {
			r++
		}
		if l > 0 {
			multiselect(a[:lt], ks[:l], base, depth, rng)
		}
		// Continue with the right part without recursion.
		a, ks, base = a[gt:], ks[r:], base+gt
	}
}

func median3(a, b, c float64) float64 {
	if a > b {
		a, b = b, a
	}
	if b > c {
		b = c
	}
	if a > b {
		return a
	}
	return b
}
