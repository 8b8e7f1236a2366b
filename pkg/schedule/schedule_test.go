package schedule

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bsbench/bs/pkg/pyrand"
)

func ms(f float64) time.Duration { return time.Duration(math.Round(f * 1e6)) }

var inf = math.Inf(1)

// TestTimesExact checks the schedules whose offsets are fully determined by the spec.
func TestTimesExact(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		spec Spec
		want []time.Duration
	}{
		// Rate inf sends every request at the start of the run.
		{"burst", 4, Spec{Rate: inf}, []time.Duration{0, 0, 0, 0}},
		// No requests, no schedule.
		{"empty", 0, Spec{Rate: 10}, nil},
		// One request is sent at once, whatever the rate.
		{"single", 1, Spec{Rate: 0.001}, []time.Duration{0}},
		// Burstiness inf means constant gaps of 1/rate: 10 req/s is one every 100 ms, starting at 0.
		{"constant", 4, Spec{Rate: 10, Burstiness: inf}, []time.Duration{0, ms(100), ms(200), ms(300)}},
		// A ramp over the run, by request index as vLLM: rate_i = 1 + (5−1)·i/4 for i = 1..4, so the
		// gaps are 1/2, 1/3, 1/4 and 1/5 s.
		{"ramp over the run", 5, Spec{Rate: 5, Burstiness: inf, RampUpStartRate: 1},
			[]time.Duration{0, ms(500), ms(500 + 1000.0/3), ms(500 + 1000.0/3 + 250), ms(500 + 1000.0/3 + 250 + 200)}},
		// A 1 s ramp from 2 to 4 req/s has Λ(t) = 2t + t² up to t = 1 (Λ = 3), then 4 req/s: arrival k
		// is at √(1+k) − 1 for k ≤ 3 and 1 + (k−3)/4 after.
		{"ramp over 1s", 6, Spec{Rate: 4, Burstiness: inf, RampUpStartRate: 2, RampUpDuration: time.Second},
			[]time.Duration{0, ms(1000 * (math.Sqrt(2) - 1)), ms(1000 * (math.Sqrt(3) - 1)), ms(1000), ms(1250), ms(1500)}},
		// Ramp down from 4 to 2 over 1 s: Λ(t) = 4t − t², Λ(1) = 3, so arrival k is at 2 − √(4−k) for
		// k ≤ 3 and then every 0.5 s.
		{"ramp down over 1s", 5, Spec{Rate: 2, Burstiness: inf, RampUpStartRate: 4, RampUpDuration: time.Second},
			[]time.Duration{0, ms(1000 * (2 - math.Sqrt(3))), ms(1000 * (2 - math.Sqrt(2))), ms(1000), ms(1500)}},
		// Trace replay: (ts − ts0)/1000 × slowdown, equal timestamps give equal offsets.
		{"trace slowdown 2", 4, Spec{Rate: inf, TraceMS: []float64{1000, 1500, 1500, 4000}, Slowdown: 2},
			[]time.Duration{0, time.Second, time.Second, 6 * time.Second}},
		// Trace replay at half the recorded gaps; the rate flag is ignored.
		{"trace speed-up", 3, Spec{Rate: 7, TraceMS: []float64{10, 11, 20}, Slowdown: 0.5},
			[]time.Duration{0, ms(0.5), ms(5)}},
		// Slowdown 0 means 1; only the first n timestamps are used.
		{"trace first n", 2, Spec{Rate: inf, TraceMS: []float64{5, 6.5, 100}},
			[]time.Duration{0, ms(1.5)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.spec.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			got := Times(tc.n, tc.spec)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d offsets %v, want %v", len(got), got, tc.want)
			}
			for i := range got {
				if d := got[i] - tc.want[i]; d < -1 || d > 1 { // 1 ns of rounding
					t.Errorf("offset %d = %v, want %v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// TestTimesRandom checks properties of the random schedules that hold for every seed: the first request
// is at 0, offsets never decrease, the same seed gives the same schedule and another seed another one.
func TestTimesRandom(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec Spec
	}{
		// Poisson at 50 req/s.
		{"poisson", Spec{Rate: 50, Seed: 42}},
		// Gamma gaps burstier than Poisson.
		{"gamma 0.25", Spec{Rate: 50, Burstiness: 0.25, Seed: 42}},
		// Gamma gaps more regular than Poisson.
		{"gamma 8", Spec{Rate: 50, Burstiness: 8, Seed: 42}},
		// Poisson ramped by index from 1 to 50 req/s.
		{"poisson ramp", Spec{Rate: 50, RampUpStartRate: 1, Seed: 42}},
		// Gamma ramped over 2 s of wall time.
		{"gamma timed ramp", Spec{Rate: 50, Burstiness: 2, RampUpStartRate: 5, RampUpDuration: 2 * time.Second, Seed: 42}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := Times(500, tc.spec)
			b := Times(500, tc.spec)
			if !slices.Equal(a, b) {
				t.Fatal("same seed gave different schedules")
			}
			if a[0] != 0 {
				t.Errorf("first offset %v, want 0", a[0])
			}
			for i := 1; i < len(a); i++ {
				if a[i] < a[i-1] {
					t.Fatalf("offset %d (%v) before offset %d (%v)", i, a[i], i-1, a[i-1])
				}
			}
			other := tc.spec
			other.Seed = 43
			if slices.Equal(a, Times(500, other)) {
				t.Error("seeds 42 and 43 gave the same schedule")
			}
			// A prefix of a longer schedule is the shorter schedule, when the rate does not depend on n.
			if tc.spec.RampUpStartRate == 0 || tc.spec.RampUpDuration > 0 {
				if !slices.Equal(Times(100, tc.spec), a[:100]) {
					t.Error("Times(100) is not a prefix of Times(500)")
				}
			}
		})
	}
}

// TestGapStatistics checks the mean and variance of the gaps over many draws. The bounds are 6 standard
// errors wide, and the draws are seeded, so the test is deterministic: it fails only if the
// distribution is wrong.
func TestGapStatistics(t *testing.T) {
	const n = 40001
	const rate = 100.0
	for _, tc := range []struct {
		name  string
		shape float64
	}{
		// Exponential gaps: mean 1/rate, squared coefficient of variation 1.
		{"poisson", 1},
		// Gamma shape 0.3: mean 1/rate, CV² = 1/0.3.
		{"gamma 0.3", 0.3},
		// Gamma shape 4: mean 1/rate, CV² = 1/4.
		{"gamma 4", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, seed := range []int64{1, 42, 1 << 40} {
				offs := Times(n, Spec{Rate: rate, Burstiness: tc.shape, Seed: seed})
				var sum, sum2 float64
				for i := 1; i < n; i++ {
					g := (offs[i] - offs[i-1]).Seconds()
					sum += g
					sum2 += g * g
				}
				m := float64(n - 1)
				mean := sum / m
				variance := sum2/m - mean*mean
				wantMean := 1 / rate
				wantVar := 1 / (rate * rate * tc.shape)
				se := math.Sqrt(wantVar / m)
				if math.Abs(mean-wantMean) > 6*se {
					t.Errorf("seed %d: mean gap %.6g s, want %.6g ± %.2g", seed, mean, wantMean, 6*se)
				}
				// The sample variance of m gamma(k, θ) draws has standard error √((μ₄ − σ⁴)/m) with
				// μ₄ = 3k(k+2)θ⁴ and σ² = kθ², that is σ²·√((2 + 6/k)/m).
				vse := wantVar * math.Sqrt((2+6/tc.shape)/m)
				if math.Abs(variance-wantVar) > 6*vse {
					t.Errorf("seed %d: gap variance %.6g, want %.6g ± %.2g", seed, variance, wantVar, 6*vse)
				}
			}
		})
	}
}

// TestRampShape checks that a ramp's achieved rate rises as specified: in each tenth of a 10 s ramp from
// 10 to 110 req/s the number of arrivals is close to the integral of the rate over that tenth.
func TestRampShape(t *testing.T) {
	spec := Spec{Rate: 110, RampUpStartRate: 10, RampUpDuration: 10 * time.Second, Seed: 7}
	r := ramp{s: 10, e: 110, d: 10}
	offs := Times(20000, spec)
	counts := make([]int, 10)
	for _, o := range offs[1:] {
		if s := int(o.Seconds()); s < 10 {
			counts[s]++
		}
	}
	for s, c := range counts {
		want := (r.rateAt(float64(s)) + r.rateAt(float64(s+1))) / 2 // integral over one second
		if math.Abs(float64(c)-want) > 6*math.Sqrt(want) {
			t.Errorf("second %d: %d arrivals, want %.0f ± %.0f", s, c, want, 6*math.Sqrt(want))
		}
	}
	// After the ramp the rate stays at 110 req/s.
	var after int
	for _, o := range offs {
		if o >= 10*time.Second && o < 20*time.Second {
			after++
		}
	}
	if math.Abs(float64(after)-1100) > 6*math.Sqrt(1100) {
		t.Errorf("after the ramp: %d arrivals in 10 s, want about 1100", after)
	}
}

func TestArrival(t *testing.T) {
	for _, tc := range []struct {
		spec Spec
		want string
	}{
		{Spec{Rate: inf}, ArrivalBurst},                        // the default
		{Spec{Rate: 5}, ArrivalPoisson},                        // burstiness 0 means 1
		{Spec{Rate: 5, Burstiness: 1}, ArrivalPoisson},         // burstiness 1 is Poisson
		{Spec{Rate: 5, Burstiness: 2}, ArrivalGamma},           // anything else finite is gamma
		{Spec{Rate: 5, Burstiness: inf}, ArrivalConstant},      // inf is constant
		{Spec{Rate: inf, TraceMS: []float64{1}}, ArrivalTrace}, // a trace wins over the rate
	} {
		if got := tc.spec.Arrival(); got != tc.want {
			t.Errorf("%+v: Arrival() = %q, want %q", tc.spec, got, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		spec Spec
		want string // substring of the error
	}{
		{Spec{Rate: 0}, "--request-rate"},                                     // zero rate
		{Spec{Rate: math.NaN()}, "--request-rate"},                            // NaN rate
		{Spec{Rate: 1, Burstiness: -1}, "--burstiness"},                       // negative shape
		{Spec{Rate: 1, RampUpStartRate: -1}, "--ramp-up-start-rate"},          // negative start rate
		{Spec{Rate: 1, RampUpDuration: time.Second}, "needs --ramp-up-start"}, // duration without start
		{Spec{Rate: inf, RampUpStartRate: 1}, "finite --request-rate"},        // ramp to inf
		{Spec{Rate: 1, Slowdown: -2}, "--slowdown-factor"},                    // negative slowdown
		{Spec{Rate: 1, Compat: "vllm"}, "unknown --compat"},                   // unknown compat
		{Spec{Rate: inf, TraceMS: []float64{2, 1}}, "trace timestamp 1"},      // unsorted trace
		{Spec{Rate: 1, Burstiness: 2, Compat: CompatSGLang}, "--burstiness"},  // not in the reference
		{Spec{Rate: 2, RampUpStartRate: 1, Compat: CompatSGLang}, "ramp-up"},  // not in the reference
	} {
		err := tc.spec.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: Validate() = %v, want an error containing %q", tc.spec, err, tc.want)
		}
	}
}

// With --compat sglang the gaps are NumPy's: np.random.seed(42); np.random.exponential(1/rate), one draw
// per gap, summed in order.
func TestCompatSGLang(t *testing.T) {
	spec := Spec{Rate: 1, Seed: 42, Compat: CompatSGLang}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	got := Times(4, spec)
	// np.random.seed(42); np.random.exponential(1.0) == 0.4692680899768591 (= −log(1 − 0.3745401188473625)).
	if got[0] != 0 || got[1] != 469268090 {
		t.Fatalf("offsets %v, want 0 then 469268090 ns", got)
	}
	rs, err := pyrand.NewRandomState(42)
	if err != nil {
		t.Fatal(err)
	}
	spec.Rate = 16
	got = Times(21, spec)
	sum := 0.0
	for i := 1; i < 21; i++ {
		g, _ := rs.Exponential(1.0 / 16)
		sum += g
		if got[i] != seconds(sum) {
			t.Fatalf("offset %d = %v, want %v", i, got[i], seconds(sum))
		}
	}
	if slices.Equal(got, Times(21, Spec{Rate: 16, Seed: 42})) {
		t.Error("compat and default generators gave the same schedule")
	}
	if err := (Spec{Rate: 1, Seed: -1, Compat: CompatSGLang}).Validate(); err == nil {
		t.Error("negative seed accepted with --compat sglang")
	}
}
