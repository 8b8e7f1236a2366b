#!/usr/bin/env python3
"""client_vs_client.py: one row of bench/client-vs-client.sh.

Compares one client's reported per-request timings with bs-sim's truth log for the same run.
Neither side is matched request by request (the reference sends no request id): the client's
distributions are compared with the truth's distributions of the same quantities.

    truth:     TTFT = chunk_ns[0] - received_ns, ITL = gaps between chunk_ns, E2E = end_ns - received_ns
    reference: --output-details arrays ttfts (s), itls (s, per request); mean E2E = mean_e2e_latency_ms
    bs-fire:   event records: TTFT = chunk_ns[0] (chunk times count from sent_ns), ITL = chunk gaps, E2E = end_ns - sent_ns

Warm-up requests are dropped from the truth log: the first --warmup records by arrival (both clients
finish their warm-up before the run starts).

Percentiles are NumPy's default (linear interpolation), as the reference computes them.

Usage: client_vs_client.py --client ref|bs --truth T.jsonl --client-file F --warmup 1
       --cpu "USER SYS" --events-expected N [--extra-cpu "USER SYS"]
Prints one JSON object.
"""
import argparse
import json
import sys

import numpy as np


def die(msg):
    print(f"client_vs_client.py: error: {msg}", file=sys.stderr)
    sys.exit(2)


def load_jsonl(path):
    out = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as e:
                die(f"{path}:{n}: not JSON: {e}")
    return out


def truth_dists(path, warmup):
    recs = [r for r in load_jsonl(path) if "received_ns" in r]
    recs.sort(key=lambda r: r["received_ns"])
    recs = recs[warmup:]
    bad = [r for r in recs if r.get("outcome") != "ok"]
    ttft, itl, e2e = [], [], []
    for r in recs:
        if r.get("outcome") != "ok":
            continue
        c = r.get("chunk_ns") or []
        if not c:
            continue
        ttft.append((c[0] - r["received_ns"]) / 1e6)
        itl.extend((b - a) / 1e6 for a, b in zip(c, c[1:]))
        e2e.append((r["end_ns"] - r["received_ns"]) / 1e6)
    return dict(n=len(ttft), failed=len(bad), ttft=np.array(ttft), itl=np.array(itl), e2e=np.array(e2e))


def ref_dists(path):
    rows = load_jsonl(path)
    if len(rows) != 1:
        die(f"{path}: expected one JSON line, found {len(rows)}")
    r = rows[0]
    for k in ("ttfts", "itls", "errors", "mean_e2e_latency_ms", "completed"):
        if k not in r:
            die(f"{path}: field {k!r} missing (run with --output-details)")
    ok = [i for i, e in enumerate(r["errors"]) if not e]
    ttft = [r["ttfts"][i] * 1e3 for i in ok]
    itl = [g * 1e3 for i in ok for g in r["itls"][i]]
    return dict(n=int(r["completed"]), failed=len(r["errors"]) - len(ok), ttft=np.array(ttft),
                itl=np.array(itl), e2e_mean=float(r["mean_e2e_latency_ms"]),
                duration_s=float(r.get("duration", 0)))


def bs_dists(path):
    ttft, itl, e2e, failed = [], [], [], 0
    for r in load_jsonl(path):
        if "sent_ns" not in r or "end_ns" not in r or "ok" not in r:
            continue  # header / trailer lines
        if not r["ok"]:
            failed += 1
            continue
        c = r.get("chunk_ns") or []
        if not c:
            continue
        ttft.append(c[0] / 1e6)  # chunk_ns count from sent_ns (pkg/records Event)
        itl.extend((b - a) / 1e6 for a, b in zip(c, c[1:]))
        e2e.append((r["end_ns"] - r["sent_ns"]) / 1e6)  # end_ns counts from the header's start
    return dict(n=len(ttft), failed=failed, ttft=np.array(ttft), itl=np.array(itl),
                e2e_mean=float(np.mean(e2e)) if e2e else float("nan"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--client", choices=("ref", "bs"), required=True)
    ap.add_argument("--truth", required=True)
    ap.add_argument("--client-file", required=True)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--cpu", required=True, help="'USER SYS' seconds of the client process")
    ap.add_argument("--extra-cpu", default="", help="'USER SYS' of bs-gen (bs side), reported apart")
    a = ap.parse_args()

    t = truth_dists(a.truth, a.warmup)
    c = ref_dists(a.client_file) if a.client == "ref" else bs_dists(a.client_file)
    if t["n"] == 0 or c["n"] == 0:
        die(f"no completed requests (truth {t['n']}, client {c['n']})")
    try:
        u, s = (float(x) for x in a.cpu.split())
    except ValueError:
        die(f"--cpu {a.cpu!r}: want 'USER SYS'")
    cpu = u + s
    events = len(c["itl"]) + c["n"]  # one token event per chunk: first chunk + every gap
    p = lambda x, q: float(np.percentile(x, q))
    out = dict(
        client=a.client,
        requests=c["n"], failed=c["failed"], truth_requests=t["n"], truth_failed=t["failed"],
        truth_mean_ttft_ms=float(t["ttft"].mean()), client_mean_ttft_ms=float(c["ttft"].mean()),
        err_mean_ttft_ms=float(c["ttft"].mean() - t["ttft"].mean()),
        truth_p99_ttft_ms=p(t["ttft"], 99), client_p99_ttft_ms=p(c["ttft"], 99),
        err_p99_ttft_ms=p(c["ttft"], 99) - p(t["ttft"], 99),
        truth_p99_itl_ms=p(t["itl"], 99), client_p99_itl_ms=p(c["itl"], 99),
        err_p99_itl_ms=p(c["itl"], 99) - p(t["itl"], 99),
        truth_mean_e2e_ms=float(t["e2e"].mean()), client_mean_e2e_ms=c["e2e_mean"],
        err_mean_e2e_ms=c["e2e_mean"] - float(t["e2e"].mean()),
        cpu_s=cpu, cpu_user_s=u, cpu_sys_s=s, token_events=events,
        cpu_us_per_event=cpu / events * 1e6,
    )
    if a.extra_cpu:
        eu, es = (float(x) for x in a.extra_cpu.split())
        out["gen_cpu_s"] = eu + es
    print(json.dumps(out))


if __name__ == "__main__":
    main()
