"""README's day-to-day block, run verbatim as a new user would after the demo's setup.

The block runs in a copy of the project (it writes the stack's config) with a HOME of its own;
the only help it gets is PULUMI_SKIP_CONFIRMATIONS, the answer a person gives `pulumi up`'s
prompt at the keyboard.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PULUMI = shutil.which("pulumi")
if PULUMI is None and os.environ.get("OCHAMI_E2E") == "required":
    raise RuntimeError("OCHAMI_E2E=required but the Pulumi engine is not on PATH")
pytestmark = pytest.mark.skipif(PULUMI is None, reason="Pulumi engine not on PATH")


def day_to_day_block() -> str:
    readme = (ROOT / "README.md").read_text()
    after = readme.split("Day to day", 1)[1]
    match = re.search(r"```bash\n(.*?)```", after, re.DOTALL)
    assert match, "README has no bash block after 'Day to day'"
    return match.group(1)


def project_copy(dest: Path) -> Path:
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, tracked):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    (dest / ".venv").symlink_to(ROOT / ".venv")
    return dest


def run_block(block: str, cwd: Path, env: dict[str, str], log: Path) -> str:
    """Run a README block with bash -e; its output, once it exited 0."""
    with log.open("w") as out:
        process = subprocess.Popen(
            ["bash", "-e", "-c", block],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the simulator it starts in the background goes with it
        )
        try:
            process.wait(timeout=420)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
    output = log.read_text()
    assert process.returncode == 0, output
    return output


def test_the_day_to_day_block_runs_verbatim(tmp_path: Path) -> None:
    assert PULUMI is not None
    project = project_copy(tmp_path / "project")
    engine_bin = str(Path(PULUMI).parent)
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        # The engine the earlier steps built (scripts/engine.sh finds it in its cache).
        "OCHAMI_ENGINE_CACHE": str(Path(engine_bin).parent),
        # Neither the engine nor the venv on PATH: the block must put what it needs there.
        "PATH": os.pathsep.join(
            p
            for p in os.environ["PATH"].split(os.pathsep)
            if p not in (engine_bin, str(ROOT / ".venv/bin"))
        ),
        "PULUMI_SKIP_CONFIRMATIONS": "true",
        "PULUMI_SKIP_UPDATE_CHECK": "1",
        "TOKEN": "readme-token-5b1e",
    }
    (tmp_path / "home").mkdir()
    output = run_block(day_to_day_block(), project, env, tmp_path / "block.log")
    # up created the stack, the template and the session; the session rebooted the nodes.
    assert re.search(r"\+ 3 created", output), output
    assert re.search(r'session:reboot-compute:status\s*:\s*"completed"', output), output
    # refresh ran after it; the token went into the stack file encrypted, never in the clear.
    assert "Refreshing (cluster-a)" in output, output
    stack_file = (project / "stacks" / "Pulumi.cluster-a.yaml").read_text()
    assert "ochami:token:\n    secure:" in stack_file
    assert "readme-token-5b1e" not in stack_file + output


def test_the_opentofu_block_runs_verbatim(tmp_path: Path) -> None:
    """README's OpenTofu block: build (or find) tofu, install the provider, plan and apply the
    example against a simulator, in a copy of the project with a HOME of its own."""
    cached = Path(
        os.environ.get("OCHAMI_TOFU_CACHE", Path.home() / ".cache/ochami-provider/opentofu")
    )
    if not (shutil.which("tofu") or (cached / "bin" / "tofu").exists()):
        if os.environ.get("OCHAMI_TOFU") == "required":
            raise AssertionError("OCHAMI_TOFU=required but OpenTofu is not built (scripts/tofu.sh)")
        pytest.skip("OpenTofu not built (scripts/tofu.sh)")
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", readme.split("## OpenTofu and Terraform", 1)[1], re.S)
    assert block, "README has no bash block under 'OpenTofu and Terraform'"
    project = project_copy(tmp_path / "project")
    (tmp_path / "home").mkdir()
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "OCHAMI_TOFU_CACHE": str(cached),
        # What a person answers `tofu apply`'s prompt at the keyboard.
        "TF_CLI_ARGS_apply": "-auto-approve",
        "TF_IN_AUTOMATION": "1",
    }
    output = run_block(block.group(1), project, env, tmp_path / "block.log")
    assert "OpenTofu has been successfully initialized" in output, output
    assert "Apply complete! Resources: 2 added" in output, output
    assert re.search(r'session = "completed"', output), output
    # The example's encryption.tf: the state on disk is ciphertext, its user-data unreadable.
    state = (project / "examples" / "terraform" / "cluster-a" / "terraform.tfstate").read_text()
    assert "encrypted_data" in state and "slurmd" not in state
