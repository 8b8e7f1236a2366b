package pyrand

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"math"
	"math/big"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The vectors come from scripts/gen-pyrand-vectors.py (real CPython, NumPy
// and glibc). Keys mirror what that script writes.

type vecOp map[string]any

type vecCase struct {
	Name      string  `json:"name"`
	Seed      any     `json:"seed"`
	SeedStr   *string `json:"seed_str"`
	SeedArray []int64 `json:"seed_array"`
	SeedError string  `json:"seed_error"`
	Ops       []vecOp `json:"ops"`
}

type vecLong struct {
	Name   string   `json:"name"`
	N      int      `json:"n"`
	Count  int      `json:"count"`
	SHA256 string   `json:"sha256"`
	P      []string `json:"p"`
}

type vecLibm struct {
	Log struct {
		N       int        `json:"n"`
		SHA256  string     `json:"sha256"`
		First   [][]string `json:"first"`
		Special [][]string `json:"special"`
	} `json:"log"`
	Pow struct {
		N       int        `json:"n"`
		SHA256  string     `json:"sha256"`
		First   [][]string `json:"first"`
		Special [][]string `json:"special"`
	} `json:"pow"`
	NumpyLong []vecLong `json:"numpy_long"`
}

type vecFile struct {
	CPython    string             `json:"cpython"`
	Numpy      []vecCase          `json:"numpy"`
	NumpyVer   string             `json:"numpy_version"`
	Glibc      string             `json:"glibc"`
	Python     []vecCase          `json:"python"`
	PythonLong []vecLong          `json:"python_long"`
	NumpyLong  []vecLong          `json:"numpy_long"`
	Libm       map[string]vecLibm `json:"libm"`
}

var vectorsCache *vecFile

func loadVectors(t testing.TB) *vecFile {
	t.Helper()
	if vectorsCache != nil {
		return vectorsCache
	}
	const path = "testdata/vectors.json"
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v vecFile
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	if len(v.Python) == 0 || len(v.Numpy) == 0 || len(v.Libm) != 2 {
		t.Fatalf("%s: missing sections (python %d, numpy %d, libm %d)", path, len(v.Python), len(v.Numpy), len(v.Libm))
	}
	vectorsCache = &v
	return vectorsCache
}

// ---- decoding helpers

func parseHexFloat(t testing.TB, s string) float64 {
	t.Helper()
	switch s {
	case "inf":
		return math.Inf(1)
	case "-inf":
		return math.Inf(-1)
	case "nan":
		return math.NaN()
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("bad float %q in vectors: %v", s, err)
	}
	return f
}

func (o vecOp) str(t testing.TB, key string) string {
	t.Helper()
	v, ok := o[key]
	if !ok {
		t.Fatalf("op %v: missing %q", o["op"], key)
	}
	switch x := v.(type) {
	case json.Number:
		return x.String()
	case string:
		return x
	}
	t.Fatalf("op %v: %q is %T", o["op"], key, v)
	return ""
}

func (o vecOp) i64(t testing.TB, key string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(o.str(t, key), 10, 64)
	if err != nil {
		t.Fatalf("op %v: %q: %v", o["op"], key, err)
	}
	return n
}

func (o vecOp) u64(t testing.TB, key string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(o.str(t, key), 10, 64)
	if err != nil {
		t.Fatalf("op %v: %q: %v", o["op"], key, err)
	}
	return n
}

func (o vecOp) int(t testing.TB, key string) int { return int(o.i64(t, key)) }

func (o vecOp) f64(t testing.TB, key string) float64 { return parseHexFloat(t, o.str(t, key)) }

func (o vecOp) list(t testing.TB, key string) []string {
	t.Helper()
	raw, ok := o[key].([]any)
	if !ok {
		t.Fatalf("op %v: %q is not a list", o["op"], key)
	}
	out := make([]string, len(raw))
	for i, v := range raw {
		switch x := v.(type) {
		case json.Number:
			out[i] = x.String()
		case string:
			out[i] = x
		default:
			t.Fatalf("op %v: %q[%d] is %T", o["op"], key, i, v)
		}
	}
	return out
}

func (o vecOp) floats(t testing.TB, key string) []float64 {
	t.Helper()
	s := o.list(t, key)
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = parseHexFloat(t, v)
	}
	return out
}

