#!/usr/bin/env bash
# Times `cback --full collect` (targz and tarbz2) against the real Cedar
# Backup 3 and against GNU tar with gzip/bzip2 on one mixed tree, in one run,
# and prints ratios (the machine is shared and noisy: read the ratios).
#
#   tree: BENCH_TEXT_MIB MiB of text-like files (log and source-like lines,
#         1 KiB to 4 MiB each) and BENCH_RAND_MIB MiB of incompressible files
#
# Needs: cback3 (CEDAR_CB3, default /tmp/cb3/bin/cback3; .ci/run installs it),
# GNU tar, gzip, bzip2, GNU time. Each timing is the median of BENCH_RUNS
# runs from a warm page cache. With BENCH_ONE_CORE=1 cedar is also timed
# pinned to one core (taskset); BENCH_BEFORE=PATH times another cback binary
# (say, the commit before a change) the same way, pinned to one core too.
set -euo pipefail

TEXT_MIB=${BENCH_TEXT_MIB:-96}
RAND_MIB=${BENCH_RAND_MIB:-32}
RUNS=${BENCH_RUNS:-3}
ROOT=${BENCH_DIR:-/tmp/cedar-bench-collect}
CB3=${CEDAR_CB3:-/tmp/cb3/bin/cback3}
here=$(cd "$(dirname "$0")/.." && pwd)

. "$(dirname "$0")/bench-lib.sh"
need tar
need gzip
need bzip2
need python3
[ -x "$CB3" ] || { echo "bench-collect: cback3 not found at $CB3 (set CEDAR_CB3)" >&2; exit 2; }
need_gnu_time

echo "building cback (release)..." >&2
(cd "$here" && cargo build --release --quiet --bin cback)
CBACK="$here/target/release/cback"

make_tree() {
    local stamp="$ROOT/.params" params="$TEXT_MIB $RAND_MIB"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$params" ]; then
        return
    fi
    rm -rf "$ROOT"
    mkdir -p "$ROOT/src/text" "$ROOT/src/rand"
    python3 - "$ROOT/src/text" "$TEXT_MIB" <<'PY'
import os, random, sys
root, mib = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
words = ("backup cedar disc session store stage collect purge error warning info debug "
         "kernel usr lib bin etc var log tmp home root config value key index table "
         "select insert update delete from where join group order limit").split()
total, n = mib << 20, 0
while total > 0:
    size = min(total, int(rng.lognormvariate(10.5, 1.6)) + 1024, 4 << 20)
    d = os.path.join(root, f"d{n % 37:02d}")
    os.makedirs(d, exist_ok=True)
    lines, have = [], 0
    while have < size:
        line = f"2026-11-{rng.randint(1, 30):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d} " \
               f"[{rng.choice(('INFO', 'DEBUG', 'WARN'))}] " + " ".join(rng.choices(words, k=rng.randint(3, 14))) + \
               f" id={rng.randint(0, 99999)}\n"
        lines.append(line)
        have += len(line)
    with open(os.path.join(d, f"f{n:05d}.log"), "w") as f:
        f.write("".join(lines)[:size])
    total -= size
    n += 1
PY
    local left=$((RAND_MIB)) i=0
    while [ "$left" -gt 0 ]; do
        local m=$(( left < 8 ? left : 8 ))
        head -c "$((m * 1048576))" /dev/urandom > "$ROOT/src/rand/r$i.bin"
        left=$((left - m)); i=$((i + 1))
    done
    echo "$params" > "$stamp"
}

# A config that collects the tree once in `mode` into $ROOT/out-<tool>.
write_conf() { # conf tool mode
    local user group
    user=$(id -un); group=$(id -gn)
    mkdir -p "$ROOT/out-$2" "$ROOT/work-$2"
    cat > "$1" <<EOF
<?xml version="1.0"?>
<cb_config>
  <reference><author>bench</author></reference>
  <options>
    <starting_day>monday</starting_day>
    <working_dir>$ROOT/work-$2</working_dir>
    <backup_user>$user</backup_user>
    <backup_group>$group</backup_group>
    <rcp_command>/usr/bin/scp -B</rcp_command>
  </options>
  <collect>
    <collect_dir>$ROOT/out-$2</collect_dir>
    <collect_mode>daily</collect_mode>
    <archive_mode>$3</archive_mode>
    <ignore_file>.cbignore</ignore_file>
    <dir><abs_path>$ROOT/src</abs_path></dir>
  </collect>
</cb_config>
EOF
}

# median of RUNS runs of a command: prints "seconds peak_kb"; `prep` runs
# (untimed) before each one.
measure() { # prep command...
    local prep=$1 out results=()
    shift
    out=$(mktemp)
    for _ in $(seq 1 "$RUNS"); do
        bash -c "$prep"
        if ! /usr/bin/time -o "$out" -f '%e %M' "$@" >/dev/null 2>"$ROOT/last.err"; then
            echo "bench-collect: failed: $* ($(tail -1 "$ROOT/last.err"))" >&2
        fi
        results+=("$(tail -1 "$out")")
    done
    rm -f "$out"
    printf '%s\n' "${results[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"
}

make_tree
find "$ROOT/src" -type f -print0 | xargs -0 cat > /dev/null   # warm the page cache

