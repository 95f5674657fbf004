"""`pdsh -w <nodes> cat /proc/cmdline` for the lab's VMs: each running VM's /init prints its
kernel command line on the serial console, and this prints it back as pdsh would (`node: line`),
for `booted_when: cmdline` (`probe_command: python -m tests.lab.probe --lab DIR -w
"$OCHAMI_NODES" cat /proc/cmdline`). A VM that is off, or still booting, prints nothing."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ochami_provider.models.hostlists import expand

from .image import CMDLINE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.lab.probe")
    parser.add_argument("--lab", type=Path, required=True, help="the lab's work directory")
    parser.add_argument("-w", dest="hosts", required=True, help="nodes (hostlist)")
    parser.add_argument("command", nargs="+")
    args = parser.parse_args(argv)
    if args.command != ["cat", "/proc/cmdline"]:
        print("lab probe: only `cat /proc/cmdline`", file=sys.stderr)
        return 2
    for node in expand(args.hosts):
        console = args.lab / node / "console.log"
        try:
            lines = console.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            continue
        said = [line[len(CMDLINE) :].strip() for line in lines if line.startswith(CMDLINE)]
        if said:
            print(f"{node}: {said[-1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
