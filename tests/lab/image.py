"""What a lab VM boots: Debian's kernel (unpacked by scripts/lab-setup.sh) and an initramfs built
here from Debian's static busybox, whose /init shows on the serial console what the node booted:
its kernel command line and the cloud-init data the cloud-init server hands it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

# Where the VM reaches the cloud-init server: QEMU forwards this guest address, and no other,
# to a port on the host's loopback (guestfwd under restrict=on).
CLOUD_INIT_GUEST_ADDRESS = "10.0.2.100"
CLOUD_INIT_BASE_URL = f"http://{CLOUD_INIT_GUEST_ADDRESS}/cloud-init"
CLOUD_INIT_DATA_SOURCE = f"ds=nocloud-net;s={CLOUD_INIT_BASE_URL}/"

# Lines the console shows, for tests and the demo to find.
BOOTED = "lab: booted"
CMDLINE = "lab: cmdline: "
UP = "lab: up"

# Busybox sh. QEMU's user network gives the guest 10.0.2.15 behind 10.0.2.2; the data source
# comes from the command line, as cloud-init reads it (`ds=nocloud-net;s=<url>`).
INIT = f"""#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "{BOOTED}"
echo "{CMDLINE}$(cat /proc/cmdline)"
insmod /lib/e1000.ko
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
source=$(tr ' ' '\\n' < /proc/cmdline | sed -n 's/^ds=nocloud-net;s=//p' | head -n 1)
# busybox's wget resolves through glibc's NSS, which a static binary cannot load (it crashes),
# so HTTP/1.0 by hand over nc: the body is what follows the blank line.
get() {{
  hostport=${{1#http://}}; hostport=${{hostport%%/*}}; path=/${{1#http://*/}}
  host=${{hostport%:*}}; port=80
  [ "$host" = "$hostport" ] || port=${{hostport#*:}}
  printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$hostport" \
    | nc -w 10 "$host" "$port" | sed '1,/^\r*$/d'
}}
show() {{
  echo "lab: --- $1"
  get "$2" || echo "lab: (fetching $2 failed)"
  echo ""
  echo "lab: --- end $1"
}}
if [ -n "$source" ]; then
  show meta-data "${{source}}meta-data"
  show vendor-data "${{source}}vendor-data"
  # The vendor data includes each group's user-data by URL, as cloud-init follows #include.
  for url in $(get "${{source}}vendor-data" | grep -o 'http://[^ ]*\\.yaml'); do
    show "user-data $(basename "$url" .yaml)" "$url"
  done
fi
echo "{UP}"
while true; do sleep 3600; done
"""


def kernel_dir(cache: Path) -> Path:
    return cache / "kernel"


def kernel_image(cache: Path) -> Path:
    found = sorted((kernel_dir(cache) / "boot").glob("vmlinuz-*"))
    if not found:
        raise FileNotFoundError(f"no kernel under {kernel_dir(cache)}: run scripts/lab-setup.sh")
    return found[-1]


def network_module(cache: Path) -> Path:
    """The e1000 driver (QEMU's default NIC): a module in Debian's kernel, with no dependency."""
    found = sorted(
        kernel_dir(cache).glob("lib/modules/*/kernel/drivers/net/ethernet/intel/e1000/e1000.ko*")
    )
    if not found:
        raise FileNotFoundError(f"no e1000 module under {kernel_dir(cache)}")
    return found[-1]


def build_initramfs(cache: Path, into: Path) -> Path:
    """A gzip'd newc cpio archive: busybox, /init, the NIC driver. Built with cpio and gzip."""
    root = into / "initramfs-root"
    shutil.rmtree(root, ignore_errors=True)
    for directory in ("bin", "dev", "proc", "sys", "lib", "tmp"):
        (root / directory).mkdir(parents=True)
    busybox = shutil.which("busybox", path="/bin:/usr/bin")
    if busybox is None:
        raise FileNotFoundError("busybox not found: run scripts/lab-setup.sh")
    shutil.copy(busybox, root / "bin" / "busybox")
    module = network_module(cache)
    if module.suffix == ".xz":
        subprocess.run(
            ["xz", "-dkc", str(module)], stdout=(root / "lib" / "e1000.ko").open("wb"), check=True
        )
    else:
        shutil.copy(module, root / "lib" / "e1000.ko")
    init = root / "init"
    init.write_text(INIT)
    init.chmod(0o755)
    image = into / "initramfs.img"
    names = "\n".join(
        str(Path(dirpath, name).relative_to(root))
        for dirpath, dirnames, filenames in os.walk(root)
        for name in [*dirnames, *filenames]
    )
    archive = subprocess.run(
        ["cpio", "--quiet", "-o", "-H", "newc", "--owner", "0:0"],
        cwd=root,
        input=names.encode(),
        capture_output=True,
        check=True,
    ).stdout
    image.write_bytes(
        subprocess.run(["gzip", "-1"], input=archive, capture_output=True, check=True).stdout
    )
    shutil.rmtree(root)
    return image
