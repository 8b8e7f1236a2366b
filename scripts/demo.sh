#!/usr/bin/env bash
# make demo: a real benchmark, end to end, against bs-sim on a free loopback port.
#   bs-gen (Qwen3 tokenizer, random-ids as token ids: needs no download) | bs-fire (sglang backend, Poisson 100 req/s, 32 in flight)
#   | bs-stat | bs-report
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
bin/bs-sim --port 0 --ttft 30ms --itl 8ms --max-concurrency 64 --addr-file "$tmp/addr" > "$tmp/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do [ -s "$tmp/addr" ] && break; sleep 0.05; done
url=$(cat "$tmp/addr")
echo "bs-sim listening on $url" >&2
set -x
bin/bs-gen --dataset-name random-ids --tokenizer .cache/testdata/tokenizers/qwen3 --num-prompts 200 \
    --random-input-len 512 --random-output-len 128 --random-range-ratio 0.5 --seed 1 --tokenize-prompt \
  | bin/bs-fire --backend sglang --base-url "$url" --request-rate 100 --max-concurrency 32 --record-text \
  | bin/bs-stat --tokenizer .cache/testdata/tokenizers/qwen3 \
  | bin/bs-report