func ints[T ~int | ~int64 | ~uint64](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = fmt.Sprint(x)
	}
	return out
}

// must unwraps a (value, error) pair in tests; an error here is a test bug or
// a regression, and the panic fails the test with a stack trace.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func checkInts(t testing.TB, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: value %d: got %s, want %s\n got  %v\n want %v", what, i, got[i], want[i], got, want)
		}
	}
}

func sameFloat(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Float64bits(a) == math.Float64bits(b)
}

func checkFloats(t testing.TB, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !sameFloat(got[i], want[i]) {
			t.Fatalf("%s: value %d: got %x (%v), want %x (%v)", what, i, got[i], got[i], want[i], want[i])
		}
	}
}

// digest mirrors the generator's Hasher.
type digest struct {
	h hash.Hash
	n int
}

func newDigest() *digest { return &digest{h: sha256.New()} }

func (d *digest) u(v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	d.h.Write(b[:])
	d.n++
}

func (d *digest) f(x float64) {
	if math.IsNaN(x) {
		d.u(0x7ff8000000000000)
		return
	}
	d.u(math.Float64bits(x))
}

func (d *digest) i(v int64) { d.u(uint64(v)) }

func (d *digest) sum() string { return hex.EncodeToString(d.h.Sum(nil)) }

// ---- Python random

func seedPython(t testing.TB, c vecCase) *Random {
	t.Helper()
	r := &Random{}
	switch {
	case c.SeedStr != nil:
		r.SeedString(*c.SeedStr)
	default:
		s := fmt.Sprint(c.Seed)
		b, ok := new(big.Int).SetString(s, 10)
		if !ok {
			t.Fatalf("%s: bad seed %q", c.Name, s)
		}
		r.SeedBig(b)
		if b.IsInt64() {
			// Seed(int64) must agree with SeedBig.
			x, y := r.mt, NewRandom(b.Int64()).mt // copies: r itself is not advanced
			for i := 0; i < 5; i++ {
				if x.Uint32() != y.Uint32() {
					t.Fatalf("%s: Seed and SeedBig disagree", c.Name)
				}
			}
		}
	}
	return r
}

