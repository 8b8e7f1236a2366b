#!/usr/bin/env python3
"""ref_metrics.py — the reference's own `calculate_metrics` applied to a bs event file.

Usage (normally through refdriver.py, which has the reference imported already):
  ref_metrics.py --events EVENTS.jsonl --duration SECONDS --tokenizer DIR --out RESULT.json

EVENTS.jsonl is a plain (uncompressed) event stream written by `bs-fire --record-text`. Each event
becomes one `RequestFuncOutput` and one `DatasetRow`, built the way the reference's request function
for the run's backend (the header's run.backend) would have filled them from the same HTTP exchange
(fact sheet §3, serving.py's async_request_* functions):

  success        = ok
  start_time     = sent_ns / 1e9 (native, completions, chat); 0.0 for trt and truss (the reference
                   never sets it for them)
  ttft           = chunk_ns[0] / 1e9, or 0.0 when no chunk carried text
  latency        = (end_ns - sent_ns) / 1e9
  itl            = native (sglang, sglang-native): for chunks j >= 1 with k = chunk_tokens[j] > 0,
                   k entries of (chunk_ns[j] - chunk_ns[prev]) / 1e9 / k, prev = the last chunk with
                   tokens (a k = 0 chunk is skipped and its time rolls into the next gap);
                   every other backend: one entry (chunk_ns[j] - chunk_ns[j-1]) / 1e9 per chunk j >= 1
  text_chunks    = chunk_text[1:]
  output_len     = native: the last meta_info.completion_tokens = usage_completion_tokens, else
                   sum(chunk_tokens), else the requested output_len;
                   completions (sglang-oai, vllm, lmdeploy): usage.completion_tokens only when it came
                   inside a chunk with text (bs records per-chunk counts, chunk_tokens, exactly then;
                   a non-streamed body is one such chunk), else the requested output_len;
                   chat: usage.completion_tokens if any chunk (or the non-streamed body) had it, else
                   the requested output_len; trt, truss: the requested output_len
  generated_text = text
  DatasetRow     = prompt_len, text_prompt_len (default prompt_len), vision_prompt_len, output_len
                   from the event (the prompt record's client-side counts, as the reference's rows)

Events are taken in dispatch order (seq). The reference's `calculate_metrics(input_requests,
outputs, dur_s, tokenizer, backend, accept_length)` is then called with dur_s = --duration (bs's
duration, so throughputs are comparable; the reference's own duration is measured differently, see
docs/compat.md), the Qwen3 tokenizer loaded by the reference's `get_tokenizer`, and accept_length =
the trailer's accept_length (from /server_info, as the reference reads it). RESULT.json holds
"result": the reference's JSONL result keys filled from the returned BenchmarkMetrics with the same
mapping as serving.py's `benchmark()`, plus "output_lens" and "events" (how many were read). For trt
and truss it also holds "peaks_real_start": the two peak metrics recomputed with start_time = sent_ns
(the reference's own values put every request at t = 0; see metrics_test.go).
"""

import argparse
import json
import sys


def load_events(path):
    header, trailer, events = None, None, []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except ValueError as e:
                raise SystemExit("%s:%d: %s" % (path, n, e))
            kind = obj.get("kind")
            if kind == "header":
                header = obj
            elif kind == "trailer":
                trailer = obj
            else:
                events.append(obj)
    if header is None or "run" not in header:
        raise SystemExit("%s: no bs-fire header with a run object" % path)
    events.sort(key=lambda e: e["seq"])
    return header, trailer, events


NATIVE = ("sglang", "sglang-native")
COMPLETIONS = ("sglang-oai", "vllm", "lmdeploy")
CHAT = ("sglang-oai-chat", "vllm-chat", "lmdeploy-chat")
NO_START = ("trt", "truss")


def output_len(ev, backend):
    want = ev["output_len"]
    usage = ev.get("usage_completion_tokens")
    toks = ev.get("chunk_tokens")
    if backend in NATIVE:
        if usage is not None:
            return usage
        if toks:
            return sum(toks)
        return want
    if backend in COMPLETIONS:
        if toks and usage is not None:
            return usage
        return want
    if backend in CHAT:
        return usage if usage is not None else want
    return want


def itl_list(ev, backend):
    c = ev.get("chunk_ns") or []
    out = []
    if backend in NATIVE:
        toks = ev.get("chunk_tokens")
        prev = 0
        for j in range(1, len(c)):
            k = toks[j] if toks else 1
            if k == 0:
                continue
            gap = (c[j] - c[prev]) / 1e9
            out.extend([gap / k] * k)
            prev = j
        return out
    return [(c[j] - c[j - 1]) / 1e9 for j in range(1, len(c))]


