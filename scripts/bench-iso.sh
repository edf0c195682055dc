#!/usr/bin/env bash
# Times image building on two trees and prints ratios against genisoimage,
# xorriso and plain cat of the same bytes.
#
#   tree A: BENCH_A_FILES files of 1-16 KiB in ~BENCH_A_DIRS directories
#   tree B: BENCH_B_COUNT files of BENCH_B_MIB MiB each
#
# Every tool writes its image to /dev/null from a warm page cache; each
# timing is the median of BENCH_RUNS runs. Peak RSS comes from GNU time.
set -euo pipefail

A_FILES=${BENCH_A_FILES:-20000}
A_DIRS=${BENCH_A_DIRS:-220}
B_COUNT=${BENCH_B_COUNT:-4}
B_MIB=${BENCH_B_MIB:-256}
RUNS=${BENCH_RUNS:-3}
ROOT=${BENCH_DIR:-/tmp/cedar-bench-iso}
here=$(cd "$(dirname "$0")/.." && pwd)

. "$(dirname "$0")/bench-lib.sh"
need genisoimage
need xorriso
need python3
need_gnu_time

echo "building cback (release)..." >&2
(cd "$here" && cargo build --release --quiet --bin cback)
CBACK="$here/target/release/cback"

make_trees() {
    local a="$ROOT/A" b="$ROOT/B" stamp="$ROOT/.params"
    local params="$A_FILES $A_DIRS $B_COUNT $B_MIB"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$params" ]; then
        return
    fi
    rm -rf "$ROOT"
    mkdir -p "$a" "$b"
    python3 - "$a" "$A_FILES" "$A_DIRS" <<'PY'
import os, random, sys
root, files, dirs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(42)
paths = []
for d in range(dirs):
    parent = rng.choice(paths) if paths and rng.random() < 0.5 else root
    p = os.path.join(parent, f"dir{d:04d}")
    os.makedirs(p)
    paths.append(p)
for i in range(files):
    with open(os.path.join(rng.choice(paths), f"file-{i:06d}.dat"), "wb") as f:
        f.write(os.urandom(rng.randint(1024, 16384)))
PY
    for i in $(seq 1 "$B_COUNT"); do
        head -c "$((B_MIB * 1048576))" /dev/urandom > "$b/big$i.bin"
    done
    echo "$params" > "$stamp"
}

# median of RUNS runs of a command: prints "seconds peak_kb"
measure() {
    local out results=()
    out=$(mktemp)
    for _ in $(seq 1 "$RUNS"); do
        if ! /usr/bin/time -o "$out" -f '%e %M' "$@" >/dev/null 2>&1; then
            echo "bench-iso: failed: $*" >&2
        fi
        results+=("$(tail -1 "$out")")
    done
    rm -f "$out"
    printf '%s\n' "${results[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"
}

cat_tree() { find "$1" -type f -print0 | xargs -0 cat > /dev/null; }
cat_tree_to_pipe() { find "$1" -type f -print0 | xargs -0 cat | cat > /dev/null; }
export -f cat_tree cat_tree_to_pipe

make_trees
cat_tree "$ROOT/A"; cat_tree "$ROOT/B"   # warm the page cache

declare -A T M
# Tree B once more through a pipe, the way an image streams to a burner.
read -r T[catP] M[catP] < <(measure bash -c "cat_tree_to_pipe '$ROOT/B'")
read -r T[cedP] M[cedP] < <(measure bash -c "'$CBACK' mkisofs -quiet -r '$ROOT/B' | cat > /dev/null")
for tree in A B; do
    src="$ROOT/$tree"
    read -r T[cat$tree] M[cat$tree] < <(measure bash -c "cat_tree '$src'")
    read -r T[gen$tree] M[gen$tree] < <(measure genisoimage -quiet -r -o /dev/null "$src")
    read -r T[xor$tree] M[xor$tree] < <(measure xorriso -as mkisofs -quiet -r -o /dev/null "$src")
    read -r T[ced$tree] M[ced$tree] < <(measure "$CBACK" mkisofs -quiet -r -o /dev/null "$src")
done


echo
echo "tree A: $A_FILES files of 1-16 KiB in $A_DIRS dirs ($(du -sh "$ROOT/A" | cut -f1)); tree B: $B_COUNT x $B_MIB MiB; median of $RUNS"
printf '%-28s %10s %10s %12s\n' tool "A wall s" "B wall s" "A peak RSS"
printf '%-28s %10s %10s %10s KB\n' "cat (same bytes)" "${T[catA]}" "${T[catB]}" "${M[catA]}"
printf '%-28s %10s %10s %10s KB\n' "genisoimage -r" "${T[genA]}" "${T[genB]}" "${M[genA]}"
printf '%-28s %10s %10s %10s KB\n' "xorriso -as mkisofs -r" "${T[xorA]}" "${T[xorB]}" "${M[xorA]}"
printf '%-28s %10s %10s %10s KB\n' "cback mkisofs -r" "${T[cedA]}" "${T[cedB]}" "${M[cedA]}"
echo
echo "throughput vs genisoimage, tree A: $(ratio "${T[genA]}" "${T[cedA]}")x (target >= 2)"
echo "throughput vs xorriso,     tree A: $(ratio "${T[xorA]}" "${T[cedA]}")x"
echo "time vs cat,               tree B: $(ratio "${T[cedB]}" "${T[catB]}")x (target <= 1.10)"
echo "time vs genisoimage,       tree B: $(ratio "${T[cedB]}" "${T[genB]}")x"
echo "time vs cat through a pipe, tree B: $(ratio "${T[cedP]}" "${T[catP]}")x (${T[cedP]} s vs ${T[catP]} s)"
