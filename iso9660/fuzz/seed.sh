#!/bin/sh
# Writes seed images for both fuzz targets into corpus/read_image and
# corpus/store_session: images cback mkisofs writes from a tree with every
# kind of entry, and the hand-made hostile images of tests/hostile.rs.
#
# Run (nightly toolchain and cargo-fuzz; -rss_limit_mb and -timeout are the
# targets' contract, ASAN_OPTIONS keeps AddressSanitizer's quarantine from
# counting against it):
#   sh seed.sh
#   ASAN_OPTIONS=quarantine_size_mb=16 cargo +nightly fuzz run store_session -- \
#       -rss_limit_mb=512 -timeout=5 -max_len=1048576 -max_total_time=780
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/corpus/read_image"
mkdir -p "$out" "$here/corpus/store_session"
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
(cd "$here/.." && ISO_WRITE_SEEDS="$out" cargo test -q --test hostile)
cp "$out"/*.iso "$here/corpus/store_session/"
