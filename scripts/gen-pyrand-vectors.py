#!/usr/bin/env python3
"""Generate test data for pkg/pyrand from the real CPython, NumPy and glibc libm.

pkg/pyrand is a Go port of the random streams SGLang bench_serving uses
(Python's `random` module and NumPy's legacy global RandomState). This script
records what the real implementations produce, so the Go tests can demand
bit-exact equality.

Usage (from the repository root):

    python3 -m venv .cache/venv-rng && .cache/venv-rng/bin/pip install numpy
    .cache/venv-rng/bin/python scripts/gen-pyrand-vectors.py            # writes pkg/pyrand/testdata/vectors.json
    .cache/venv-rng/bin/python scripts/gen-pyrand-vectors.py tables     # writes pkg/pyrand/libm_tables.go

The vectors need Linux x86-64 with glibc >= 2.28 (whose log/pow/exp are the
table-driven ARM optimized-routines algorithms). The "fma" libm flavour is what
glibc picks on CPUs with FMA and AVX2; the "generic" flavour is produced by
re-running this script in a child process with
GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2,-FMA, which makes glibc pick its
baseline (non-FMA) builds.

`tables` reads the constant tables (__log_data, __pow_log_data, __exp_data)
out of the libm.so.6 this process has loaded and writes them as Go source.
The numbers are data of the algorithm (they are identical in glibc and musl);
the Go code that uses them is written independently.

Floats are stored as Python float.hex() strings so that JSON never rounds
them; long runs are stored as a SHA-256 over the outputs (little-endian 64-bit
words; floats as IEEE bits with every NaN mapped to 0x7ff8000000000000).
"""

import ctypes
import ctypes.util
import hashlib
import json
import math
import os
import platform
import random
import struct
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VECTORS = os.path.join(REPO, "pkg", "pyrand", "testdata", "vectors.json")
TABLES = os.path.join(REPO, "pkg", "pyrand", "libm_tables.go")
NO_FMA_ENV = "glibc.cpu.hwcaps=-AVX2,-FMA"


# ---------------------------------------------------------------- helpers


def fx(x):
    """Float as an exact hex string."""
    return float(x).hex()


def fbits(x):
    if math.isnan(x):
        return 0x7FF8000000000000
    return struct.unpack("<Q", struct.pack("<d", x))[0]


class Hasher:
    def __init__(self):
        self.h = hashlib.sha256()
        self.n = 0

    def f(self, x):
        self.h.update(struct.pack("<Q", fbits(x)))
        self.n += 1

    def i(self, v):
        self.h.update(struct.pack("<Q", int(v) & 0xFFFFFFFFFFFFFFFF))
        self.n += 1

    def digest(self):
        return self.h.hexdigest()


def libm():
    lib = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    lib.log.restype = ctypes.c_double
    lib.log.argtypes = [ctypes.c_double]
    lib.pow.restype = ctypes.c_double
    lib.pow.argtypes = [ctypes.c_double, ctypes.c_double]
    return lib


def libm_path():
    libm()
    with open("/proc/self/maps") as f:
        for line in f:
            p = line.split()
            if len(p) >= 6 and os.path.basename(p[5]).startswith("libm"):
                return p[5]
    raise SystemExit("gen-pyrand-vectors: cannot find the loaded libm in /proc/self/maps")


def glibc_version():
    return platform.libc_ver()[1] or "unknown"


def cpu_has_fma():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = line.split()
                    return "fma" in flags and "avx2" in flags
    except OSError:
        pass
    return False


# ---------------------------------------------------------------- libm tables


