"""The status map (issue 26): a simulated machine caught during a rolling session and drawn as
a page (`ochami-boot status --html`) and in the terminal (`--map`); the page's render time and
size from 1,024 to 100,000 nodes; and the README's screenshot (docs/status-map.png), taken by
headless Chromium from the page of the rolling session.

The rolling session: templates `login` (16 nodes) and `compute` (the rest) written and booted
by session `boot-v1`; then `compute` edited and session `roll-v2` rebooting its nodes in eight
batches, three of them unable to power (they fail) and two disabled in SMD (skipped). The map
is drawn while a batch is powering, from the services, what the engine recorded of `boot-v1`
(a stack export's shape) and `roll-v2`'s journal.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ochami_provider.cli import main as ochami_boot
from ochami_provider.clients import Services
from ochami_provider.config import ProviderConfig
from ochami_provider.map_page import render
from ochami_provider.node_map import build, facts_of
from ochami_provider.node_status import gather
from ochami_provider.pulumi_adapter import BootSessionProvider, BootTemplateProvider
from ochami_provider.session_journal import ENVIRONMENT as JOURNAL_ENVIRONMENT
from ochami_provider.session_progress import progress
from ochami_provider.sim import Fleet, SimServer

from .measure import per_service, requests_by_service

SIZES = (1_024, 10_000, 100_000)
# Issue 26's goals at 10,000 nodes.
RENDER_GOAL_SECONDS = 2.0
SIZE_GOAL_BYTES = 2_000_000
DEPLOYMENT = "cluster-a"
LOGIN_NODES = 16
BATCHES = 8
KERNEL = "http://images.example/boot/vmlinuz"
V2_PARAMS = "console=ttyS0 quiet mitigations=auto"
SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "status-map.png"


@dataclass
class Rolling:
    """The rolling session's machine, and where to draw it from."""

    sim: SimServer
    fleet: Fleet
    workdir: Path
    export: Path  # what the engine recorded (boot-v1; roll-v2 once it ended)
    journal: Path
    failing: list[str]
    disabled: list[str]
    outputs: dict[str, dict[str, Any]]

    def status_args(self, *more: str) -> list[str]:
        """`ochami-boot status` over this machine, with the engine's record and journal."""
        return [
            "status",
            "--uri",
            self.sim.url,
            "--export",
            str(self.export),
            "--journal",
            str(self.journal),
            *more,
        ]

    def record(self) -> None:
        """The engine's record of every session that ended, as `pulumi stack export` shows
        a dynamic resource's outputs."""
        resources = [
            {
                "urn": f"urn:pulumi:{DEPLOYMENT}::ochami-boot::pulumi-python:dynamic:Resource::{n}",
                "outputs": outs,
            }
            for n, outs in self.outputs.items()
        ]
        self.export.write_text(json.dumps({"version": 3, "deployment": {"resources": resources}}))

    def batches_noted(self) -> int:
        path = self.journal / f"{DEPLOYMENT}--roll-v2.json"
        try:
            return len(json.loads(path.read_text()))
        except (OSError, ValueError):
            return 0


def _outs(outs: dict[str, Any] | None) -> dict[str, Any]:
    assert outs is not None
    return outs


def _create(
    provider: BootTemplateProvider | BootSessionProvider, props: dict[str, Any]
) -> dict[str, Any]:
    checked = provider.check({}, props)
    assert not checked.failures, checked.failures
    return _outs(provider.create(checked.inputs).outs)


def _template(name: str, group: str, params: str, url: str) -> dict[str, Any]:
    return {
        "name": name,
        "boot_sets": {
            group: {"kernel": KERNEL, "kernel_parameters": params, "node_groups": [group]}
        },
        "deployment": DEPLOYMENT,
        "connection": {"uri": url, "verifyArtifacts": False},
    }


def _session(name: str, template: dict[str, Any], url: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "template": {k: template[k] for k in ("name", "description", "boot_sets", "cloud_init")},
        "operation": "reboot",
        "limit": ["compute"],
        "poll_interval_seconds": 0.05,
        "deployment": DEPLOYMENT,
        "connection": {"uri": url},
        **extra,
    }


