#!/bin/sh
# Writes seed images for the read_image target into corpus/read_image.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/corpus/read_image"
mkdir -p "$out"
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
mkdir -p "$src/a/b/c/d/e/f/g/h/i/j/k"
echo leaf > "$src/a/b/c/d/e/f/g/h/i/j/k/leaf"
printf 'x%.0s' $(seq 1 3000) > "$src/$(printf 'n%.0s' $(seq 1 200))"
ln -s "/$(printf 't/%.0s' $(seq 1 200))x" "$src/link"
mkfifo "$src/fifo"
echo data > "$src/hard"; ln "$src/hard" "$src/hard2"
cback=${CBACK:-$here/../../target/debug/cback}
"$cback" mkisofs -quiet -R -o "$out/rr.iso" "$src"
"$cback" mkisofs -quiet -r -iso-level 3 -o "$out/rational.iso" "$src"
"$cback" mkisofs -quiet -o "$out/plain.iso" "$src"
"$cback" mkisofs -quiet -J -o "$out/joliet.iso" "$src"
"$cback" mkisofs -quiet -R -J -o "$out/rr-joliet.iso" "$src"