def cmd_tables():
    path = libm_path()
    data = open(path, "rb").read()

    def find_unique(pattern, what):
        i = data.find(pattern)
        if i < 0 or data.find(pattern, i + 1) >= 0:
            raise SystemExit(f"gen-pyrand-vectors: {path}: cannot locate {what} uniquely")
        return i

    def dd(off, n):
        return list(struct.unpack("<%dd" % n, data[off:off + 8 * n]))

    def qq(off, n):
        return list(struct.unpack("<%dQ" % n, data[off:off + 8 * n]))

    def pk(*xs):
        return b"".join(struct.pack("<d", float.fromhex(x) if isinstance(x, str) else x) for x in xs)

    ln2hi, ln2lo = "0x1.62e42fefa3800p-1", "0x1.ef35793c76730p-45"
    # struct log_data { ln2hi, ln2lo, poly[5], poly1[11], tab[128]{invc,logc}, tab2[128]{chi,clo} }
    lo = find_unique(pk(ln2hi, ln2lo, "-0x1.0000000000001p-1"), "__log_data")
    log = dd(lo, 2 + 5 + 11 + 256 + 256)
    # struct pow_log_data { ln2hi, ln2lo, poly[7], tab[128]{invc,pad,logc,logctail} }
    po = find_unique(pk(ln2hi, ln2lo, -0.5), "__pow_log_data")
    pw = dd(po, 2 + 7 + 512)
    # glibc 2.28+ exp_data: invln2N, negln2hiN, negln2loN, poly[4], shift, exp2_shift, exp2_poly[5], tab[256]
    eo = find_unique(pk("0x1.71547652b82fep7", "-0x1.62e42fefa0000p-8"), "__exp_data")
    ex = dd(eo, 14)
    et = qq(eo + 14 * 8, 256)

    # Sanity checks so that a different struct layout cannot slip through.
    assert log[7] == -0.5, "log poly1[0]"
    for i in range(128):
        invc, logc = log[18 + 2 * i], log[19 + 2 * i]
        chi, clo = log[274 + 2 * i], log[275 + 2 * i]
        assert abs(chi * invc - 1) < 1e-15 and abs(logc + math.log(invc)) < 1e-15 and abs(clo) < 1e-15, i
        pinv, pad, plogc, ptail = pw[9 + 4 * i: 13 + 4 * i]
        assert pad == 0 and abs(plogc + ptail + math.log(pinv)) < 1e-15 and abs(ptail) < 1e-13, i
    assert ex[7] == float.fromhex("0x1.8p52"), "exp shift"
    for i in range(128):
        hi = struct.unpack("<d", struct.pack("<Q", (et[2 * i + 1] + (i << 45)) & (2**64 - 1)))[0]
        assert abs(hi - 2 ** (i / 128)) < 1e-15, i

    def flist(xs, per=2):
        out = []
        for k in range(0, len(xs), per):
            out.append("\t{" + ", ".join(fx(x) for x in xs[k:k + per]) + "},")
        return "\n".join(out)

    def arr(xs):
        return "\t" + ",\n\t".join(fx(x) for x in xs) + ","

    src = f"""// Code generated by scripts/gen-pyrand-vectors.py tables; DO NOT EDIT.

// Constant tables of glibc's log, pow and exp (the ARM optimized-routines
// algorithms, identical in glibc >= 2.28 and musl), read from {path}
// (glibc {glibc_version()}).

package pyrand

const (
	logLn2Hi = {fx(log[0])}
	logLn2Lo = {fx(log[1])}
)

// logPoly are the coefficients of log1p(r)-r for the table path.
var logPoly = [5]float64{{
{arr(log[2:7])}
}}

// logPoly1 are the coefficients used close to 1.
var logPoly1 = [11]float64{{
{arr(log[7:18])}
}}

// logTab holds {{1/c, log(c)}} per subinterval.
var logTab = [128][2]float64{{
{flist(log[18:274])}
}}

// logTab2 holds {{c, c - (double)c}} per subinterval (non-FMA path).
var logTab2 = [128][2]float64{{
{flist(log[274:530])}
}}

// powLogPoly are the (pre-scaled) coefficients of pow's internal log.
var powLogPoly = [7]float64{{
{arr(pw[2:9])}
}}

// powLogTab holds {{1/c, log(c), log(c) tail}} per subinterval.
var powLogTab = [128][3]float64{{
{flist([v for i in range(128) for v in (pw[9 + 4 * i], pw[11 + 4 * i], pw[12 + 4 * i])], 3)}
}}

const (
	expInvLn2N   = {fx(ex[0])}
	expNegLn2HiN = {fx(ex[1])}
	expNegLn2LoN = {fx(ex[2])}
	expShift     = {fx(ex[7])}
)

// expPoly are exp's polynomial coefficients C2..C5.
var expPoly = [4]float64{{
{arr(ex[3:7])}
}}

// expTab holds, per k, the tail and the (biased) bits of 2^(k/128).
var expTab = [256]uint64{{
""" + "\n".join("\t" + ", ".join("0x%016x" % v for v in et[k:k + 4]) + "," for k in range(0, 256, 4)) + "\n}\n"
    with open(TABLES, "w") as f:
        f.write(src)
    print(f"wrote {TABLES} from {path}")


# ---------------------------------------------------------------- python random


def zipf(n, alpha=1.0):
    w = [1.0 / (r ** alpha) for r in range(1, n + 1)]
    s = sum(w)
    return [x / s for x in w]


