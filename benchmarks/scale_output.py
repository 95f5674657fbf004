"""What a 10,000-node cluster looks like to its admin when a template changes: how many nodes
its reboot session reboots for each kind of edit, the lines `pulumi preview --diff` prints for
the one that reboots, and the stack's state file.

The template has two boot sets, `compute` (every node but 16) and `login` (16 nodes); the
reboot session is limited to `compute`. Edits, each followed by `pulumi up`: (a) the
template's description, (b) the `login` boot set's kernel parameters, (c) the `compute` boot
set's kernel parameters. Issue 21's goal: 0, 0 and the compute nodes rebooted, and at most 50
preview lines for (c), counting both of its streams (stdout has the diff, stderr the warning
naming the nodes to reboot).
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ochami_provider.sim import Fleet, SimServer

from .preview import project_env, pulumi_run

LINES_GOAL = 50
LOGIN_NODES = 16
EDITS = ("description", "login kernel parameters", "compute kernel parameters")


@dataclass
class ScaleResult:
    nodes: int
    compute_nodes: int
    # Nodes the session powered after each edit, in EDITS order.
    rebooted: list[int]
    preview_lines: int
    state_bytes: int


def _stack_config(url: str, description: str, login: str, compute: str) -> dict[str, Any]:
    return {
        "config": {
            "ochami:uri": url,
            "ochami:verifyArtifacts": "false",
            "ochami-boot:templates": {
                "cluster": {
                    "description": description,
                    "boot_sets": {
                        "compute": {
                            "kernel": "http://images.example/vmlinuz",
                            "kernel_parameters": compute,
                            "node_groups": ["compute"],
                        },
                        "login": {
                            "kernel": "http://images.example/vmlinuz",
                            "kernel_parameters": login,
                            "node_groups": ["login"],
                        },
                    },
                    "cloud_init": {"user_data": "#cloud-config\nruncmd: [[echo, hi]]\n"},
                }
            },
            "ochami-boot:sessions": {
                "reboot-compute": {
                    "template": "cluster",
                    "operation": "reboot",
                    "limit": ["compute"],
                    "poll_interval_seconds": 0.2,
                }
            },
        }
    }


def measure(nodes: int) -> ScaleResult:
    compute = nodes - LOGIN_NODES
    fleet = Fleet.generate(
        nodes, groups={"compute": range(compute), "login": range(compute, nodes)}, power_delay=0.0
    )
    with tempfile.TemporaryDirectory() as tmp, SimServer(fleet) as sim:
        project = Path(tmp)
        env = project_env(project)
        stack_file = project / "stacks" / "Pulumi.bench.yaml"

        def write(*values: str) -> None:
            stack_file.write_text(yaml.safe_dump(_stack_config(sim.url, *values)))

        def powered_since(before: int) -> int:
            transitions = list(fleet.transitions.values())[before:]
            return len({t.xname for tr in transitions for t in tr.tasks})

        pulumi_run(project, env, "stack", "init", "bench")
        write("the cluster", "console=ttyS0", "console=ttyS0")
        pulumi_run(project, env, "up", "--yes")
        state_bytes = sum(p.stat().st_size for p in (project / "state").rglob("bench.json"))
        rebooted = []
        printed = ""
        for values in (
            ("edited", "console=ttyS0", "console=ttyS0"),
            ("edited", "console=ttyS0 quiet", "console=ttyS0"),
            ("edited", "console=ttyS0 quiet", "console=ttyS0 quiet"),
        ):
            write(*values)
            if values[2] != "console=ttyS0":
                printed = _preview_diff(project, env)
            before = len(fleet.transitions)
            pulumi_run(project, env, "up", "--yes")
            rebooted.append(powered_since(before))
    return ScaleResult(nodes, compute, rebooted, len(printed.splitlines()), state_bytes)


def _preview_diff(project: Path, env: dict[str, str]) -> str:
    """What `pulumi preview --diff` prints, both streams: the diff on stdout, the warning that
    names the nodes the session will reboot on stderr."""
    argv = ["pulumi", "preview", "--diff", "--non-interactive"]
    result = subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True, check=True)
    return result.stdout + result.stderr


def table(results: list[ScaleResult]) -> list[str]:
    lines = [
        "| nodes | rebooted: (a) description | (b) another boot set | (c) this boot set's"
        f" parameters (its nodes) | `pulumi preview --diff` lines of (c) (goal ≤ {LINES_GOAL})"
        " | state file after `up` |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        a, b, c = r.rebooted
        lines.append(
            f"| {r.nodes:,} | {a:,} | {b:,} | {c:,} ({r.compute_nodes:,}) | {r.preview_lines}"
            f" | {r.state_bytes / 1024:.1f} KiB |"
        )
    return lines
