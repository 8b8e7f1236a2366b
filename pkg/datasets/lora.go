package datasets

import "github.com/bsbench/bs/pkg/pyrand"

// pow is glibc's pow, which Python's float ** and NumPy's power call (Go's math.Pow can differ
// in the last bit).
var pow = pyrand.LibmFMA.Pow

// AssignLora picks a LoRA adapter for each of n prompts, in prompt order, with the reference's
// rule (--lora-request-distribution):
//
//   - "uniform": random.choice(names) on the Python stream, one draw per prompt;
//   - "distinct": round-robin through names, starting with the first;
//   - "skewed": Zipf weights alpha^-i for the i-th name (i from 0), normalised, one
//     numpy.random.choice(names, p=…) draw per prompt on the NumPy stream.
//
// The reference makes these draws while it dispatches requests, after the dataset is generated;
// bs-gen makes them right after generation, on the same streams, so with an infinite request rate
// (no arrival-time draws in between) the assignment is the reference's.
func AssignLora(rng RNG, n int, names []string, distribution string, alpha float64) []string {
	out := make([]string, n)
	if len(names) == 0 {
		return out
	}
	switch distribution {
	case "distinct":
		for i := range out {
			out[i] = names[i%len(names)]
		}
	case "skewed":
		w := make([]float64, len(names))
		for i := range w {
			w[i] = pow(alpha, float64(-i))
		}
		total := pairwiseSum(w)
		p := make([]float64, len(w))
		for i := range w {
			p[i] = w[i] / total
		}
		cdf := cumsumNormalised(p)
		for i := range out {
			out[i] = names[searchRight(cdf, rng.NP.RandomSample(1)[0])]
		}
	default:
		for i := range out {
			out[i] = names[rng.Py.Choice(len(names))]
		}
	}
	return out
}
