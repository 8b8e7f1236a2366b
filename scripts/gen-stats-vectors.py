#!/usr/bin/env python3
"""Generate the test vectors that pin bs-stat / bs-report to real NumPy and CPython behaviour.

Run from the repository root with a Python that has numpy:

    python3 -m venv .cache/venv-stats && .cache/venv-stats/bin/pip install numpy
    .cache/venv-stats/bin/python scripts/gen-stats-vectors.py

It writes (and the Go tests read):
  pkg/stats/testdata/vectors.json      np.sum/mean/std/median/percentile/min/max on many arrays
  pkg/report/testdata/pyrepr.json      repr(float) and json.dumps of floats and strings
  pkg/metrics/testdata/parity/*.jsonl  small event streams
  pkg/metrics/testdata/parity/*.expected.json
                                       what the reference's calculate_metrics computes on them (written
                                       out below from the fact sheet, section 5), and the JSONL line
                                       its json.dumps would append.

Large arrays are not stored: they come from an integer generator (splitmix64) that the Go tests
re-create exactly, with only exact IEEE operations between the integers and the floats.
"""
import json
import math
import os
import struct
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MASK = (1 << 64) - 1


def splitmix64(state):
    """Yield 64-bit values of the splitmix64 generator started at state."""
    while True:
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        yield z ^ (z >> 31)


def gen_array(kind, seed, n):
    """The arrays the Go side regenerates: see pkg/stats/vectors_test.go genArray."""
    g = splitmix64(seed)
    out = []
    for _ in range(n):
        r = next(g)
        if kind == "unit":  # uniform [0, 1) with 53 bits
            out.append((r >> 11) * 2.0 ** -53)
        elif kind == "latency":  # integer nanoseconds (up to ~4.3 s) / 1e9, like bs event times
            out.append(float(r >> 32) / 1e9)
        elif kind == "skewed":  # heavy tail: 0.01 + 3 * u^4
            u = (r >> 11) * 2.0 ** -53
            out.append(0.01 + 3.0 * (u * u * u * u))
        elif kind == "ties":  # few distinct values
            out.append(float(r % 7) * 0.125)
        else:
            raise ValueError(kind)
    return out


PCTS = [0, 1, 10, 25, 33.3, 50, 66.7, 75, 90, 95, 99, 99.9, 99.99, 100]


def describe(xs):
    a = np.array(xs, dtype=np.float64)
    return {
        "sum": float(np.sum(a)),
        "mean": float(np.mean(a)),
        "std": float(np.std(a)),
        "median": float(np.median(a)),
        "min": float(np.min(a)),
        "max": float(np.max(a)),
        "percentiles": [[p, float(np.percentile(a, p))] for p in PCTS],
    }


def stats_vectors():
    cases = []
    small = [
        [1.0],
        [0.5, 0.25],
        [3.0, 1.0, 2.0],
        [0.1, 0.2, 0.3, 0.4],
        [0.1] * 9,
        [1e-3, 2e-3, 1.5e-3, 9e-4, 0.010, 0.007, 0.0033],
        [0.1 * i for i in range(1, 18)],
        [0.123456789, 1e9, 1e-9, 7.0, 0.3],
    ]
    for xs in small:
        cases.append({"values": xs, **describe(xs)})
    sizes = [1, 2, 5, 7, 8, 9, 15, 16, 17, 100, 127, 128, 129, 255, 256, 257, 1000, 1001,
             4096, 8191, 8192, 8193, 10000, 16385, 100000]
    for kind in ["unit", "latency", "skewed", "ties"]:
        for i, n in enumerate(sizes):
            if kind in ("skewed", "ties") and n > 20000:
                continue
            seed = 1000 * (["unit", "latency", "skewed", "ties"].index(kind) + 1) + i
            xs = gen_array(kind, seed, n)
            cases.append({"gen": {"kind": kind, "seed": seed, "n": n}, **describe(xs)})
    return {"numpy": np.__version__, "percentiles": PCTS, "cases": cases}


