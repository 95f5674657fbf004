"""`python -m ochami_provider.sim`: run the simulator in the foreground until interrupted."""

from __future__ import annotations

import argparse
import signal
import threading

from .faults import parse_fault
from .fleet import Fleet
from .server import SimServer

DEMO_ARTIFACTS = (
    "/boot-images/compute/vmlinuz",
    "/boot-images/compute/initramfs.img",
    "/boot-images/login/vmlinuz",
    "/boot-images/login/initramfs.img",
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=16, help="fleet size (default 16)")
    parser.add_argument("--port", type=int, default=27780, help="loopback port (default 27780)")
    parser.add_argument(
        "--power-delay",
        type=float,
        default=0.2,
        help="seconds a power transition takes per node (default 0.2)",
    )
    parser.add_argument("--token", default=None, help="require this bearer token")
    parser.add_argument("--group-prefix", default="", help="prefix of the SMD group labels")
    parser.add_argument(
        "--generation",
        choices=("v0.1", "v0.2"),
        default="v0.1",
        help="which OpenCHAMI to be: v0.1 (BSS, cloud-init) or v0.2 (boot-service,"
        " metadata-service); SMD and PCS in both (default v0.1)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="inject a fault: service:method:path:kind[:key=value...], e.g. "
        "bss:PUT::status:status=503:times=2 or pcs:::delay:delay=5:times=always",
    )
    args = parser.parse_args(argv)
    try:
        faults = [parse_fault(text) for text in args.fault]
    except ValueError as error:
        parser.error(str(error))
    count = args.nodes
    login = max(1, count // 8)
    fleet = Fleet.generate(
        count,
        groups={
            args.group_prefix + "compute": range(login, count),
            args.group_prefix + "login": range(login),
        },
        power_delay=args.power_delay,
        artifacts=DEMO_ARTIFACTS,
    )
    fleet.token = args.token
    fleet.generation = args.generation
    for spec in faults:
        try:
            fleet.faults.add(**spec)  # type: ignore[arg-type]
        except ValueError as error:
            parser.error(str(error))
    server = SimServer(fleet, port=args.port)
    url = server.start()
    print(f"OpenCHAMI {args.generation} simulator with {count} nodes at {url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