def py_ops(rng):
    """Apply a fixed list of operations to rng and record them."""
    ops = []

    def add(op, out, **args):
        d = {"op": op}
        d.update(args)
        d["out"] = out
        ops.append(d)

    add("random", [fx(rng.random()) for _ in range(10)], n=10)
    for k in (0, 1, 7, 32, 33, 53, 64):
        add("getrandbits", [rng.getrandbits(k) for _ in range(3)], k=k, n=3)
    add("getrandbits", [str(rng.getrandbits(100)) for _ in range(2)], k=100, n=2)
    for n in (1, 2, 3, 1000, 2**32, 2**32 + 1, 2**63 + 5, 2**64 - 1):
        add("randbelow", [rng._randbelow(n) for _ in range(5)], m=n, n=5)
    for a, b, s in ((0, 10, 1), (5, 100, 7), (100, 5, -3), (-(2**40), 2**40, 1), (-(2**63), 2**63 - 1, 1)):
        add("randrange", [rng.randrange(a, b, s) for _ in range(5)], start=a, stop=b, step=s, n=5)
    add("randint", [rng.randint(1, 6) for _ in range(10)], a=1, b=6, n=10)
    add("choice", [rng.choice(range(7)) for _ in range(10)], m=7, n=10)
    x = list(range(100))
    rng.shuffle(x)
    add("shuffle", x, m=100)
    add("choices", rng.choices(range(1000), k=50), m=1000, k=50)
    w = [1.0 / r for r in range(1, 21)]
    add("choices_weights", rng.choices(range(20), weights=w, k=30), weights=[fx(v) for v in w], k=30)
    cum = list(__import__("itertools").accumulate(w))
    add("choices_cum", rng.choices(range(20), cum_weights=cum, k=20), cum=[fx(v) for v in cum], k=20)
    add("choices_weights", rng.choices(range(3), weights=[1, 2, 3], k=10), weights=[fx(1), fx(2), fx(3)], k=10)
    for n, k in ((1000, 10), (50, 10), (100, 100), (10, 0), (100000, 300), (5, 5)):
        add("sample", rng.sample(range(n), k), m=n, k=k)
    add("uniform", [fx(rng.uniform(2.5, 7.5)) for _ in range(5)], a=fx(2.5), b=fx(7.5), n=5)
    return ops


def py_cases():
    cases = []
    for seed in (0, 1, 42, 2**32 + 5, 2**100 + 12345, -42, 2**64 - 1):
        rng = random.Random(seed)
        cases.append({"name": f"seed {seed}", "seed": str(seed), "ops": py_ops(rng)})
    for s in ("hello", ""):
        rng = random.Random(s)
        cases.append({"name": f"str seed {s!r}", "seed_str": s, "ops": py_ops(rng)[:3]})

    # Reference-like use (SGLang bench_serving): random.seed(42); shuffle the
    # ShareGPT pairs; GSP prompt text via random.choices over vocab ids; then the
    # final row shuffle; mmmu/speed-bench random.sample.
    random.seed(42)
    ops = []
    x = list(range(500))
    random.shuffle(x)
    ops.append({"op": "shuffle", "m": 500, "out": x})
    ops.append({"op": "choices", "m": 1000, "k": 50, "out": random.choices(range(1000), k=50)})
    ops.append({"op": "choices", "m": 151643, "k": 64, "out": random.choices(range(151643), k=64)})
    x = list(range(32))
    random.shuffle(x)
    ops.append({"op": "shuffle", "m": 32, "out": x})
    ops.append({"op": "choice", "m": 3, "n": 5, "out": [random.choice(range(3)) for _ in range(5)]})
    ops.append({"op": "sample", "m": 900, "k": 20, "out": random.sample(range(900), 20)})
    cases.append({"name": "sglang-like seed 42", "seed": "42", "ops": ops})
    return cases


def py_long():
    out = []

    def run(name, fn, n):
        rng = random.Random(42)
        h = Hasher()
        fn(rng, h, n)
        out.append({"name": name, "seed": "42", "n": n, "count": h.n, "sha256": h.digest()})

    run("random", lambda r, h, n: [h.f(r.random()) for _ in range(n)], 100000)

    def shuf(r, h, n):
        x = list(range(n))
        r.shuffle(x)
        for v in x:
            h.i(v)
    run("shuffle", shuf, 100000)
    run("choices", lambda r, h, n: [h.i(v) for v in r.choices(range(151643), k=n)], 100000)

    def rb(r, h, n):
        for i in range(n):
            h.i(r._randbelow(1 + (i * 2654435761) % (2**40)))
    run("randbelow", rb, 50000)
    return out


