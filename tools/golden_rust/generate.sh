#!/usr/bin/env bash
# Rebuild tests/python/golden/hash_v2_golden.json from fixtures.jsonl with the
# std-only Rust port of the seed (golden.rs).
#   tools/golden_rust/generate.sh           write the golden file
#   tools/golden_rust/generate.sh --check   fail if the committed file is stale
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="$ROOT/tests/python/golden/hash_v2_golden.json"
RUSTC="${RUSTC:-rustc}"

mode="${1:-write}"
case "$mode" in write|--check) ;; *) echo "usage: $0 [--check]" >&2; exit 2 ;; esac

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# Plain rustc, no cargo: the program uses std only (crates.io is not needed).
"$RUSTC" -O --edition 2021 -o "$TMP/golden" "$HERE/golden.rs"
"$TMP/golden" "$HERE/fixtures.jsonl" "$("$RUSTC" --version)" > "$TMP/golden.json"

if [ "$mode" = --check ]; then
  if ! diff -q "$OUT" "$TMP/golden.json" >/dev/null; then
    echo "$OUT is stale: run $0" >&2
    diff -u "$OUT" "$TMP/golden.json" | head -40 >&2 || true
    exit 1
  fi
  echo "$OUT is up to date"
else
  mkdir -p "$(dirname "$OUT")"
  mv "$TMP/golden.json" "$OUT"
  echo "wrote $OUT"
fi
