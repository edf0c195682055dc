#!/bin/sh
# Fetches what run.sh needs into DIR: the pinned Debian kernel package and
# busybox-static, unpacked (no install), plus qemu-system-x86 via apt-get.
# usage: setup.sh DIR   then   export MMC_QEMU_KERNEL_DIR=DIR
#        setup.sh --pin (prints the pinned kernel package=version)
set -eu
# The kernel the QEMU tests boot. Debian keeps only the current kernel ABI
# in the archive: when this one is dropped, pin the one
# `apt-cache depends linux-image-amd64` names, with its version.
pin=linux-image-6.1.0-57-amd64=6.1.192-3
if [ "${1:-}" = --pin ]; then
    echo "$pin"
    exit 0
fi
dir=$1
mkdir -p "$dir" && cd "$dir"
command -v qemu-system-x86_64 >/dev/null || apt-get install -y --no-install-recommends qemu-system-x86
apt-get download "$pin" busybox-static || {
    echo "setup.sh: cannot download the pinned kernel $pin; pin the current one (see setup.sh)" >&2
    exit 1
}
mkdir -p k bb
dpkg-deb -x linux-image-*.deb k
dpkg-deb -x busybox-static*.deb bb
echo "$pin" > .ready
