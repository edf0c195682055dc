#!/bin/sh
# The kernel store rig's guest side (busybox sh), run by
# mmc/tests/qemu/guest-init.sh with the emulated burners already served to
# the kernel: drive i of /work/rig.list (lines `i NAME`) is $SRi / $SGi.
# Each scenario prints exactly one line, `ok   NAME: ...` or
# `FAIL NAME: ...`; its commands and their output go to /work/out/NAME.log,
# which tests/kernel/run.sh shows for a failure. cedar's binary is
# $TARGET/cback, run as cron runs it: a config file, CEDAR_TODAY for the
# night's date, `cback collect stage store`.
CBACK=$TARGET/cback
RIG=/tmp/rig
mkdir -p $RIG /work/out /mnt
# The accounts cback and the non-root scenario need (the guest has none).
cat > /etc/passwd <<'EOF'
root:x:0:0:root:/root:/bin/sh
backup:x:34:34:backup:/var/backups:/bin/sh
cedar:x:1000:1000:cedar:/tmp/rig:/bin/sh
EOF
cat > /etc/group <<'EOF'
root:x:0:
cdrom:x:24:cedar
backup:x:34:
cedar:x:1000:
EOF
export TZ=UTC

# The nights of the week: Monday (the starting day: a new disc), Tuesday, Wednesday.
NIGHTS="2026-03-02 2026-03-03 2026-03-04"

# --- helpers (each scenario runs in a subshell: `die` ends only it) ---

die() {
    echo "$*"
    exit 1
}

# Logs a command line and runs it with its output to the scenario's log.
run() {
    echo "+ $*" >> "$LOG"
    "$@" >> "$LOG" 2>&1
}

# The device of drive NAME (from /work/rig.list): `dev NAME sr|sg`.
dev() {
    i=$(awk -v n="$1" '$2 == n { print $1 }' /work/rig.list)
    [ -n "$i" ] || die "no drive for $1"
    eval "echo \$$(echo "$2" | tr a-z A-Z)$i"
}

# YYYY/MM/DD of a night.
day_of() {
    echo "$1" | tr - /
}

# Writes $B/cback.conf: MEDIA DEVICE_TYPE TARGET_DEVICE [BACKUP_USER].
config() {
    user=${4:-backup}
    cat > "$B/cback.conf" <<EOF
<?xml version="1.0"?>
<cb_config>
 <options><starting_day>monday</starting_day><working_dir>$B/work</working_dir>
  <backup_user>$user</backup_user><backup_group>$user</backup_group>
  <rcp_command>/usr/bin/scp -B</rcp_command></options>
 <collect><collect_dir>$B/collect</collect_dir><collect_mode>daily</collect_mode><ignore_file>.cbignore</ignore_file>
  <archive_mode>targz</archive_mode><dir><abs_path>$B/data</abs_path></dir></collect>
 <stage><staging_dir>$B/stage</staging_dir>
  <peer><name>host1</name><type>local</type><collect_dir>$B/collect</collect_dir></peer></stage>
 <store><source_dir>$B/stage</source_dir><media_type>$1</media_type>
  <device_type>$2</device_type><target_device>$3</target_device>
  <check_data>${CHECK:-Y}</check_data></store>
</cb_config>
EOF
}

# A scenario's base directory: `base NAME` sets B and LOG.
base() {
    B=$RIG/$1
    LOG=/work/out/$1.log
    rm -rf "$B"
    mkdir -p "$B/work" "$B/collect" "$B/stage" "$B/data"
    : > "$LOG"
}

# The night's data to back up: a few files whose bytes differ every night
# (KIB KiB of random bytes in the big one).
data() { # NIGHT KIB
    rm -rf "$B/data"
    mkdir -p "$B/data/etc" "$B/data/home/user"
    echo "hosts file of night $1" > "$B/data/etc/hosts"
    : > "$B/data/etc/empty"
    dd if=/dev/urandom of="$B/data/home/user/big.bin" bs=1024 count="$2" 2>/dev/null
}

# Runs cback (bounded in time) for NIGHT with ACTIONS; returns its status.
cback_on() { # NIGHT ACTIONS...
    night=$1
    shift
    echo "+ CEDAR_TODAY=$night cback $*" >> "$LOG"
    CEDAR_TODAY=$night timeout 300 $AS "$CBACK" -c "$B/cback.conf" -l "$B/cback.log" "$@" >> "$LOG" 2>&1
}

