#!/usr/bin/env python3
"""tiny_server.py — a small stand-in inference server for checking run-reference.sh.

It speaks just enough of the SGLang native API and the OpenAI API for the
reference client (sglang.benchmark.serving) to run against it:

  GET  /v1/models            {"object": "list", "data": [{"id": MODEL, ...}]}
  GET  /model_info           {"model_path": MODEL, "tokenizer_path": null}
  GET  /server_info          {"internal_states": [{}], "version": "tiny"}
  GET  /health               200
  POST /generate             SGLang native; SSE with cumulative "text" and
                             meta_info.{prompt_tokens, completion_tokens}
  POST /v1/completions       OpenAI completions, vLLM-style SSE
  POST /v1/chat/completions  OpenAI chat, vLLM-style SSE (role chunk first)
  POST /flush_cache, /reset_prefix_cache   200

Output: max_new_tokens / max_tokens / max_completion_tokens tokens (1 if
absent), each token one of a few words that are single tokens in Qwen3's and
Llama 3's vocabularies (" the", " cat", ...). The first token comes TTFT
seconds after the request, later ones ITL seconds apart (--ttft, --itl).
stream_options.include_usage adds a final usage chunk to OpenAI streams, as
vLLM does. Prompt tokens are counted as whitespace-separated words (this
server has no tokenizer); the reference only uses them where noted in
/work/shared/reference/sglang-bench-serving.md §7.3.

Standard library only; binds to 127.0.0.1 only. This is a test helper for the
parity scripts, not bs-sim.
"""

import argparse
import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WORDS = [" the", " cat", " sat", " on", " a", " mat", " and", " dog"]


def count_prompt(body):
    """Rough prompt size in words (no tokenizer here)."""
    if "input_ids" in body and isinstance(body["input_ids"], list):
        return len(body["input_ids"])
    text = body.get("text") or body.get("prompt")
    if isinstance(text, list):
        text = " ".join(str(t) for t in text)
    if text is None and isinstance(body.get("messages"), list):
        parts = []
        for m in body["messages"]:
            c = m.get("content")
            parts.append(c if isinstance(c, str) else json.dumps(c))
        text = " ".join(parts)
    return len(str(text or "").split())


