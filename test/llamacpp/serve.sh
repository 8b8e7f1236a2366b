#!/usr/bin/env bash
# serve.sh — start llama.cpp's OpenAI-compatible server (llama-cpp-python) on 127.0.0.1 with the tiny
# random-weight model from setup.sh, wait until GET /v1/models answers, print the base URL.
#
# Usage:
#   test/llamacpp/serve.sh [--port N] [--n-ctx N] [--pid-file F] [--log F] [--foreground]
#   test/llamacpp/serve.sh --stop [--pid-file F]
#
#   --port N        TCP port on 127.0.0.1 (default: a free port chosen by the OS)
#   --n-ctx N       context window in tokens (default 2048; prompt + max_tokens must fit)
#   --pid-file F    where the server's PID is written (default .cache/llamacpp/server.pid)
#   --log F         server log (default .cache/llamacpp/server.log)
#   --foreground    run in the foreground (Ctrl-C stops it) instead of in the background
#   --interrupt     keep llama-cpp-python's default --interrupt_requests True: a new request cuts the
#                   stream in flight short (one more chunk, then [DONE], no finish_reason). Without this
#                   flag concurrent requests wait and are served one after another (see README.md).
#   --stop          stop the server whose PID is in the pid file, and exit
#
# The model is served as "tiny-qwen3" with chat format chatml (Qwen's own format; the tokenizer has
# <|im_start|>/<|im_end|>), one sequence at a time (llama-cpp-python serves requests one by one).
# Last stdout line (background mode): the base URL, e.g. http://127.0.0.1:41234
set -euo pipefail

die() { echo "llamacpp/serve: error: $*" >&2; exit 1; }
log() { echo "llamacpp/serve: $*" >&2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.cache/venv-llamacpp"
PORT=0 N_CTX=2048 FOREGROUND=0 STOP=0 INTERRUPT=False
PID_FILE="$ROOT/.cache/llamacpp/server.pid"
LOG="$ROOT/.cache/llamacpp/server.log"

while (( $# )); do
  case "$1" in
    --port) PORT="${2:?--port needs a value}"; shift 2 ;;
    --n-ctx) N_CTX="${2:?--n-ctx needs a value}"; shift 2 ;;
    --pid-file) PID_FILE="${2:?--pid-file needs a value}"; shift 2 ;;
    --log) LOG="${2:?--log needs a value}"; shift 2 ;;
    --foreground) FOREGROUND=1; shift ;;
    --interrupt) INTERRUPT=True; shift ;;
    --stop) STOP=1; shift ;;
    *) die "unknown argument: $1 (see the header of $0)" ;;
  esac
done
[[ "$PORT" =~ ^[0-9]+$ ]] || die "--port must be a number, got '$PORT'"
[[ "$N_CTX" =~ ^[0-9]+$ ]] || die "--n-ctx must be a number, got '$N_CTX'"

if (( STOP )); then
  [[ -s "$PID_FILE" ]] || die "no pid file at $PID_FILE"
  pid="$(cat "$PID_FILE")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { kill -9 "$pid"; log "killed $pid (did not stop on SIGTERM)"; } || log "stopped $pid"
  else
    log "process $pid is not running"
  fi
  rm -f "$PID_FILE"
  exit 0
fi

MODEL="$(bash "$ROOT/test/llamacpp/setup.sh" | tail -1)"
[[ -s "$MODEL" ]] || die "setup.sh did not write a model"
PY="$VENV/bin/python"

if (( PORT == 0 )); then
  PORT="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
fi

ARGS=(-m llama_cpp.server --model "$MODEL" --model_alias tiny-qwen3 --host 127.0.0.1 --port "$PORT"
      --n_ctx "$N_CTX" --chat_format chatml --n_threads 1 --n_threads_batch 1 --seed 1234 --verbose False --interrupt_requests "$INTERRUPT")

if (( FOREGROUND )); then
  exec "$PY" "${ARGS[@]}"
fi

mkdir -p "$(dirname "$PID_FILE")" "$(dirname "$LOG")"
if [[ -s "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
  die "a server is already running with PID $(cat "$PID_FILE") (stop it with: $0 --stop)"
fi
nohup "$PY" "${ARGS[@]}" >"$LOG" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$PID_FILE"
URL="http://127.0.0.1:$PORT"
for _ in $(seq 600); do
  kill -0 "$pid" 2>/dev/null || { tail -20 "$LOG" >&2; rm -f "$PID_FILE"; die "server exited during start-up (log: $LOG)"; }
  if curl -fsS --max-time 2 "$URL/v1/models" >/dev/null 2>&1; then
    log "ready: $URL (PID $pid, log $LOG)"
    echo "$URL"
    exit 0
  fi
  sleep 0.1
done
kill "$pid" 2>/dev/null || true
rm -f "$PID_FILE"
die "server did not answer $URL/v1/models within 60 s (log: $LOG)"
