#!/usr/bin/env bash
# The kernel store rig: cedar's own `cback` burning /dev/sr0 through a real
# Linux kernel, night after night, as a user's cron job does.
#
# One QEMU guest (mmc/tests/qemu/run.sh: a pinned Debian kernel, busybox)
# serves one emulated burner per scenario to the kernel through TCMU +
# tcm_loop, so each is a real /dev/srN and /dev/sgN; the host's binaries run
# inside the guest from the host's target directory. tests/kernel/guest.sh
# runs the scenarios, each printing one line; this script prints them,
# shows the log of any that failed, and ends with `N passed, N failed`
# (non-zero exit when anything failed).
#
# usage: tests/kernel/run.sh [SCENARIO...]   (default: all; names below)
#
# Needs qemu-system-x86_64, cdrskin, xorriso, growisofs and the guest
# kernel in MMC_QEMU_KERNEL_DIR (default /tmp/mmc-qemu); as root it
# installs them (apt-get, mmc/tests/qemu/setup.sh). Without them the rig
# is skipped with a loud note, except with CI set, where that is a failure.
# The binaries are built with the `guest` profile (optimised: the guest
# runs under TCG). The work directory is kept when something fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
started=$(date +%s)

# Each scenario's drive: NAME PROFILE [EXTRA device-string options]. The
# faults count from the guest's start: the first night writes about 230
# blocks in 8 WRITEs, the second about 800 in 25, so block 400 and the
# 20th WRITE fall in the middle of the second night's track (guest.sh
# checks that the drive answered them then). A block fault records the
# blocks before it; a command fault (the not-ready 2/04/08) records none.
drives=(
    "week-cdr-80 cdr-80"
    "week-dvd+r dvd+r"
    "week-dvd+rw dvd+rw"
    "week-dvd-r dvd-r"
    "week-bd-r bd-r"
    "drive cdrw-80"
    "user dvd+r"
    "mounted dvd+rw"
    "fault-write dvd+r &fault=block@400:3/0c/00"
    "fault-removed cdr-80 &fault=block@400:2/3a/00"
    "fault-busy bd-r &fault=write@20:2/04/08"
    "attention dvd+rw"
    "cross dvd+r"
    "decay dvd+r &unreadable=400-403&flip=3300:100"
)
# The scenarios (identify uses the week drives).
all="identify drive week-cdr-80 week-dvd+r week-dvd+rw week-dvd-r week-bd-r user mounted
fault-write fault-removed fault-busy attention cross decay"

wanted=("$@")
for w in "${wanted[@]}"; do
    grep -qw -- "$w" <<< "$all" || { echo "run.sh: unknown scenario $w (known: $(echo $all))" >&2; exit 2; }
done
[ ${#wanted[@]} -gt 0 ] || read -r -a wanted <<< "$(echo $all)"

# Not being able to run at all: a failure under CI, a loud skip elsewhere.
cannot() {
    if [ -n "${CI:-}" ]; then
        echo "FAIL kernel rig: $1 (required under CI)"
        echo "0 passed, 1 failed"
        exit 1
    fi
    echo "################################################################"
    echo "# kernel rig SKIPPED: $1"
    echo "# nothing was tested; see tests/kernel/run.sh for what it needs"
    echo "################################################################"
    exit 0
}

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo -n"
can_install() { [ -z "$sudo" ] || sudo -n true 2>/dev/null; }
missing=""
for t in qemu-system-x86_64:qemu-system-x86 cdrskin:cdrskin xorriso:xorriso growisofs:growisofs genisoimage:genisoimage; do
    command -v "${t%%:*}" > /dev/null || missing="$missing ${t#*:}"
done
if [ -n "$missing" ]; then
    can_install || cannot "not installed:$missing (and no root to install them)"
    echo "kernel rig: installing$missing"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing > /dev/null ||
        cannot "apt-get install$missing failed"
fi
export MMC_QEMU_KERNEL_DIR=${MMC_QEMU_KERNEL_DIR:-/tmp/mmc-qemu}
if [ "$(cat "$MMC_QEMU_KERNEL_DIR/.ready" 2>/dev/null)" != "$(sh "$repo/mmc/tests/qemu/setup.sh" --pin)" ]; then
    can_install || cannot "no guest kernel in MMC_QEMU_KERNEL_DIR=$MMC_QEMU_KERNEL_DIR (run mmc/tests/qemu/setup.sh as root)"
    echo "kernel rig: fetching the guest kernel into $MMC_QEMU_KERNEL_DIR"
    $sudo sh "$repo/mmc/tests/qemu/setup.sh" "$MMC_QEMU_KERNEL_DIR" > /dev/null ||
        cannot "mmc/tests/qemu/setup.sh $MMC_QEMU_KERNEL_DIR failed"
fi

# The guest's binaries: cback and the TCMU handler, optimised.
profile=${CEDAR_RIG_PROFILE:-guest}
(cd "$repo" && cargo build -q --profile "$profile" -p cedar -p mmc --bin cback --example tcmu_serve) ||
    { echo "FAIL kernel rig: building cback and tcmu_serve failed"; echo "0 passed, 1 failed"; exit 1; }
dir=$profile
[ "$profile" != dev ] || dir=debug
target="$(cd "$repo" && cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/$dir"

built=$(date +%s)
work=$(mktemp -d /tmp/cedar-kernel-rig.XXXXXX)
chmod 755 "$work"
: > "$work/trace"
: > "$work/rig.list"
printf '%s\n' "${wanted[@]}" > "$work/rig.only"
[ ${#wanted[@]} -lt "$(echo $all | wc -w)" ] || : > "$work/rig.only"
spec=""
i=0
for d in "${drives[@]}"; do
    read -r name prof extra <<< "$d"
    echo "$i $name" >> "$work/rig.list"
    spec="$spec${spec:+
}emulated:/tmp/disc-$name.img?profile=$prof&busy=3${extra:-}"
    i=$((i + 1))
done

# Two guest CPUs: the scenarios run in two lanes.
MMC_QEMU_SMP=2 MMC_QEMU_TIMEOUT=${CEDAR_RIG_TIMEOUT:-900} \
    sh "$repo/mmc/tests/qemu/run.sh" "$work" "$here/guest.sh" "$spec" "$target" > "$work/run.out" 2>&1 || true

passed=0
failed=0
for w in "${wanted[@]}"; do
    line=$(grep -E "^(ok  |FAIL) $(printf '%s' "$w" | sed 's/[+.]/\\&/g'):" "$work/guest.log" 2> /dev/null | head -1 || true)
    if [ -z "$line" ]; then
        line="FAIL $w: no result (the guest stopped early; see $work/guest.log and console.log)"
    fi
    echo "$line"
    case "$line" in
    ok*) passed=$((passed + 1)) ;;
    *)
        failed=$((failed + 1))
        [ ! -s "$work/out/$w.log" ] || tail -n 25 "$work/out/$w.log" | sed 's/^/    | /'
        ;;
    esac
done
boot=$(sed -n 's/^rig start \([0-9]*\).*/\1/p' "$work/guest.log" 2> /dev/null)
end=$(sed -n 's/^rig end \([0-9]*\).*/\1/p' "$work/guest.log" 2> /dev/null)
echo "kernel rig: $(($(date +%s) - started)) s in all (build $((built - started)) s); guest up after ${boot:-?} s, scenarios ${boot:+${end:+$((end - boot)) s}} (accelerator: $(sh "$repo/mmc/tests/qemu/accel.sh"))"
if [ "$failed" -eq 0 ]; then
    rm -rf "$work"
else
    echo "kernel rig: work directory kept in $work"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