@contextlib.contextmanager
def rolling(
    nodes: int = 1_024, *, power_delay: float = 0.4
) -> Iterator[tuple[Rolling, threading.Thread]]:
    """The machine with `boot-v1` done and `roll-v2` started in a thread (join it to let it
    end); the journal and the export in a directory of their own."""
    workdir = Path(tempfile.mkdtemp(prefix="status-map-"))
    journal = workdir / "journal"
    before = os.environ.get(JOURNAL_ENVIRONMENT)
    os.environ[JOURNAL_ENVIRONMENT] = str(journal)
    fleet = Fleet.generate(
        nodes,
        groups={"login": range(LOGIN_NODES), "compute": range(LOGIN_NODES, nodes)},
        power_delay=power_delay,
    )
    names = sorted(fleet.nodes)
    compute = [n for n in fleet.groups["compute"]["members"]["ids"]]
    failing = [
        compute[len(compute) // 9],
        compute[len(compute) // 9 + 1],
        compute[len(compute) // 5],
    ]
    disabled = [compute[-3], compute[-1]]
    try:
        with SimServer(fleet) as sim:
            templates, sessions = BootTemplateProvider(), BootSessionProvider()
            quiet = io.StringIO()
            outputs: dict[str, dict[str, Any]] = {}
            with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
                login = _create(templates, _template("login", "login", "console=ttyS0", sim.url))
                v1 = _template("compute", "compute", "console=ttyS0 quiet", sim.url)
                compute_v1 = _create(templates, v1)
                outputs["boot-v1"] = _create(sessions, _session("boot-v1", compute_v1, sim.url))
                login_boot = {**_session("boot-login", login, sim.url), "limit": ["login"]}
                outputs["boot-login"] = _create(sessions, login_boot)
                v2 = {**v1, "description": "compute nodes, with mitigations"}
                v2["boot_sets"] = {
                    "compute": {**v1["boot_sets"]["compute"], "kernel_parameters": V2_PARAMS}
                }
                updated = templates.update(
                    "compute", compute_v1, templates.check(compute_v1, v2).inputs
                ).outs
                assert updated is not None
                compute_v2 = updated
            fleet.unsupported.update(failing)
            for node in disabled:
                fleet.nodes[node].enabled = False
            machine = Rolling(
                sim, fleet, workdir, workdir / "export.json", journal, failing, disabled, outputs
            )
            machine.record()
            roll = _session(
                "roll-v2",
                compute_v2,
                sim.url,
                batch_size=-(-len(compute) // BATCHES),
                max_retries=0,
            )
            checked = sessions.check({}, roll).inputs

            def run() -> None:
                # Its progress lines go to stderr; redirecting them here would redirect the
                # main thread's too (sys.stderr is one for the process).
                outputs["roll-v2"] = _outs(sessions.create(checked).outs)

            thread = threading.Thread(target=run, daemon=True)
            thread.start()
            assert names  # every node is in the fleet
            yield machine, thread
            thread.join()
    finally:
        if before is None:
            os.environ.pop(JOURNAL_ENVIRONMENT, None)
        else:
            os.environ[JOURNAL_ENVIRONMENT] = before
        shutil.rmtree(workdir, ignore_errors=True)


def wait_for_batch(machine: Rolling, batch: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while machine.batches_noted() < batch:
        if time.monotonic() > deadline:
            raise TimeoutError(f"roll-v2 did not start batch {batch} in {timeout:g} s")
        time.sleep(0.02)


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(page: Path, png: Path, width: int = 1100, height: int = 760) -> None:
    """Headless Chromium's picture of the page, with no network (every host unresolvable)."""
    browser = chromium()
    if browser is None:
        raise RuntimeError("no chromium on PATH (scripts/browser-setup.sh)")
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--window-size={width},{height}",
            f"--screenshot={png}",
            page.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


def take_readme_screenshot(png: Path = SCREENSHOT) -> Path:
    """The rolling session's page while batch 4 of 8 powers, as the README shows it."""
    with rolling() as (machine, _):
        wait_for_batch(machine, 4)
        page = machine.workdir / "status.html"
        with contextlib.redirect_stderr(io.StringIO()):
            assert ochami_boot(machine.status_args("--html", str(page))) == 0
        screenshot(page, png)
    return png


@dataclass
class RenderResult:
    nodes: int
    requests: dict[str, int]
    gather_seconds: float
    render_seconds: float
    page_bytes: int
    map_lines: int
    map_width: int


def measure_render(nodes: int) -> RenderResult:
    """The page and the terminal map of `nodes` booted nodes: the reads (`status`'s), the time
    to turn them into the page, its size."""
    from ochami_provider.map_text import render as render_text

    fleet = Fleet.generate(nodes, power_delay=0.0)
    with SimServer(fleet) as sim:
        templates, sessions = BootTemplateProvider(), BootSessionProvider()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            spec = _template("compute", "compute", "console=ttyS0", sim.url)
            created = _create(templates, spec)
            _create(sessions, _session("boot", created, sim.url))
        since = len(fleet.requests)
        started = time.perf_counter()
        with Services.from_config(ProviderConfig(uri=sim.url)) as services:
            statuses = gather(services)
        gathered = time.perf_counter() - started
        requests = per_service(requests_by_service(fleet, since))
    started = time.perf_counter()
    facts = facts_of(statuses)
    marks, views = progress(facts, {}, {})
    page = render(build(statuses, marks, views))
    rendered = time.perf_counter() - started
    text = render_text(build(statuses, marks, views), width=80).splitlines()
    return RenderResult(
        nodes, requests, gathered, rendered, len(page.encode()), len(text), max(map(len, text))
    )


def table(results: list[RenderResult]) -> list[str]:
    lines = [
        "| nodes | requests (as `status`) | read s | render s | read + render s | page"
        " | terminal map, 80 columns | goal |",
        "|---:|---|---:|---:|---:|---:|---|---|",
    ]
    for r in results:
        goal = ""
        if r.nodes == 10_000:
            fast = r.gather_seconds + r.render_seconds < RENDER_GOAL_SECONDS
            small = r.page_bytes < SIZE_GOAL_BYTES
            goal = (
                f"read + render {'met' if fast else '**missed**'} (< {RENDER_GOAL_SECONDS:g} s),"
                " size"
                f" {'met' if small else '**missed**'} (< {SIZE_GOAL_BYTES / 1e6:g} MB)"
            )
        requests = ", ".join(f"{k} {v}" for k, v in sorted(r.requests.items()))
        lines.append(
            f"| {r.nodes:,} | {requests} | {r.gather_seconds:.2f} | {r.render_seconds:.2f} |"
            f" {r.gather_seconds + r.render_seconds:.2f} |"
            f" {r.page_bytes / 1e6:.2f} MB | {r.map_lines:,} lines, {r.map_width} wide | {goal} |"
        )
    return lines