# One night: new data, then `cback collect stage store`, which must succeed
# and mark the day stored.
night() { # NIGHT KIB
    data "$1" "$2"
    # The tree the night collects, kept for restore to be compared with.
    rm -rf "$B/src/$1" && mkdir -p "$B/src" && cp -a "$B/data" "$B/src/$1"
    cback_on "$1" collect stage store || die "night $1: cback collect stage store exited $?"
    [ -e "$B/stage/$(day_of "$1")/cback.store" ] || die "night $1: no cback.store"
}

# The kernel mounts DEV (mount options OPTS, e.g. ,session=1) and sees
# exactly the days DAYS..., each one's staged files byte for byte (the
# staging directory's cback.store is written after the disc, so it is not
# on it). Extra top-level names the disc must hold go in $ALSO.
sees() { # DEV OPTS NIGHTS...
    d=$1
    o=$2
    shift 2
    m=/mnt/$(basename "$B")
    mkdir -p "$m"
    run mount -t iso9660 -o "ro$o" "$d" "$m" || die "mount -o ro$o $d failed"
    want=""
    for n in "$@"; do want="$want $(day_of "$n")"; done
    got=$(cd "$m" && ls -d [0-9]*/[0-9]*/[0-9]* 2>/dev/null | tr '\n' ' ')
    problem=""
    [ "$(echo $got)" = "$(echo $want)" ] || problem="the kernel sees days [$got], not [$want]"
    for day in $want; do
        [ -n "$problem" ] && break
        files=$(cd "$B/stage/$day" && find . -type f ! -name cback.store | sort)
        [ -n "$files" ] || problem="nothing staged for $day"
        for f in $files; do
            cmp "$B/stage/$day/$f" "$m/$day/$f" >> "$LOG" 2>&1 || {
                problem="$day/$f differs on the disc (mount -o ro$o)"
                break
            }
        done
    done
    for name in $ALSO; do
        [ -n "$problem" ] && break
        [ -e "$m/$name" ] || problem="the kernel does not see /$name"
    done
    echo "--- mount -o ro$o $d: $(cd "$m" && find . | sort | tr '\n' ' ')" >> "$LOG"
    run umount "$m"
    [ -z "$problem" ] || die "$problem"
}

# A `Label: value` field of cback drive's report in $B/drive.txt.
field() {
    sed -n "s/^$1: *//p" "$B/drive.txt"
}

# cedar's own `cback drive DEV` against cdrskin -msinfo and
# xorriso -toc on the same drive: sessions, the last session's start, the
# next writable address, and the msinfo pair (on overwritable media, where
# there is no session to append, the volume end the next session grows).
agree() { # DEV
    run sh -c "$CBACK drive $1 > $B/drive.txt" || die "cback drive $1 failed"
    cat "$B/drive.txt" >> "$LOG"
    x=$B/toc.txt
    xorriso -indev "$1" -toc > "$x" 2>&1
    cat "$x" >> "$LOG"
    sessions=$(field Sessions)
    start=$(field "Last session start")
    nwa=$(field "Next writable")
    msinfo=$(field msinfo)
    xs=$(sed -n 's/^Media summary: *\([0-9]*\) session.*/\1/p' "$x" | tail -1)
    xnwa=$(sed -n 's/^Media nwa *: *\([0-9]*\)s.*/\1/p' "$x" | tail -1)
    xstart=$(sed -n 's/^[A-Za-z]* session *: *[0-9]* *, *\([0-9]*\) *,.*/\1/p' "$x" | tail -1)
    case "$msinfo" in
    none*)
        # Overwritable: one volume grown in place, no session to append.
        # xorriso's TOC shows that volume where cback drive does; cdrskin,
        # asked to grow it, starts at it and puts the next session at its
        # end rounded up to 16 blocks, where cedar puts it (xorriso's next
        # address rounds to its 32 KiB unit).
        c=$(cdrskin dev="$1" --grow_overwriteable_iso -msinfo 2>>"$LOG")
        vstart=$(field Volume | sed -n 's/.*session at block \([0-9]*\),.*/\1/p')
        end=$(field Volume | sed -n 's/.*volume end \([0-9]*\)).*/\1/p')
        [ -n "$end" ] || die "cback drive names no volume"
        xsize=$(sed -n 's/^ISO session *: *[0-9]* *, *[0-9]* *, *\([0-9]*\)s.*/\1/p' "$x" | tail -1)
        [ "$xstart" = "$vstart" ] && [ "$xsize" = $((end - vstart)) ] ||
            die "xorriso -toc shows a volume of $xsize blocks at $xstart, cback drive one at $vstart ending at $end"
        [ "$c" = "$vstart,$(((end + 15) / 16 * 16))" ] ||
            die "cdrskin -msinfo says $c, cback drive's volume is $vstart to $end"
        [ "$xnwa" -ge "$end" ] && [ "$xnwa" -lt $((end + 32)) ] ||
            die "xorriso's next address is $xnwa, cback drive's volume ends at $end"
        msinfo="volume $vstart-$end, grown next at $c"
        ;;
    *)
        c=$(cdrskin dev="$1" -msinfo 2>>"$LOG")
        [ "$c" = "$msinfo" ] || die "cdrskin -msinfo says $c, cback drive $msinfo"
        [ "$xs" = "$sessions" ] || die "xorriso -toc counts $xs sessions, cback drive $sessions"
        [ "$xstart" = "$start" ] || die "xorriso -toc's last session starts at $xstart, cback drive's at $start"
        [ "$xnwa" = "$nwa" ] || die "xorriso -toc's next writable address is $xnwa, cback drive's $nwa"
        ;;
    esac
    echo "cdrskin $c, xorriso ${xs:-?} sessions last at ${xstart:-?} nwa ${xnwa:-?}" >> "$LOG"
}

