// Package pyrand reproduces, bit for bit, the random number streams SGLang's
// bench_serving draws from, so that bs-gen --compat sglang generates the same
// prompt lengths, token offsets, shuffles and arrival gaps as the reference
// for the same seed:
//
//   - Random is CPython's random.Random (random.seed(int), random(),
//     getrandbits, _randbelow, randrange, randint, choice, shuffle, choices
//     with and without weights, sample), written from the algorithms'
//     definitions.
//   - RandomState is NumPy's legacy numpy.random.RandomState, i.e. what
//     np.random.seed(int) followed by the module-level np.random.* functions
//     use (random_sample, randint for the default int64 dtype, exponential,
//     gamma, normal, uniform, choice with and without p, permutation).
//   - MT19937 is the shared Mersenne Twister core (init_genrand,
//     init_by_array, genrand_int32).
//   - Libm reproduces glibc's log and pow, which NumPy's float distributions
//     call; Go's math.Log differs from glibc's log in the last bit for about
//     7% of inputs, which would change arrival gaps.
//
// # Verified against
//
// testdata/vectors.json was produced by scripts/gen-pyrand-vectors.py with
// CPython 3.11.7, NumPy 2.4.6 and glibc 2.36 (Debian 12) on x86-64 with FMA
// and AVX2; the tests demand exact equality (floats compared as IEEE bits),
// including SHA-256 digests over long runs (up to 150,000 draws per
// function). libm_tables.go holds glibc's log/pow/exp constant tables, read
// from that libm by the same script.
//
// # Limits
//
//   - Float results that pass through log or pow (exponential, gamma, normal)
//     are exact for Linux glibc >= 2.28 on x86-64: LibmFMA (default) matches
//     CPUs with FMA+AVX2, LibmGeneric matches older CPUs. Other C libraries
//     (macOS, Windows, musl built differently) and NumPy builds that fuse
//     multiply-adds (aarch64) may differ in the last bit. random_sample,
//     randint, choice, permutation and everything in Random do not depend on
//     libm.
//   - Integer arguments are int64/uint64: Python ints beyond that (for
//     example randrange over more than 2^64 values) are not covered, except
//     seeds (SeedBig) and getrandbits (GetRandBitsBig).
//   - Weights for Random.ChoicesIndexWeighted are float64; Python accumulates
//     int weights exactly, which agrees only while the total stays below 2^53.
//   - Python's random.sample with counts=, gauss, and NumPy's new Generator
//     API are not implemented.
package pyrand
