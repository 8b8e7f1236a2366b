package datasets

import (
	"fmt"

	"github.com/bsbench/bs/pkg/pyrand"
)

// PyRNG is the part of Python's random.Random the generators draw from (the reference seeds it
// with random.seed(seed) once, before any dataset is generated).
type PyRNG interface {
	// Shuffle is random.shuffle on a sequence of length n.
	Shuffle(n int, swap func(i, j int))
	// Choices returns k indices into a population of size n, as random.choices(population, k=k).
	Choices(n, k int) []int
	// Choice returns an index into a sequence of length n, as random.choice(seq).
	Choice(n int) int
	// Sample returns k distinct indices drawn from range(n), as random.sample(range(n), k).
	Sample(n, k int) []int
}

// NPRNG is the part of NumPy's legacy global RandomState the generators draw from (the reference
// seeds it with numpy.random.seed(seed)).
type NPRNG interface {
	// Randint is numpy.random.randint(low, high, size=size): integers on [low, high).
	Randint(low, high int64, size int) []int64
	// RandomSample is numpy.random.rand(size) (doubles on [0, 1)).
	RandomSample(size int) []float64
}

// RNG holds the two random streams of the reference, seeded once and consumed in the reference's
// order by dataset generation and then by the LoRA assignment.
type RNG struct {
	Py PyRNG
	NP NPRNG
}

// NewRNG seeds both streams with seed, as the reference's random.seed(seed) and
// numpy.random.seed(seed) do.
func NewRNG(seed int64) (RNG, error) {
	st, err := pyrand.NewRandomState(seed)
	if err != nil {
		return RNG{}, fmt.Errorf("--seed %d: %w", seed, err)
	}
	return RNG{Py: pyStream{pyrand.NewRandom(seed)}, NP: npStream{st}}, nil
}

// pyStream adapts pyrand.Random to PyRNG. Its errors can only come from impossible arguments
// (negative sizes, empty populations), which the generators never pass; they panic.
type pyStream struct{ r *pyrand.Random }

func (p pyStream) Shuffle(n int, swap func(i, j int)) { p.r.ShuffleN(n, swap) }

func (p pyStream) Choices(n, k int) []int {
	if k == 0 {
		return []int{}
	}
	out, err := p.r.ChoicesIndex(n, k)
	must(err)
	return out
}

func (p pyStream) Choice(n int) int {
	i, err := p.r.ChoiceIndex(n)
	must(err)
	return i
}

func (p pyStream) Sample(n, k int) []int {
	out, err := p.r.SampleIndex(n, k)
	must(err)
	return out
}

type npStream struct{ s *pyrand.RandomState }

func (s npStream) Randint(low, high int64, size int) []int64 {
	out, err := s.s.RandintN(low, high, size)
	must(err)
	return out
}

func (s npStream) RandomSample(size int) []float64 { return s.s.RandomSampleN(size) }

func must(err error) {
	if err != nil {
		panic(fmt.Sprintf("datasets: random stream: %v", err))
	}
}