# Runs cback ARGS with its output in $OUT (and the log); returns its status.
cback_out() {
    OUT=$B/out.txt
    echo "+ cback $*" >> "$LOG"
    timeout 300 "$CBACK" "$@" > "$OUT" 2>&1
    status=$?
    cat "$OUT" >> "$LOG"
    return $status
}

# The files of a night's staged day (its peer directories and archives),
# relative to the day: what the disc holds for it besides cback.manifest.
staged() { # NIGHT
    (cd "$B/stage/$(day_of "$1")" && find . -type f ! -name cback.store | sed 's,^\./,,' | sort)
}

# `cback verify DEV` (cedar reading the disc through the kernel's SCSI
# layer, sr or sg): exit 0, an OK summary counting SESSIONS sessions and
# the nights' days, and every one of those days' files matching its
# manifest.
verified() { # DEV SESSIONS NIGHTS...
    d=$1
    s=$2
    shift 2
    cback_out verify -q "$d" || die "cback verify $d exited $status"
    sum=$(tail -n 1 "$OUT")
    case "$sum" in
    *": OK: $s session(s), $# day(s), "*" 0 problem(s)"*) ;;
    *) die "cback verify $d: summary \"$sum\", not OK with $s sessions and $# days" ;;
    esac
    for n in "$@"; do
        grep -q "^$(day_of "$n"): [0-9]* file(s) match the manifest" "$OUT" ||
            die "cback verify $d does not report $(day_of "$n") matching its manifest"
    done
}

# `cback restore -d DEV list` lists exactly the nights' days.
listed() { # DEV NIGHTS...
    d=$1
    shift
    cback_out restore -d "$d" list || die "cback restore -d $d list exited $status"
    got=$(grep -o '^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] ' "$OUT" | tr -d ' ' | tr '\n' ' ')
    [ "$(echo $got)" = "$*" ] || die "cback restore -d $d list shows days [$got], not [$*]"
    for n in "$@"; do
        for f in $(staged "$n"); do
            grep -q "^    ${f#*/} " "$OUT" || die "cback restore list does not show $n's ${f#*/}"
        done
    done
}

# `cback restore -d DEV NIGHT DIR` restores the day's archives as staged,
# byte for byte; with -x it unpacks them into DIR, which then holds the
# tree the night collected: the same files, bytes, modes and mtimes.
restored() { # DEV NIGHT
    t=$B/restore/$2
    rm -rf "$t"
    cback_out restore -d "$1" "$2" "$t" || die "cback restore -d $1 $2 exited $status"
    for f in $(staged "$2"); do
        cmp "$B/stage/$(day_of "$2")/$f" "$t/$f" >> "$LOG" 2>&1 || die "restore $2 through $1: $f differs from the staged one"
    done
    [ "$(cd "$t" && find . -type f | sed 's,^\./,,' | sort)" = "$(staged "$2")" ] ||
        die "restore $2 through $1 wrote [$(cd "$t" && find . -type f | tr '\n' ' ')], not the staged files"
    t=$B/unpack/$2
    rm -rf "$t"
    cback_out restore -d "$1" -x "$2" "$t" || die "cback restore -d $1 -x $2 exited $status"
    same_tree "$B/src/$2" "$t$B/data" || die "restore -x $2 through $1: $PROBLEM"
}

