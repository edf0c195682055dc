#!/bin/busybox sh
# PID 1 of the test guest: load the SCSI target and sr/sg drivers, serve the
# emulated burner named in /work/device.spec through TCMU + tcm_loop so that
# it becomes /dev/sr0 and /dev/sg0, run /work/scenario.sh, power off.
# Host binaries run from the read-only 9p share of the host root (/host);
# $TARGET is the host's cargo target dir.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.list); do insmod "/modules/$m.ko" || echo "insmod $m failed"; done
mount -t configfs configfs /sys/kernel/config
mkdir -p /host /work
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 hostroot /host
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 work /work
# Host programs run as they are: the host's loader where they expect it,
# the host's libraries on the path, busybox first for the basic tools.
mkdir -p /lib64
ln -s /host/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 /lib64/ld-linux-x86-64.so.2
export LD_LIBRARY_PATH=/host/usr/lib/x86_64-linux-gnu
export PATH=/bin:/sbin:/host/usr/bin:/host/usr/sbin
mkdir -p /etc && ln -s /proc/mounts /etc/mtab
ln -s /proc/self/fd /dev/fd
export HOSTLD=""
export TARGET="/host$(cat /work/target.dir)"
{
    # One drive per line of device.spec: LUN i is served by its own handler
    # (trace in /work/trace.i when /work/trace exists) and reachable as
    # $SRi / $SGi (the first is /dev/sr0 and /dev/sg0).
    L=/sys/kernel/config/target/loopback/naa.5001405000000001
    mkdir -p $L/tpgt_1
    i=0
    pids=""
    while read -r spec; do
        [ -n "$spec" ] || continue
        C=/sys/kernel/config/target/core/user_1/mmc$i
        mkdir -p $C
        echo -n dev_config=mmc/emu$i,dev_size=$((2306867*2048)),hw_block_size=2048 > $C/control
        echo 1 > $C/enable
        uio=$(grep -l "/mmc$i/mmc/emu$i" /sys/class/uio/uio*/name | sed 's,.*/\(uio[0-9]*\)/name,\1,')
        if [ -e /work/trace ]; then
            MMC_TRACE=/work/trace.$i $HOSTLD $TARGET/examples/tcmu_serve /dev/$uio "$spec" &
        else
            $HOSTLD $TARGET/examples/tcmu_serve /dev/$uio "$spec" &
        fi
        pids="$pids $!:$uio"
        i=$((i+1))
    done < /work/device.spec
    # The handlers must be up before the LUNs are scanned: wait (at most a
    # minute: a loaded host starts them slowly under TCG) until each one
    # holds its uio device open, then give it a moment to map the ring.
    for p in $pids; do
        for t in $(seq 1 120); do
            ls -l /proc/${p%%:*}/fd 2>/dev/null | grep -q "/dev/${p##*:}\$" && break
            sleep 0.5
        done
    done
    sleep 1
    [ -e $L/tpgt_1/nexus ] && echo -n naa.5001405000000002 > $L/tpgt_1/nexus
    n=0
    while [ $n -lt $i ]; do
        mkdir -p $L/tpgt_1/lun/lun_$n
        ln -s /sys/kernel/config/target/core/user_1/mmc$n $L/tpgt_1/lun/lun_$n/mmc$n
        n=$((n+1))
    done
    n=0
    while [ $n -lt $i ]; do
        for t in $(seq 1 60); do
            d=$(ls -d /sys/bus/scsi/devices/*:*:*:$n/block/sr* 2>/dev/null | head -1)
            [ -n "$d" ] && [ -e /dev/${d##*/} ] && break
            sleep 1
        done
        g=$(ls /sys/bus/scsi/devices/*:*:*:$n/scsi_generic 2>/dev/null | head -1)
        export SR$n=/dev/${d##*/} SG$n=/dev/$g
        n=$((n+1))
    done
    dmesg | grep -E "sr0|sg0|CEDAR"
    sh /work/scenario.sh
    echo "scenario exit $?"
} > /work/guest.log 2>&1
sync
poweroff -f
