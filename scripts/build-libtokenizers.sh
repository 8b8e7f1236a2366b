#!/usr/bin/env bash
# build-libtokenizers.sh — build libtokenizers.a for github.com/daulet/tokenizers.
#
# The Go module github.com/daulet/tokenizers is a cgo wrapper whose Rust half
# (src/lib.rs + Cargo.toml) ships inside the module zip. Its Cargo.toml pins
# tiktoken-rs to a git branch on a GitHub fork, which cannot be fetched here, so
# this script copies the Rust sources into .cache/libtokenizers/<version>/src,
# rewrites that one dependency to a crates.io release, adds the bs extension
# module (scripts/libtokenizers-ext.rs: NUL-safe (ptr, len) encode/decode, base
# vocab size, special-token count; additive, daulet's C API is unchanged) and
# runs `cargo build --release`.
#
# Output: .cache/libtokenizers/<version>/libtokenizers.a
# The LAST line on stdout is that directory, for use as
#   CGO_LDFLAGS="-L$(bash scripts/build-libtokenizers.sh | tail -1)"
# (daulet's tokenizer.go already carries `-ltokenizers -ldl -lm -lstdc++`).
# All progress messages go to stderr. If the .a already exists (built from the
# same extension file) the script exits immediately.
set -euo pipefail

die() { echo "build-libtokenizers: error: $*" >&2; exit 1; }
log() { echo "build-libtokenizers: $*" >&2; }

# crates.io replacement for the git-pinned fork (steved/tiktoken-rs, branch
# steved/bump-fancy-regex, a 0.8.0 fork). 0.9.1 is the newest crates.io
# release with the same CoreBPE::new(encoder, special_tokens, pattern) API.
TIKTOKEN_RS_VERSION="${TIKTOKEN_RS_VERSION:-0.9.1}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

command -v go >/dev/null || die "go not found in PATH"

MOD=github.com/daulet/tokenizers
VERSION="${LIBTOKENIZERS_VERSION:-}"
if [[ -z "$VERSION" ]]; then
  VERSION="$(awk -v m="$MOD" '$1 == m { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' go.mod)"
fi
[[ -n "$VERSION" ]] || die "$MOD not found in $ROOT/go.mod (run: go get $MOD@<version>)"

OUT="$ROOT/.cache/libtokenizers/$VERSION"
LIB="$OUT/libtokenizers.a"
EXT="$ROOT/scripts/libtokenizers-ext.rs"
[[ -f "$EXT" ]] || die "missing $EXT"
# The .a is reused as long as it was built from the same extension file.
STAMP="$OUT/ext.sha256"
ext_sum="$(sha256sum "$EXT" | awk '{print $1}')"
if [[ -f "$LIB" && -f "$STAMP" && "$(cat "$STAMP")" == "$ext_sum" ]]; then
  echo "$OUT"
  exit 0
fi

command -v cargo >/dev/null || die "cargo not found in PATH (install Rust: https://rustup.rs)"

log "resolving $MOD@$VERSION with go mod download"
MODDIR="$(go mod download -json "$MOD@$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
[[ -n "$MODDIR" && -d "$MODDIR" ]] || die "go mod download gave no source directory for $MOD@$VERSION"
[[ -f "$MODDIR/Cargo.toml" && -f "$MODDIR/src/lib.rs" ]] || die "$MODDIR has no Cargo.toml/src/lib.rs"

SRC="$OUT/src"
mkdir -p "$SRC"
# The module cache is read-only; copy writable files. Refresh on each build
# so a half-finished earlier attempt does not leave stale sources.
rm -rf "$SRC/src"
cp "$MODDIR/Cargo.toml" "$SRC/Cargo.toml"
cp -r "$MODDIR/src" "$SRC/src"
chmod -R u+w "$SRC/src"
# Add the bs extension (NUL-safe encode/decode, base vocab size, special-token
# count; see scripts/libtokenizers-ext.rs) as a module of the same crate.
cp "$EXT" "$SRC/src/bs_ext.rs"
printf '\n// Added by bs scripts/build-libtokenizers.sh\nmod bs_ext;\n' >>"$SRC/src/lib.rs"
# Start from the module's Cargo.lock (so every other crate keeps the version
# upstream tested) unless an earlier run already produced a lock here.
if [[ -f "$MODDIR/Cargo.lock" && ! -f "$SRC/Cargo.lock" ]]; then
  # Drop the [[package]] stanzas of git-sourced crates; cargo re-resolves them.
  awk 'BEGIN { RS = ""; ORS = "\n\n" } !/source = "git\+/ { print }' "$MODDIR/Cargo.lock" >"$SRC/Cargo.lock"
fi
chmod -R u+w "$SRC"

# Rewrite the git dependency on tiktoken-rs to the crates.io release.
if grep -Eq '^tiktoken-rs[[:space:]]*=.*git[[:space:]]*=' "$SRC/Cargo.toml"; then
  sed -i -E "s|^tiktoken-rs[[:space:]]*=.*$|tiktoken-rs = \"=$TIKTOKEN_RS_VERSION\"|" "$SRC/Cargo.toml"
  log "rewrote tiktoken-rs git dependency to crates.io $TIKTOKEN_RS_VERSION"
fi
# The [[bench]] target and dev-dependencies (criterion) are not needed for the
# static library; drop everything from [dev-dependencies] on.
sed -i -E '/^\[dev-dependencies\]/,$d' "$SRC/Cargo.toml"
if grep -Eq 'git[[:space:]]*=' "$SRC/Cargo.toml"; then
  die "$SRC/Cargo.toml still has a git dependency after rewriting: $(grep -E 'git[[:space:]]*=' "$SRC/Cargo.toml")"
fi

export CARGO_TARGET_DIR="$OUT/target"
log "cargo build --release in $SRC (CARGO_TARGET_DIR=$CARGO_TARGET_DIR); the first build takes several minutes"
start=$SECONDS
(cd "$SRC" && cargo build --release --lib 1>&2) || die "cargo build failed (see output above)"
[[ -f "$CARGO_TARGET_DIR/release/libtokenizers.a" ]] || die "cargo finished but $CARGO_TARGET_DIR/release/libtokenizers.a is missing"

# The Go side checks the library version at link time through this symbol.
sym="$(grep -o 'extern void tokenizers_version_[0-9_]*' "$MODDIR/tokenizer.go" | awk '{print $3}' || true)"
if [[ -n "$sym" ]] && command -v nm >/dev/null; then
  # (grep without -q reads all of nm's output, so pipefail sees no SIGPIPE.)
  nm "$CARGO_TARGET_DIR/release/libtokenizers.a" 2>/dev/null | grep " T $sym\$" >/dev/null \
    || die "libtokenizers.a lacks symbol $sym that $MOD@$VERSION tokenizer.go links against"
fi

nm "$CARGO_TARGET_DIR/release/libtokenizers.a" 2>/dev/null | grep " T bs_tokenizers_encode\$" >/dev/null \
  || die "libtokenizers.a lacks the bs extension symbol bs_tokenizers_encode"

cp "$CARGO_TARGET_DIR/release/libtokenizers.a" "$LIB.tmp"
mv "$LIB.tmp" "$LIB"
echo "$ext_sum" >"$STAMP"
log "built $LIB in $((SECONDS - start)) s"
echo "$OUT"