# Whether tree B is tree A: the same names, types and modes, the same
# bytes and mtimes of every file (PROBLEM says what differs).
same_tree() { # A B
    PROBLEM=""
    [ -d "$2" ] || { PROBLEM="no $2"; return 1; }
    a=$(cd "$1" && find . | sort | while read -r f; do stat -c "%n %F %a" "$f"; done)
    b=$(cd "$2" && find . | sort | while read -r f; do stat -c "%n %F %a" "$f"; done)
    [ "$a" = "$b" ] || { PROBLEM="names, types or modes differ: [$(echo $b)], not [$(echo $a)]"; return 1; }
    for f in $(cd "$1" && find . -type f); do
        cmp "$1/$f" "$2/$f" >> "$LOG" 2>&1 || { PROBLEM="$f differs"; return 1; }
        [ "$(stat -c %Y "$1/$f")" = "$(stat -c %Y "$2/$f")" ] || { PROBLEM="$f has another mtime"; return 1; }
    done
}

# A finished week read back through the kernel: verify through sr and sg,
# the days listed through both, each restored (as staged, and unpacked
# into its source tree) through sr and sg in turn. `light` (the media
# after CD-R and DVD+R, to keep the rig fast): verify through sg, the
# days listed through sr and the last one restored through sr.
reads_back() { # full|light SR SG SESSIONS NIGHTS...
    how=$1
    sr=$2
    sg=$3
    s=$4
    shift 4
    if [ "$how" = light ]; then
        verified "$sg" "$s" "$@"
        listed "$sr" "$@"
        for n in "$@"; do :; done
        restored "$sr" "$n"
        return
    fi
    verified "$sr" "$s" "$@"
    verified "$sg" "$s" "$@"
    listed "$sr" "$@"
    listed "$sg" "$@"
    d=$sr
    for n in "$@"; do
        restored "$d" "$n"
        [ "$d" = "$sr" ] && d=$sg || d=$sr
    done
}

# The MMC profile number of each medium, as `cback drive` prints it.
profile_number() {
    case "$1" in
    cdr-80) echo 0009h ;;
    dvd+r) echo 001Bh ;;
    dvd+rw) echo 001Ah ;;
    dvd-r) echo 0011h ;;
    bd-r) echo 0041h ;;
    esac
}

# The week's media: emulator profile, media_type, device_type.
WEEK="cdr-80:cdr-80:cdwriter dvd+r:dvd+r:dvdwriter dvd+rw:dvd+rw:dvdwriter dvd-r:dvd-r:dvdwriter bd-r:bd-r:bdwriter"

# --- scenarios ---

# cback drive through /dev/srN and /dev/sgN reports what the emulator
# itself reports for a blank disc of the same profile, on each week drive
# before its first night.
sc_identify() {
    base identify
    n=0
    for w in $WEEK; do
        p=${w%%:*}
        sr=$(dev "week-$p" sr)
        sg=$(dev "week-$p" sg)
        ref="emulated:$B/$p.img?profile=$p"
        for d in "$sr" "$sg" "$ref"; do
            run sh -c "$CBACK drive '$d' > $B/out.txt" || die "cback drive $d failed"
            cat "$B/out.txt" >> "$LOG"
            grep -v '^Device:' "$B/out.txt" > "$B/$(echo "$d" | tr -c 'a-z0-9\n' _).txt"
            grep -q "^Device: *$d\$" "$B/out.txt" || die "cback drive $d does not name $d"
        done
        for d in "$sr" "$sg"; do
            cmp "$B/$(echo "$d" | tr -c 'a-z0-9\n' _).txt" "$B/$(echo "$ref" | tr -c 'a-z0-9\n' _).txt" >> "$LOG" 2>&1 ||
                die "cback drive $d and the emulator disagree on a blank $p"
        done
        grep -q "^Profile: .*($(profile_number "$p"))\$" "$B/out.txt" || die "a blank $p is not reported as profile $(profile_number "$p")"
        n=$((n + 1))
    done
    echo "cback drive on sr and sg and the emulator itself agree on $n blank media"
}

