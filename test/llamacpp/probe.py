#!/usr/bin/env python3
"""probe.py — send streaming requests to an OpenAI-compatible server and print every SSE line with
its arrival time, to see how a server streams (chunk shapes, timing, and how it serves concurrent
requests).

Usage:
  probe.py BASE_URL [--chat] [--concurrency N] [--max-tokens N] [--prompt TEXT]
           [--extra JSON] [--raw]
BASE_URL must be on 127.0.0.1 / localhost. Prints, per request, lines like
  req 0  t=+0.0123s  data: {...}
and a summary: first-byte and last-line times per request. Standard library only.
"""

import argparse
import http.client
import json
import sys
import threading
import time
import urllib.parse


def run_one(idx, url, path, body, out, t0, raw, barrier):
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=600)
    conn.connect()
    barrier.wait()  # all requests go out together
    sent = time.perf_counter()
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    lines = []
    while True:
        try:
            line = resp.readline()
        except (http.client.IncompleteRead, ConnectionError) as e:
            lines.append((time.perf_counter() - t0, f"<stream broken: {type(e).__name__}: {e}>"))
            break
        if not line:
            break
        s = line.decode("utf-8", "replace").rstrip("\r\n")
        if s or raw:
            lines.append((time.perf_counter() - t0, s))
    out[idx] = (sent - t0, resp.status, lines)
    conn.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("base_url")
    ap.add_argument("--chat", action="store_true", help="use /v1/chat/completions (default /v1/completions)")
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--max-tokens", type=int, default=8)
    ap.add_argument("--prompt", default="Hello world, the cat")
    ap.add_argument("--extra", default="{}", help="JSON object merged into the request body")
    ap.add_argument("--raw", action="store_true", help="also print empty lines")
    a = ap.parse_args()
    host = urllib.parse.urlparse(a.base_url).hostname or ""
    if not (host.startswith("127.") or host in ("localhost", "::1")):
        sys.exit(f"probe: {a.base_url} is not a loopback address")
    try:
        extra = json.loads(a.extra)
    except json.JSONDecodeError as e:
        sys.exit(f"probe: --extra is not JSON: {e}")
    if a.chat:
        path = "/v1/chat/completions"
        body = {"messages": [{"role": "user", "content": a.prompt}]}
    else:
        path = "/v1/completions"
        body = {"prompt": a.prompt}
    body.update({"max_tokens": a.max_tokens, "temperature": 0, "stream": True})
    body.update(extra)
    out = [None] * a.concurrency
    barrier = threading.Barrier(a.concurrency)
    t0 = time.perf_counter()
    ths = [threading.Thread(target=run_one, args=(i, a.base_url, path, body, out, t0, a.raw, barrier))
           for i in range(a.concurrency)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    for i, (sent, status, lines) in enumerate(out):
        print(f"req {i}  sent=+{sent:.4f}s  HTTP {status}")
        for t, s in lines:
            print(f"req {i}  t=+{t:.4f}s  {s}")
    print("summary:")
    for i, (sent, status, lines) in enumerate(out):
        first = lines[0][0] if lines else float("nan")
        last = lines[-1][0] if lines else float("nan")
        print(f"  req {i}: first line +{first:.4f}s, last line +{last:.4f}s, {len(lines)} lines")


if __name__ == "__main__":
    main()