# ---------------------------------------------------------------- numpy


def np_ops(rs, np):
    ops = []

    def add(op, out, **args):
        d = {"op": op}
        d.update(args)
        d["out"] = out
        ops.append(d)

    def fl(a):
        return [fx(v) for v in np.atleast_1d(a)]

    def il(a):
        return [int(v) for v in np.atleast_1d(a)]

    add("random_sample", fl(rs.random_sample(10)), n=10)
    for lo, hi, n in ((1, 1025, 10), (512, 1025, 10), (0, 151643, 10), (0, 2**40, 5), (-5, 5, 5),
                      (0, 2**32, 3), (0, 2**32 + 1, 3), (7, 8, 3), (-(2**63), 2**63 - 1, 3)):
        add("randint", il(rs.randint(lo, hi, size=n)), low=lo, high=hi, n=n)
    add("randint", il(rs.randint(1, 1025)), low=1, high=1025, n=1)
    add("exponential", fl(rs.exponential(1 / 16, size=10)), scale=fx(1 / 16), n=10)
    add("exponential", fl(rs.exponential(1.0, size=5)), scale=fx(1.0), n=5)
    add("standard_exponential", fl(rs.standard_exponential(3)), n=3)
    add("normal", fl(rs.normal(0.0, 1.0, size=5)), loc=fx(0.0), scale=fx(1.0), n=5)
    add("gamma", fl(rs.gamma(4.0, 2.0, size=10)), shape=fx(4.0), scale=fx(2.0), n=10)
    add("gamma", fl(rs.gamma(0.5, 1.0, size=10)), shape=fx(0.5), scale=fx(1.0), n=10)
    add("gamma", fl(rs.gamma(1.0, 3.0, size=5)), shape=fx(1.0), scale=fx(3.0), n=5)
    add("standard_gamma", fl(rs.standard_gamma(0.25, size=5)), shape=fx(0.25), n=5)
    add("standard_normal", fl(rs.standard_normal(3)), n=3)
    add("normal", fl(rs.normal(10.0, 2.0, size=4)), loc=fx(10.0), scale=fx(2.0), n=4)
    add("uniform", fl(rs.uniform(2.0, 5.0, size=5)), low=fx(2.0), high=fx(5.0), n=5)
    p = zipf(10)
    add("choice_p", il(rs.choice(10, size=20, p=p)), p=[fx(v) for v in p], n=20)
    add("choice", il(rs.choice(10, size=10)), m=10, n=10)
    add("choice_noreplace", il(rs.choice(10, size=5, replace=False)), m=10, n=5)
    add("choice_noreplace_p", il(rs.choice(10, size=5, replace=False, p=p)), p=[fx(v) for v in p], n=5)
    add("permutation", il(rs.permutation(20)), m=20)
    return ops


def np_cases(np):
    cases = []
    for seed in (0, 1, 42, 2**32 - 1):
        rs = np.random.RandomState(seed)
        cases.append({"name": f"seed {seed}", "seed": seed, "ops": np_ops(rs, np)})
    rs = np.random.RandomState([1, 2, 3])
    cases.append({"name": "array seed [1,2,3]", "seed_array": [1, 2, 3], "ops": np_ops(rs, np)[:4]})
    for seed in (2**32 + 5, 2**100, -1):
        try:
            np.random.RandomState(seed)
            raise SystemExit(f"gen-pyrand-vectors: numpy accepted seed {seed}; update the Go port")
        except ValueError as e:
            cases.append({"name": f"seed {seed} rejected", "seed_error": str(seed), "message": str(e)})

    # Reference-like use (SGLang bench_serving, global np.random after np.random.seed(42)).
    def ref(name, fn):
        np.random.seed(42)
        ops = []
        fn(ops)
        cases.append({"name": name, "seed": 42, "ops": ops})

    def rint(ops, lo, hi, n):
        ops.append({"op": "randint", "low": lo, "high": hi, "n": n,
                    "out": [int(v) for v in np.random.randint(lo, hi, size=n)]})

    def expo(ops, scale, n):
        # one scalar draw per request, as the arrival loop does
        ops.append({"op": "exponential", "scale": fx(scale), "n": n,
                    "out": [fx(np.random.exponential(scale)) for _ in range(n)]})

    def random_ids(ops):
        rint(ops, 1, 1025, 8)        # input lens, range ratio 0
        rint(ops, 1, 129, 8)         # output lens
        rint(ops, 0, 151643, 8)      # random-ids offsets
        expo(ops, 1 / 16, 20)        # request rate 16
    ref("sglang random-ids seed 42", random_ids)

    def ratio(ops):
        rint(ops, 512, 1025, 8)      # --random-range-ratio 0.5
        rint(ops, 64, 129, 8)
        expo(ops, 1 / 4, 8)
    ref("sglang range-ratio 0.5 seed 42", ratio)

    def gsp(ops):
        rint(ops, 2048, 2049, 4)     # system prompt lens, ratio 1 (still consumes nothing: rng 0)
        rint(ops, 64, 129, 32)       # question lens
        rint(ops, 128, 257, 32)      # output lens
        expo(ops, 1.0, 5)
    ref("sglang gsp seed 42", gsp)

    def lora(ops):
        p = zipf(3, 1.0)
        for _ in range(10):
            expo(ops, 1 / 16, 1)
            ops.append({"op": "choice_p", "p": [fx(v) for v in p], "n": 1,
                        "out": [int(np.random.choice(3, p=p))]})
    ref("sglang skewed lora seed 42", lora)
    return cases