# cback drive on a CD-RW holding one 320-block session (written by
# cdrskin), through sr as `cback drive DEV` and through sg as `cback drive
# info DEV`: the profile, an appendable rewritable medium and msinfo
# 0,11722 (320 blocks, 2 of TAO run-out, 11400 of lead-out, lead-in and
# pregap); and a drive that does not exist: one clear line, exit 6.
sc_drive() {
    base drive
    sr=$(dev drive sr)
    sg=$(dev drive sg)
    dd if=/dev/urandom of="$B/s.img" bs=2048 count=320 2> /dev/null
    run cdrskin dev="$sr" -tao -multi -data "$B/s.img" || die "cdrskin could not write the CD-RW"
    for c in "drive $sr" "drive info $sg"; do
        run sh -c "$CBACK $c > $B/drive.txt" || die "cback $c failed"
        cat "$B/drive.txt" >> "$LOG"
        [ "$(field Profile)" = "CD-RW (000Ah)" ] || die "cback $c: profile $(field Profile), not CD-RW (000Ah)"
        field Medium | grep -q '^appendable, rewritable' || die "cback $c: medium $(field Medium)"
        [ "$(field msinfo)" = 0,11722 ] || die "cback $c: msinfo $(field msinfo), not 0,11722"
    done
    run sh -c "$CBACK drive /dev/sr99 > $B/none.txt 2>&1"
    status=$?
    cat "$B/none.txt" >> "$LOG"
    [ $status = 6 ] || die "cback drive /dev/sr99 exited $status, not 6"
    grep -q "^cback drive: cannot use /dev/sr99: No such file or directory" "$B/none.txt" && [ "$(wc -l < "$B/none.txt")" = 1 ] ||
        die "cback drive /dev/sr99 said: $(cat "$B/none.txt")"
    echo "a CD-RW with one session through sr (cback drive) and sg (cback drive info): CD-RW (000Ah), appendable, rewritable, msinfo 0,11722; /dev/sr99: exit 6, one line"
}

# A week: three nights on MEDIUM; after each the kernel mounts the disc
# and sees every day so far byte for byte, on write-once media the
# previous session (mount -o session=) holds the days before, and
# cdrskin/xorriso agree with cback drive.
sc_week() { # PROFILE:MEDIA:DEVICE_TYPE
    p=${1%%:*}
    rest=${1#*:}
    base "week-$p"
    sr=$(dev "week-$p" sr)
    config "${rest%%:*}" "${rest#*:}" "$sr"
    done_nights=""
    k=0
    for n in $NIGHTS; do
        k=$((k + 1))
        night "$n" $((40 + 24 * k))
        prev=$done_nights
        done_nights="$done_nights $n"
        # shellcheck disable=SC2086 # lists of nights
        sees "$sr" "" $done_nights
        case "$p" in
        dvd+rw) ;;
        *)
            # Sessions counted from 0: session k-1 is tonight's, k-2 the last one.
            sees "$sr" ",session=$((k - 1))" $done_nights
            [ $k -gt 1 ] && sees "$sr" ",session=$((k - 2))" $prev
            ;;
        esac
        agree "$sr"
    done
    sessions=$(field Sessions)
    # shellcheck disable=SC2086 # a list of nights
    case "$p" in
    cdr-80 | dvd+r)
        reads_back full "$sr" "$(dev "week-$p" sg)" "$sessions" $NIGHTS
        back="verify through sr and sg OK, restore lists the 3 days through both and restores each (sr, sg, sr), unpacked = the source tree"
        ;;
    *)
        reads_back light "$sr" "$(dev "week-$p" sg)" "$sessions" $NIGHTS
        back="verify through sg OK, restore lists the 3 days and restores the last, unpacked = the source tree"
        ;;
    esac
    echo "3 nights stored; after each the kernel sees every day (on write-once media also the previous session), cdrskin and xorriso agree with cback drive (sessions: $sessions, msinfo $msinfo); $back"
}

