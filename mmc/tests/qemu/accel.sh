#!/bin/sh
# Prints the QEMU accelerator options for the test guests: KVM when this
# account can use /dev/kvm and a KVM guest really boots the test kernel
# (nested KVM can start a guest whose Linux then hangs), with TCG as QEMU's
# own fallback; else TCG alone. The verdict of the boot probe (about two
# seconds under KVM, 30 at most) is kept in $MMC_QEMU_KERNEL_DIR/.accel
# when that is writable.
# usage: accel.sh   (needs MMC_QEMU_KERNEL_DIR, see setup.sh)
set -eu
kdir=${MMC_QEMU_KERNEL_DIR:?set MMC_QEMU_KERNEL_DIR (see setup.sh)}
cache=$kdir/.accel
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
    verdict=tcg
elif [ -s "$cache" ]; then
    verdict=$(cat "$cache")
else
    vmlinuz=$(ls "$kdir"/k/boot/vmlinuz-* | head -1)
    # No initrd and no root: a kernel that boots panics at once (and exits).
    if timeout 30 qemu-system-x86_64 -accel kvm -m 256 -smp 1 -nographic -no-reboot \
        -kernel "$vmlinuz" -append "console=ttyS0 panic=-1" 2>/dev/null | grep -a -q "Kernel panic"; then
        verdict=kvm
    else
        verdict=tcg
    fi
    echo "$verdict" > "$cache" 2>/dev/null || true
fi
if [ "$verdict" = kvm ]; then
    echo "-accel kvm -accel tcg"
else
    echo "-accel tcg"
fi