def pyrepr_vectors():
    vals = [0.0, -0.0, 1.0, -1.0, 0.5, 0.1, 0.2 + 0.1, 1 / 3, 2 / 3, 100.0, 123.456, 1e15, 1e16,
            1e17, 9999999999999998.0, 1234567890123456.7, 1e-4, 1e-5, 0.0001, 0.00012345, 1.5e-05,
            5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 1e22, 1e21, 1e300, 12.0,
            16.0, 0.001, 123456789.0, 4.35, 2.675, 1e-7, 3.14159e-10, 65536.0, 1e100]
    g = splitmix64(42)
    for _ in range(300):  # random bit patterns
        r = next(g)
        f = struct.unpack("<d", struct.pack("<Q", r))[0]
        if math.isfinite(f):
            vals.append(f)
    for _ in range(300):  # realistic: ms and s values, throughputs
        r = next(g)
        ns = r >> 34
        vals.append(ns / 1e9)
        vals.append(ns / 1e9 * 1000)
        vals.append((r & 0xFFFF) / (ns / 1e9 + 1))
    floats = [{"bits": "%016x" % struct.unpack("<Q", struct.pack("<d", v))[0], "repr": repr(v),
               "json": json.dumps(v)} for v in vals]
    specials = [{"bits": "%016x" % struct.unpack("<Q", struct.pack("<d", v))[0], "repr": repr(v),
                 "json": json.dumps(v)} for v in [math.inf, -math.inf, math.nan]]
    strings = ["plain", "tab\there", "new\nline", "quote\" back\\slash", "ctrl\x01\x1f\x7f", "é ü ß",
               "日本語", "emoji 😀 done", "/slash", "<html>&", "\u2028\u2029", ""]
    strs = [{"s": s, "json": json.dumps(s)} for s in strings]
    return {"python": sys.version.split()[0], "floats": floats, "specials": specials, "strings": strs}


# ---------------------------------------------------------------------------------------------------
# Reference metrics on small event sets. This is the fact sheet's calculate_metrics (section 5) written
# out in Python with NumPy, over what the reference would have measured for each event.

NATIVE = {"sglang", "sglang-native"}
COMPLETIONS = {"sglang-oai", "vllm", "lmdeploy"}
CHAT = {"sglang-oai-chat", "vllm-chat", "lmdeploy-chat"}
START = "2026-07-01T12:00:00.123456789Z"


def ref_output(backend, ev):
    """What the reference would have recorded for one event: output_len, ttft, latency, itl."""
    ns = ev.get("chunk_ns", [])
    toks = ev.get("chunk_tokens")
    ttft = ns[0] / 1e9 if ns else 0.0
    latency = (ev["end_ns"] - ev["sent_ns"]) / 1e9
    itl = []
    if backend in NATIVE and toks:
        prev = ns[0] if ns else 0
        for j in range(1, len(ns)):
            k = toks[j]
            if k == 0:
                continue
            gap = (ns[j] - prev) / 1e9
            itl.extend([gap / k] * k)
            prev = ns[j]
    else:
        itl = [(ns[j] - ns[j - 1]) / 1e9 for j in range(1, len(ns))]
    if backend in NATIVE:
        out = sum(toks) if toks else ev.get("usage_completion_tokens") or ev["output_len"]
    elif backend in COMPLETIONS:
        out = sum(toks) if toks else ev["output_len"]
    elif backend in CHAT:
        u = ev.get("usage_completion_tokens")
        out = u if u is not None else ev["output_len"]
    else:
        out = ev["output_len"]
    return out, ttft, latency, itl


def retok(text):
    """The test tokenizer: one token per whitespace-separated word."""
    return len(text.split())


