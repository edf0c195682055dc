#!/usr/bin/env bash
# Builds cedar and runs the bundled example config (fixtures/example.conf)
# end to end, as any user, without root and without an optical drive:
# everything lives under /tmp/cedar-example and the "disc" is an image file
# written by cedar's emulated burner.
set -euo pipefail
cd "$(dirname "$0")/.."
base=/tmp/cedar-example
cargo build --release --quiet
cback="$PWD/target/release/cback"

# The tree the example backs up, and the directories the config names.
mkdir -p "$base"/{work,collect,stage} "$base/data/etc" "$base/data/home/user/cache" "$base/data/home/user/docs"
cp -r fixtures/config "$base/data/etc/" 2>/dev/null || true
cp README.md "$base/data/home/user/docs/"
printf 'scratch\n' > "$base/data/home/user/cache/junk"
printf 'weekly notes\n' > "$base/data/notes.txt"

run() {
    echo "+ cback $*"
    "$cback" -c fixtures/example.conf -l "$base/cback.log" "$@"
}
run validate
# store is not in this version yet; run every action that is.
run --full collect stage
echo
echo "Collected:"; ls -l "$base/collect"
echo "Staged:"; find "$base/stage" -type f | sort
run purge
echo "After purge (collect dir emptied, 7 days of staging kept):"; ls -A "$base/collect"
echo "Log: $base/cback.log"
