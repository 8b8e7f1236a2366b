package datasets

import "math"

// RandomLens draws n lengths the way the reference does (compute_random_lens): integers uniform on
// the closed range [max(floor(full*ratio), 1), full] from NumPy's legacy randint. A non-positive
// full length gives n zeros and draws nothing (the embedding case).
func RandomLens(np NPRNG, full int, ratio float64, n int) []int {
	out := make([]int, n)
	if full <= 0 || n == 0 {
		return out
	}
	lo := int64(math.Floor(float64(full) * ratio))
	if lo < 1 {
		lo = 1
	}
	for i, v := range np.Randint(lo, int64(full)+1, n) {
		out[i] = int(v)
	}
	return out
}