def ref_metrics(backend, events, with_tokenizer):
    events = sorted(events, key=lambda e: e["seq"])  # dispatch order
    out_lens, retok_lens = [], []
    total_input = total_text = total_vision = completed = 0
    itls, tpots, ttfts, e2es = [], [], [], []
    per = []
    for ev in events:
        if ev["ok"]:
            out, ttft, lat, itl = ref_output(backend, ev)
            out_lens.append(out)
            retok_lens.append(retok(ev.get("text", "")))
            total_input += ev["prompt_len"]
            tp = ev.get("text_prompt_len", 0)
            vp = ev.get("vision_prompt_len", 0)
            total_text += tp if (tp or vp) else ev["prompt_len"]
            total_vision += vp
            if out > 1:
                tpots.append((lat - ttft) / (out - 1))
            itls += itl
            ttfts.append(ttft)
            e2es.append(lat)
            completed += 1
            per.append((ev["sent_ns"] / 1e9, ttft, lat, itl))
        else:
            out_lens.append(0)
            retok_lens.append(0)
    t0 = min(e["sent_ns"] for e in events)
    t1 = max(e["end_ns"] for e in events)
    dur = (t1 - t0) / 1e9
    max_tok, max_conc = 0.0, 0
    if per:
        mn = min(p[0] for p in per)
        mx = max(p[0] + p[2] for p in per)
        nb = int(np.ceil(mx - mn)) + 1
        tps = np.zeros(nb)
        crs = np.zeros(nb)
        for st, ttft, lat, itl in per:
            times = [st + ttft]
            cur = times[0]
            for v in itl:
                cur += v
                times.append(cur)
            for t in times:
                b = int(t - mn)
                if 0 <= b < nb:
                    tps[b] += 1
            for s in range(int(st - mn), min(int(st + lat - mn) + 1, nb)):
                crs[s] += 1
        max_tok = float(np.max(tps))
        max_conc = int(np.max(crs))

    def d(xs, guard=True):
        a = xs or 0 if guard else xs
        r = {"mean": float(np.mean(a)), "median": float(np.median(a)), "std": float(np.std(a)),
             "p90": float(np.percentile(a, 90)), "p95": float(np.percentile(a, 95)),
             "p99": float(np.percentile(a, 99)), "max": float(np.max(a))}
        return r

    total_out = sum(out_lens)
    m = {
        "completed": completed, "duration": dur, "total_input": total_input,
        "total_input_text": total_text, "total_input_vision": total_vision,
        "total_output": total_out,
        "total_output_retokenized": sum(retok_lens) if with_tokenizer else None,
        "request_throughput": completed / dur, "input_throughput": total_input / dur,
        "output_throughput": total_out / dur, "total_throughput": (total_input + total_out) / dur,
        "concurrency": float(np.sum(e2es)) / dur if e2es else 0.0,
        "max_output_tokens_per_s": max_tok, "max_concurrent_requests": max_conc,
        "ttft": d(ttfts), "tpot": d(tpots), "itl": d(itls), "e2e": d(e2es, guard=False),
        "output_lens": out_lens,
    }
    return m


def jsonl_result(m, run, tag, accept_length):
    """The reference's result object (fact sheet 7.2), key order as written."""
    ms = lambda dd, k: dd[k] * 1000
    r = {
        "tag": tag, "backend": run["backend"], "dataset_name": run["dataset_name"],
        "request_rate": run["request_rate"], "max_concurrency": run["max_concurrency"],
        "sharegpt_output_len": run["sharegpt_output_len"], "random_input_len": run["random_input_len"],
        "random_output_len": run["random_output_len"], "random_range_ratio": run["random_range_ratio"],
        "server_info": run["server_info"], "duration": m["duration"], "completed": m["completed"],
        "total_input_tokens": m["total_input"], "total_input_text_tokens": m["total_input_text"],
        "total_input_vision_tokens": m["total_input_vision"], "total_output_tokens": m["total_output"],
        "total_output_tokens_retokenized": m["total_output_retokenized"],
        "request_throughput": m["request_throughput"], "input_throughput": m["input_throughput"],
        "output_throughput": m["output_throughput"], "total_throughput": m["total_throughput"],
    }
    for name, key in [("e2e_latency", "e2e"), ("ttft", "ttft"), ("tpot", "tpot"), ("itl", "itl")]:
        for stat in ["mean", "median", "std", "p90", "p95", "p99"]:
            r["%s_%s_ms" % (stat, name)] = ms(m[key], stat)
    r["concurrency"] = m["concurrency"]
    r["accept_length"] = accept_length
    r["max_output_tokens_per_s"] = m["max_output_tokens_per_s"]
    r["max_concurrent_requests"] = m["max_concurrent_requests"]
    return r


