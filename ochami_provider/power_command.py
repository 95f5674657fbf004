"""One-off power outside a stack (`ochami-boot power on|off|reboot|status --node HOSTLIST`), as
admins do with `manta power` or `ochami pcs`: the same power port, SMD reservations and
verification as a session, for nodes named on the command line.

What it does is planned first from the nodes' power, and said before anything is powered:
`on` leaves nodes that are on alone, `off` those that are off, and `reboot` powers on the
nodes that are off and restarts those that are on, as a session does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from .clients.services import Services
from .models.hostlists import compact
from .models.power import PowerAction
from .reservations import NodeReservation

Command = Literal["on", "off", "reboot"]

# Where each action leaves a node.
_AFTER: dict[PowerAction, str] = {
    "on": "on",
    "off": "off",
    "restart": "on",
    "graceful-restart": "on",
}


@dataclass
class PowerPlan:
    """What a command will do: each action with its nodes, and the nodes left alone."""

    steps: list[tuple[PowerAction, list[str]]]
    left_alone: list[str]


@dataclass
class PowerOutcome:
    succeeded: list[str] = field(default_factory=list)
    # node -> why, in the power backend's words.
    failed: dict[str, str] = field(default_factory=dict)


def plan(command: Command, states: Mapping[str, str], *, graceful: bool = False) -> PowerPlan:
    """Pure: the steps that bring `states`' nodes where `command` says."""
    on = sorted(n for n, s in states.items() if s == "on")
    off = sorted(n for n, s in states.items() if s != "on")
    if command == "on":
        return PowerPlan([("on", off)] if off else [], on)
    if command == "off":
        return PowerPlan([("off", on)] if on else [], off)
    restart: PowerAction = "graceful-restart" if graceful else "restart"
    both: list[tuple[PowerAction, list[str]]] = [("on", off), (restart, on)]
    return PowerPlan([(action, nodes) for action, nodes in both if nodes], [])


def describe(planned: PowerPlan, names: Mapping[PowerAction, str]) -> list[str]:
    """The plan as lines an admin reads: the backend's word, the nodes in hostlist notation."""
    lines = [f"{names[a]}: {compact(nodes)} ({len(nodes)} node(s))" for a, nodes in planned.steps]
    if planned.left_alone:
        lines.append(
            f"left alone: {compact(planned.left_alone)} ({len(planned.left_alone)} node(s))"
        )
    return lines


def run(
    services: Services,
    planned: PowerPlan,
    *,
    deadline_minutes: int | None = None,
    timeout_seconds: float = 1800.0,
    poll_seconds: float = 1.0,
    log: Callable[[str], None] = lambda _: None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> PowerOutcome:
    """Reserve the nodes, run each step to its end, and verify that each node is where its
    step leaves it (as the power backend then says)."""
    power = services.power
    outcome = PowerOutcome()
    acting = sorted({n for _, nodes in planned.steps for n in nodes})
    reservation = NodeReservation(services.inventory, "ochami-boot power", clock, log)
    reservation.acquire(acting)
    deadline = clock() + timeout_seconds
    try:
        for action, nodes in planned.steps:
            run_id = power.start(action, nodes, deadline_minutes, reservation.deputy_keys())
            log(f"{power.label} {power.names[action]} on {compact(nodes)}: {run_id}")
            while not (progress := power.progress(run_id)).finished:
                if clock() >= deadline:
                    power.abort(run_id)
                    break
                reservation.keep_alive()
                sleep(poll_seconds)
            now = power.power_states(nodes)
            for node in nodes:
                part = progress.nodes.get(node)
                if part is None or part.status != "succeeded":
                    outcome.failed[node] = (
                        part.error
                        if part and part.error
                        else f"timed out after {timeout_seconds:g}s"
                    )
                elif now.get(node) != _AFTER[action]:
                    outcome.failed[node] = (
                        f"{power.label} confirmed {power.names[action]}, but says the node is"
                        f" {now.get(node, 'unknown')!r}"
                    )
                else:
                    outcome.succeeded.append(node)
    finally:
        reservation.release()
    return outcome


def report(outcome: PowerOutcome) -> list[str]:
    """Succeeded nodes as one hostlist, failed ones grouped by error (most first)."""
    lines = []
    if outcome.succeeded:
        lines.append(f"succeeded: {compact(outcome.succeeded)} ({len(outcome.succeeded)})")
    by_error: dict[str, list[str]] = {}
    for node, error in outcome.failed.items():
        by_error.setdefault(error, []).append(node)
    for error, nodes in sorted(by_error.items(), key=lambda kv: -len(kv[1])):
        lines.append(f"failed: {compact(nodes)} ({len(nodes)}): {error}")
    return lines


def status_lines(states: Mapping[str, str], nodes: Sequence[str]) -> list[str]:
    """Nodes by power state, in hostlist notation."""
    by_state: dict[str, list[str]] = {}
    for node in nodes:
        by_state.setdefault(states.get(node, "unknown"), []).append(node)
    return [
        f"{state}: {compact(found)} ({len(found)})" for state, found in sorted(by_state.items())
    ]