def main(argv):
    ap = argparse.ArgumentParser(prog="ref_metrics.py")
    ap.add_argument("--events", required=True)
    ap.add_argument("--duration", required=True, type=float)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)

    from sglang.benchmark.datasets import DatasetRow
    from sglang.benchmark.serving import RequestFuncOutput, calculate_metrics
    from sglang.benchmark.utils import get_tokenizer

    header, trailer, events = load_events(a.events)
    backend = header["run"]["backend"]
    accept_length = (trailer or {}).get("accept_length")

    rows, outputs = [], []
    for ev in events:
        o = RequestFuncOutput()
        o.success = bool(ev["ok"])
        o.prompt_len = ev["prompt_len"]
        if o.success:
            c = ev.get("chunk_ns") or []
            o.start_time = 0.0 if backend in NO_START else ev["sent_ns"] / 1e9
            o.ttft = c[0] / 1e9 if c else 0.0
            o.latency = (ev["end_ns"] - ev["sent_ns"]) / 1e9
            o.itl = itl_list(ev, backend)
            o.text_chunks = list((ev.get("chunk_text") or [])[1:])
            o.output_len = output_len(ev, backend)
            o.generated_text = ev.get("text", "")
        else:
            o.error = ev.get("error", "failed")
        outputs.append(o)
        rows.append(DatasetRow(
            prompt="",
            prompt_len=ev["prompt_len"],
            output_len=ev["output_len"],
            text_prompt_len=ev.get("text_prompt_len", ev["prompt_len"]),
            vision_prompt_len=ev.get("vision_prompt_len", 0),
        ))

    tokenizer = get_tokenizer(a.tokenizer)
    m, output_lens = calculate_metrics(
        input_requests=rows,
        outputs=outputs,
        dur_s=a.duration,
        tokenizer=tokenizer,
        backend=backend,
        accept_length=accept_length,
    )
    # trt and truss: the reference leaves start_time at 0, so its peak metrics count every request as
    # if all started together. Also compute them with the real send times, for comparison.
    peaks_real_start = None
    if backend in NO_START:
        for o, ev in zip(outputs, events):
            if o.success:
                o.start_time = ev["sent_ns"] / 1e9
        m2, _ = calculate_metrics(input_requests=rows, outputs=outputs, dur_s=a.duration,
                                  tokenizer=tokenizer, backend=backend, accept_length=accept_length)
        peaks_real_start = {
            "max_output_tokens_per_s": to_json(m2.max_output_tokens_per_s),
            "max_concurrent_requests": to_json(m2.max_concurrent_requests),
        }
    # The reference's result keys (serving.py, benchmark()), from the same BenchmarkMetrics fields.
    result = {
        "duration": a.duration,
        "completed": m.completed,
        "total_input_tokens": m.total_input,
        "total_input_text_tokens": m.total_input_text,
        "total_input_vision_tokens": m.total_input_vision,
        "total_output_tokens": m.total_output,
        "total_output_tokens_retokenized": m.total_output_retokenized,
        "request_throughput": m.request_throughput,
        "input_throughput": m.input_throughput,
        "output_throughput": m.output_throughput,
        "total_throughput": m.total_throughput,
        "mean_e2e_latency_ms": m.mean_e2e_latency_ms,
        "median_e2e_latency_ms": m.median_e2e_latency_ms,
        "std_e2e_latency_ms": m.std_e2e_latency_ms,
        "p90_e2e_latency_ms": m.p90_e2e_latency_ms,
        "p95_e2e_latency_ms": m.p95_e2e_latency_ms,
        "p99_e2e_latency_ms": m.p99_e2e_latency_ms,
        "mean_ttft_ms": m.mean_ttft_ms,
        "median_ttft_ms": m.median_ttft_ms,
        "std_ttft_ms": m.std_ttft_ms,
        "p90_ttft_ms": m.p90_ttft_ms,
        "p95_ttft_ms": m.p95_ttft_ms,
        "p99_ttft_ms": m.p99_ttft_ms,
        "mean_tpot_ms": m.mean_tpot_ms,
        "median_tpot_ms": m.median_tpot_ms,
        "std_tpot_ms": m.std_tpot_ms,
        "p90_tpot_ms": m.p90_tpot_ms,
        "p95_tpot_ms": m.p95_tpot_ms,
        "p99_tpot_ms": m.p99_tpot_ms,
        "mean_itl_ms": m.mean_itl_ms,
        "median_itl_ms": m.median_itl_ms,
        "std_itl_ms": m.std_itl_ms,
        "p90_itl_ms": m.p90_itl_ms,
        "p95_itl_ms": m.p95_itl_ms,
        "p99_itl_ms": m.p99_itl_ms,
        "max_itl_ms": m.max_itl_ms,  # printed on the console; not in the reference's JSONL line
        "concurrency": m.concurrency,
        "accept_length": accept_length,
        "max_output_tokens_per_s": m.max_output_tokens_per_s,
        "max_concurrent_requests": m.max_concurrent_requests,
    }
    out = {
        "backend": backend,
        "events": len(events),
        "result": {k: to_json(v) for k, v in result.items()},
        "output_lens": [int(x) for x in output_lens],
        "peaks_real_start": peaks_real_start,
    }
    with open(a.out, "w") as f:
        json.dump(out, f)
        f.write("\n")


def to_json(v):
    """NumPy scalars to plain Python numbers (float repr round-trips exactly)."""
    if v is None:
        return None
    if hasattr(v, "item"):
        v = v.item()
    return v


if __name__ == "__main__":
    main(sys.argv[1:])
