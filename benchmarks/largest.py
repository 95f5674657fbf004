"""The largest systems (issue 25): template create, a reboot session and `ochami-boot status`
at 100 to 100,000 nodes, each size in a process of its own so that its peak memory is its own.

For each: requests per service, wall time, and the CPU time of the provider's own thread
(the simulator answers from threads of the same process and shares its interpreter, so wall
time holds the simulator's cost too); the session's overhead is its wall time minus the
simulated power delay. `ochami-boot status` is timed as the command runs it (gather, rows,
table) and its output counted in lines. Peak RSS is the process's high-water mark: provider
and simulator (100,000 simulated nodes with their BSS records and PCS tasks) together.

`python -m benchmarks.largest 100000` prints one size's result as JSON.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TypeVar

from ochami_provider.clients import Services
from ochami_provider.config import ProviderConfig
from ochami_provider.node_status import gather, rows, table
from ochami_provider.pulumi_adapter import BootSessionProvider, BootTemplateProvider
from ochami_provider.session_journal import ENVIRONMENT as JOURNAL_ENVIRONMENT
from ochami_provider.sim import Fleet, SimServer

from .measure import per_service, requests_by_service
from .session_apply import POWER_DELAY, _session_props, _template_props

SIZES = (100, 10_000, 100_000)
# Issue 25's goals at 100,000 nodes.
SESSION_OVERHEAD_GOAL = 10.0
STATUS_GOAL = 5.0
T = TypeVar("T")


@dataclass
class Step:
    wall: float
    cpu: float
    requests: dict[str, int] = field(default_factory=dict)


@dataclass
class LargestResult:
    nodes: int
    template: Step
    refresh: Step
    check: Step
    session: Step
    status: Step
    status_lines: int
    peak_rss_mib: float


def _step(fleet: Fleet, work: Callable[[], T]) -> tuple[T, Step]:
    since = len(fleet.requests)
    wall, cpu = time.perf_counter(), time.thread_time()
    result = work()
    step = Step(time.perf_counter() - wall, time.thread_time() - cpu)
    step.requests = per_service(requests_by_service(fleet, since))
    return result, step


def measure_here(nodes: int, power_delay: float = POWER_DELAY) -> LargestResult:
    """One size in this process; `power_delay`: seconds a node takes to settle (the
    physical part, taken off the session's wall time)."""
    os.environ[JOURNAL_ENVIRONMENT] = tempfile.mkdtemp(prefix="bench-journal-")
    fleet = Fleet.generate(nodes, power_delay=power_delay)
    fleet.generation = "both"
    with SimServer(fleet) as sim:
        templates, sessions = BootTemplateProvider(), BootSessionProvider()
        quiet = io.StringIO()
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            inputs = templates.check({}, _template_props(sim.url)).inputs
            created, template = _step(fleet, lambda: templates.create(inputs).outs)
            assert created is not None
            read, refresh = _step(fleet, lambda: templates.read("compute", created))
            assert read.outs is not None and read.outs["drift"] == [], read.outs
            props = _session_props(sim.url, created, "v0.1", "pcs")
            checked, check = _step(fleet, lambda: sessions.check({}, props))
            assert not checked.failures, checked.failures
            outs, session = _step(fleet, lambda: sessions.create(checked.inputs).outs)
        assert outs is not None
        assert outs["status"] == "completed", outs["error_message"]
        with Services.from_config(ProviderConfig(uri=sim.url)) as services:
            printed, status = _step(fleet, lambda: table(rows(gather(services))))
    session.wall -= power_delay  # the physical part
    return LargestResult(
        nodes, template, refresh, check, session, status, len(printed.splitlines()), _peak_mib()
    )


def _peak_mib() -> float:
    """This process's resident high-water mark. Not getrusage's ru_maxrss: Linux carries
    that over fork and exec, so a size measured from a large parent would report the
    parent's."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(nodes: int) -> LargestResult:
    """One size, in a fresh interpreter (its own peak memory)."""
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.largest", str(nodes)],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(done.stdout)
    step = {k: Step(**data[k]) for k in ("template", "refresh", "check", "session", "status")}
    return LargestResult(
        data["nodes"],
        step["template"],
        step["refresh"],
        step["check"],
        step["session"],
        step["status"],
        data["status_lines"],
        data["peak_rss_mib"],
    )


def _requests(step: Step) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(step.requests.items())) or "none"


def table_lines(results: list[LargestResult]) -> list[str]:
    lines = [
        "| nodes | what | requests | wall s | provider CPU s | goal |",
        "|---:|---|---|---:|---:|---|",
    ]
    for r in results:
        largest = r.nodes >= 100_000
        overhead_goal = (
            ("met" if r.session.wall <= SESSION_OVERHEAD_GOAL else "**missed**")
            + f" (≤ {SESSION_OVERHEAD_GOAL:g} s)"
            if largest
            else ""
        )
        status_goal = (
            ("met" if r.status.wall <= STATUS_GOAL else "**missed**") + f" (≤ {STATUS_GOAL:g} s)"
            if largest
            else ""
        )
        for label, step, goal in (
            ("template create", r.template, ""),
            ("template refresh (its drift)", r.refresh, ""),
            ("session check (its preview)", r.check, ""),
            ("session apply (reboot), overhead", r.session, overhead_goal),
            (f"`ochami-boot status` ({r.status_lines} lines)", r.status, status_goal),
        ):
            lines.append(
                f"| {r.nodes:,} | {label} | {_requests(step)} | {step.wall:.2f} | {step.cpu:.2f}"
                f" | {goal} |"
            )
        lines.append(
            f"| {r.nodes:,} | peak RSS (provider + simulator) | | | | {r.peak_rss_mib:,.0f} MiB |"
        )
    return lines


if __name__ == "__main__":
    result = measure_here(int(sys.argv[1]))
    print(json.dumps(asdict(result)))
