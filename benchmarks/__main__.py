"""python -m benchmarks [--sizes 100,1000,10000] [--previews 0,1,10,50] [--plans 0,50]
                      [--scale 100,10000,100000] [--largest 100,10000,100000] [--out FILE]

Measures on the embedded simulator and writes a Markdown report (docs/benchmarks.md by
default). scripts/bench.sh sets up the environment and runs this.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from . import (
    history_size,
    lab_boot,
    largest,
    preview,
    scale_output,
    session_apply,
    status_map,
    tofu_plan,
)

# What a section says when its measurement was left out (`--previews ""` and the like).
NOT_RUN = "(not measured in this run)"


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def _engine_version() -> str:
    """The module versions a Go binary was built from (a source build's `pulumi version` is
    empty): the CLI and the Python language host."""
    found = []
    for binary in ("pulumi", "pulumi-language-python"):
        path = shutil.which(binary)
        if path is None:
            continue
        try:
            info = subprocess.run(
                ["go", "version", "-m", path], capture_output=True, text=True, check=True
            ).stdout
        except (OSError, subprocess.CalledProcessError):
            continue
        versions = [line.split("\t")[3] for line in info.splitlines() if line.startswith("\tmod\t")]
        if versions:
            found.append(f"{binary} {versions[0]}")
    return ", ".join(found) or "version unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--sizes", type=_ints, default=[100, 1000, 10000])
    parser.add_argument("--previews", type=_ints, default=[0, 1, 10, 50])
    parser.add_argument("--scale", type=_ints, default=[100, 10000, 100000])
    parser.add_argument(
        "--plans",
        type=_ints,
        default=[0, 50],
        help="templates (and sessions) for `tofu plan`; 0 is the empty configuration",
    )
    parser.add_argument(
        "--largest", type=_ints, default=list(largest.SIZES), help="nodes for benchmarks.largest"
    )
    parser.add_argument(
        "--maps", type=_ints, default=list(status_map.SIZES), help="nodes for the status map"
    )
    parser.add_argument(
        "--screenshot",
        type=Path,
        default=status_map.SCREENSHOT,
        help="where the status map's screenshot goes (needs chromium; '' for none)",
    )
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument(
        "--lab-rounds", type=int, default=3, help="reboot sessions per mode on the lab's VMs"
    )
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    args = parser.parse_args(argv)

    started = time.perf_counter()
    applies = []
    for nodes in args.sizes:
        print(f"session apply, {nodes} nodes", file=sys.stderr)
        # The provider's progress lines would drown the report.
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            applies.append(session_apply.apply_once(nodes, with_baseline=not args.no_baseline))
    for nodes in (n for n in args.sizes if n in (100, 10_000)):
        print(f"session apply on OpenCHAMI v0.2, {nodes} nodes", file=sys.stderr)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            applies.append(session_apply.apply_once(nodes, with_baseline=False, generation="v0.2"))
    for nodes in (n for n in args.sizes if n in (100, 10_000)):
        print(f"session apply powered over Redfish, {nodes} nodes", file=sys.stderr)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            applies.append(session_apply.apply_once(nodes, with_baseline=False, power="redfish"))
    previews = []
    groups = max(args.previews, default=0)
    for count in args.previews:
        print(f"preview, {count} templates and sessions", file=sys.stderr)
        previews.append(preview.preview_stack(count, max(groups, 1)))
    plans: list[tofu_plan.PlanResult] = []
    for name, engine in tofu_plan.engines().items():
        for count in args.plans:
            print(f"{name} plan, {count} templates and sessions", file=sys.stderr)
            plans.append(tofu_plan.plan(name, engine, count, max(groups, count, 1)))
    pulumi_previews = {r.resources: (r.refresh_seconds, r.seconds) for r in previews}
    scales = []
    for nodes in args.scale:
        print(f"preview lines and state size, {nodes} nodes", file=sys.stderr)
        scales.append(scale_output.measure(nodes))
    largest_runs = []
    for nodes in args.largest:
        print(f"the largest systems: {nodes} nodes", file=sys.stderr)
        largest_runs.append(largest.measure(nodes))
    print("history size", file=sys.stderr)
    histories = [
        history_size.measure(nodes, layout)
        for nodes in args.scale
        for layout in history_size.LAYOUTS
    ]

    maps = []
    for nodes in args.maps:
        print(f"status map, {nodes} nodes", file=sys.stderr)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            maps.append(status_map.measure_render(nodes))
    shot = ""
    if str(args.screenshot) and status_map.chromium():
        print("status map screenshot, a rolling session", file=sys.stderr)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            status_map.take_readme_screenshot(args.screenshot)
        shot = f"The README's screenshot (`{args.screenshot.name}`) was taken in this run."

    lab_runs: list[lab_boot.LabRun] = []
    if args.lab_rounds and lab_boot.available():
        print("lab: reboot sessions on two VMs", file=sys.stderr)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            lab_runs = lab_boot.measure(args.lab_rounds)

    command = "bash scripts/bench.sh" + (f" {' '.join(sys.argv[1:])}" if sys.argv[1:] else "")
    report = [
        "# Benchmarks",
        "",
        f"Produced by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC:"
        f" {os.cpu_count()} CPUs, Python {platform.python_version()},"
        f" {_engine_version()}; {time.perf_counter() - started:.0f} s in all.",
        "The services are the embedded simulator on loopback (`ochami_provider/sim`), so times",
        "are this provider's own cost plus the simulator's, never a real cluster's. What the",
        "figures showed, and what was changed because of them, is in",
        "[design.md](design.md#performance-what-the-benchmarks-showed).",
        "",
        "## One session apply",
        "",
        f"A template for every node (one group), then a reboot session; on OpenCHAMI v0.1 (BSS,"
        " cloud-init) and, at 100 and 10,000 nodes, on v0.2 (boot-service, no group data)."
        f" Each node takes"
        f" {session_apply.POWER_DELAY:g} s to",
        f"settle in the simulated PCS (the physical part); sessions poll every"
        f" {session_apply.POLL_SECONDS:g} s. Overhead",
        "is wall time minus that power delay. The baseline is the same change made the way",
        "sites do it today, a per-node loop of calls as a script around the `ochami` CLI makes",
        "them, shown in its best light (no process start-up, one kept-alive connection).",
        "The `redfish` rows power the nodes over Redfish to the simulator's BMCs instead of PCS",
        "(`ochami:powerBackend: redfish`): a read of every node's power for the survey, then",
        "per node one `On` and one read that confirms it (the simulated BMCs act at once, so no",
        "power delay is subtracted). Those requests are served by the simulator in the same",
        "process (one interpreter for both sides); the simulated PCS makes no BMC request at",
        "all, so PCS rows are not the real PCS's cost, which sends the same resets.",
        "",
        *session_apply.table(applies),
        "",
        "## `pulumi preview`",
        "",
        f"An up-to-date stack of N templates (one SMD group of {preview.NODES_PER_GROUP} nodes"
        " each) and N sessions, against",
        "the empty stack on the same engine, without and with the refresh the project does",
        "before every preview (`Pulumi.yaml`: `options: refresh: always`). Peak RSS is the dynamic",
        "provider process's VmHWM.",
        "",
        *(preview.table(previews) if previews else [NOT_RUN]),
        "",
        "## `tofu plan` and `terraform plan`",
        "",
        "The same N templates and N sessions as an OpenTofu / Terraform configuration (the",
        "`ochami` provider, `scripts/tofu.sh`), up to date, planned with and without the refresh",
        "`plan` does first, beside `pulumi preview` of the stack above.",
        "",
        *(tofu_plan.table(plans, pulumi_previews) if plans and previews else [NOT_RUN]),
        "",
        "## Readable at scale",
        "",
        "One template with two boot sets (`compute`: every node but 16, `login`: 16) and a",
        "reboot session limited to `compute`, after `pulumi up`: the nodes the session reboots",
        "when (a) the template's description, (b) the `login` boot set's kernel parameters,",
        "(c) the `compute` boot set's kernel parameters change (each then `pulumi up`), the",
        "lines `pulumi preview --diff` prints for (c), and the size of the stack's state file.",
        "",
        *(scale_output.table(scales) if scales else [NOT_RUN]),
        "",
        "## The largest systems",
        "",
        "Template create and refresh, a reboot session and `ochami-boot status`",
        "(`benchmarks/largest.py`),"
        "each size in a process of its own. Requests per service; wall time (the session's less",
        "the simulated power delay); the CPU time of the provider's own thread (the simulator",
        "answers from threads of the same interpreter, so wall time holds its cost too); peak",
        "RSS of provider and simulator together. Issue 25's goals at 100,000 nodes: requests per",
        f"service constant, session overhead ≤ {largest.SESSION_OVERHEAD_GOAL:g} s, status ≤",
        f"{largest.STATUS_GOAL:g} s.",
        "",
        *(largest.table_lines(largest_runs) if largest_runs else [NOT_RUN]),
        "",
        "## History in the state",
        "",
        "A template's 50 kept writes and a session's 50 kept runs (`ochami:historyLength`'s",
        "default) as the state stores them, after 100 of each; layouts in",
        "`benchmarks/history_size.py`. Issue 24's goal: under 200 KiB at 10,000 nodes.",
        "",
        *(history_size.table(histories) if histories else [NOT_RUN]),
        "",
        "## The status map",
        "",
        "`ochami-boot status --html` and `--map` of N booted nodes (`benchmarks/status_map.py`):",
        "the requests it reads (the same as `status`), the time to read them, the time to turn",
        "them into the page (legend, layout, tooltips, HTML), the page's size, and the terminal",
        "map's size at 80 columns. Issue 26's goals at 10,000 nodes: render under"
        f" {status_map.RENDER_GOAL_SECONDS:g} s, page under"
        f" {status_map.SIZE_GOAL_BYTES / 1e6:g} MB.",
        shot,
        "",
        *(status_map.table(maps) if maps else [NOT_RUN]),
        "",
        "## Boot truth on real VMs",
        "",
        "Two QEMU VMs (TCG, 256 MiB, Debian's kernel, a busybox initramfs) network-booted by the",
        "lab's firmware from the real BSS (by MAC), reboot sessions alternating `booted_when:",
        f"power` and `bootscript`, polling every {lab_boot.POLL_SECONDS:g} s; the real SMD, BSS",
        "and cloud-init server. VM boot is power-on to the last line of its /init (cloud-init data",
        "fetched and shown). Endpoint-history requests: the verification reads BSS once per",
        "poll for every node.",
        "",
        *(lab_boot.table(lab_runs) if lab_runs else [NOT_RUN]),
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(report))
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