func runPythonOp(t *testing.T, r *Random, o vecOp) {
	t.Helper()
	op := o.str(t, "op")
	what := fmt.Sprintf("%s %v", op, o)
	if len(what) > 160 {
		what = what[:160]
	}
	switch op {
	case "random":
		got := make([]float64, o.int(t, "n"))
		for i := range got {
			got[i] = r.Random()
		}
		checkFloats(t, what, got, o.floats(t, "out"))
	case "uniform":
		a, b := o.f64(t, "a"), o.f64(t, "b")
		got := make([]float64, o.int(t, "n"))
		for i := range got {
			got[i] = r.Uniform(a, b)
		}
		checkFloats(t, what, got, o.floats(t, "out"))
	case "getrandbits":
		k := o.int(t, "k")
		got := make([]string, o.int(t, "n"))
		for i := range got {
			if k <= 64 {
				got[i] = fmt.Sprint(must(r.GetRandBits(k)))
			} else {
				got[i] = must(r.GetRandBitsBig(k)).String()
			}
		}
		checkInts(t, what, got, o.list(t, "out"))
	case "randbelow":
		m := o.u64(t, "m")
		got := make([]uint64, o.int(t, "n"))
		for i := range got {
			got[i] = must(r.RandBelow(m))
		}
		checkInts(t, what, ints(got), o.list(t, "out"))
	case "randrange":
		a, b, s := o.i64(t, "start"), o.i64(t, "stop"), o.i64(t, "step")
		got := make([]int64, o.int(t, "n"))
		for i := range got {
			got[i] = must(r.RandRange(a, b, s))
		}
		checkInts(t, what, ints(got), o.list(t, "out"))
	case "randint":
		a, b := o.i64(t, "a"), o.i64(t, "b")
		got := make([]int64, o.int(t, "n"))
		for i := range got {
			got[i] = must(r.RandInt(a, b))
		}
		checkInts(t, what, ints(got), o.list(t, "out"))
	case "choice":
		m := o.int(t, "m")
		pop := make([]int, m)
		for i := range pop {
			pop[i] = i
		}
		got := make([]int, o.int(t, "n"))
		for i := range got {
			got[i] = must(Choice(r, pop))
		}
		checkInts(t, what, ints(got), o.list(t, "out"))
	case "shuffle":
		x := make([]int, o.int(t, "m"))
		for i := range x {
			x[i] = i
		}
		Shuffle(r, x)
		checkInts(t, what, ints(x), o.list(t, "out"))
	case "choices":
		m := o.int(t, "m")
		pop := make([]int, m)
		for i := range pop {
			pop[i] = i
		}
		checkInts(t, what, ints(must(Choices(r, pop, o.int(t, "k")))), o.list(t, "out"))
	case "choices_weights":
		w := o.floats(t, "weights")
		checkInts(t, what, ints(must(r.ChoicesIndexWeighted(w, o.int(t, "k")))), o.list(t, "out"))
	case "choices_cum":
		c := o.floats(t, "cum")
		pop := make([]int, len(c))
		for i := range pop {
			pop[i] = i
		}
		checkInts(t, what, ints(must(ChoicesCumWeighted(r, pop, c, o.int(t, "k")))), o.list(t, "out"))
	case "sample":
		m := o.int(t, "m")
		pop := make([]int, m)
		for i := range pop {
			pop[i] = i
		}
		checkInts(t, what, ints(must(Sample(r, pop, o.int(t, "k")))), o.list(t, "out"))
	default:
		t.Fatalf("unknown python op %q", op)
	}
}

func TestPythonVectors(t *testing.T) {
	v := loadVectors(t)
	for _, c := range v.Python {
		t.Run(c.Name, func(t *testing.T) {
			if len(c.Ops) == 0 {
				t.Fatal("case without ops")
			}
			r := seedPython(t, c)
			for _, o := range c.Ops {
				runPythonOp(t, r, o)
			}
		})
	}
}

func TestPythonLongRuns(t *testing.T) {
	v := loadVectors(t)
	if len(v.PythonLong) != 4 {
		t.Fatalf("want 4 python long runs, have %d", len(v.PythonLong))
	}
	for _, l := range v.PythonLong {
		t.Run(l.Name, func(t *testing.T) {
			r := NewRandom(42)
			d := newDigest()
			switch l.Name {
			case "random":
				for i := 0; i < l.N; i++ {
					d.f(r.Random())
				}
			case "shuffle":
				x := make([]int64, l.N)
				for i := range x {
					x[i] = int64(i)
				}
				Shuffle(r, x)
				for _, e := range x {
					d.i(e)
				}
			case "choices":
				for _, e := range must(r.ChoicesIndex(151643, l.N)) {
					d.i(int64(e))
				}
			case "randbelow":
				for i := 0; i < l.N; i++ {
					n := 1 + (uint64(i)*2654435761)%(1<<40)
					d.u(must(r.RandBelow(n)))
				}
			default:
				t.Fatalf("unknown long run %q", l.Name)
			}
			if d.n != l.Count || d.sum() != l.SHA256 {
				t.Fatalf("%d values, sha256 %s; want %d values, %s", d.n, d.sum(), l.Count, l.SHA256)
			}
		})
	}
}

// ---- NumPy

