#!/usr/bin/env python3
"""refdriver.py — run SGLang's benchmark client (the reference) many times from one import.

`python -m sglang.benchmark.serving` spends ~7-10 s importing torch before it does anything, so the
parity tests (test/parity/*_test.go) start this driver once; it imports the reference, then forks
one child per command. A "run" child calls the reference's own entry point,
`sglang.benchmark.serving.cli_main()`, with `sys.argv` set to the case's flags: the same code path
as `python -m sglang.benchmark.serving FLAGS` in a fresh process (the fork happens before any
asyncio loop, tokenizer or dataset exists; the reference seeds `random` and NumPy itself at the
start of every run). Nothing in the reference is patched. Children run concurrently, so the
reference's fixed 1 s pause after warm-up overlaps between cases.

Each child starts in its own empty working directory (so a model name is never taken for a local
path) with HOME set to a folder inside it (so the reference's generated-shared-prefix pickle cache,
whose key ignores the tokenizer path, never serves rows from another case), and the case's extra
environment variables. The environment the Go test gives this process copies
test/parity/run-reference.sh: HF_*_OFFLINE=1, no proxies, no API keys.

Protocol: one JSON object per line on stdin, one JSON reply per line on the original stdout, in
completion order, each carrying the command's "id". The reference's console output goes to the
command's log file (fd 1 and 2 of the child).
  {"id": N, "op": "run", "argv": [...], "cwd": DIR, "log": FILE, "env": {NAME: VALUE|null}}
      -> {"id": N, "ok": true, "seconds": S} or {"id": N, "ok": false, "error": "...", ...}
  {"id": N, "op": "metrics", "args": [...], "cwd": ..., "log": ...}
      -> runs ref_metrics.main(args) (calculate_metrics on a bs event file; see ref_metrics.py)
  {"id": N, "op": "dataset", "argv": [...], "out": FILE, "cwd": ..., "log": ...}
      -> parses argv with the reference's own cli_main() and, where run_benchmark would start,
         does what run_benchmark does up to its dataset (random.seed and numpy.random.seed with
         --seed, get_tokenizer(--tokenizer), get_dataset(args, tokenizer, model)), then writes
         the rows to FILE as JSON: [{"prompt", "prompt_len", "output_len", ...}, ...]. Nothing is
         sent to any server. (run_benchmark is replaced in this child only, so that the flags go
         through the reference's argparse and validation unchanged.)
The first line written is {"ready": true, "seconds": S} once the reference module is imported.
End of stdin: the driver waits for its children and exits.
"""

import gc
import json
import os
import sys
import threading
import time
import traceback


def main():
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    saved_out = os.dup(1)
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)

    # Import with the console going to stderr so the protocol stream stays clean.
    os.dup2(2, 1)
    t0 = time.monotonic()
    try:
        import sglang.benchmark.serving as serving  # the ~7-10 s import (torch)
        import ref_metrics
    except Exception:
        proto.write(json.dumps({"ready": False, "error": traceback.format_exc()}) + "\n")
        return 1
    finally:
        sys.stdout.flush()
        os.dup2(saved_out, 1)
    # Keep the imported heap out of the garbage collector's reach, so forked children do not copy it
    # page by page when a collection walks it (copy-on-write).
    gc.collect()
    gc.freeze()
    proto.write(json.dumps({"ready": True, "seconds": round(time.monotonic() - t0, 3)}) + "\n")

    lock = threading.Lock()
    children = {}  # pid -> (command, start time)
    cond = threading.Condition(lock)
    stdin_done = [False]

    def reaper():
        while True:
            with cond:
                while not children and not stdin_done[0]:
                    cond.wait()
                if not children and stdin_done[0]:
                    return
            try:
                pid, status = os.wait()
            except ChildProcessError:
                continue
            with cond:
                cmd, started = children.pop(pid, (None, 0))
                cond.notify_all()
            if cmd is None:
                continue
            reply = {"id": cmd.get("id"), "ok": False}
            try:
                with open(reply_path(cmd)) as f:
                    reply = json.load(f)
            except Exception:
                reply["error"] = "reference child exited with status %d and no reply (see %s)" % (
                    status, cmd.get("log"))
            reply["seconds"] = round(time.monotonic() - started, 3)
            with lock:
                proto.write(json.dumps(reply) + "\n")

    t = threading.Thread(target=reaper, daemon=True)
    t.start()

    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        cmd = json.loads(line)
        os.makedirs(cmd["cwd"], exist_ok=True)
        try:
            os.unlink(reply_path(cmd))
        except FileNotFoundError:
            pass
        with cond:
            pid = os.fork()
            if pid == 0:
                child(cmd, serving, ref_metrics)  # never returns
            children[pid] = (cmd, time.monotonic())
            cond.notify_all()
    with cond:
        stdin_done[0] = True
        cond.notify_all()
    t.join()
    return 0


def dump_dataset(serving, args, out):
    """run_benchmark's steps up to its dataset (seeds, tokenizer, get_dataset); rows go to out."""
    import random

    import numpy as np

    random.seed(args.seed)
    np.random.seed(args.seed)
    tokenizer = serving.get_tokenizer(args.tokenizer or args.model)
    rows = serving.get_dataset(args, tokenizer, args.served_model_name or args.model)
    data = []
    for r in rows:
        p = r.prompt
        if isinstance(p, np.ndarray):
            p = p.tolist()
        data.append({"prompt": p, "prompt_len": int(r.prompt_len), "output_len": int(r.output_len),
                     "routing_key": r.routing_key, "extra_request_body": r.extra_request_body or None})
    with open(out + ".tmp", "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False)
    os.replace(out + ".tmp", out)


def reply_path(cmd):
    return os.path.join(cmd["cwd"], ".refdriver-reply-%s.json" % cmd.get("id"))


def child(cmd, serving, ref_metrics):
    reply = {"id": cmd.get("id"), "ok": True}
    code = 0
    try:
        log = open(cmd.get("log") or os.devnull, "w")
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        os.chdir(cmd["cwd"])
        home = os.path.join(cmd["cwd"], "home")
        os.makedirs(home, exist_ok=True)
        os.environ["HOME"] = home
        for k, v in (cmd.get("env") or {}).items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        try:
            if cmd["op"] == "run":
                sys.argv = ["python -m sglang.benchmark.serving"] + list(cmd["argv"])
                serving.cli_main()
            elif cmd["op"] == "metrics":
                ref_metrics.main(list(cmd["args"]))
            elif cmd["op"] == "dataset":
                serving.run_benchmark = lambda args: dump_dataset(serving, args, cmd["out"])
                sys.argv = ["python -m sglang.benchmark.serving"] + list(cmd["argv"])
                serving.cli_main()
            else:
                reply = {"id": cmd.get("id"), "ok": False, "error": "unknown op %r" % cmd["op"]}
        except SystemExit as e:
            if e.code not in (None, 0):
                reply = {"id": cmd.get("id"), "ok": False, "error": "exit status %r" % (e.code,)}
        except BaseException:
            reply = {"id": cmd.get("id"), "ok": False, "error": traceback.format_exc()}
            print(reply["error"], file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        tmp = reply_path(cmd) + ".tmp"
        with open(tmp, "w") as f:
            json.dump(reply, f)
        os.replace(tmp, reply_path(cmd))
    except BaseException:
        code = 3
    finally:
        os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
