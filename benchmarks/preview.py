"""`pulumi preview` of a stack with N templates and N sessions against an empty stack, on the
same engine, plus the peak memory (VmHWM) of the dynamic provider process during it.

The stack is up to date when previewed (the state an admin previews most): each template's
check reads SMD and BSS, each resource is diffed, nothing is written.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ochami_provider.sim import Fleet, SimServer

ROOT = Path(__file__).resolve().parent.parent
NODES_PER_GROUP = 20
RUNS = 5


@dataclass
class PreviewResult:
    resources: int  # templates; as many sessions again
    seconds: float  # median of RUNS `pulumi preview --refresh=false`
    refresh_seconds: float  # median of RUNS `pulumi preview`: the project refreshes first
    provider_peak_mib: float  # the largest VmHWM seen for a pulumi.dynamic process


class ProviderMemory:
    """Samples /proc while a command runs for the dynamic provider's peak resident memory."""

    def __init__(self) -> None:
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> ProviderMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.is_set():
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                    if b"pulumi.dynamic" not in cmdline:
                        continue
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            self.peak_kib = max(self.peak_kib, int(line.split()[1]))
                except OSError:
                    continue
            time.sleep(0.02)


def _stack_config(url: str, count: int) -> dict[str, Any]:
    templates = {
        f"t{i}": {
            "boot_sets": {
                "compute": {
                    "kernel": "http://images.example/vmlinuz",
                    "kernel_parameters": "console=ttyS0 quiet",
                    "node_groups": [f"g{i}"],
                }
            },
            "cloud_init": {"user_data": "#cloud-config\nruncmd: [[echo, hi]]\n"},
        }
        for i in range(count)
    }
    sessions = {
        f"s{i}": {"template": f"t{i}", "operation": "boot", "poll_interval_seconds": 0.05}
        for i in range(count)
    }
    return {
        "config": {
            "ochami:uri": url,
            "ochami:verifyArtifacts": "false",
            "ochami-boot:templates": templates,
            "ochami-boot:sessions": sessions,
        }
    }


def run_engine(argv: list[str], cwd: Path, env: dict[str, str], timeout: float) -> str:
    """Run an engine's command (pulumi, tofu, terraform); its stdout, or an error with both
    outputs."""
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def pulumi_run(cwd: Path, env: dict[str, str], *args: str) -> str:
    return run_engine(["pulumi", *args, "--non-interactive"], cwd, env, timeout=900)


def project_env(project: Path) -> dict[str, str]:
    """A copy of the Pulumi project in `project`, with its own state; the environment to run
    `pulumi` in it."""
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, project / name)
    # Pulumi.yaml names the project's virtualenv: the copy uses the same one.
    (project / ".venv").symlink_to(ROOT / ".venv")
    (project / "stacks").mkdir()
    (project / "state").mkdir()
    return {
        **os.environ,
        "PULUMI_HOME": str(project / "home"),
        "PULUMI_CONFIG_PASSPHRASE": "bench",
        "PULUMI_SKIP_UPDATE_CHECK": "1",
        "PULUMI_BACKEND_URL": f"file://{project / 'state'}",
        "PYTHONPATH": str(ROOT),
    }


def grouped_fleet(groups: int) -> Fleet:
    """Groups g0, g1, ... of NODES_PER_GROUP nodes each: one per template of a benchmark."""
    return Fleet.generate(
        groups * NODES_PER_GROUP,
        groups={
            f"g{i}": range(i * NODES_PER_GROUP, (i + 1) * NODES_PER_GROUP) for i in range(groups)
        },
        power_delay=0.01,
    )


def preview_stack(count: int, groups: int) -> PreviewResult:
    with tempfile.TemporaryDirectory() as tmp, SimServer(grouped_fleet(groups)) as sim:
        project = Path(tmp)
        env = project_env(project)
        stack_file = project / "stacks" / "Pulumi.bench.yaml"
        pulumi_run(project, env, "stack", "init", "bench")
        stack_file.write_text(yaml.safe_dump(_stack_config(sim.url, count)))
        pulumi_run(project, env, "up", "--yes")
        times: dict[str, list[float]] = {"--refresh=false": [], "--refresh=true": []}
        for _ in range(RUNS):
            for flag, taken in times.items():
                start = time.perf_counter()
                pulumi_run(project, env, "preview", flag)
                taken.append(time.perf_counter() - start)
        # Memory from one more preview: sampling /proc costs CPU the timed runs must not lose.
        with ProviderMemory() as memory:
            pulumi_run(project, env, "preview")
    return PreviewResult(
        count,
        statistics.median(times["--refresh=false"]),
        statistics.median(times["--refresh=true"]),
        memory.peak_kib / 1024,
    )


def table(results: list[PreviewResult]) -> list[str]:
    empty = next(r for r in results if r.resources == 0)
    lines = [
        f"| templates + sessions | `preview --refresh=false` s (median of {RUNS}) | ratio to"
        " empty stack | `preview` (refreshes first) s | ratio to empty stack |"
        " provider peak RSS MiB |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        memory = f"{r.provider_peak_mib:.0f}" if r.provider_peak_mib else "(no provider started)"
        lines.append(
            f"| {r.resources} + {r.resources} | {r.seconds:.2f} | {r.seconds / empty.seconds:.2f}"
            f" | {r.refresh_seconds:.2f} | {r.refresh_seconds / empty.refresh_seconds:.2f}"
            f" | {memory} |"
        )
    return lines
