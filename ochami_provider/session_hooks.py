"""A session's hooks: local commands before the first power action and after the last (drain
nodes in Slurm before a reboot, resume them after), with the session's nodes in hostlist
notation in their environment.

pulumi-command would be the usual way to run a command from a stack; its provider plugin
cannot be obtained here, and a hook must sit between the session's own steps anyway.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping

from .nodesets import compact

# The last lines of a failing hook's output that its error quotes.
_TAIL_LINES = 5


def hook_environment(
    session: str, operation: str, nodes: list[str], status: str | None = None
) -> dict[str, str]:
    """What a hook sees besides the provider's own environment."""
    found = {
        "OCHAMI_SESSION": session,
        "OCHAMI_OPERATION": operation,
        "OCHAMI_NODES": compact(nodes),
        "OCHAMI_NODE_COUNT": str(len(nodes)),
    }
    if status is not None:
        found["OCHAMI_SESSION_STATUS"] = status
    return found


def run_hook(which: str, command: str, extra_env: Mapping[str, str], timeout: float) -> str | None:
    """Run `command` with the shell; None when it succeeds, else why it failed."""
    try:
        done = subprocess.run(
            command,
            shell=True,
            env={**os.environ, **extra_env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"{which} {command!r} did not finish within {timeout:g}s"
    except OSError as error:
        return f"{which} {command!r} could not start: {error}"
    if done.returncode == 0:
        return None
    said = (done.stderr or done.stdout).strip().splitlines()[-_TAIL_LINES:]
    tail = f": {' / '.join(said)}" if said else ""
    return f"{which} {command!r} exited with status {done.returncode}{tail}"
