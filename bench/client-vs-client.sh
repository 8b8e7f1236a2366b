#!/usr/bin/env bash
# client-vs-client.sh — the reference (SGLang's `python -m sglang.benchmark.serving`) and bs-fire on the
# same work, each against a fresh bs-sim with a truth log; how far each client's reported TTFT, ITL and
# E2E are from what the server really did, and what each client cost in CPU.
#
# Usage: bench/client-vs-client.sh [--streams "16 256 1024"] [--waves 1|2] [--out-dir DIR] [--timeout SEC]
#
# Workload (the issue's): bs-sim --ttft 50ms --itl 10ms (one SSE event per token, --tokens-per-chunk 1),
# random-ids prompts of exactly 128 tokens sent as token ids (--tokenize-prompt, --random-range-ratio 1),
# 256 output tokens, --request-rate inf, --max-concurrency = streams, prompts = waves × streams,
# backend sglang (native /generate), --warmup-requests 1 on both sides, Qwen3 tokenizer.
#
# Per row: the client's error against the truth log, compared as distributions (the reference sends no
# request id): mean and p99 TTFT, p99 ITL, mean E2E (client − truth, ms). Truth: TTFT = first chunk
# flushed − received, ITL = gaps between flushed chunks, E2E = end − received. Reference values come
# from its --output-details arrays (ttfts, itls) and mean_e2e_latency_ms; bs-fire's from its event file.
# CPU = user+sys of the client process from /usr/bin/time (nothing subtracted: the reference's includes
# its Python start-up, tokenizer load and dataset generation; bs-fire's does not include bs-gen, whose
# CPU is shown apart). The 1-minute load average is read with `uptime` before each run.
#
# Needs: `make build` (bin/), the reference venv (.cache/venv-sglang, test/parity/setup.sh) and the
# Qwen3 tokenizer (.cache/testdata/tokenizers/qwen3, scripts/fetch-testdata.sh). Only 127.0.0.1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STREAMS="16 256 1024"
WAVES=1
OUT=""
TIMEOUT=150
while (( $# )); do
  case "$1" in
    --streams) STREAMS="$2"; shift 2 ;;
    --waves) WAVES="$2"; shift 2 ;;
    --out-dir) OUT="$2"; shift 2 ;;
    --timeout) TIMEOUT="$2"; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "client-vs-client: unknown argument $1" >&2; exit 2 ;;
  esac
done

BIN="$ROOT/bin"
PY="$ROOT/.cache/venv-sglang/bin/python"
TOK="$ROOT/.cache/testdata/tokenizers/qwen3"
for f in "$BIN/bs-sim" "$BIN/bs-gen" "$BIN/bs-fire" "$PY" /usr/bin/time; do
  [[ -x "$f" ]] || { echo "client-vs-client: $f missing (make build; test/parity/setup.sh)" >&2; exit 2; }
done
[[ -d "$TOK" ]] || { echo "client-vs-client: tokenizer $TOK missing (scripts/fetch-testdata.sh)" >&2; exit 2; }
[[ -n "$OUT" ]] || OUT="$(mktemp -d /tmp/client-vs-client.XXXXXX)"
mkdir -p "$OUT"

SIM_PID=""
stop_sim() {
  if [[ -n "$SIM_PID" ]]; then
    kill -TERM "$SIM_PID" 2>/dev/null || true
    wait "$SIM_PID" 2>/dev/null || true
    SIM_PID=""
  fi
}
trap stop_sim EXIT INT TERM

start_sim() { # $1 = truth log; sets URL and SIM_PID
  local addr="$OUT/addr.$$"
  rm -f "$addr"
  "$BIN/bs-sim" --host 127.0.0.1 --port 0 --addr-file "$addr" --ttft 50ms --itl 10ms \
    --tokens-per-chunk 1 --seed 1 --truth-log "$1" >"$1.stdout" 2>"$1.stderr" &
  SIM_PID=$!
  for _ in $(seq 100); do [[ -s "$addr" ]] && break; sleep 0.1; done
  [[ -s "$addr" ]] || { echo "client-vs-client: bs-sim did not start (see $1.stderr)" >&2; exit 1; }
  URL="$(cat "$addr")"
}

load1() { uptime | sed 's/.*load average: *//; s/,.*//'; }

