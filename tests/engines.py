"""Running an IaC engine's command line (pulumi, tofu, terraform) from the end-to-end tests."""

from __future__ import annotations

import subprocess
from pathlib import Path


def run_engine(
    argv: list[str], cwd: Path, env: dict[str, str], *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run `argv` in `cwd`; with `check`, a non-zero exit fails the test with both outputs."""
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed:\n{result.stdout}\n{result.stderr}")
    return result
