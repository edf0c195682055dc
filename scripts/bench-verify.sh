#!/usr/bin/env bash
# Times `cback verify` of a disc in the emulated drive against `cat` of the
# disc's image file in one run and prints the ratios (issue 16: verify runs
# at the drive's read speed, on the emulated drive within 10% of cat).
#
#   disc:      one staged day of BENCH_DAY_MIB MiB (BENCH_FILES random
#              files) stored by `cback store` (CEDAR_TODAY fixed) to an
#              emulated BENCH_MEDIA disc, its cback.manifest included
#   verify:    cback verify -q emulated:IMAGE?profile=MEDIA (every file's
#              SHA-256 against the manifest, every recorded block read, in
#              order, hashing on other threads), and cback verify -q IMAGE
#              (the image file itself: one part per core)
#   baseline:  cat IMAGE > /dev/null; what one core's SHA-256 of the same
#              bytes costs (openssl dgst -sha256, SHA-NI when the CPU has
#              it; sha256sum, which does not use it)
#   cold:      the same with the image dropped from the page cache before
#              each run (posix_fadvise DONTNEED through dd iflag=nocache,
#              this file only): the emulated drive reading at the disk's speed
#   warm:      the image in the page cache: cat runs at memory speed, and
#              no verify can beat the SHA-256 of every byte on the cores
#              there are (the bound printed)
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
need dd

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

drop() { dd if="$IMG" iflag=nocache count=0 status=none; }
# time_of cold|warm COMMAND...: median seconds.
time_of() {
    local mode=$1; shift
    for _ in $(seq 1 "$RUNS"); do
        local t0 t1
        if [ "$mode" = cold ]; then drop; else cat "$IMG" > /dev/null; fi
        t0=$(now); "$@" > /dev/null; t1=$(now)
        echo "$t1 - $t0" | bc -l
    done | median
}
bytes=$(stat -c %s "$IMG")
mib=$(echo "$bytes / 1048576" | bc -l)
cores=$(nproc)
rate() { echo "$mib / $1" | bc -l; }
"$CBACK" verify -q "$SPEC" | tail -1
have_openssl=0; command -v openssl > /dev/null && have_openssl=1
for mode in cold warm; do
    t_cat=$(time_of $mode cat "$IMG")
    t_emu=$(time_of $mode "$CBACK" verify -q "$SPEC")
    t_img=$(time_of $mode "$CBACK" verify -q "$IMG")
    printf '%s: image %.0f MiB: cat %.3f s (%.0f MiB/s); cback verify of the emulated drive %.3f s (%.0f MiB/s), ratio verify/cat %.2f; of the image file %.3f s (%.0f MiB/s), ratio %.2f\n' \
        "$mode" "$mib" "$t_cat" "$(rate "$t_cat")" "$t_emu" "$(rate "$t_emu")" \
        "$(echo "$t_emu / $t_cat" | bc -l)" "$t_img" "$(rate "$t_img")" "$(echo "$t_img / $t_cat" | bc -l)"
done
t_sum=$(time_of warm sha256sum "$IMG")
printf 'one core SHA-256 (warm): sha256sum %.3f s (%.0f MiB/s)' "$t_sum" "$(rate "$t_sum")"
if [ $have_openssl = 1 ]; then
    t_ssl=$(time_of warm openssl dgst -sha256 "$IMG")
    printf ', openssl dgst -sha256 %.3f s (%.0f MiB/s); with %s cores no verify of a cached image beats %.3f s, ratio %.2f to cat' \
        "$t_ssl" "$(rate "$t_ssl")" "$cores" "$(echo "$t_ssl / $cores" | bc -l)" "$(echo "$t_ssl / $cores / $t_cat" | bc -l)"
fi
echo
rm -rf "$ROOT"