# check_data as a normal user who was given the drive (group cdrom), no
# mount anywhere: night 1 through /dev/srN, night 2 through /dev/sgN.
sc_user() {
    base user
    sr=$(dev user sr)
    sg=$(dev user sg)
    chgrp cdrom "$sr" "$sg" && chmod 660 "$sr" "$sg"
    chown -R cedar:cedar "$B"
    AS="/host/usr/bin/setpriv --reuid=1000 --regid=1000 --groups=24 --"
    export HOME=$B
    set -- 2026-03-02 "$sr" 2026-03-03 "$sg"
    while [ $# -gt 0 ]; do
        config dvd+r dvdwriter "$2" cedar
        chown cedar:cedar "$B/cback.conf"
        data "$1" 96
        chown -R cedar:cedar "$B/data"
        cback_on "$1" collect stage store || die "store as cedar through $2 exited $?"
        grep -q "Consistency check completed" "$B/cback.log" || die "no check_data through $2"
        grep -q "^$sr " /proc/mounts && die "$sr got mounted"
        [ -e "$B/stage/$(day_of "$1")/cback.store" ] || die "no cback.store after $2"
        [ "$(stat -c %U "$B/stage/$(day_of "$1")/cback.store")" = cedar ] || die "cback.store not cedar's"
        mv "$B/cback.log" "$B/cback.log.$1"
        shift 2
    done
    AS=""
    sees "$sr" "" 2026-03-02 2026-03-03
    echo "uid 1000 in group cdrom stored and check_data read back through $sr and then $sg, nothing mounted"
}

# The disc is mounted while store runs: refused with a clear error, the
# disc unchanged; unmounted, the same night stores.
sc_mounted() {
    base mounted
    sr=$(dev mounted sr)
    config dvd+rw dvdwriter "$sr"
    night 2026-03-02 64
    run sh -c "$CBACK drive $sr > $B/before.txt"
    sum=$(sha1sum < "$(img mounted)")
    mkdir -p /mnt/held
    run mount -t iso9660 -o ro "$sr" /mnt/held || die "cannot mount $sr"
    data 2026-03-03 64
    cback_on 2026-03-03 collect stage store && die "store ran on a mounted drive"
    grep -q "Device \[$sr\] is currently mounted ($sr on /mnt/held)" "$B/cback.log" ||
        die "no clear error for the mounted drive"
    # The same drive through its SCSI generic node is just as mounted.
    sg=$(dev mounted sg)
    config dvd+rw dvdwriter "$sg"
    cback_on 2026-03-03 store && die "store through $sg ran while $sr was mounted"
    grep -q "Device \[$sg\] is currently mounted ($sr on /mnt/held)" "$B/cback.log" ||
        die "no clear error for $sg while $sr is mounted"
    config dvd+rw dvdwriter "$sr"
    [ -e "$B/stage/2026/03/03/cback.store" ] && die "cback.store written"
    run umount /mnt/held
    [ "$(sha1sum < "$(img mounted)")" = "$sum" ] || die "the disc image changed"
    run sh -c "$CBACK drive $sr > $B/after.txt"
    cmp "$B/before.txt" "$B/after.txt" >> "$LOG" 2>&1 || die "cback drive reports another disc"
    cback_on 2026-03-03 store || die "the re-run exited $?"
    sees "$sr" "" 2026-03-02 2026-03-03
    echo "refused: \"$(grep -o "Device \[$sr\] is currently mounted[^.]*" "$B/cback.log" | head -1)\", also through $sg, disc unchanged, re-run stored"
}

# The image file behind drive NAME (see run.sh's device list).
img() {
    echo "/tmp/disc-$1.img"
}

# A fault on the second night through the kernel, then the same night
# again: FAULT NAME MEDIA DEVICE_TYPE WANT. WANT is `fail:TEXT` (exit 6,
# TEXT in the log, no cback.store, Monday's session still there) or `retry`
# (stored as if nothing happened). Then the kernel sees both nights. The
# drive's trace must show the fault was answered.
sc_fault() { # NAME MEDIA DEVICE_TYPE SENSE WANT
    base "$1"
    sr=$(dev "$1" sr)
    config "$2" "$3" "$sr"
    i=$(awk -v n="$1" '$2 == n { print $1 }' /work/rig.list)
    night 2026-03-02 32
    grep -q "| sense $4\$" "/work/trace.$i" && die "$4 came on the first night"
    data 2026-03-03 1536
    cback_on 2026-03-03 collect stage store
    status=$?
    grep -q "| sense $4\$" "/work/trace.$i" || die "the drive never answered $4"
    case "$5" in
    retry)
        [ $status = 0 ] || die "store exited $status after $4"
        [ -e "$B/stage/2026/03/03/cback.store" ] || die "no cback.store after the retried $4"
        how="retried transparently"
        ;;
    fail:*)
        [ $status = 6 ] || die "store exited $status after $4, not 6"
        grep -q "${5#fail:}" "$B/cback.log" || die "no \"${5#fail:}\" in the log after $4"
        [ -e "$B/stage/2026/03/03/cback.store" ] && die "cback.store written after $4"
        sees "$sr" "" 2026-03-02
        cback_on 2026-03-03 store || die "the re-run after $4 exited $?"
        how="exit 6 \"$(grep -o "${5#fail:}.*" "$B/cback.log" | head -1 | cut -c1-60)\", Monday intact, re-run stored"
        ;;
    esac
    sees "$sr" "" 2026-03-02 2026-03-03
    echo "$4 on $2: $how"
}

