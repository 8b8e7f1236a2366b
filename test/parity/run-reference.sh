#!/usr/bin/env bash
# run-reference.sh — run SGLang's benchmark client (the reference, `python -m sglang.benchmark.serving`)
# against a server on this machine, fully offline, and print where its JSONL landed.
#
# Usage:
#   test/parity/run-reference.sh --base-url http://127.0.0.1:PORT [script options] [reference flags...]
#
# Script options (consumed here):
#   --out-dir DIR     where the JSONL and console log go (default .cache/parity/runs)
#   --name NAME       file stem (default ref-<UTC timestamp>-<pid>)
# Every other argument is passed to the reference unchanged, e.g.
#   --backend sglang|vllm|vllm-chat|sglang-oai|... --dataset-name random|random-ids|sharegpt|generated-shared-prefix
#   --num-prompts 20 --random-input-len 64 --random-output-len 16 --request-rate 10 --max-concurrency 4 --seed 42
#
# Added unless given: --tokenizer <Qwen3 tokenizer dir from scripts/fetch-testdata.sh>,
# --dataset-path <small ShareGPT file made by make_sharegpt.py> (for sharegpt and random, which read it),
# --disable-tqdm. Always added: --output-file <out-dir>/<name>.jsonl --output-details.
# The base URL must be on the loopback interface (127.0.0.0/8, localhost, [::1]).
#
# Environment: HF_HUB_OFFLINE=1, TRANSFORMERS_OFFLINE=1, HF_DATASETS_OFFLINE=1 (nothing is fetched),
# HOME=.cache/parity/home with its sglang/benchmark cache emptied before each run (so the reference's
# generated-shared-prefix pickle cache never serves rows from an earlier run), no proxy variables,
# OPENAI_API_KEY/API_KEY unset (no auth header is sent).
#
# Output: the reference's console output is shown and saved to <out-dir>/<name>.log; the last line on
# stdout is the JSONL path. Exit status: the reference's (non-zero if it failed or wrote no JSONL).
set -euo pipefail

die() { echo "run-reference: error: $*" >&2; exit 2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/test/parity"
OUT_DIR="$ROOT/.cache/parity/runs"
NAME="ref-$(date -u +%Y%m%dT%H%M%SZ)-$$"
BASE_URL=""
DATASET="sharegpt"   # the reference's default
have_tokenizer=0 have_path=0 have_tqdm=0
PASS=()

while (( $# )); do
  case "$1" in
    --out-dir) [[ $# -ge 2 ]] || die "--out-dir needs a value"; OUT_DIR="$2"; shift 2; continue ;;
    --out-dir=*) OUT_DIR="${1#*=}"; shift; continue ;;
    --name) [[ $# -ge 2 ]] || die "--name needs a value"; NAME="$2"; shift 2; continue ;;
    --name=*) NAME="${1#*=}"; shift; continue ;;
    --output-file|--output-file=*|--output-details) die "$1 is set by this script (see --out-dir/--name)" ;;
    --base-url) [[ $# -ge 2 ]] || die "--base-url needs a value"; BASE_URL="$2" ;;
    --base-url=*) BASE_URL="${1#*=}" ;;
    --dataset-name) [[ $# -ge 2 ]] || die "--dataset-name needs a value"; DATASET="$2" ;;
    --dataset-name=*) DATASET="${1#*=}" ;;
    --tokenizer|--tokenizer=*) have_tokenizer=1 ;;
    --dataset-path|--dataset-path=*) have_path=1 ;;
    --disable-tqdm) have_tqdm=1 ;;
  esac
  PASS+=("$1"); shift
done

[[ -n "$BASE_URL" ]] || die "--base-url is required (e.g. http://127.0.0.1:30000)"
host="${BASE_URL#*://}"; host="${host%%/*}"
case "$host" in
  127.*|localhost|localhost:*|\[::1\]|\[::1\]:*) ;;
  *) die "--base-url $BASE_URL is not a loopback address; this script only targets servers on this machine" ;;
esac

VENV="$(bash "$HERE/setup.sh" | tail -1)"
PY="$VENV/bin/python"
[[ -x "$PY" ]] || die "setup.sh did not produce a venv at $VENV"

if (( ! have_tokenizer )); then
  TOKDIR="$(bash "$ROOT/scripts/fetch-testdata.sh" | tail -1)/qwen3"
  PASS+=(--tokenizer "$TOKDIR")
fi
if (( ! have_path )) && [[ "$DATASET" == "sharegpt" || "$DATASET" == "random" ]]; then
  SHAREGPT="$ROOT/.cache/parity/sharegpt-tiny.json"
  if [[ ! -s "$SHAREGPT" || "$HERE/make_sharegpt.py" -nt "$SHAREGPT" ]]; then
    mkdir -p "$(dirname "$SHAREGPT")"
    "$PY" "$HERE/make_sharegpt.py" "$SHAREGPT" --rows 200 --seed 7 || die "make_sharegpt.py failed"
  fi
  PASS+=(--dataset-path "$SHAREGPT")
fi
(( have_tqdm )) || PASS+=(--disable-tqdm)

mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
JSONL="$OUT_DIR/$NAME.jsonl"
LOG="$OUT_DIR/$NAME.log"
rm -f "$JSONL"   # the reference appends; one run, one line

FAKE_HOME="$ROOT/.cache/parity/home"
rm -rf "$FAKE_HOME/.cache/sglang/benchmark"
mkdir -p "$FAKE_HOME"

set +e
(
  cd "$OUT_DIR"
  exec env -u OPENAI_API_KEY -u API_KEY -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY -u all_proxy -u ALL_PROXY \
    HOME="$FAKE_HOME" NO_PROXY='*' no_proxy='*' \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 \
    PYTHONWARNINGS=ignore TOKENIZERS_PARALLELISM=false \
    "$PY" -m sglang.benchmark.serving "${PASS[@]}" --output-file "$JSONL" --output-details
) 2>&1 | tee "$LOG"
rc=${PIPESTATUS[0]}
set -e

if (( rc != 0 )); then
  echo "run-reference: the reference exited with status $rc (console log: $LOG)" >&2
  exit "$rc"
fi
[[ -s "$JSONL" ]] || { echo "run-reference: the reference wrote no JSONL at $JSONL (log: $LOG)" >&2; exit 1; }
echo "$JSONL"
