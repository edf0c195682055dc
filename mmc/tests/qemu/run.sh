#!/bin/sh
# Boots a Debian kernel under QEMU with the emulated burner served to the
# kernel as /dev/sr0 (TCMU + tcm_loop) and runs a scenario script in the guest.
#
# usage: run.sh WORKDIR SCENARIO DEVICE TARGETDIR
#   WORKDIR   scratch directory (shared read-write with the guest as /work)
#   SCENARIO  shell script run in the guest with /dev/sr0 ready; host binaries
#             are under $TARGET and run as $HOSTLD $TARGET/...
#   DEVICE    the emulated device string served as /dev/sr0 (paths in /work)
#   TARGETDIR the host's cargo target/debug directory (absolute)
# Optional: MMC_QEMU_SMP guest CPUs (default 1), MMC_QEMU_TIMEOUT seconds
# the guest may run (default 600).
# Needs: qemu-system-x86_64, and in $MMC_QEMU_KERNEL_DIR an unpacked
# linux-image-6.1 package (boot/vmlinuz-*, lib/modules/*) and busybox-static
# (bin/busybox). setup.sh fetches both with apt-get download.
set -eu
work=$1
scenario=$2
echo "$3" > "$work/device.spec"
echo "$4" > "$work/target.dir"
kdir=${MMC_QEMU_KERNEL_DIR:?set MMC_QEMU_KERNEL_DIR (see setup.sh)}
here=$(cd "$(dirname "$0")" && pwd)
vmlinuz=$(ls "$kdir"/k/boot/vmlinuz-* | head -1)
moddir=$(ls -d "$kdir"/k/lib/modules/*/kernel | head -1)
root=$work/initramfs
rm -rf "$root"
mkdir -p "$root/bin" "$root/modules" "$root/proc" "$root/sys" "$root/dev" "$root/tmp"
cp "$kdir/bb/bin/busybox" "$root/bin/busybox"
cp "$here/guest-init.sh" "$root/init"
chmod +x "$root/init"
# Dependency order (modules.dep is not shipped in the package).
mods="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci netfs fscache
9pnet 9pnet_virtio 9p configfs scsi_common scsi_mod cdrom sr_mod sg uio crct10dif_common
crc-t10dif target_core_mod target_core_user tcm_loop isofs"
: > "$root/modules.list"
for m in $mods; do
    f=$(find "$moddir" -name "$m.ko" | head -1)
    [ -n "$f" ] || { echo "module $m not found" >&2; exit 1; }
    cp "$f" "$root/modules/"
    echo "$m" >> "$root/modules.list"
done
cp "$scenario" "$work/scenario.sh"
rm -f "$work/guest.log"
(cd "$root" && find . | "$kdir/bb/bin/busybox" cpio -o -H newc 2>/dev/null | gzip -1) > "$work/initrd.gz"
# KVM when it can run the guest, else TCG (see accel.sh).
accel=$(sh "$here/accel.sh")
# shellcheck disable=SC2086 # $accel is a list of options
timeout "${MMC_QEMU_TIMEOUT:-600}" qemu-system-x86_64 $accel -m 768 -smp "${MMC_QEMU_SMP:-1}" -nographic -no-reboot \
    -kernel "$vmlinuz" -initrd "$work/initrd.gz" \
    -append "console=ttyS0 quiet panic=-1 rdinit=/init" \
    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on \
    -virtfs "local,path=$work,mount_tag=work,security_model=none" \
    > "$work/console.log" 2>&1 || true
cat "$work/guest.log"
