"""`pdsh -w <nodes> cat /proc/cmdline` for the simulator's nodes, so `booted_when: cmdline`
runs against the simulator as it would against a cluster (`probe_command: python -m
ochami_provider.sim.pdsh --sim URL -w "$OCHAMI_NODES" cat /proc/cmdline`). It knows that one
command only; nodes that are off print nothing, as pdsh prints nothing for a host it cannot
reach."""

from __future__ import annotations

import argparse
import os
import sys

import httpx


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ochami_provider.sim.pdsh")
    parser.add_argument("--sim", default=os.environ.get("OCHAMI_SIM_URL"), help="the simulator")
    parser.add_argument("-w", dest="hosts", required=True, help="nodes (hostlist)")
    parser.add_argument("command", nargs="+")
    args = parser.parse_args(argv)
    if args.command != ["cat", "/proc/cmdline"] or not args.sim:
        print("pdsh (simulated): only `cat /proc/cmdline`, with --sim", file=sys.stderr)
        return 2
    answer = httpx.get(f"{args.sim}/sim/nodes/cmdline", params={"hosts": args.hosts}, timeout=30)
    sys.stdout.write(answer.text)
    return 0 if answer.status_code == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
