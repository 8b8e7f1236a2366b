package stats

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"testing"
)

// vectors.json comes from real NumPy (scripts/gen-stats-vectors.py).
type vectorFile struct {
	Numpy       string    `json:"numpy"`
	Percentiles []float64 `json:"percentiles"`
	Cases       []struct {
		Values []float64 `json:"values"`
		Gen    *struct {
			Kind string `json:"kind"`
			Seed uint64 `json:"seed"`
			N    int    `json:"n"`
		} `json:"gen"`
		Sum         float64      `json:"sum"`
		Mean        float64      `json:"mean"`
		Std         float64      `json:"std"`
		Median      float64      `json:"median"`
		Min         float64      `json:"min"`
		Max         float64      `json:"max"`
		Percentiles [][2]float64 `json:"percentiles"`
	} `json:"cases"`
}

// genArray re-creates the script's gen_array: splitmix64 integers turned into floats with exact
// IEEE operations only (float64(...) stops the compiler from fusing a multiply into an add).
func genArray(kind string, seed uint64, n int) []float64 {
	state := seed
	next := func() uint64 {
		state += 0x9E3779B97F4A7C15
		z := state
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
		z = (z ^ (z >> 27)) * 0x94D049BB133111EB
		return z ^ (z >> 31)
	}
	out := make([]float64, n)
	for i := range out {
		r := next()
		switch kind {
		case "unit":
			out[i] = float64(r>>11) * 0x1p-53
		case "latency":
			out[i] = float64(r>>32) / 1e9
		case "skewed":
			u := float64(r>>11) * 0x1p-53
			out[i] = 0.01 + float64(3.0*float64(float64(float64(u*u)*u)*u))
		case "ties":
			out[i] = float64(r%7) * 0.125
		default:
			panic(kind)
		}
	}
	return out
}

func same(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

func TestNumpyVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(raw, &vf); err != nil {
		t.Fatal(err)
	}
	if len(vf.Cases) < 50 {
		t.Fatalf("only %d cases", len(vf.Cases))
	}
	for i, c := range vf.Cases {
		xs := c.Values
		name := fmt.Sprintf("case%d/n=%d", i, len(xs))
		if c.Gen != nil {
			xs = genArray(c.Gen.Kind, c.Gen.Seed, c.Gen.N)
			name = fmt.Sprintf("%s/seed=%d/n=%d", c.Gen.Kind, c.Gen.Seed, c.Gen.N)
		}
		t.Run(name, func(t *testing.T) {
			check := func(what string, got, want float64) {
				t.Helper()
				if !same(got, want) {
					t.Errorf("%s = %.17g, numpy %.17g", what, got, want)
				}
			}
			check("sum", Sum(xs), c.Sum)
			check("mean", Mean(xs), c.Mean)
			check("std", Std(xs), c.Std)
			check("min", Min(xs), c.Min)
			check("max", Max(xs), c.Max)
			sorted := slices.Clone(xs)
			slices.Sort(sorted)
			check("median", Median(sorted), c.Median)
			for _, pv := range c.Percentiles {
				check(fmt.Sprintf("p%v", pv[0]), Percentile(sorted, pv[0]), pv[1])
			}
			var extra []float64
			for _, pv := range c.Percentiles {
				extra = append(extra, pv[0])
			}
			d := Describe(slices.Clone(xs), extra)
			check("Describe.mean", d.Mean, c.Mean)
			check("Describe.std", d.Std, c.Std)
			check("Describe.median", d.Median, c.Median)
			for j, q := range d.Percentiles {
				check(fmt.Sprintf("Describe.p%v", q.P), q.V, c.Percentiles[j][1])
			}
			if d.Count != len(xs) || d.Empty {
				t.Errorf("count %d empty %v", d.Count, d.Empty)
			}
		})
	}
}

func TestHandComputed(t *testing.T) {
	xs := []float64{4, 1, 3, 2}
	d := Describe(xs, []float64{50, 0, 100})
	// mean 2.5; population variance (2.25+0.25+0.25+2.25)/4 = 1.25; median (2+3)/2;
	// p90: index 0.9*3 = 2.7 → 3 + 0.7*(4-3) = 3.7 (t >= 0.5 form: 4 - 1*0.3).
	want := map[string]float64{"mean": 2.5, "std": math.Sqrt(1.25), "median": 2.5, "p90": 4 - 0.3*1, "min": 1, "max": 4}
	got := map[string]float64{"mean": d.Mean, "std": d.Std, "median": d.Median, "p90": d.P90, "min": d.Min, "max": d.Max}
	for k, w := range want {
		if !same(got[k], w) {
			t.Errorf("%s = %v, want %v", k, got[k], w)
		}
	}
	if d.Percentiles[0].V != 2.5 || d.Percentiles[1].V != 1 || d.Percentiles[2].V != 4 {
		t.Errorf("percentiles %+v", d.Percentiles)
	}
	if xs[0] != 1 || xs[3] != 4 {
		t.Errorf("Describe must leave min and max in place: %v", xs)
	}
}

func TestEmpty(t *testing.T) {
	d := Describe(nil, []float64{99.9})
	if !d.Empty || d.Count != 0 || d.Mean != 0 || d.Max != 0 || d.P99 != 0 || len(d.Percentiles) != 1 || d.Percentiles[0].V != 0 {
		t.Errorf("empty Dist = %+v", d)
	}
	for _, v := range []float64{Mean(nil), Std(nil), Median(nil), Percentile(nil, 50), Max(nil), Min(nil), Sum(nil)} {
		if v != 0 || math.IsNaN(v) {
			t.Errorf("empty statistic %v, want 0", v)
		}
	}
}

func BenchmarkDescribe100k(b *testing.B) {
	src := genArray("latency", 1, 100000)
	buf := make([]float64, len(src))
	for b.Loop() {
		copy(buf, src)
		Describe(buf, []float64{99.9})
	}
}