class Handler(BaseHTTPRequestHandler):
    server_version = "tiny-server/1"
    protocol_version = "HTTP/1.0"  # close after each response; no chunked coding needed

    def log_message(self, fmt, *args):  # keep stderr quiet unless asked
        if self.server.verbose:
            sys.stderr.write("tiny_server: " + (fmt % args) + "\n")

    # ---- helpers -------------------------------------------------------
    def send_json(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def start_sse(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()

    def sse(self, obj):
        line = obj if isinstance(obj, str) else json.dumps(obj)
        self.wfile.write(b"data: " + line.encode() + b"\n\n")
        self.wfile.flush()

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b"{}"
        try:
            return json.loads(raw)
        except json.JSONDecodeError as e:
            self.send_json(400, {"error": f"bad JSON body: {e}"})
            return None

    def tokens(self, n):
        """Yields (index, word) with the server's timing."""
        for i in range(n):
            time.sleep(self.server.ttft if i == 0 else self.server.itl)
            yield i, WORDS[i % len(WORDS)]

    # ---- GET -------------------------------------------------------------
    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/v1/models":
            self.send_json(200, {"object": "list", "data": [
                {"id": self.server.model, "object": "model", "created": 0, "owned_by": "tiny"}]})
        elif path == "/model_info":
            self.send_json(200, {"model_path": self.server.model, "tokenizer_path": None})
        elif path in ("/server_info", "/get_server_info"):
            self.send_json(200, {"version": "tiny", "internal_states": [{}]})
        elif path == "/health":
            self.send_json(200, {})
        else:
            self.send_json(404, {"error": f"no route GET {path}"})

    # ---- POST ------------------------------------------------------------
    def do_POST(self):
        path = self.path.split("?", 1)[0]
        if path in ("/flush_cache", "/reset_prefix_cache"):
            self.read_body()
            self.send_json(200, {})
            return
        body = self.read_body()
        if body is None:
            return
        with self.server.lock:
            self.server.requests += 1
        if path == "/generate":
            self.native(body)
        elif path == "/v1/completions":
            self.openai(body, chat=False)
        elif path == "/v1/chat/completions":
            self.openai(body, chat=True)
        else:
            self.send_json(404, {"error": f"no route POST {path}"})

    def native(self, body):
        sp = body.get("sampling_params") or {}
        n = int(sp.get("max_new_tokens") or 1)
        ptoks = count_prompt(body)
        rid = uuid.uuid4().hex
        text = ""
        if body.get("stream"):
            self.start_sse()
            for i, w in self.tokens(n):
                text += w
                self.sse({"text": text, "meta_info": {
                    "id": rid, "finish_reason": ({"type": "length", "length": n} if i == n - 1 else None),
                    "prompt_tokens": ptoks, "completion_tokens": i + 1, "cached_tokens": 0}})
            self.sse("[DONE]")
        else:
            for _, w in self.tokens(n):
                text += w
            self.send_json(200, {"text": text, "meta_info": {
                "id": rid, "finish_reason": {"type": "length", "length": n},
                "prompt_tokens": ptoks, "completion_tokens": n, "cached_tokens": 0}})

    def openai(self, body, chat):
        n = int(body.get("max_completion_tokens") or body.get("max_tokens") or 1)
        ptoks = count_prompt(body)
        model = body.get("model") or self.server.model
        obj = "chat.completion" if chat else "text_completion"
        cid = ("chatcmpl-" if chat else "cmpl-") + uuid.uuid4().hex
        created = int(time.time())
        usage = {"prompt_tokens": ptoks, "completion_tokens": n, "total_tokens": ptoks + n}
        if not body.get("stream"):
            text = "".join(w for _, w in self.tokens(n))
            choice = {"index": 0, "finish_reason": "length", "logprobs": None}
            if chat:
                choice["message"] = {"role": "assistant", "content": text}
            else:
                choice["text"] = text
            self.send_json(200, {"id": cid, "object": obj, "created": created, "model": model,
                                 "choices": [choice], "usage": usage})
            return
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        chunk_obj = obj + ".chunk" if chat else obj
        self.start_sse()

        def chunk(choice, usage_field=None):
            c = {"id": cid, "object": chunk_obj, "created": created, "model": model,
                 "choices": [choice] if choice is not None else []}
            if include_usage:
                c["usage"] = usage_field
            return c

        if chat:
            self.sse(chunk({"index": 0, "delta": {"role": "assistant", "content": ""},
                            "logprobs": None, "finish_reason": None}))
        for i, w in self.tokens(n):
            fin = "length" if i == n - 1 else None
            if chat:
                self.sse(chunk({"index": 0, "delta": {"content": w}, "logprobs": None, "finish_reason": fin}))
            else:
                self.sse(chunk({"index": 0, "text": w, "logprobs": None, "finish_reason": fin}))
        if include_usage:
            self.sse(chunk(None, usage))
        self.sse("[DONE]")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = any free port)")
    ap.add_argument("--model", default="tiny-model")
    ap.add_argument("--ttft", type=float, default=0.02, help="seconds before the first token")
    ap.add_argument("--itl", type=float, default=0.005, help="seconds between later tokens")
    ap.add_argument("--port-file", help="write the bound port here once listening")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    srv.model, srv.ttft, srv.itl, srv.verbose = a.model, a.ttft, a.itl, a.verbose
    srv.lock, srv.requests = threading.Lock(), 0
    port = srv.server_address[1]
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(f"{port}\n")
        import os
        os.replace(a.port_file + ".tmp", a.port_file)
    print(f"tiny_server: listening on http://127.0.0.1:{port}", file=sys.stderr, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
