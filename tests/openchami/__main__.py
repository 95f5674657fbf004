"""Run the real OpenCHAMI services on loopback until interrupted, for trying the provider by hand.

    bash scripts/openchami-setup.sh            # once: PostgreSQL and the service binaries
    .venv/bin/python -m tests.openchami --nodes 32 --env-file .ochami-real.env

It prints (and writes to --env-file) the stack config and environment a Pulumi stack needs, then
waits; Ctrl-C or SIGTERM stops every service and removes the temporary directory.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Literal

from ochami_provider.sim import Fleet

from .stack import OpenchamiStack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.openchami", description=__doc__)
    parser.add_argument("--nodes", type=int, default=16, help="nodes in SMD (group `compute`)")
    parser.add_argument("--no-auth", action="store_true", help="run without JWT checks")
    parser.add_argument("--env-file", type=Path, help="also write the exports to this file")
    parser.add_argument(
        "--real-pcs",
        action="store_true",
        help="power through the real PCS and sushy's BMCs (root; built by the setup script)",
    )
    args = parser.parse_args(argv)
    if args.nodes < 1:
        parser.error(f"--nodes must be at least 1, got {args.nodes}")

    fleet = Fleet.generate(args.nodes, power_delay=2.0)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    power: Literal["sim", "real"] = "real" if args.real_pcs else "sim"
    with OpenchamiStack(fleet, auth=not args.no_auth, power=power) as stack:
        exports = stack.environment()
        lines = [f"export {k}={v}" for k, v in exports.items()]
        text = "\n".join(lines) + "\n"
        sys.stdout.write(text)
        sys.stdout.write(
            "# The provider reads these when the stack config leaves ochami:smdUri, bssUri,\n"
            "# cloudInitUri, pcsUri, caBundle and token unset.\n"
            f"# logs: {stack.workdir}\n# Ctrl-C stops everything.\n"
        )
        sys.stdout.flush()
        if args.env_file:
            args.env_file.write_text(text)
        stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
