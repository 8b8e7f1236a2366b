package pyrand

import (
	"math"
	"testing"
)

var (
	sinkF float64
	sinkI int64
)

func BenchmarkMT19937Uint32(b *testing.B) {
	var m MT19937
	m.InitGenrand(42)
	var x uint32
	for b.Loop() {
		x ^= m.Uint32()
	}
	sinkI = int64(x)
}

func BenchmarkNumpyRandint(b *testing.B) {
	s, _ := NewRandomState(42)
	for b.Loop() {
		v, _ := s.Randint(0, 151643)
		sinkI += v
	}
}

func BenchmarkNumpyRandint64Bit(b *testing.B) {
	s, _ := NewRandomState(42)
	for b.Loop() {
		v, _ := s.Randint(0, 1<<40)
		sinkI += v
	}
}

func BenchmarkNumpyExponential(b *testing.B) {
	s, _ := NewRandomState(42)
	for b.Loop() {
		v, _ := s.Exponential(1.0 / 16)
		sinkF += v
	}
}

func BenchmarkNumpyGamma4(b *testing.B) {
	s, _ := NewRandomState(42)
	for b.Loop() {
		v, _ := s.Gamma(4, 1)
		sinkF += v
	}
}

func BenchmarkNumpyChoiceP(b *testing.B) {
	s, _ := NewRandomState(42)
	p := []float64{0.5, 0.25, 0.125, 0.125}
	for b.Loop() {
		v, _ := s.ChoiceP(p, 1)
		sinkI += int64(v[0])
	}
}

// BenchmarkPythonShuffle1000 shuffles a 1000-element slice per op.
func BenchmarkPythonShuffle1000(b *testing.B) {
	r := NewRandom(42)
	x := make([]int, 1000)
	for b.Loop() {
		Shuffle(r, x)
	}
}

func BenchmarkPythonRandom(b *testing.B) {
	r := NewRandom(42)
	for b.Loop() {
		sinkF += r.Random()
	}
}

func BenchmarkPythonChoices64(b *testing.B) {
	r := NewRandom(42)
	for b.Loop() {
		v, _ := r.ChoicesIndex(151643, 64)
		sinkI += int64(v[0])
	}
}

func BenchmarkLibmLog(b *testing.B) {
	x := 0.7
	for b.Loop() {
		sinkF += LibmFMA.Log(x)
		x += 1e-9
	}
}

func BenchmarkGoMathLog(b *testing.B) {
	x := 0.7
	for b.Loop() {
		sinkF += math.Log(x)
		x += 1e-9
	}
}

func BenchmarkLibmPow(b *testing.B) {
	x := 0.7
	for b.Loop() {
		sinkF += LibmFMA.Pow(x, 2.5)
		x += 1e-9
	}
}
