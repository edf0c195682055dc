#!/usr/bin/env bash
# Times storing one staged day into the emulated drive against streaming the
# same image into a file in drive-sized writes, and check_data's read-back
# through the drive against dd reading the image file; prints the ratios and
# cedar's peak RSS for two day sizes (it must stay flat).
#
#   write:     `cback store` of a BENCH_DAY_MIB MiB day (check_data off),
#              appended to a disc holding one small earlier night
#              (examples/burn_day, the same engine calls, where the tree has
#              no store action)
#   baseline:  cback mkisofs -o - DAY | dd bs=32k of=FILE
#   read-back: every file of the new session read through the drive
#              (check_data's read path) vs dd bs=64k if=IMAGE of=/dev/null
#   check:     check_data in full (SHA-1 of staged and disc copies) vs
#              sha1sum of the staged files
#
# Every output file is removed and `sync` run before each timed write, so
# no run pays for another's writeback; each timing is the median of
# BENCH_RUNS runs, cedar and its baselines interleaved. The emulated drive
# synchronizes its image at SYNCHRONIZE CACHE as a real drive makes its data
# durable, so the write is also compared with `dd conv=fdatasync`.
set -euo pipefail

DAY_MIB=${BENCH_DAY_MIB:-1024}
FILES=${BENCH_FILES:-4}
MEDIA=${BENCH_MEDIA:-dvd+rw}
RUNS=${BENCH_RUNS:-5}
ROOT=${BENCH_DIR:-/tmp/cedar-bench-store}
here=$(cd "$(dirname "$0")/.." && pwd)

. "$(dirname "$0")/bench-lib.sh"
need dd
need sha1sum
need bc
need_gnu_time

echo "building cback and examples/burn_day (release)..." >&2
(cd "$here" && cargo build --release --quiet --bin cback --example burn_day)
CBACK="$here/target/release/cback"
BURN="$here/target/release/examples/burn_day"
USE_STORE=0
[ -f "$here/src/actions/store.rs" ] && USE_STORE=1

NIGHT0=2026/12/01
BIG=2026/12/02
STAGE="$ROOT/stage"
IMG="$ROOT/disc.img"
FILE="$ROOT/baseline.iso"

# stage DAY MIB: a staged day of FILES random files, MIB MiB in all.
stage() {
    local dir="$STAGE/$1" mib=$2
    rm -rf "$dir"
    mkdir -p "$dir/host1"
    for i in $(seq 1 "$FILES"); do
        head -c "$(( mib * 1048576 / FILES ))" /dev/urandom > "$dir/host1/part$i.tar"
    done
    : > "$dir/cback.stage"
}

config() {
    local conf="$ROOT/cback.conf" user group
    user=$(id -un)
    group=$(id -gn)
    mkdir -p "$ROOT/work"
    cat > "$conf" <<EOF
<?xml version="1.0"?>
<cb_config>
 <options><starting_day>tuesday</starting_day><working_dir>$ROOT/work</working_dir>
  <backup_user>$user</backup_user><backup_group>$group</backup_group>
  <rcp_command>/usr/bin/scp -B</rcp_command></options>
 <stage><staging_dir>$STAGE</staging_dir>
  <peer><name>host1</name><type>local</type><collect_dir>$ROOT/work</collect_dir></peer></stage>
 <store><source_dir>$STAGE</source_dir><media_type>$MEDIA</media_type>
  <device_type>$( case $MEDIA in bd*) echo bdwriter;; dvd*) echo dvdwriter;; *) echo cdwriter;; esac )</device_type>
  <target_device>emulated:$IMG?profile=$MEDIA&amp;busy=0</target_device>
  <check_data>N</check_data></store>
</cb_config>
EOF
    echo "$conf"
}

