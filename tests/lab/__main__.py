"""The lab by hand: the real OpenCHAMI services with VMs as nodes, for `scripts/demo.sh --lab`.

    .venv/bin/python -m tests.lab serve --workdir DIR --stack-config stacks/Pulumi.cluster-a.yaml
    .venv/bin/python -m tests.lab show --workdir DIR

`serve` starts the services and the lab (two VMs in group `compute`, one node in `login` that is
never powered), writes DIR/env (the connection, as the `ochami` CLI reads it from the
environment) and DIR/Pulumi.lab.yaml (the stack config given, its templates pointed at the lab's
kernel and initramfs and at the cloud-init address the VMs reach), then waits for SIGTERM.
`show` waits for the VMs that were powered on and prints what each booted: its kernel command
line and the cloud-init data the server handed it.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import yaml

from ochami_provider.sim import Fleet
from tests.openchami.stack import OpenchamiStack

from .harness import Lab, lab_on_real_services
from .image import CLOUD_INIT_DATA_SOURCE, CMDLINE, UP


def _fleet() -> Fleet:
    return Fleet.generate(3, groups={"compute": [0, 1], "login": [2]}, power_delay=0.5)


def _lab_config(source: Path, lab: Lab, stack: OpenchamiStack) -> dict[str, Any]:
    document = yaml.safe_load(source.read_text())
    config = {k: v for k, v in document["config"].items() if not k.startswith("ochami:")}
    config.update({f"ochami:{k}": v for k, v in stack.connection().items()})
    config["ochami:caBundle"] = str(stack.ca_bundle)
    for template in config.get("ochami-boot:templates", {}).values():
        for boot_set in template["boot_sets"].values():
            boot_set["kernel"] = lab.artifact_url("vmlinuz")
            boot_set["initrd"] = lab.artifact_url("initramfs.img")
            boot_set["kernel_parameters"] = (
                f"console=ttyS0 quiet {CLOUD_INIT_DATA_SOURCE}"
                f" {boot_set.get('kernel_parameters', '')}".strip()
            )
    return {"config": config}


def serve(workdir: Path, stack_config: Path) -> int:
    fleet = _fleet()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with lab_on_real_services(fleet, workdir / "vms") as (stack, lab):
        exports = stack.environment()
        (workdir / "env").write_text("".join(f"export {k}={v}\n" for k, v in exports.items()))
        config = _lab_config(stack_config, lab, stack)
        (workdir / "Pulumi.lab.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        (workdir / "ready").write_text(json.dumps(sorted(fleet.nodes)))
        stop.wait()
    return 0


def show(workdir: Path, timeout: float) -> int:
    vms = sorted(p for p in (workdir / "vms").iterdir() if (p / "console.log").exists())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(UP in (p / "console.log").read_text(errors="replace") for p in vms):
            break
        time.sleep(0.5)
    for path in vms:
        console = (path / "console.log").read_text(errors="replace").replace("\r", "")
        lines = console.splitlines()
        cmdline = next((line[len(CMDLINE) :] for line in lines if line.startswith(CMDLINE)), "?")
        print(f"{path.name}: booted with: {cmdline}")
        start = next(
            (i for i, line in enumerate(lines) if line.startswith("lab: --- user-data")), None
        )
        if start is None:
            print(f"{path.name}: no cloud-init user-data on its console")
            continue
        end = next(i for i in range(start, len(lines)) if lines[i].startswith("lab: --- end"))
        print(f"{path.name}: cloud-init {lines[start][len('lab: --- ') :]}:")
        for line in lines[start + 1 : end]:
            if line:
                print(f"    {line}")
    return 0 if vms else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.lab", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve")
    serve_parser.add_argument("--workdir", type=Path, required=True)
    serve_parser.add_argument("--stack-config", type=Path, required=True)
    show_parser = commands.add_parser("show")
    show_parser.add_argument("--workdir", type=Path, required=True)
    show_parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args.workdir, args.stack_config)
    return show(args.workdir, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
