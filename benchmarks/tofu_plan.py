"""`tofu plan` (and `terraform plan`, where installed) of an up-to-date configuration with N
templates and N sessions, set against `pulumi preview` of the same stack (benchmarks.preview).

Each engine starts the provider (Python) once per plan; `plan` refreshes every resource first
(each template reads SMD, BSS and cloud-init back), as `pulumi preview` does with `refresh:
always`; `-refresh=false` leaves that out.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ochami_provider.sim import SimServer

from .preview import grouped_fleet, run_engine

RUNS = 3
CACHE = Path(
    os.environ.get("OCHAMI_TOFU_CACHE", Path.home() / ".cache" / "ochami-provider" / "opentofu")
)


@dataclass
class PlanResult:
    engine: str
    resources: int  # templates; as many sessions again
    seconds: float  # median `plan` (refreshes first)
    no_refresh_seconds: float  # median `plan -refresh=false`


def engines() -> dict[str, str]:
    cached = CACHE / "bin" / "tofu"
    found = {
        "tofu": shutil.which("tofu") or (str(cached) if cached.exists() else None),
        "terraform": shutil.which("terraform"),
    }
    return {name: path for name, path in found.items() if path}


def _config(url: str, count: int) -> str:
    parts = [
        'terraform {\n  required_providers {\n    ochami = { source = "openchami/ochami" }\n  }\n}',
        f'provider "ochami" {{\n  uri = "{url}"\n  verify_artifacts = false\n}}',
    ]
    for i in range(count):
        boot_sets = {
            "compute": {
                "kernel": "http://images.example/vmlinuz",
                "kernel_parameters": "console=ttyS0 quiet",
                "node_groups": [f"g{i}"],
            }
        }
        parts.append(
            f'resource "ochami_boot_template" "t{i}" {{\n  name = "t{i}"\n'
            f"  boot_sets = jsonencode({json.dumps(boot_sets)})\n"
            '  cloud_init_user_data = "#cloud-config\\nruncmd: [[echo, hi]]\\n"\n}'
        )
        parts.append(
            f'resource "ochami_boot_session" "s{i}" {{\n  name = "s{i}"\n'
            f"  template = ochami_boot_template.t{i}.spec\n"
            f"  template_writes = ochami_boot_template.t{i}.written\n"
            '  operation = "boot"\n  poll_interval_seconds = 0.05\n}'
        )
    return "\n\n".join(parts) + "\n"


def _run(engine: str, cwd: Path, env: dict[str, str], *args: str) -> None:
    run_engine([engine, *args, "-no-color", "-input=false"], cwd, env, timeout=1800)


def plan(name: str, engine: str, count: int, groups: int) -> PlanResult:
    with tempfile.TemporaryDirectory() as tmp, SimServer(grouped_fleet(groups)) as sim:
        root = Path(tmp)
        subprocess.run(
            [sys.executable, "-m", "ochami_provider.terraform_adapter", "install"]
            + ["--plugin-dir", str(root / "plugins"), "--cli-config", str(root / "cli.tfrc")],
            check=True,
            capture_output=True,
        )
        work = root / "config"
        work.mkdir()
        (work / "main.tf").write_text(_config(sim.url, count))
        env = {
            **os.environ,
            "HOME": str(root / "home"),
            "TF_CLI_CONFIG_FILE": str(root / "cli.tfrc"),
            "TF_IN_AUTOMATION": "1",
            "CHECKPOINT_DISABLE": "1",
        }
        _run(engine, work, env, "init")
        _run(engine, work, env, "apply", "-auto-approve")
        times: dict[str, list[float]] = {"refresh": [], "no-refresh": []}
        for _ in range(RUNS):
            for kind, taken in times.items():
                start = time.perf_counter()
                extra = ["-refresh=false"] if kind == "no-refresh" else []
                _run(engine, work, env, "plan", *extra)
                taken.append(time.perf_counter() - start)
    return PlanResult(
        name, count, statistics.median(times["refresh"]), statistics.median(times["no-refresh"])
    )


def table(results: list[PlanResult], pulumi: dict[int, tuple[float, float]]) -> list[str]:
    """`pulumi`: resources -> (preview, preview --refresh=false) seconds. Each plan's ratio
    is to the same engine's plan of the empty configuration (issue 25's goal: at most 2.0)."""
    empty = {r.engine: r.seconds for r in results if r.resources == 0}
    lines = [
        f"| engine | templates + sessions | `plan` s (median of {RUNS}) | ratio to empty"
        " configuration | `plan -refresh=false` s | `pulumi preview` s |"
        " `pulumi preview --refresh=false` s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        preview, no_refresh = pulumi.get(r.resources, (float("nan"), float("nan")))
        ratio = f"{r.seconds / empty[r.engine]:.2f}" if r.engine in empty else "(no empty plan)"
        lines.append(
            f"| {r.engine} | {r.resources} + {r.resources} | {r.seconds:.2f} | {ratio}"
            f" | {r.no_refresh_seconds:.2f} | {preview:.2f} | {no_refresh:.2f} |"
        )
    return lines