def np_long(np, flavour_only=False):
    out = []

    def run(name, fn, n, **extra):
        rs = np.random.RandomState(42)
        h = Hasher()
        fn(rs, h, n)
        d = {"name": name, "seed": 42, "n": n, "count": h.n, "sha256": h.digest()}
        d.update(extra)
        out.append(d)

    def floats(a, h):
        for v in a:
            h.f(float(v))

    def ints(a, h):
        for v in a:
            h.i(int(v))

    if not flavour_only:
        run("random_sample", lambda r, h, n: floats(r.random_sample(n), h), 50000)
        run("randint 0 151643", lambda r, h, n: ints(r.randint(0, 151643, size=n), h), 50000)
        run("randint 0 2^40", lambda r, h, n: ints(r.randint(0, 2**40, size=n), h), 20000)
        run("choice_p zipf 50", lambda r, h, n: ints(r.choice(50, size=n, p=zipf(50)), h), 20000,
            p=[fx(v) for v in zipf(50)])
        run("permutation", lambda r, h, n: ints(r.permutation(n), h), 20000)
    run("exponential 1/16", lambda r, h, n: floats(r.exponential(1 / 16, size=n), h), 50000)
    run("gamma 0.5", lambda r, h, n: floats(r.gamma(0.5, 1.0, size=n), h), 20000)
    run("gamma 4", lambda r, h, n: floats(r.gamma(4.0, 1.0, size=n), h), 20000)
    run("normal", lambda r, h, n: floats(r.normal(0.0, 1.0, size=n), h), 20000)
    return out


# ---------------------------------------------------------------- libm


def f64(bits):
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def log_inputs(n):
    """Deterministic log inputs; pkg/pyrand's test rebuilds them with its own Random."""
    r = random.Random(2024)
    xs = []
    for i in range(n):
        c = i % 3
        if c == 0:
            x = 1.0 - r.random()                       # what -log(1-U) sees
        elif c == 1:
            x = f64(r.getrandbits(63))                 # any positive double
        else:
            x = 1.0 + (r.random() - 0.5) * 0.25        # the close-to-1 path
        xs.append(x)
    return xs


def pow_inputs(n):
    r = random.Random(2025)
    out = []
    for i in range(n):
        c = i % 5
        if c == 0:
            x, y = r.random(), 1.0 / (0.01 + 0.99 * r.random())       # gamma: pow(U, 1/shape)
        elif c == 1:
            x, y = 0.3 + 2.7 * r.random(), 1.0 + 19.0 * r.random()
        elif c == 2:
            x, y = f64(r.getrandbits(63)), (r.random() - 0.5) * 10.0
        elif c == 3:
            x = math.ldexp(1.0 + r.random(), -r.randrange(1, 30))      # tiny results, subnormals
            y = 1.0 + 59.0 * r.random()
        else:
            x = -(0.1 + 9.9 * r.random())                             # negative base
            y = float(r.randrange(-40, 41)) if r.random() < 0.8 else (r.random() - 0.5) * 8.0
        out.append((x, y))
    return out