# night DAY: stores DAY onto the disc (cback store, or burn_day).
night() {
    local day=$1
    if [ "$USE_STORE" = 1 ]; then
        rm -f "$STAGE/$day/cback.store"
        CEDAR_TODAY=${day//\//-} "$CBACK" -c "$CONF" -l "$ROOT/cback.log" store
    else
        "$BURN" "emulated:$IMG?profile=$MEDIA&busy=0" "$STAGE/$day" "$day" >/dev/null 2>&1
    fi
}

fresh_disc() {
    rm -f "$IMG" "$IMG.state"
    night "$NIGHT0"
    sync
}


# Timed cedar write of BIG: prints "seconds peak_kb".
cedar_write() {
    local out
    out=$(mktemp)
    fresh_disc
    /usr/bin/time -o "$out" -f '%e %M' bash -c "night $BIG" >/dev/null 2>&1 \
        || { echo "bench-store: the cedar write failed" >&2; exit 1; }
    tail -1 "$out"
    rm -f "$out"
}

baseline_write() {
    local s e
    rm -f "$FILE"
    sync
    s=$(now)
    "$CBACK" mkisofs -quiet -r -graft-points -o - "$BIG=$STAGE/$BIG" | dd bs=32k of="$FILE" $1 2>/dev/null
    e=$(now)
    echo "$e - $s" | bc
}

mkdir -p "$ROOT"
CONF=$(config)
export -f night
export USE_STORE STAGE CBACK CONF ROOT BURN IMG MEDIA
stage "$NIGHT0" 1

declare -a W B BS RB DR CK SH
declare -A PEAK
for size in $(( DAY_MIB / 4 )) "$DAY_MIB"; do
    stage "$BIG" "$size"
    cat "$STAGE/$BIG"/host1/* > /dev/null   # warm the page cache
    peak=0
    for _ in $(seq 1 "$RUNS"); do
        read -r t m < <(cedar_write)
        [ "$m" -gt "$peak" ] && peak=$m
        if [ "$size" = "$DAY_MIB" ]; then
            # Interleaved, so that cedar and its baselines share the
            # machine's load of the moment.
            W+=("$t")
            B+=("$(baseline_write "")")
            BS+=("$(baseline_write conv=fdatasync)")
        fi
    done
    PEAK[$size]=$peak
done

# Read-back and check_data on the disc holding the big day (written last).
for _ in $(seq 1 "$RUNS"); do
    rm -f "$IMG" "$IMG.state"
    "$BURN" "emulated:$IMG?profile=$MEDIA&busy=0" "$STAGE/$NIGHT0" "$NIGHT0" >/dev/null 2>&1
    out=$("$BURN" "emulated:$IMG?profile=$MEDIA&busy=0" "$STAGE/$BIG" "$BIG" --read-back --check 2>/dev/null)
    RB+=("$(echo "$out" | awk '/^read-back/ {print $2}')")
    CK+=("$(echo "$out" | awk '/^check/ {print $2}')")
    s=$(now); dd bs=64k if="$IMG" of=/dev/null 2>/dev/null; e=$(now)
    DR+=("$(echo "$e - $s" | bc)")
    s=$(now); cat "$STAGE/$BIG"/host1/* | sha1sum >/dev/null; e=$(now)
    SH+=("$(echo "$e - $s" | bc)")
done
rm -f "$FILE"

w=$(printf '%s\n' "${W[@]}" | median)
b=$(printf '%s\n' "${B[@]}" | median)
bs=$(printf '%s\n' "${BS[@]}" | median)
rb=$(printf '%s\n' "${RB[@]}" | median)
dr=$(printf '%s\n' "${DR[@]}" | median)
ck=$(printf '%s\n' "${CK[@]}" | median)
sh=$(printf '%s\n' "${SH[@]}" | median)
driver=$([ "$USE_STORE" = 1 ] && echo "cback store" || echo "examples/burn_day")
img_mib=$(( $(stat -c %s "$IMG") >> 20 ))

echo "day: $DAY_MIB MiB in $FILES files on an emulated $MEDIA ($img_mib MiB image), median of $RUNS"
printf '%-48s %7.3f s\n' "$driver (check_data off)" "$w"
printf '%-48s %7.3f s   ratio %s\n' "mkisofs -o - | dd bs=32k of=FILE" "$b" "$(ratio "$w" "$b")"
printf '%-48s %7.3f s   ratio %s\n' "  ... dd conv=fdatasync (durable, as the drive)" "$bs" "$(ratio "$w" "$bs")"
printf '%-48s %7.3f s\n' "read-back through the drive" "$rb"
printf '%-48s %7.3f s   ratio %s\n' "dd bs=64k if=IMAGE of=/dev/null" "$dr" "$(ratio "$rb" "$dr")"
printf '%-48s %7.3f s\n' "check_data (SHA-1, staged and disc)" "$ck"
printf '%-48s %7.3f s   ratio %s\n' "cat staged | sha1sum" "$sh" "$(ratio "$ck" "$sh")"
for size in "${!PEAK[@]}"; do
    printf 'peak RSS of the write, %5s MiB day: %s KiB\n' "$size" "${PEAK[$size]}"
done