func runNumpyOp(t *testing.T, s *RandomState, o vecOp) {
	t.Helper()
	op := o.str(t, "op")
	what := fmt.Sprintf("%s %v", op, o)
	if len(what) > 160 {
		what = what[:160]
	}
	nf := func(f func() (float64, error)) []float64 {
		out := make([]float64, o.int(t, "n"))
		for i := range out {
			out[i] = must(f())
		}
		return out
	}
	switch op {
	case "random_sample":
		checkFloats(t, what, s.RandomSampleN(o.int(t, "n")), o.floats(t, "out"))
	case "randint":
		lo, hi, n := o.i64(t, "low"), o.i64(t, "high"), o.int(t, "n")
		var got []int64
		if n == 1 {
			got = []int64{must(s.Randint(lo, hi))}
		} else {
			got = must(s.RandintN(lo, hi, n))
		}
		checkInts(t, what, ints(got), o.list(t, "out"))
	case "exponential":
		scale := o.f64(t, "scale")
		checkFloats(t, what, nf(func() (float64, error) { return s.Exponential(scale) }), o.floats(t, "out"))
	case "standard_exponential":
		checkFloats(t, what, nf(func() (float64, error) { return s.StandardExponential(), nil }), o.floats(t, "out"))
	case "normal":
		loc, scale := o.f64(t, "loc"), o.f64(t, "scale")
		checkFloats(t, what, nf(func() (float64, error) { return s.Normal(loc, scale) }), o.floats(t, "out"))
	case "standard_normal":
		checkFloats(t, what, nf(func() (float64, error) { return s.StandardNormal(), nil }), o.floats(t, "out"))
	case "gamma":
		shape, scale := o.f64(t, "shape"), o.f64(t, "scale")
		checkFloats(t, what, nf(func() (float64, error) { return s.Gamma(shape, scale) }), o.floats(t, "out"))
	case "standard_gamma":
		shape := o.f64(t, "shape")
		checkFloats(t, what, nf(func() (float64, error) { return s.StandardGamma(shape) }), o.floats(t, "out"))
	case "uniform":
		lo, hi := o.f64(t, "low"), o.f64(t, "high")
		checkFloats(t, what, nf(func() (float64, error) { return s.Uniform(lo, hi) }), o.floats(t, "out"))
	case "choice_p":
		checkInts(t, what, ints(must(s.ChoiceP(o.floats(t, "p"), o.int(t, "n")))), o.list(t, "out"))
	case "choice":
		checkInts(t, what, ints(must(s.Choice(o.int(t, "m"), o.int(t, "n")))), o.list(t, "out"))
	case "choice_noreplace":
		checkInts(t, what, ints(must(s.ChoiceNoReplace(o.int(t, "m"), o.int(t, "n"), nil))), o.list(t, "out"))
	case "choice_noreplace_p":
		p := o.floats(t, "p")
		checkInts(t, what, ints(must(s.ChoiceNoReplace(len(p), o.int(t, "n"), p))), o.list(t, "out"))
	case "permutation":
		checkInts(t, what, ints(s.Permutation(o.int(t, "m"))), o.list(t, "out"))
	default:
		t.Fatalf("unknown numpy op %q", op)
	}
}

func TestNumpyVectors(t *testing.T) {
	v := loadVectors(t)
	errs := 0
	for _, c := range v.Numpy {
		t.Run(c.Name, func(t *testing.T) {
			s := &RandomState{}
			switch {
			case c.SeedError != "":
				errs++
				b, ok := new(big.Int).SetString(c.SeedError, 10)
				if !ok {
					t.Fatalf("bad seed %q", c.SeedError)
				}
				if b.IsInt64() {
					if _, err := NewRandomState(b.Int64()); err == nil {
						t.Fatalf("seed %s accepted; NumPy rejects it", c.SeedError)
					} else if !strings.Contains(err.Error(), "2**32 - 1") {
						t.Fatalf("seed %s: error %q does not name the range", c.SeedError, err)
					}
				}
				return
			case c.SeedArray != nil:
				if err := s.SeedArray(c.SeedArray); err != nil {
					t.Fatal(err)
				}
			default:
				seed, err := strconv.ParseInt(fmt.Sprint(c.Seed), 10, 64)
				if err != nil {
					t.Fatalf("bad seed %v", c.Seed)
				}
				s = must(NewRandomState(seed))
			}
			if len(c.Ops) == 0 {
				t.Fatal("case without ops")
			}
			for _, o := range c.Ops {
				runNumpyOp(t, s, o)
			}
		})
	}
	if errs == 0 {
		t.Fatal("no rejected-seed cases in vectors")
	}
}