def console_block(m, backend, request_rate, max_concurrency, dataset_name, accept_length):
    """The reference's result block (fact sheet section 6), with its own format strings."""
    L = []
    p = L.append
    row = lambda label, v: p("{:<40} {:<10}".format(label, v))
    rowf = lambda label, v: p("{:<40} {:<10.2f}".format(label, v))
    p("\n{s:{c}^{n}}".format(s=" Serving Benchmark Result ", n=50, c="="))
    row("Backend:", backend)
    row("Traffic request rate:", request_rate)
    row("Max request concurrency:", max_concurrency if max_concurrency else "not set")
    row("Successful requests:", m["completed"])
    rowf("Benchmark duration (s):", m["duration"])
    row("Total input tokens:", m["total_input"])
    row("Total input text tokens:", m["total_input_text"])
    if dataset_name in ["image", "mmmu"]:
        row("Total input vision tokens:", m["total_input_vision"])
    emb = backend in ("sglang-embedding", "vllm-embedding")
    if not emb:
        row("Total generated tokens:", m["total_output"])
        row("Total generated tokens (retokenized):", m["total_output_retokenized"])
    rowf("Request throughput (req/s):", m["request_throughput"])
    rowf("Input token throughput (tok/s):", m["input_throughput"])
    if not emb:
        rowf("Output token throughput (tok/s):", m["output_throughput"])
        rowf("Peak output token throughput (tok/s):", m["max_output_tokens_per_s"])
    row("Peak concurrent requests:", m["max_concurrent_requests"])
    if not emb:
        rowf("Total token throughput (tok/s):", m["total_throughput"])
    rowf("Concurrency:", m["concurrency"])
    if accept_length:
        rowf("Accept length:", accept_length)
    p("{s:{c}^{n}}".format(s="End-to-End Latency", n=50, c="-"))
    for st, lab in [("mean", "Mean"), ("median", "Median"), ("p90", "P90"), ("p95", "P95"), ("p99", "P99")]:
        rowf("%s E2E Latency (ms):" % lab, m["e2e"][st] * 1000)
    if not emb:
        for title, key, name in [("Time to First Token", "ttft", "TTFT"),
                                 ("Time per Output Token (excl. 1st token)", "tpot", "TPOT"),
                                 ("Inter-Token Latency", "itl", "ITL")]:
            p("{s:{c}^{n}}".format(s=title, n=50, c="-"))
            for st, lab in [("mean", "Mean"), ("median", "Median"), ("p90", "P90"), ("p95", "P95"),
                            ("p99", "P99")]:
                rowf("%s %s (ms):" % (lab, name), m[key][st] * 1000)
            if key == "itl":
                rowf("Max ITL (ms):", m["itl"]["max"] * 1000)
    p("=" * 50)
    return "\n".join(L) + "\n"


def ev(seq, sent, chunks, end, toks=None, ok=True, prompt_len=100, output_len=32, usage=None,
       text=None, kind=None, sched=None, usage_prompt=None, rel=False, **extra):
    """One event; chunk times are given absolute (like sent and end) unless rel is true."""
    if chunks and not rel:
        chunks = [c - sent for c in chunks]
    e = {"id": seq, "seq": seq, "request_id": "r%d" % seq, "scheduled_ns": sent if sched is None else sched,
         "sent_ns": sent, "end_ns": end, "ok": ok, "prompt_len": prompt_len, "output_len": output_len}
    if chunks:
        e["chunk_ns"] = chunks
    if toks is not None:
        e["chunk_tokens"] = toks
    if usage is not None:
        e["usage_completion_tokens"] = usage
    if usage_prompt is not None:
        e["usage_prompt_tokens"] = usage_prompt
    if text is not None:
        e["text"] = text
    if not ok:
        e["error_kind"] = kind or "http_status"
        e["error"] = "boom %d" % seq
    e.update(extra)
    return e


MS = 1_000_000


