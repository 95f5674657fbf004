"""A session's hooks: local commands before the first power action and after the last (drain
nodes in Slurm before a reboot, resume them after), with the session's nodes in hostlist
notation in their environment.

pulumi-command would be the usual way to run a command from a stack; its provider plugin
cannot be obtained here, and a hook must sit between the session's own steps anyway.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping

from .models.hostlists import expand
from .nodesets import compact

# The last lines of a failing hook's output that its error quotes, each cut to its end: the
# error is recorded in the state, and a hook that printed 10 MB must not make it 10 MB.
_TAIL_LINES = 5
_TAIL_LINE_CHARS = 200


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
        done = run_with_nodes(command, extra_env, timeout)
    except subprocess.TimeoutExpired:
        return f"{which} {command!r} did not finish within {timeout:g}s"
    except OSError as error:
        return f"{which} {command!r} could not start: {error}"
    if done.returncode == 0:
        return None
    said = [_line_end(line) for line in (done.stderr or done.stdout).strip().splitlines()]
    tail = f": {' / '.join(said[-_TAIL_LINES:])}" if said else ""
    return f"{which} {command!r} exited with status {done.returncode}{tail}"


def run_with_nodes(
    command: str, extra_env: Mapping[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run `command` with the shell, its output captured; what a hook or the boot probe runs.

    Besides `OCHAMI_NODES` (hostlist notation, which an unquoted `$OCHAMI_NODES` lets the shell
    glob against file names), the command gets `OCHAMI_NODES_FILE`: a file with one node per
    line, which cannot glob and stays well under the size limit of one environment variable at
    10,000 nodes. Raises TimeoutExpired and OSError for the caller to word."""
    with tempfile.NamedTemporaryFile("w", prefix="ochami-nodes-", suffix=".txt") as listing:
        nodes = extra_env.get("OCHAMI_NODES", "")
        listing.write("".join(f"{n}\n" for n in expand(nodes)) if nodes else "")
        listing.flush()
        return subprocess.run(
            command,
            shell=True,
            env={**os.environ, **extra_env, "OCHAMI_NODES_FILE": listing.name},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def _line_end(line: str) -> str:
    return line if len(line) <= _TAIL_LINE_CHARS else "..." + line[-_TAIL_LINE_CHARS:]
