#!/usr/bin/env bash
# setup.sh — install the reference client (SGLang's `python -m sglang.benchmark.serving`) into
# .cache/venv-sglang from PyPI: sglang pinned, installed with --no-deps, plus exactly the packages
# listed in requirements-reference.txt (also --no-deps, so nothing else comes in).
#
# The wheels (~3 GB: torch and its CUDA runtime libraries dominate) are downloaded once into
# ${BS_WHEEL_CACHE:-~/.cache/bs-wheels}/sglang-reference-<hash of requirements-reference.txt>/, outside the repo.
# Idempotent and fast when done: a venv whose stamp matches the requirements file is kept as is.
# Timings: README.md. Output: the last line on stdout is the venv path.
#
# Env: PYTHON (interpreter for the venv; must be CPython 3.11: the sglang 0.5.23 wheel is cp311),
#      BS_WHEEL_CACHE (wheel folder root).
set -euo pipefail

die() { echo "parity/setup: error: $*" >&2; exit 1; }
log() { echo "parity/setup: $*" >&2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/test/parity"
VENV="$ROOT/.cache/venv-sglang"
REQ="$HERE/requirements-reference.txt"
PY="${PYTHON:-python3}"

[[ -s "$REQ" ]] || die "$REQ is missing"
want="$(sha256sum "$REQ" | cut -c1-16)"
STAMP="$VENV/.bs-setup-$want"
WHEELS="${BS_WHEEL_CACHE:-$HOME/.cache/bs-wheels}/sglang-reference-$want"

if [[ ! -f "$STAMP" ]]; then
  pyver="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" || die "cannot run $PY"
  [[ "$pyver" == "3.11" ]] || die "$PY is Python $pyver; the pinned sglang wheel needs CPython 3.11 (set PYTHON=)"
  # pip keeps no HTTP cache here (the registry answers are not cacheable), so the ~3 GB of wheels are
  # downloaded once into a wheel folder outside the repo, keyed by the requirements file's hash.
  if [[ ! -f "$WHEELS/.complete" ]]; then
    log "downloading the wheels into $WHEELS (about 3 GB, once)"
    start=$(date +%s)
    mkdir -p "$WHEELS"
    "$PY" -m pip download -q --disable-pip-version-check --no-deps --only-binary :all: -d "$WHEELS" -r "$REQ" \
      || die "pip download -r $REQ failed"
    touch "$WHEELS/.complete"
    log "downloaded in $(( $(date +%s) - start )) s"
  fi
  log "creating $VENV from $WHEELS"
  start=$(date +%s)
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-index --find-links "$WHEELS" --no-deps -r "$REQ" \
    || die "pip install -r $REQ failed"
  # Check the two things the scripts use: the CLI parses, and the module imports (which pulls torch).
  HF_HUB_OFFLINE=1 PYTHONWARNINGS=ignore "$VENV/bin/python" -m sglang.benchmark.serving --help >/dev/null \
    || die "python -m sglang.benchmark.serving --help failed in $VENV"
  touch "$STAMP"
  log "ready in $(( $(date +%s) - start )) s"
fi

# The tokenizer fixtures the scripts pass as --tokenizer.
bash "$ROOT/scripts/fetch-testdata.sh" >/dev/null || die "scripts/fetch-testdata.sh failed"
echo "$VENV"