def parity_sets():
    sets = []
    # Native /generate: per-token ITL, a chunk with no new tokens, a 1-token answer, two failures.
    native = [
        ev(0, 5 * MS, [120 * MS, 140 * MS, 150 * MS, 171 * MS], 180 * MS, [1, 2, 1, 3], usage=7,
           text="a b c d e f g"),
        ev(1, 7 * MS, [210 * MS, 260 * MS, 260 * MS + 5, 330 * MS], 333 * MS, [1, 4, 0, 2], usage=7,
           text="one two three four five six"),
        ev(2, 9 * MS, [95 * MS], 96 * MS, [1], usage=1, output_len=1, text="x"),
        ev(3, 11 * MS, [], 50 * MS, ok=False, kind="http_status"),
        ev(4, 400 * MS, [530 * MS, 600 * MS, 690 * MS, 1800 * MS], 1805 * MS, [2, 3, 3, 8], usage=16,
           prompt_len=300, text="w " * 15),
        ev(5, 1200 * MS, [1300 * MS, 1333 * MS], 1500 * MS, [1, 1], usage=2, prompt_len=64,
           text="hello world"),
        ev(6, 1210 * MS, [1400 * MS, 1450 * MS, 1700 * MS], 2100 * MS, [1, 1, 0], ok=False,
           kind="stream_broken"),
        ev(7, 2300 * MS, [2444 * MS, 2500 * MS, 2600 * MS, 2650 * MS, 2700 * MS], 2750 * MS,
           [1, 1, 1, 1, 1], usage=5, prompt_len=77, text="q r s t u"),
    ]
    sets.append(("native", "sglang", native))
    # OpenAI completions: per-chunk ITL; usage arrived outside counted chunks, so output = requested.
    comp = [
        ev(0, 3 * MS, [80 * MS, 90 * MS, 100 * MS, 130 * MS], 140 * MS, usage=4, output_len=32,
           text="aa bb cc dd"),
        ev(1, 4 * MS, [150 * MS, 155 * MS, 400 * MS], 401 * MS, usage=3, output_len=16, text="a b c"),
        ev(2, 500 * MS, [900 * MS, 1000 * MS, 1100 * MS, 1200 * MS, 1250 * MS, 1260 * MS], 1270 * MS,
           output_len=8, prompt_len=20, text="one two three four five six"),
        ev(3, 600 * MS, [], 700 * MS, ok=False, kind="timeout"),
        ev(4, 1900 * MS, [2000 * MS], 2000 * MS + 1, output_len=1, prompt_len=5, text="z"),
    ]
    sets.append(("completions", "sglang-oai", comp))
    # Chat with usage: output = usage.
    chat = [
        ev(0, 1 * MS, [50 * MS, 60 * MS, 75 * MS], 80 * MS, usage=3, output_len=64, text="x y z"),
        ev(1, 2 * MS, [70 * MS, 71 * MS, 72 * MS, 90 * MS], 95 * MS, usage=9, output_len=64,
           text="x y z w"),
        ev(2, 3 * MS, [66 * MS], 67 * MS, output_len=64, text="solo"),
        ev(3, 30 * MS, [100 * MS, 3100 * MS], 3200 * MS, usage=2, output_len=2, prompt_len=900,
           text="late answer"),
    ]
    sets.append(("chat", "vllm-chat", chat))
    # Many requests, random-ish, native: exercises percentiles on bigger lists.
    g = splitmix64(7)
    many = []
    for i in range(60):
        sent = i * 37 * MS + (next(g) % MS)
        n = 1 + next(g) % 12
        t = 20 * MS + next(g) % (300 * MS)
        chunks, toks = [], []
        for j in range(n):
            chunks.append(t)
            toks.append(1 + next(g) % 3 if j else 1 + next(g) % 2)
            t += 1 + next(g) % (40 * MS)
        ok = next(g) % 10 != 0
        many.append(ev(i, sent, chunks, sent + t + next(g) % MS, toks if ok else None, ok=ok, rel=True,
                       usage=sum(toks) if ok else None, prompt_len=10 + next(g) % 500,
                       output_len=64, text=" ".join(["t"] * sum(toks)) if ok else None,
                       kind="http_status"))
    sets.append(("many", "sglang", many))
    return sets


def parity():
    outdir = os.path.join(ROOT, "pkg", "metrics", "testdata", "parity")
    os.makedirs(outdir, exist_ok=True)
    for name, backend, events in parity_sets():
        prompt_header = {"kind": "header", "format": 1, "stream": "prompts", "tool": "bs-gen",
                         "version": "test", "dataset": "random",
                         "args": ["--dataset-name", "random", "--random-input-len", "256",
                                  "--random-output-len", "32", "--random-range-ratio", "0.5",
                                  "--num-prompts", str(len(events))]}
        header = {"kind": "header", "format": 1, "stream": "events", "tool": "bs-fire",
                  "version": "test", "start_time": START, "host": "testhost",
                  "run": {"backend": backend, "base_url": "http://127.0.0.1:1", "endpoint": "/x",
                          "model": "m", "request_rate": "inf", "arrival": "poisson",
                          "max_concurrency": 4, "num_prompts": len(events), "stream": True,
                          "tag": "parity"},
                  "inputs": [prompt_header]}
        # events are written in completion order, as bs-fire does
        order = sorted(events, key=lambda e: (e["end_ns"], e["seq"]))
        with open(os.path.join(outdir, name + ".jsonl"), "w") as f:
            f.write(json.dumps(header) + "\n")
            for e in order:
                f.write(json.dumps(e) + "\n")
        m = ref_metrics(backend, events, True)
        run = {"backend": backend, "dataset_name": "random", "request_rate": math.inf,
               "max_concurrency": 4, "sharegpt_output_len": None, "random_input_len": 256,
               "random_output_len": 32, "random_range_ratio": 0.5, "server_info": None}
        line = json.dumps(jsonl_result(m, run, "parity", None))
        console = console_block(m, backend, math.inf, 4, "random", None)
        with open(os.path.join(ROOT, "pkg", "report", "testdata", "console_%s.golden" % name), "w") as f:
            f.write(console)
        with open(os.path.join(outdir, name + ".expected.json"), "w") as f:
            json.dump({"backend": backend, "metrics": m, "jsonl": line}, f, indent=1)
            f.write("\n")


def write(path, obj):
    path = os.path.join(ROOT, path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    write("pkg/stats/testdata/vectors.json", stats_vectors())
    write("pkg/report/testdata/pyrepr.json", pyrepr_vectors())
    parity()
    print("numpy", np.__version__, "python", sys.version.split()[0])
