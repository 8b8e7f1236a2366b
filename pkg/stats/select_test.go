package stats

import (
	"slices"
	"testing"
)

func TestSelectMatchesSort(t *testing.T) {
	for _, kind := range []string{"unit", "latency", "skewed", "ties"} {
		for _, n := range []int{1, 2, 3, 10, 25, 100, 1000, 10007, 100000} {
			xs := genArray(kind, uint64(n)*7+1, n)
			sorted := slices.Clone(xs)
			slices.Sort(sorted)
			// Also sorted and reverse-sorted inputs (classic quickselect worst cases).
			for v, in := range [][]float64{xs, slices.Clone(sorted), reversed(sorted)} {
				got := slices.Clone(in)
				ks := []int{0, n - 1, n / 2, n/2 - 1, n * 9 / 10, n*99/100 + 1, n / 3, -5, n + 3}
				Select(got, ks)
				for _, k := range ks {
					if k >= 0 && k < n && got[k] != sorted[k] {
						t.Fatalf("%s n=%d variant %d: xs[%d] = %v, sorted %v", kind, n, v, k, got[k], sorted[k])
					}
				}
				slices.Sort(got)
				if !slices.Equal(got, sorted) {
					t.Fatalf("%s n=%d: Select lost or changed values", kind, n)
				}
			}
		}
	}
}

func reversed(xs []float64) []float64 {
	out := slices.Clone(xs)
	slices.Reverse(out)
	return out
}

func BenchmarkSelect1M(b *testing.B) {
	src := genArray("latency", 3, 1_000_000)
	buf := make([]float64, len(src))
	ks := []int{0, 499999, 500000, 900000, 950000, 990000, 999999}
	for b.Loop() {
		copy(buf, src)
		Select(buf, ks)
	}
}

func BenchmarkSort1M(b *testing.B) {
	src := genArray("latency", 3, 1_000_000)
	buf := make([]float64, len(src))
	for b.Loop() {
		copy(buf, src)
		slices.Sort(buf)
	}
}