func zipfP(t testing.TB, l vecLong) []float64 {
	t.Helper()
	if len(l.P) == 0 {
		t.Fatalf("%s: no p in vectors", l.Name)
	}
	p := make([]float64, len(l.P))
	for i, s := range l.P {
		p[i] = parseHexFloat(t, s)
	}
	return p
}

func runNumpyLong(t *testing.T, l vecLong, libm Libm) {
	s := must(NewRandomState(42))
	s.SetLibm(libm)
	d := newDigest()
	switch l.Name {
	case "random_sample":
		for i := 0; i < l.N; i++ {
			d.f(s.RandomSample())
		}
	case "randint 0 151643":
		for _, v := range must(s.RandintN(0, 151643, l.N)) {
			d.i(v)
		}
	case "randint 0 2^40":
		for _, v := range must(s.RandintN(0, 1<<40, l.N)) {
			d.i(v)
		}
	case "choice_p zipf 50":
		for _, v := range must(s.ChoiceP(zipfP(t, l), l.N)) {
			d.i(int64(v))
		}
	case "permutation":
		for _, v := range s.Permutation(l.N) {
			d.i(int64(v))
		}
	case "exponential 1/16":
		for _, v := range must(s.ExponentialN(1.0/16, l.N)) {
			d.f(v)
		}
	case "gamma 0.5", "gamma 4":
		shape := 0.5
		if l.Name == "gamma 4" {
			shape = 4
		}
		for i := 0; i < l.N; i++ {
			d.f(must(s.Gamma(shape, 1.0)))
		}
	case "normal":
		for i := 0; i < l.N; i++ {
			d.f(must(s.Normal(0, 1)))
		}
	default:
		t.Fatalf("unknown long run %q", l.Name)
	}
	if d.n != l.Count || d.sum() != l.SHA256 {
		t.Fatalf("%d values, sha256 %s; want %d values, %s", d.n, d.sum(), l.Count, l.SHA256)
	}
}

func TestNumpyLongRuns(t *testing.T) {
	v := loadVectors(t)
	if len(v.NumpyLong) < 9 {
		t.Fatalf("want 9 numpy long runs, have %d", len(v.NumpyLong))
	}
	for _, l := range v.NumpyLong {
		t.Run(l.Name, func(t *testing.T) { runNumpyLong(t, l, LibmFMA) })
	}
	for _, name := range []string{"fma", "generic"} {
		sec := v.Libm[name]
		lm := map[string]Libm{"fma": LibmFMA, "generic": LibmGeneric}[name]
		if len(sec.NumpyLong) == 0 {
			t.Fatalf("libm %s: no numpy runs", name)
		}
		for _, l := range sec.NumpyLong {
			t.Run(name+"/"+l.Name, func(t *testing.T) { runNumpyLong(t, l, lm) })
		}
	}
}

// ---- libm

// logInputs rebuilds the generator's log_inputs.
func logInputs(n int) []float64 {
	r := NewRandom(2024)
	xs := make([]float64, n)
	for i := range xs {
		switch i % 3 {
		case 0:
			xs[i] = 1.0 - r.Random()
		case 1:
			xs[i] = math.Float64frombits(r.getrandbits(63))
		default:
			xs[i] = 1.0 + float64((r.Random()-0.5)*0.25)
		}
	}
	return xs
}

