#!/usr/bin/env bash
# Times `cback verify` of a disc in the emulated drive against `cat` of the
# disc's image file, both with the image in the page cache, and prints the
# ratio (issue 16: verify runs at the drive's read speed, on the emulated
# drive within 10% of cat).
#
#   disc:      one staged day of BENCH_DAY_MIB MiB (BENCH_FILES random
#              files) stored by `cback store` (CEDAR_TODAY fixed) to an
#              emulated BENCH_MEDIA disc, its cback.manifest included
#   verify:    cback verify -q emulated:IMAGE?profile=MEDIA (every file's
#              SHA-256 against the manifest, every recorded block read)
#   baseline:  cat IMAGE > /dev/null, and sha256sum IMAGE (what hashing
#              the same bytes costs at all)
#
# Each timing is the median of BENCH_RUNS runs.
set -euo pipefail

DAY_MIB=${BENCH_DAY_MIB:-1024}
FILES=${BENCH_FILES:-4}
MEDIA=${BENCH_MEDIA:-dvd+rw}
RUNS=${BENCH_RUNS:-5}
ROOT=${BENCH_DIR:-/tmp/cedar-bench-verify}
here=$(cd "$(dirname "$0")/.." && pwd)

. "$(dirname "$0")/bench-lib.sh"
need bc
need cat
need sha256sum

echo "building cback (release)..." >&2
(cd "$here" && cargo build --release --quiet --bin cback)
CBACK="$here/target/release/cback"

rm -rf "$ROOT"
mkdir -p "$ROOT/stage/2026/12/01/host1" "$ROOT/work"
for i in $(seq 1 "$FILES"); do
    head -c "$(( DAY_MIB * 1048576 / FILES ))" /dev/urandom > "$ROOT/stage/2026/12/01/host1/part$i.tar"
done
: > "$ROOT/stage/2026/12/01/cback.stage"
IMG="$ROOT/disc.img"
SPEC="emulated:$IMG?profile=$MEDIA&busy=0"
cat > "$ROOT/cback.conf" <<XML
<?xml version="1.0"?>
<cb_config>
 <options><starting_day>tuesday</starting_day><working_dir>$ROOT/work</working_dir>
  <backup_user>root</backup_user><backup_group>root</backup_group>
  <rcp_command>/usr/bin/scp -B</rcp_command></options>
 <store><source_dir>$ROOT/stage</source_dir><media_type>$MEDIA</media_type>
  <device_type>dvdwriter</device_type>
  <target_device>${SPEC//&/&amp;}</target_device></store>
</cb_config>
XML
echo "storing a $DAY_MIB MiB day to the emulated $MEDIA..." >&2
CEDAR_TODAY=2026-12-01 "$CBACK" -c "$ROOT/cback.conf" -l "$ROOT/cback.log" store

time_of() {
    for _ in $(seq 1 "$RUNS"); do
        local t0 t1
        t0=$(now); "$@" > /dev/null; t1=$(now)
        echo "$t1 - $t0" | bc -l
    done | median
}
cat "$IMG" > /dev/null  # warm the page cache for both
bytes=$(stat -c %s "$IMG")
t_cat=$(time_of cat "$IMG")
t_verify=$(time_of "$CBACK" verify -q "$SPEC")
t_sum=$(time_of sha256sum "$IMG")
"$CBACK" verify -q "$SPEC" | tail -1
mib=$(echo "$bytes / 1048576" | bc -l)
printf 'image %.0f MiB: cat %.3f s (%.0f MiB/s), cback verify %.3f s (%.0f MiB/s), ratio verify/cat %.2f\n' \
    "$mib" "$t_cat" "$(echo "$mib / $t_cat" | bc -l)" "$t_verify" "$(echo "$mib / $t_verify" | bc -l)" \
    "$(echo "$t_verify / $t_cat" | bc -l)"
printf 'sha256sum %.3f s, ratio verify/sha256sum %.2f\n' "$t_sum" "$(echo "$t_verify / $t_sum" | bc -l)"
rm -rf "$ROOT"
