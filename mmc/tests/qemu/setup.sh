#!/bin/sh
# Fetches what run.sh needs into DIR: Debian's 6.1 kernel package and
# busybox-static, unpacked (no install), plus qemu-system-x86 via apt-get.
# usage: setup.sh DIR   then   export MMC_QEMU_KERNEL_DIR=DIR
set -eu
dir=$1
mkdir -p "$dir" && cd "$dir"
command -v qemu-system-x86_64 >/dev/null || apt-get install -y --no-install-recommends qemu-system-x86
kpkg=$(apt-cache depends linux-image-amd64 | sed -n 's/.*Depends: \(linux-image-[0-9].*\)/\1/p' | head -1)
apt-get download "$kpkg" busybox-static
mkdir -p k bb
dpkg-deb -x linux-image-*.deb k
dpkg-deb -x busybox-static*.deb bb
