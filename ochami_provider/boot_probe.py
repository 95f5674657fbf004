"""Boot truth from the nodes themselves (`booted_when: cmdline`): a probe command the site
gives (`pdsh -w "$OCHAMI_NODES" cat /proc/cmdline`) prints each node's running kernel command
line, and a node counts as booted once that line carries the template's owner and version
markers, which every boot record the template writes ends with. It needs nothing from the boot
service (boot-service keeps no endpoint history), and it is the strongest proof: the node runs
it.

The output is read as pdsh prints it, `node: command line` a line; lines of nodes that did not
answer (still booting), and pdsh's own complaints, are simply not there. The command's exit
status says nothing (pdsh fails when any node is down), so it is not read.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

from .models.kernel_params import OWNER_PARAMETER, VERSION_PARAMETER, marker_of
from .models.names import normalize_xname
from .session_hooks import hook_environment, run_with_nodes


@dataclass(frozen=True)
class Expected:
    """What a node's command line must carry: the template's owner marker and version."""

    owner: str
    version: str

    def seen_in(self, cmdline: str) -> bool:
        return (
            marker_of(cmdline, OWNER_PARAMETER) == self.owner
            and marker_of(cmdline, VERSION_PARAMETER) == self.version
        )


def parse(output: str) -> dict[str, str]:
    """node -> command line, from `node: command line` lines; others are skipped."""
    found: dict[str, str] = {}
    for line in output.splitlines():
        host, sep, cmdline = line.partition(":")
        if not sep:
            continue
        try:
            node = normalize_xname(host.strip())
        except ValueError:
            continue
        found[node] = cmdline.strip()
    return found


def booted(cmdlines: Mapping[str, str], expected: Mapping[str, Expected]) -> set[str]:
    """The nodes whose command line carries what they were expected to boot."""
    return {
        node for node, line in cmdlines.items() if node in expected and expected[node].seen_in(line)
    }


def probe(
    command: str, session: str, operation: str, nodes: list[str], timeout: float
) -> tuple[dict[str, str], str | None]:
    """Run the probe over `nodes` ($OCHAMI_NODES, $OCHAMI_NODES_FILE as for the hooks): what
    it printed, parsed, and why it could not run at all (None when it ran)."""
    env = hook_environment(session, operation, nodes)
    try:
        done = run_with_nodes(command, env, timeout)
    except subprocess.TimeoutExpired as expired:
        out = expired.stdout if isinstance(expired.stdout, str) else ""
        return parse(out or ""), f"probe_command did not finish within {timeout:g}s"
    except OSError as error:
        return {}, f"probe_command could not start: {error}"
    found = parse(done.stdout)
    if not found and done.returncode != 0:
        # Nothing read and a failure: most likely the command itself is wrong, and its words
        # are the only clue (pdsh also fails when only some nodes are down, but prints theirs).
        said = (done.stderr or done.stdout).strip().splitlines()[-3:]
        tail = f": {' / '.join(line[-200:] for line in said)}" if said else ""
        return found, f"probe_command exited with status {done.returncode}, no node answered{tail}"
    return found, None