POW_SPECIAL = [
    (0.0, 2.0), (0.0, -2.0), (-0.0, 3.0), (-0.0, -3.0), (0.0, 0.0), (math.nan, 0.0), (1.0, math.nan),
    (math.inf, 2.0), (math.inf, -2.0), (-math.inf, 3.0), (-math.inf, 2.0), (2.0, math.inf), (0.5, math.inf),
    (2.0, -math.inf), (0.5, -math.inf), (-1.0, math.inf), (math.nan, 1.0), (2.0, math.nan),
    (-2.0, 0.5), (-2.0, 3.0), (-2.0, 4.0), (-8.0, 1.0 / 3.0), (2.0, 1e-30), (0.5, 1e-30), (2.0, -1e-30),
    (2.0, 2.0**70), (0.5, 2.0**70), (2.0, -(2.0**70)), (1.0, 2.0**70), (5e-324, 0.5), (1e-310, 2.0),
    (2.0, 1023.99), (2.0, 1024.0), (2.0, -1074.0), (2.0, -1075.0), (2.0, -1022.5), (10.0, 308.0),
    (-2.0, 1025.0), (-2.0, -1075.0), (-1.0, -(2.0**60)), (1.0000001, 2.0**62), (0.9999999, 2.0**62),
    (10.0, 500.0), (10.0, -500.0), (-10.0, 501.0), (-10.0, -501.0), (-10.0, 500.0),
    (1.0000000000000002, 0.01), (0.9999999999999999, 0.01), (2.0, 1e-18), (-3.0, 1e-18), (-1.0, 3.0), (-1.0, 4.0),
]
LOG_SPECIAL = [0.0, -0.0, -1.0, math.inf, -math.inf, math.nan, 1.0, 5e-324, 2.2250738585072014e-308,
               1e-310, 1.7976931348623157e308, 0.9375, 1.0 + float.fromhex("0x1.09p-4"), 2.0, 0.5]


def cmd_libm_section():
    """Runs in a child process (possibly with GLIBC_TUNABLES) and prints JSON."""
    lib = libm()
    import numpy as np
    sec = {}
    xs = log_inputs(150000)
    h = Hasher()
    for x in xs:
        h.f(lib.log(x))
    sec["log"] = {"seed": 2024, "n": len(xs), "sha256": h.digest(),
                  "first": [[fx(x), fx(lib.log(x))] for x in xs[:24]],
                  "special": [[fx(x), fx(lib.log(x))] for x in LOG_SPECIAL]}
    ps = pow_inputs(150000)
    h = Hasher()
    for x, y in ps:
        h.f(lib.pow(x, y))
    sec["pow"] = {"seed": 2025, "n": len(ps), "sha256": h.digest(),
                  "first": [[fx(x), fx(y), fx(lib.pow(x, y))] for x, y in ps[:30]],
                  "special": [[fx(x), fx(y), fx(lib.pow(x, y))] for x, y in POW_SPECIAL]}
    sec["numpy_long"] = np_long(np, flavour_only=True)
    print(json.dumps(sec))


def libm_section(no_fma):
    env = dict(os.environ)
    if no_fma:
        env["GLIBC_TUNABLES"] = NO_FMA_ENV
    else:
        env.pop("GLIBC_TUNABLES", None)
    res = subprocess.run([sys.executable, os.path.abspath(__file__), "libm-section"], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout)


# ---------------------------------------------------------------- main


def cmd_vectors():
    import numpy as np
    if sys.version_info[:2] != (3, 11):
        print(f"warning: vectors are meant to come from CPython 3.11, this is {platform.python_version()}",
              file=sys.stderr)
    if not cpu_has_fma():
        raise SystemExit("gen-pyrand-vectors: this CPU lacks FMA/AVX2; the 'fma' libm flavour cannot be recorded")
    doc = {
        "generated_by": "scripts/gen-pyrand-vectors.py",
        "cpython": platform.python_version(),
        "numpy_version": np.__version__,
        "glibc": glibc_version(),
        "machine": platform.machine(),
        "python": py_cases(),
        "python_long": py_long(),
        "numpy": np_cases(np),
        "numpy_long": np_long(np),
        "libm": {"fma": libm_section(False), "generic": libm_section(True)},
    }
    os.makedirs(os.path.dirname(VECTORS), exist_ok=True)
    with open(VECTORS, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {VECTORS} ({os.path.getsize(VECTORS)} bytes)")


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "vectors"
    if cmd == "tables":
        cmd_tables()
    elif cmd == "libm-section":
        cmd_libm_section()
    elif cmd == "vectors":
        cmd_vectors()
    else:
        raise SystemExit(f"usage: {sys.argv[0]} [vectors|tables]")