# Sends START STOP UNIT to an sg device through the sg driver's
# write/read interface: `tray /dev/sgN open|close`.
tray() {
    python3 - "$1" "$2" <<'EOF'
import os, struct, sys
fd = os.open(sys.argv[1], os.O_RDWR)
cdb = bytes([0x1B, 0, 0, 0, 2 if sys.argv[2] == "open" else 3, 0])
# struct sg_header: pack_len, reply_len, pack_id, result, flags, sense[16].
os.write(fd, struct.pack("iiiiI16s", 36 + len(cdb), 36, 0, 0, 0, b"") + cdb)
reply = os.read(fd, 36)
result, flags = struct.unpack("iI", reply[12:20])
sys.exit(0 if result == 0 and (flags >> 1) & 0x1F == 0 else 1)
EOF
}

# The disc is taken out and put back between two nights (the tray opened
# and closed through /dev/sgN, so the kernel does not see the reload): the
# drive raises a unit attention, which the next store, also through
# /dev/sgN, gets on its first command and retries.
sc_attention() {
    base attention
    sr=$(dev attention sr)
    sg=$(dev attention sg)
    config dvd+rw dvdwriter "$sg"
    i=$(awk '$2 == "attention" { print $1 }' /work/rig.list)
    night 2026-03-02 32
    run tray "$sg" open || die "opening the tray through $sg failed"
    run tray "$sg" close || die "closing the tray through $sg failed"
    echo "# night 2026-03-03" >> "/work/trace.$i"
    night 2026-03-03 32
    sed -n '/^# night 2026-03-03/,$p' "/work/trace.$i" | grep -q '| sense 6/28/00$' ||
        die "store never got the unit attention"
    sees "$sr" "" 2026-03-02 2026-03-03
    echo "the tray opened and closed between two nights: store through $sg got 6/28/00, retried, stored"
}

# Other writers on a cedar disc: growisofs -M and xorriso each append a
# session, cedar appends after each, and the kernel sees every session's files.
sc_cross() {
    base cross
    sr=$(dev cross sr)
    config dvd+r dvdwriter "$sr"
    night 2026-03-02 32
    mkdir -p "$B/grow" "$B/xorr"
    echo "appended by growisofs" > "$B/grow/grown.txt"
    echo "appended by xorriso" > "$B/xorr/xorriso.txt"
    run growisofs -M "$sr" -r -quiet -graft-points "growisofs/=$B/grow" || die "growisofs -M failed"
    ALSO=growisofs/grown.txt
    sees "$sr" "" 2026-03-02
    night 2026-03-03 32
    sees "$sr" "" 2026-03-02 2026-03-03
    run xorriso -dev "$sr" -map "$B/xorr" /xorriso -commit || die "xorriso failed to append"
    ALSO="growisofs/grown.txt xorriso/xorriso.txt"
    sees "$sr" "" 2026-03-02 2026-03-03
    night 2026-03-04 32
    sees "$sr" "" 2026-03-02 2026-03-03 2026-03-04
    # The sessions one by one: cedar, growisofs, cedar, xorriso, cedar.
    ALSO=growisofs/grown.txt
    sees "$sr" ",session=2" 2026-03-02 2026-03-03
    ALSO=""
    sees "$sr" ",session=0" 2026-03-02
    agree "$sr"
    # Read back: the foreign sessions' files are not days, so verify
    # checks cedar's three days against their manifests (the whole written
    # area, foreign sessions too, is scanned for unreadable blocks) and
    # restore lists only them; the last day, written after xorriso's
    # session, restores through sg as the source tree.
    verified "$sr" 5 $NIGHTS
    grep -E "growisofs|xorriso" "$OUT" && die "cback verify reports the foreign files as days"
    listed "$(dev cross sg)" $NIGHTS
    restored "$(dev cross sg)" 2026-03-04
    echo "cedar, growisofs -M, cedar, xorriso, cedar: 5 sessions, the kernel sees all their files; verify OK on cedar's 3 days (foreign files are no days), restore lists those 3 and restores the last"
}

