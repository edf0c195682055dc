#!/usr/bin/env bash
# Builds cedar and runs the bundled example config (fixtures/example.conf)
# end to end, as any user, without root and without an optical drive:
# everything lives under /tmp/cedar-example and the "disc" is an image file
# written by cedar's emulated burner (a DVD+RW). Two nights of `cback all`
# (collect, stage, store, purge), the second one's date fixed to tomorrow with
# CEDAR_TODAY, then `cback drive` shows the disc holding both days.
set -euo pipefail
cd "$(dirname "$0")/.."
base=/tmp/cedar-example
cargo build --release --quiet
cback="$PWD/target/release/cback"

# The tree the example backs up, and the directories the config names
# (started afresh each time, disc included).
rm -rf "$base"
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
day1=$(date +%F)
day2=$(date -d tomorrow +%F)
echo; echo "Night 1 ($day1):"
CEDAR_TODAY=$day1 run all
echo "Night 2 ($day2):"
printf 'changed on night 2\n' >> "$base/data/notes.txt"
CEDAR_TODAY=$day2 run all
echo
echo "Staged:"; find "$base/stage" -type f | sort
echo
echo "The disc:"
"$cback" drive "emulated:$base/disc.img"
echo "Log: $base/cback.log"
