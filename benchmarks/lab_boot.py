"""Boot truth on the lab's VMs: how long two QEMU VMs take from power-on to their /init's last
line, and what verifying the boot costs a reboot session (wall time with `booted_when:
bootscript` against `power`, and requests per verification poll), against the real SMD, BSS
and cloud-init server (tests/lab, tests/openchami)."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ochami_provider import BootSessionProvider, BootTemplateProvider
from ochami_provider.clients.bss import BssClient
from ochami_provider.sim import Fleet
from tests.lab.harness import Lab, lab_on_real_services, ready
from tests.lab.image import CLOUD_INIT_DATA_SOURCE
from tests.openchami.stack import built

POLL_SECONDS = 0.5
KEYS = ("name", "description", "boot_sets", "cloud_init")


@dataclass
class LabRun:
    booted_when: str
    session_seconds: float
    boot_seconds: list[float]
    history_requests: int
    verification_polls: int
    cloud_init_requests: list[int] = field(default_factory=list)


def available() -> bool:
    return ready() and built()


@contextmanager
def _counting_history() -> Iterator[list[int]]:
    """Counts BSS endpoint-history requests (the verification's one read per poll)."""
    calls = [0]
    original = BssClient.last_fetches

    def counted(self: BssClient, endpoint: str = "bootscript") -> dict[str, int]:
        calls[0] += 1
        return original(self, endpoint)

    BssClient.last_fetches = counted  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        BssClient.last_fetches = original  # type: ignore[method-assign]


def measure(rounds: int = 2) -> list[LabRun]:
    fleet = Fleet.generate(2, power_delay=0.5)
    runs: list[LabRun] = []
    with (
        tempfile.TemporaryDirectory() as workdir,
        lab_on_real_services(fleet, Path(workdir)) as (stack, lab),
    ):
        connection = {**stack.connection(), "token": stack.token}
        connection["caBundle"] = str(stack.ca_bundle)
        template = _template(lab, connection)
        nodes = sorted(fleet.nodes)
        for index in range(rounds * 2):
            booted_when = ("power", "bootscript")[index % 2]
            before = [lab.cloud_init_requests(n) for n in nodes]
            with _counting_history() as history:
                started = time.perf_counter()
                outs = _session(template, connection, booted_when, index)
                elapsed = time.perf_counter() - started
            assert outs["status"] == "completed", outs["error_message"]
            lab.wait_up(nodes)
            polls = history[0]
            runs.append(
                LabRun(
                    booted_when,
                    elapsed,
                    [lab.boot_seconds(n) for n in nodes],
                    history[0],
                    polls,
                    [lab.cloud_init_requests(n) - b for n, b in zip(nodes, before, strict=True)],
                )
            )
    return runs


def _template(lab: Lab, connection: dict[str, Any]) -> dict[str, Any]:
    props = {
        "name": "lab",
        "boot_sets": {
            "compute": {
                "kernel": lab.artifact_url("vmlinuz"),
                "initrd": lab.artifact_url("initramfs.img"),
                "kernel_parameters": f"console=ttyS0 quiet {CLOUD_INIT_DATA_SOURCE}",
                "node_groups": ["compute"],
            }
        },
        "cloud_init": {"user_data": "#cloud-config\n{}\n"},
        "connection": connection,
    }
    provider = BootTemplateProvider()
    outs = provider.create(provider.check({}, props).inputs).outs
    assert outs is not None
    return outs


def _session(
    template: dict[str, Any], connection: dict[str, Any], booted_when: str, index: int
) -> dict[str, Any]:
    props = {
        "name": f"reboot-{index}",
        "template": {k: template[k] for k in KEYS},
        "operation": "reboot",
        "booted_when": booted_when,
        "poll_interval_seconds": POLL_SECONDS,
        "connection": connection,
    }
    provider = BootSessionProvider()
    outs = provider.create(provider.check({}, props).inputs).outs
    assert outs is not None
    return outs


def table(runs: list[LabRun]) -> list[str]:
    if not runs:
        return ["(not measured: the lab is not set up; scripts/lab-setup.sh)"]
    lines = [
        "| booted when | reboot session wall time (s) | VM power-on to /init done (s) |"
        " endpoint-history requests | cloud-init requests per VM |",
        "|---|---:|---:|---:|---:|",
    ]
    for run in runs:
        boots = ", ".join(f"{b:.1f}" for b in run.boot_seconds)
        lines.append(
            f"| {run.booted_when} | {run.session_seconds:.2f} | {boots} |"
            f" {run.history_requests} | {', '.join(map(str, run.cloud_init_requests))} |"
        )
    for mode in ("power", "bootscript"):
        times = [r.session_seconds for r in runs if r.booted_when == mode]
        if times:
            lines.append(f"\nMedian session wall time, `{mode}`: {statistics.median(times):.2f} s.")
    return lines