// powInputs rebuilds the generator's pow_inputs.
func powInputs(n int) [][2]float64 {
	r := NewRandom(2025)
	out := make([][2]float64, n)
	for i := range out {
		var x, y float64
		switch i % 5 {
		case 0:
			x = r.Random()
			y = 1.0 / (0.01 + float64(0.99*r.Random()))
		case 1:
			x = 0.3 + float64(2.7*r.Random())
			y = 1.0 + float64(19.0*r.Random())
		case 2:
			x = math.Float64frombits(r.getrandbits(63))
			y = float64((r.Random() - 0.5) * 10.0)
		case 3:
			m := 1.0 + r.Random()
			e, _ := r.RandRange(1, 30, 1)
			x = math.Ldexp(m, -int(e))
			y = 1.0 + float64(59.0*r.Random())
		default:
			x = -(0.1 + float64(9.9*r.Random()))
			if r.Random() < 0.8 {
				k, _ := r.RandRange(-40, 41, 1)
				y = float64(k)
			} else {
				y = float64((r.Random() - 0.5) * 8.0)
			}
		}
		out[i] = [2]float64{x, y}
	}
	return out
}

func TestLibmVectors(t *testing.T) {
	v := loadVectors(t)
	for name, lm := range map[string]Libm{"fma": LibmFMA, "generic": LibmGeneric} {
		sec, ok := v.Libm[name]
		if !ok {
			t.Fatalf("no libm section %q", name)
		}
		t.Run(name+"/log", func(t *testing.T) {
			xs := logInputs(sec.Log.N)
			for i, p := range sec.Log.First {
				x, want := parseHexFloat(t, p[0]), parseHexFloat(t, p[1])
				if !sameFloat(x, xs[i]) {
					t.Fatalf("input %d: rebuilt %x, generator had %x", i, xs[i], x)
				}
				if got := lm.Log(x); !sameFloat(got, want) {
					t.Fatalf("log(%x) = %x, want %x", x, got, want)
				}
			}
			for _, p := range sec.Log.Special {
				x, want := parseHexFloat(t, p[0]), parseHexFloat(t, p[1])
				if got := lm.Log(x); !sameFloat(got, want) {
					t.Fatalf("log(%x) = %x, want %x", x, got, want)
				}
			}
			d := newDigest()
			for _, x := range xs {
				d.f(lm.Log(x))
			}
			if d.sum() != sec.Log.SHA256 {
				t.Fatalf("log over %d inputs: sha256 %s, want %s", len(xs), d.sum(), sec.Log.SHA256)
			}
		})
		t.Run(name+"/pow", func(t *testing.T) {
			in := powInputs(sec.Pow.N)
			for i, p := range sec.Pow.First {
				x, y, want := parseHexFloat(t, p[0]), parseHexFloat(t, p[1]), parseHexFloat(t, p[2])
				if !sameFloat(x, in[i][0]) || !sameFloat(y, in[i][1]) {
					t.Fatalf("input %d: rebuilt (%x, %x), generator had (%x, %x)", i, in[i][0], in[i][1], x, y)
				}
				if got := lm.Pow(x, y); !sameFloat(got, want) {
					t.Fatalf("pow(%x, %x) = %x, want %x", x, y, got, want)
				}
			}
			for _, p := range sec.Pow.Special {
				x, y, want := parseHexFloat(t, p[0]), parseHexFloat(t, p[1]), parseHexFloat(t, p[2])
				if got := lm.Pow(x, y); !sameFloat(got, want) {
					t.Fatalf("pow(%x, %x) = %x, want %x", x, y, got, want)
				}
			}
			d := newDigest()
			for _, xy := range in {
				d.f(lm.Pow(xy[0], xy[1]))
			}
			if d.sum() != sec.Pow.SHA256 {
				t.Fatalf("pow over %d inputs: sha256 %s, want %s", len(in), d.sum(), sec.Pow.SHA256)
			}
		})
	}
}