# Decay: a DVD+R whose drive cannot read blocks 400-403 (inside Monday's
# archive, which fills blocks ~30-800) and reads a flipped byte at block
# 3300 (inside Tuesday's, in the session after Monday's closure, about
# blocks 2880-3650). Stored without check_data (which would catch it),
# then verify through sr and sg exits 1 and names both archives, Wednesday
# still matches; restore leaves the damaged archives out and names them,
# and restores Wednesday intact.
sc_decay() {
    base decay
    sr=$(dev decay sr)
    sg=$(dev decay sg)
    CHECK=N config dvd+r dvdwriter "$sr"
    night 2026-03-02 1536
    night 2026-03-03 1536
    night 2026-03-04 64
    mon=$(staged 2026-03-02 | grep "\.tar\.gz$")
    tue=$(staged 2026-03-03 | grep "\.tar\.gz$")
    for d in "$sr" "$sg"; do
        cback_out verify -q "$d" && die "cback verify $d passed a decayed disc"
        [ $status = 1 ] || die "cback verify $d exited $status on a decayed disc, not 1"
        grep -q "^DAMAGED blocks 400-403 (4 blocks): .*2026/03/02/$mon" "$OUT" ||
            die "cback verify $d does not name 2026/03/02/$mon for blocks 400-403"
        grep -q "^DIFFERS 2026/03/03/$tue: " "$OUT" || die "cback verify $d does not name the flipped 2026/03/03/$tue"
        grep -q "^2026/03/04: [0-9]* file(s) match the manifest" "$OUT" || die "cback verify $d: Wednesday does not match"
        tail -n 1 "$OUT" | grep -q ": DAMAGED: " || die "cback verify $d: the summary does not say DAMAGED"
    done
    for w in "2026-03-02 $mon $sr" "2026-03-03 $tue $sg"; do
        set -- $w
        t=$B/restore/$1
        cback_out restore -d "$3" "$1" "$t" && die "restore $1 through $3 passed"
        [ $status = 1 ] || die "restore $1 through $3 exited $status, not 1"
        grep -q "^DAMAGED .*$2" "$OUT" || die "restore $1 through $3 does not name $2"
        [ -e "$t/$2" ] && die "restore $1 through $3 left the damaged $2 in $t"
    done
    restored "$sg" 2026-03-04
    echo "verify through sr and sg exits 1 naming Monday's archive (blocks 400-403 unreadable) and Tuesday's (a flipped byte), Wednesday OK; restore names them, leaves them out, restores Wednesday intact"
}

# --- the run ---

# Runs scenario FUNC ARGS as NAME, printing its one line.
scenario() { # NAME FUNC ARGS...
    name=$1
    shift
    start=$(cut -d. -f1 /proc/uptime)
    msg=$("$@")
    status=$?
    msg=$(echo "$msg" | tr '\n' ' ')
    if [ $status = 0 ]; then
        line="ok   $name: $msg"
    else
        line="FAIL $name: $msg"
    fi
    echo "$line ($(($(cut -d. -f1 /proc/uptime) - start)) s)"
}

AS=""
ALSO=""
# The scenarios to run: all, or those named in /work/rig.only.
wanted() {
    [ ! -s /work/rig.only ] || grep -qx "$1" /work/rig.only
}
# Lanes of scenarios run side by side (the guest has as many CPUs as lanes).
lane() {
    for s in "$@"; do
        case $s in
        week-*)
            for w in $WEEK; do
                [ "week-${w%%:*}" = "$s" ] && wanted "$s" && scenario "$s" sc_week "$w"
            done
            ;;
        fault-write) wanted $s && scenario $s sc_fault $s dvd+r dvdwriter 3/0C/00 "fail:while writing" ;;
        fault-removed) wanted $s && scenario $s sc_fault $s cdr-80 cdwriter 2/3A/00 "fail:medium not present" ;;
        fault-busy) wanted $s && scenario $s sc_fault $s bd-r bdwriter 2/04/08 retry ;;
        identify)
            wanted identify && scenario identify sc_identify
            : > $RIG/identified
            ;;
        identified) while [ ! -e $RIG/identified ]; do sleep 1; done ;;
        *) wanted "$s" && scenario "$s" "sc_$s" ;;
        esac
    done
}
echo "rig start $(cut -d' ' -f1 /proc/uptime)"
# identify looks at the week drives while they are blank: lane 2 waits
# for it before its weeks.
lane identify week-cdr-80 week-dvd-r week-bd-r fault-write fault-removed decay > /work/out/lane1 &
lane drive user mounted fault-busy attention identified week-dvd+r week-dvd+rw cross > /work/out/lane2 &
wait
cat /work/out/lane1 /work/out/lane2
echo "rig end $(cut -d' ' -f1 /proc/uptime)"
