#!/usr/bin/env bash
# smoke.sh — run the reference client against bs-sim (or tiny_server.py) for every backend x dataset
# pair the parity tests use, and check each run's JSONL: every request completed, no errors, the
# per-request arrays present and as long as the run. This proves the oracle works end to end; the
# metric comparison itself (bs-stat vs the reference) is a separate test.
#
# Usage: test/parity/smoke.sh [--server bs-sim|tiny] [--keep]
#   --server   bs-sim (default; built from ./cmd/bs-sim with CGO_ENABLED=0) or tiny (tiny_server.py)
#   --keep     keep the run directory (default: .cache/parity/smoke, emptied at start anyway)
# Exit 0 when all runs pass; prints one line per run and a closing 'N passed, N failed' line.
set -euo pipefail

die() { echo "parity/smoke: error: $*" >&2; exit 2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/test/parity"
SERVER=bs-sim
while (( $# )); do
  case "$1" in
    --server) SERVER="${2:?--server needs a value}"; shift 2 ;;
    --keep) shift ;;
    *) die "unknown argument: $1" ;;
  esac
done

OUT="$ROOT/.cache/parity/smoke"
rm -rf "$OUT"; mkdir -p "$OUT"
ADDR="$OUT/server.addr"
VENV="$(bash "$HERE/setup.sh" | tail -1)"

case "$SERVER" in
  bs-sim)
    command -v go >/dev/null || die "go not found (needed to build bs-sim)"
    # Not in $OUT itself: the reference runs there and would take a file named like the model for a config path.
    (cd "$ROOT" && CGO_ENABLED=0 go build -o "$OUT/bin/bs-sim" ./cmd/bs-sim) || die "building ./cmd/bs-sim failed"
    "$OUT/bin/bs-sim" --host 127.0.0.1 --port 0 --addr-file "$ADDR" --seed 1 >"$OUT/server.log" 2>&1 &
    ;;
  tiny)
    "$VENV/bin/python" "$HERE/tiny_server.py" --port 0 --port-file "$OUT/port" >"$OUT/server.log" 2>&1 &
    ;;
  *) die "--server must be bs-sim or tiny, got '$SERVER'" ;;
esac
SPID=$!
trap 'kill "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  [[ "$SERVER" == tiny && -s "$OUT/port" ]] && { echo "http://127.0.0.1:$(cat "$OUT/port")" >"$ADDR"; }
  [[ -s "$ADDR" ]] && break
  kill -0 "$SPID" 2>/dev/null || { cat "$OUT/server.log" >&2; die "server exited at start-up"; }
  sleep 0.1
done
[[ -s "$ADDR" ]] || die "server did not report its address"
URL="$(cat "$ADDR")"

pass=0 fail=0
N=6
for backend in sglang vllm vllm-chat; do
  for dataset in random random-ids sharegpt generated-shared-prefix; do
    case "$dataset" in
      random|random-ids) extra=(--random-input-len 48 --random-output-len 8 --random-range-ratio 0.5); want=$N ;;
      sharegpt) extra=(--sharegpt-output-len 8); want=$N ;;
      generated-shared-prefix) extra=(--gsp-num-groups 2 --gsp-prompts-per-group 3 --gsp-system-prompt-len 32
                                      --gsp-question-len 8 --gsp-output-len 6); want=6 ;;
    esac
    name="$backend-$dataset"
    if jsonl="$(bash "$HERE/run-reference.sh" --base-url "$URL" --out-dir "$OUT" --name "$name" \
                 --backend "$backend" --dataset-name "$dataset" --num-prompts "$N" --request-rate 50 \
                 --max-concurrency 3 "${extra[@]}" 2>"$OUT/$name.stderr" | tail -1)" \
       && msg="$("$VENV/bin/python" - "$jsonl" "$want" 2>&1 <<'EOF'
import json, sys
path, want = sys.argv[1], int(sys.argv[2])
with open(path) as f:
    lines = f.read().splitlines()
if len(lines) != 1:
    sys.exit(f"{path}: {len(lines)} lines, want 1")
d = json.loads(lines[0])
errs = [e for e in d.get("errors", []) if e]
probs = []
if d["completed"] != want:
    probs.append(f"completed={d['completed']} want {want}")
if errs:
    probs.append(f"{len(errs)} errors, first: {errs[0][-200:]!r}")
for k in ("input_lens", "output_lens", "ttfts", "itls", "generated_texts", "errors"):
    if len(d.get(k, [])) != want:
        probs.append(f"len({k})={len(d.get(k, []))} want {want}")
if d["total_output_tokens"] <= 0 or d["mean_ttft_ms"] <= 0:
    probs.append("no output tokens or zero TTFT")
if probs:
    sys.exit("; ".join(probs))
print(f"completed={d['completed']} out={d['total_output_tokens']} mean_ttft_ms={d['mean_ttft_ms']:.2f}")
EOF
)"; then
      echo "ok    $name  $msg"; pass=$((pass + 1))
    else
      echo "FAIL  $name  ${msg:-see $OUT/$name.stderr and $OUT/$name.log}"; fail=$((fail + 1))
    fi
  done
done
echo "$pass passed, $fail failed"
(( fail == 0 ))
