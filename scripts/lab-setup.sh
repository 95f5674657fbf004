#!/usr/bin/env bash
# What the lab's VMs need, from Debian's packages: QEMU, a static busybox (the initramfs is built
# from it at test time), cpio, and a kernel with its modules. The kernel package is unpacked into
# a cache rather than installed, so the machine's own /boot is left alone.
# Prints the cache directory (kernel/ holds the unpacked package).
set -euo pipefail
CACHE="${OCHAMI_LAB_CACHE:-$HOME/.cache/ochami-provider/lab}"
mkdir -p "$CACHE"
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
# busybox-static replaces /bin/busybox with a static one (ldd then finds no libraries).
{ [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
if [ ${#need[@]} -gt 0 ]; then
  echo "lab-setup: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || true
  apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
if ! ls "$CACHE"/kernel/boot/vmlinuz-* >/dev/null 2>&1; then
  # The metapackage names the current kernel package; unpack that one.
  package=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  [ -n "$package" ] || { echo "lab-setup: no kernel package behind linux-image-amd64" >&2; exit 1; }
  work=$(mktemp -d) && chmod 755 "$work"  # apt's download user writes there
  (cd "$work" && apt-get download "$package" >&2)
  rm -rf "$CACHE/kernel.tmp" && mkdir -p "$CACHE/kernel.tmp"
  dpkg-deb -x "$work"/*.deb "$CACHE/kernel.tmp"
  rm -rf "$work" "$CACHE/kernel" && mv "$CACHE/kernel.tmp" "$CACHE/kernel"
  echo "lab-setup: unpacked $package into $CACHE/kernel" >&2
fi
echo "$CACHE"