printf '%-6s %-4s %6s %6s | %8s %8s %8s %8s | %8s %10s %s\n' \
  streams side reqs fail "dTTFTmean" "dTTFTp99" "dITLp99" "dE2Emean" "CPU s" "us/event" "load1"
RESULTS="$OUT/results.jsonl"
: >"$RESULTS"

for S in $STREAMS; do
  N=$(( S * WAVES ))
  # bs-fire's prompts, generated once per size, outside the timed client.
  PROMPTS="$OUT/prompts-$N.jsonl"
  /usr/bin/time -f '%U %S' -o "$OUT/gen-$N.time" "$BIN/bs-gen" -q --dataset-name random-ids \
    --tokenize-prompt --tokenizer "$TOK" --random-input-len 128 --random-output-len 256 \
    --random-range-ratio 1 --num-prompts "$N" --seed 42 -o "$PROMPTS"

  for side in ref bs; do
    TRUTH="$OUT/truth-$side-$S.jsonl"
    rm -f "$TRUTH"
    L="$(load1)"
    start_sim "$TRUTH"
    TIMEF="$OUT/$side-$S.time"
    rc=0
    if [[ $side == ref ]]; then
      CF="$OUT/ref-$S.jsonl"; rm -f "$CF"
      FAKE_HOME="$OUT/home"; mkdir -p "$FAKE_HOME"
      CMD=(env -u OPENAI_API_KEY -u API_KEY -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY
        -u all_proxy -u ALL_PROXY HOME="$FAKE_HOME" NO_PROXY='*' no_proxy='*' HF_HUB_OFFLINE=1
        TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 PYTHONWARNINGS=ignore TOKENIZERS_PARALLELISM=false
        /usr/bin/time -f '%U %S' -o "$TIMEF"
        "$PY" -m sglang.benchmark.serving --backend sglang --base-url "$URL" --dataset-name random-ids
        --tokenize-prompt --tokenizer "$TOK" --random-input-len 128 --random-output-len 256
        --random-range-ratio 1 --num-prompts "$N" --request-rate inf --max-concurrency "$S"
        --warmup-requests 1 --seed 42 --disable-tqdm --output-file "$CF" --output-details)
    else
      CF="$OUT/bs-$S.events.jsonl"; rm -f "$CF"
      CMD=(/usr/bin/time -f '%U %S' -o "$TIMEF"
        "$BIN/bs-fire" --backend sglang --base-url "$URL" --request-rate inf --max-concurrency "$S"
        --warmup-requests 1 -q -o "$CF" "$PROMPTS")
    fi
    echo "${CMD[*]}" >"$OUT/$side-$S.cmd"
    timeout "$TIMEOUT" "${CMD[@]}" >"$OUT/$side-$S.log" 2>&1 || rc=$?
    stop_sim
    if (( rc != 0 )); then
      printf '%-6s %-4s  FAILED (exit %d%s; log %s)  load1 %s\n' "$S" "$side" "$rc" \
        "$([[ $rc == 124 ]] && echo ", timed out after ${TIMEOUT}s")" "$OUT/$side-$S.log" "$L"
      continue
    fi
    CPU="$(tail -1 "$TIMEF")"
    EXTRA=()
    [[ $side == bs ]] && EXTRA=(--extra-cpu "$(tail -1 "$OUT/gen-$N.time")")
    row="$("$PY" "$ROOT/bench/client_vs_client.py" --client "$side" --truth "$TRUTH" --client-file "$CF" \
      --warmup 1 --cpu "$CPU" "${EXTRA[@]}")"
    row="$("$PY" -c 'import json,sys; r=json.loads(sys.argv[1]); r.update(streams=int(sys.argv[2]), load1=float(sys.argv[3])); print(json.dumps(r))' "$row" "$S" "$L")"
    echo "$row" >>"$RESULTS"
    "$PY" -c '
import json, sys
r = json.loads(sys.argv[1])
print("%-6d %-4s %6d %6d | %+8.2f %+8.2f %+8.2f %+8.2f | %8.2f %10.2f %.2f" % (r["streams"], r["client"],
  r["requests"], r["failed"], r["err_mean_ttft_ms"], r["err_p99_ttft_ms"], r["err_p99_itl_ms"],
  r["err_mean_e2e_ms"], r["cpu_s"], r["cpu_us_per_event"], r["load1"]))' "$row"
  done
done
echo "results: $RESULTS (work dir $OUT)"
