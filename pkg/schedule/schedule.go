// Package schedule computes request arrival schedules for bs-fire: the absolute offset from the start of
// the run at which each request is due. Schedules are computed in full before the run starts, so a late
// send never shifts the requests after it (no drift), and they are pure functions of their Spec: the same
// Spec and count give the same offsets on every machine.
//
// Arrival processes (see Spec.Arrival):
//
//   - burst: every request at offset 0 (--request-rate inf).
//   - poisson: exponential gaps with mean 1/rate (burstiness 1, the default).
//   - gamma: gamma-distributed gaps with shape = burstiness and scale = 1/(rate·burstiness), so the mean
//     gap stays 1/rate and the variance is 1/(rate²·burstiness) — vLLM's --burstiness. Below 1 arrivals
//     are burstier than Poisson, above 1 more regular.
//   - constant: gaps of exactly 1/rate (burstiness +Inf, as in vLLM).
//   - trace: offsets taken from the prompts' timestamps: (ts − ts0)/1000 × slowdown seconds.
//
// A linear ramp-up (RampUpStartRate > 0) changes the rate from RampUpStartRate to Rate, either over the
// whole run by request index like vLLM's --ramp-up-strategy linear (RampUpDuration 0), or over the first
// RampUpDuration of wall time, after which the rate stays at Rate.
//
// The first request is always sent at offset 0 and the gap before request i (i ≥ 1) is the i-th draw,
// which is the order the reference (SGLang bench_serving) uses: it sends a row, then sleeps one
// exponential draw, then sends the next.
package schedule

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/bsbench/bs/pkg/pyrand"
)

// Compat values.
const (
	// CompatSGLang draws Poisson gaps like the reference: NumPy legacy RandomState.exponential(1/rate).
	CompatSGLang = "sglang"
)

// Arrival process names, as recorded in the event stream header (records.Run.Arrival).
const (
	ArrivalBurst    = "burst"
	ArrivalPoisson  = "poisson"
	ArrivalGamma    = "gamma"
	ArrivalConstant = "constant"
	ArrivalTrace    = "trace"
)

// Spec describes an arrival schedule.
type Spec struct {
	// Rate is the target request rate in requests per second; +Inf sends everything at offset 0.
	Rate float64
	// Burstiness is the gamma shape parameter. 0 means 1 (Poisson); +Inf means constant gaps.
	Burstiness float64
	// RampUpStartRate, when positive, enables a linear ramp from this rate to Rate.
	RampUpStartRate float64
	// RampUpDuration is the length of the ramp in wall time; 0 ramps over the whole run by request index.
	RampUpDuration time.Duration
	// TraceMS holds one timestamp in milliseconds per request when replaying a trace; when non-nil it
	// overrides Rate, Burstiness and the ramp. It must be in non-decreasing order.
	TraceMS []float64
	// Slowdown multiplies trace offsets (2 = half speed). 0 means 1.
	Slowdown float64
	// Seed seeds the random gaps.
	Seed int64
	// Compat is "" or CompatSGLang. With CompatSGLang, Poisson gaps are
	// np.random.exponential(1/rate) draws from a fresh NumPy legacy RandomState seeded with Seed
	// (pkg/pyrand). The reference seeds NumPy's global generator once and draws the dataset's random
	// lengths from it before the arrival gaps, so its gaps continue that stream; bs-fire cannot see
	// bs-gen's generator state and starts a fresh one, so its gaps equal the reference's only for
	// datasets that draw nothing from NumPy (sharegpt, custom), in every other case they are a
	// different (equally distributed) sequence.
	Compat string
}

func (s Spec) burstiness() float64 {
	if s.Burstiness == 0 {
		return 1
	}
	return s.Burstiness
}

func (s Spec) slowdown() float64 {
	if s.Slowdown == 0 {
		return 1
	}
	return s.Slowdown
}

// Arrival names the arrival process of the spec (one of the Arrival* constants).
func (s Spec) Arrival() string {
	switch b := s.burstiness(); {
	case s.TraceMS != nil:
		return ArrivalTrace
	case math.IsInf(s.Rate, 1) && s.RampUpStartRate == 0:
		return ArrivalBurst
	case math.IsInf(b, 1):
		return ArrivalConstant
	case b == 1:
		return ArrivalPoisson
	default:
		return ArrivalGamma
	}
}

// Validate reports a spec that Times cannot honour, naming the flag at fault.
func (s Spec) Validate() error {
	b := s.burstiness()
	switch {
	case math.IsNaN(s.Rate) || s.Rate <= 0:
		return fmt.Errorf("--request-rate must be positive or inf, got %v", s.Rate)
	case math.IsNaN(b) || b <= 0:
		return fmt.Errorf("--burstiness must be positive (1 = Poisson, inf = constant rate), got %v", s.Burstiness)
	case math.IsNaN(s.RampUpStartRate) || s.RampUpStartRate < 0 || math.IsInf(s.RampUpStartRate, 0):
		return fmt.Errorf("--ramp-up-start-rate must be a finite rate ≥ 0, got %v", s.RampUpStartRate)
	case s.RampUpDuration < 0:
		return fmt.Errorf("--ramp-up-duration must not be negative, got %v", s.RampUpDuration)
	case s.RampUpDuration > 0 && s.RampUpStartRate == 0:
		return errors.New("--ramp-up-duration needs --ramp-up-start-rate")
	case s.RampUpStartRate > 0 && math.IsInf(s.Rate, 1):
		return errors.New("a ramp-up needs a finite --request-rate to ramp up to")
	case math.IsNaN(s.Slowdown) || s.Slowdown < 0 || math.IsInf(s.Slowdown, 0):
		return fmt.Errorf("--slowdown-factor must be a finite number > 0, got %v", s.Slowdown)
	case s.Compat != "" && s.Compat != CompatSGLang:
		return fmt.Errorf("unknown --compat %q (want \"\" or %q)", s.Compat, CompatSGLang)
	}
	for i := 1; i < len(s.TraceMS); i++ {
		if s.TraceMS[i] < s.TraceMS[i-1] || math.IsNaN(s.TraceMS[i]) {
			return fmt.Errorf("trace timestamp %d (%v ms) is before the one preceding it (%v ms)", i, s.TraceMS[i], s.TraceMS[i-1])
		}
	}
	if s.Compat == CompatSGLang && s.TraceMS == nil && !math.IsInf(s.Rate, 1) {
		if b != 1 {
			return errors.New("--compat sglang draws Poisson gaps like the reference, which has no --burstiness")
		}
		if s.RampUpStartRate > 0 {
			return errors.New("--compat sglang draws Poisson gaps like the reference, which has no ramp-up")
		}
		if s.Seed < 0 || s.Seed > math.MaxUint32 {
			return fmt.Errorf("--compat sglang: --seed %d must be between 0 and 2**32 - 1, as NumPy's", s.Seed)
		}
	}
	return nil
}

