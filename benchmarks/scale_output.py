"""What a 10,000-node cluster looks like to its admin: the lines `pulumi preview --diff` prints
when a template change replaces the session over all its nodes, and the stack's state file."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ochami_provider.sim import Fleet, SimServer

from .preview import project_env, pulumi_run

LINES_GOAL = 50


@dataclass
class ScaleResult:
    nodes: int
    preview_lines: int
    state_bytes: int


def _stack_config(url: str, kernel_parameters: str) -> dict[str, Any]:
    return {
        "config": {
            "ochami:uri": url,
            "ochami:verifyArtifacts": "false",
            "ochami-boot:templates": {
                "compute": {
                    "boot_sets": {
                        "compute": {
                            "kernel": "http://images.example/vmlinuz",
                            "kernel_parameters": kernel_parameters,
                            "node_groups": ["compute"],
                        }
                    },
                    "cloud_init": {"user_data": "#cloud-config\nruncmd: [[echo, hi]]\n"},
                }
            },
            "ochami-boot:sessions": {
                "reboot-compute": {
                    "template": "compute",
                    "operation": "reboot",
                    "poll_interval_seconds": 0.2,
                }
            },
        }
    }


def measure(nodes: int) -> ScaleResult:
    fleet = Fleet.generate(nodes, power_delay=0.0)
    with tempfile.TemporaryDirectory() as tmp, SimServer(fleet) as sim:
        project = Path(tmp)
        env = project_env(project)
        stack_file = project / "stacks" / "Pulumi.bench.yaml"
        pulumi_run(project, env, "stack", "init", "bench")
        stack_file.write_text(yaml.safe_dump(_stack_config(sim.url, "console=ttyS0")))
        pulumi_run(project, env, "up", "--yes")
        state_bytes = sum(p.stat().st_size for p in (project / "state").rglob("bench.json"))
        stack_file.write_text(yaml.safe_dump(_stack_config(sim.url, "console=ttyS0 quiet")))
        printed = pulumi_run(project, env, "preview", "--diff")
    return ScaleResult(nodes, len(printed.splitlines()), state_bytes)


def table(results: list[ScaleResult]) -> list[str]:
    lines = [
        "| nodes | `pulumi preview --diff` lines, template change replacing the session"
        f" (goal ≤ {LINES_GOAL}) | state file after `up` |",
        "|---:|---:|---:|",
    ]
    for r in results:
        lines.append(f"| {r.nodes:,} | {r.preview_lines} | {r.state_bytes / 1024:.1f} KiB |")
    return lines