declare -A T M S
for mode in targz tarbz2; do
    ext=${mode#tar}; ext=tar.${ext}
    for tool in cedar one before cb3; do
        write_conf "$ROOT/$tool-$mode.conf" "$tool" "$mode"
    done
    clean() { echo "rm -rf '$ROOT/out-$1'/* '$ROOT/work-$1'/*"; }
    read -r T[ced$mode] M[ced$mode] < <(measure "$(clean cedar)" \
        "$CBACK" -q -c "$ROOT/cedar-$mode.conf" -l "$ROOT/cedar.log" --full collect)
    S[ced$mode]=$(stat -c %s "$ROOT"/out-cedar/*."$ext")
    if [ "${BENCH_ONE_CORE:-0}" = 1 ]; then
        read -r T[one$mode] M[one$mode] < <(measure "$(clean one)" taskset -c 0 \
            "$CBACK" -q -c "$ROOT/one-$mode.conf" -l "$ROOT/cedar.log" --full collect)
    fi
    if [ -n "${BENCH_BEFORE:-}" ]; then
        read -r T[bef$mode] M[bef$mode] < <(measure "$(clean before)" \
            "$BENCH_BEFORE" -q -c "$ROOT/before-$mode.conf" -l "$ROOT/cedar.log" --full collect)
        read -r T[bone$mode] M[bone$mode] < <(measure "$(clean before)" taskset -c 0 \
            "$BENCH_BEFORE" -q -c "$ROOT/before-$mode.conf" -l "$ROOT/cedar.log" --full collect)
    fi
    read -r T[cb3$mode] M[cb3$mode] < <(measure "$(clean cb3)" \
        "$CB3" -q -c "$ROOT/cb3-$mode.conf" -l "$ROOT/cb3.log" --full collect)
    S[cb3$mode]=$(stat -c %s "$ROOT"/out-cb3/*."$ext")
    flag=z; [ "$mode" = tarbz2 ] && flag=j
    read -r T[tar$mode] M[tar$mode] < <(measure "rm -f '$ROOT/gnu.$ext'" \
        env GZIP=-9 BZIP2=-9 tar -c${flag}f "$ROOT/gnu.$ext" -C "$ROOT" src)
    S[tar$mode]=$(stat -c %s "$ROOT/gnu.$ext")
    # Every reader takes what cedar wrote.
    if [ "$mode" = targz ]; then gzip -t "$ROOT"/out-cedar/*."$ext"; else bzip2 -t "$ROOT"/out-cedar/*."$ext"; fi
done


echo
echo "tree: $TEXT_MIB MiB text-like + $RAND_MIB MiB incompressible ($(find "$ROOT/src" -type f | wc -l) files); $(nproc) cores; median of $RUNS"
printf '%-34s %9s %9s %12s %12s\n' tool "gz wall s" "bz2 wall s" "gz bytes" "bz2 bytes"
printf '%-34s %9s %9s %12s %12s\n' "cback --full collect (cedar)" "${T[cedtargz]}" "${T[cedtarbz2]}" "${S[cedtargz]}" "${S[cedtarbz2]}"
printf '%-34s %9s %9s %12s %12s\n' "cback3 --full collect (Cedar 3)" "${T[cb3targz]}" "${T[cb3tarbz2]}" "${S[cb3targz]}" "${S[cb3tarbz2]}"
printf '%-34s %9s %9s %12s %12s\n' "tar -czf / tar -cjf (GNU, -9)" "${T[tartargz]}" "${T[tartarbz2]}" "${S[tartargz]}" "${S[tartarbz2]}"
if [ "${BENCH_ONE_CORE:-0}" = 1 ]; then
    printf '%-34s %9s %9s\n' "cedar pinned to one core" "${T[onetargz]}" "${T[onetarbz2]}"
fi
if [ -n "${BENCH_BEFORE:-}" ]; then
    printf '%-34s %9s %9s\n' "BENCH_BEFORE" "${T[beftargz]}" "${T[beftarbz2]}"
    printf '%-34s %9s %9s\n' "BENCH_BEFORE pinned to one core" "${T[bonetargz]}" "${T[bonetarbz2]}"
fi
echo
echo "cedar / cback3 wall time, targz:  $(ratio "${T[cedtargz]}" "${T[cb3targz]}") (target <= 0.5)"
echo "cedar / cback3 wall time, tarbz2: $(ratio "${T[cedtarbz2]}" "${T[cb3tarbz2]}") (target <= 0.5)"
echo "cedar / tar -czf wall time:       $(ratio "${T[cedtargz]}" "${T[tartargz]}")"
echo "cedar / tar -cjf wall time:       $(ratio "${T[cedtarbz2]}" "${T[tartarbz2]}")"
echo "cedar / cback3 size, targz:       $(ratio "${S[cedtargz]}" "${S[cb3targz]}")"
echo "cedar / cback3 size, tarbz2:      $(ratio "${S[cedtarbz2]}" "${S[cb3tarbz2]}")"
if [ "${BENCH_ONE_CORE:-0}" = 1 ]; then
    echo "cedar on one core / cback3, targz:  $(ratio "${T[onetargz]}" "${T[cb3targz]}")"
    echo "cedar on one core / cback3, tarbz2: $(ratio "${T[onetarbz2]}" "${T[cb3tarbz2]}")"
fi
if [ -n "${BENCH_BEFORE:-}" ]; then
    echo "cedar / BENCH_BEFORE, targz:        $(ratio "${T[cedtargz]}" "${T[beftargz]}")"
    echo "cedar / BENCH_BEFORE, tarbz2:       $(ratio "${T[cedtarbz2]}" "${T[beftarbz2]}")"
    if [ "${BENCH_ONE_CORE:-0}" = 1 ]; then
        echo "one core, cedar / BENCH_BEFORE, targz:  $(ratio "${T[onetargz]}" "${T[bonetargz]}") (target <= 1)"
        echo "one core, cedar / BENCH_BEFORE, tarbz2: $(ratio "${T[onetarbz2]}" "${T[bonetarbz2]}") (target <= 1)"
    fi
fi