// Times returns the send offset of each of n requests from the start of the run. The spec must pass
// Validate; with a trace, TraceMS must hold at least n timestamps.
func Times(n int, spec Spec) []time.Duration {
	if n <= 0 {
		return nil
	}
	out := make([]time.Duration, n)
	if spec.TraceMS != nil {
		ts0 := spec.TraceMS[0]
		k := spec.slowdown()
		for i := range out {
			out[i] = seconds((spec.TraceMS[i] - ts0) / 1000 * k)
		}
		return out
	}
	if math.IsInf(spec.Rate, 1) {
		return out // all zero
	}
	gap := spec.gaps()
	if spec.RampUpStartRate > 0 && spec.RampUpDuration > 0 {
		// Time-based ramp: draw arrivals of a unit-rate process and map them through the inverse of
		// the cumulative intensity Λ(t) = ∫₀ᵗ rate(s) ds.
		r := ramp{s: spec.RampUpStartRate, e: spec.Rate, d: spec.RampUpDuration.Seconds()}
		u := 0.0
		for i := 1; i < n; i++ {
			u += gap(1)
			out[i] = seconds(r.inverse(u))
		}
		return out
	}
	t := 0.0
	for i := 1; i < n; i++ {
		rate := spec.Rate
		if spec.RampUpStartRate > 0 {
			// Ramp over the run by request index, as vLLM: rate_i = start + (end − start)·i/(n−1).
			rate = spec.RampUpStartRate + (spec.Rate-spec.RampUpStartRate)*float64(i)/float64(max(n-1, 1))
		}
		t += gap(rate)
		out[i] = seconds(t)
	}
	return out
}

// gaps returns a generator of inter-arrival gaps, in seconds, at a given rate.
func (s Spec) gaps() func(rate float64) float64 {
	b := s.burstiness()
	if math.IsInf(b, 1) {
		return func(rate float64) float64 { return 1 / rate }
	}
	if s.Compat == CompatSGLang && b == 1 && s.RampUpStartRate == 0 {
		rs, err := pyrand.NewRandomState(s.Seed)
		if err != nil {
			panic(err) // excluded by Validate
		}
		return func(rate float64) float64 { // np.random.exponential(1/rate)
			g, err := rs.Exponential(1 / rate)
			if err != nil {
				panic(err) // rate > 0
			}
			return g
		}
	}
	rng := NewRand(s.Seed)
	if b == 1 {
		return func(rate float64) float64 { return rng.ExpFloat64() / rate }
	}
	// Gamma(shape = b, scale = 1/(rate·b)).
	return func(rate float64) float64 { return gamma(rng, b) / (rate * b) }
}

// NewRand returns the deterministic generator bs-fire uses for --seed: math/rand/v2 PCG seeded with
// (seed, 0x62732d66697265) — the second word is "bs-fire" in ASCII, so other tools seeded with the same
// --seed draw from a different stream.
func NewRand(seed int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x62732d66697265))
}

// gamma draws from Gamma(shape, 1) with Marsaglia and Tsang's method (ACM TOMS 26(3), 2000); for
// shape < 1 it draws Gamma(shape+1, 1) and multiplies by U^(1/shape).
func gamma(rng *rand.Rand, shape float64) float64 {
	if shape < 1 {
		u := rng.Float64()
		for u == 0 {
			u = rng.Float64()
		}
		return gamma(rng, shape+1) * math.Pow(u, 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x {
			return d * v
		}
		if u > 0 && math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}

// ramp is a rate that changes linearly from s to e over d seconds and stays at e afterwards.
type ramp struct{ s, e, d float64 }

// inverse returns the time t at which the cumulative intensity Λ(t) reaches u.
func (r ramp) inverse(u float64) float64 {
	if u <= 0 {
		return 0
	}
	full := (r.s + r.e) / 2 * r.d // Λ(d)
	if u >= full {
		return r.d + (u-full)/r.e
	}
	// Solve a·t² + s·t − u = 0 with a = (e − s)/(2d), in the form that is stable when a is small or s is 0.
	a := (r.e - r.s) / (2 * r.d)
	return 2 * u / (r.s + math.Sqrt(r.s*r.s+4*a*u))
}

// RateAt returns the ramp's rate at offset t (for tests and progress display).
func (r ramp) rateAt(t float64) float64 {
	if t >= r.d {
		return r.e
	}
	return r.s + (r.e-r.s)*t/r.d
}

func seconds(s float64) time.Duration {
	return time.Duration(math.Round(s * 1e9))
}
