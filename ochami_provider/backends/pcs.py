"""Power through PCS (OpenCHAMI's power-control): its transitions carry a power run, its
operation names and task statuses are translated here and nowhere else."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ..clients.pcs import PcsClient
from ..errors import InvalidInputError, ServiceError
from ..models.names import is_node_xname
from ..models.power import NodePower, NodePowerStatus, PowerAction, PowerProgress
from ..models.records import TransitionTask

if TYPE_CHECKING:
    from ..clients.services import Services

# A task in any other status (`new`, `in-progress`) is still running.
_SETTLED: dict[str, NodePowerStatus] = {
    "succeeded": "succeeded",
    "failed": "failed",
    "unsupported": "failed",
}


class PcsPower:
    backend = "pcs"
    label = "PCS"
    names: Mapping[PowerAction, str] = {
        "on": "On",
        "off": "Soft-Off",
        "restart": "Hard-Restart",
        "graceful-restart": "Soft-Restart",
    }

    @classmethod
    def over(cls, services: Services) -> PcsPower:
        return cls(services.pcs)

    def __init__(self, client: PcsClient) -> None:
        self.client = client

    def ready(self) -> None:
        """Nothing to check beyond the address, checked when the services were built."""

    def power_states(self, nodes: Sequence[str]) -> dict[str, str]:
        """`on`, `off`, else `unknown`: PCS says `undefined` for a node whose BMC stopped
        answering and `""` for one it does not know (9d78bc5). A name that is not a node xname
        is never sent (PCS refuses the whole request with HTTP 400): it is unknown."""
        sent = [n for n in nodes if is_node_xname(n)]
        found = self.client.power_states(sent)
        return {n: _state(found.get(n, "")) for n in nodes}

    def start(
        self,
        action: PowerAction,
        nodes: Sequence[str],
        deadline_minutes: int | None = None,
        deputy_keys: Mapping[str, str] | None = None,
    ) -> str:
        for node in nodes:
            if not is_node_xname(node):
                raise InvalidInputError(
                    "nodes",
                    node,
                    "not a node xname: PCS powers nodes by xname; nothing was powered",
                )
        return self.client.start_transition(
            self.names[action], list(nodes), deadline_minutes, dict(deputy_keys or {})
        )

    def progress(self, run_id: str) -> PowerProgress:
        transition = self.client.get_transition(run_id)
        return PowerProgress(
            finished=transition.finished,
            state=transition.transition_status,
            nodes={task.xname: _node_power(task) for task in transition.tasks},
            total=transition.task_counts.total or len(transition.tasks),
        )

    def abort(self, run_id: str) -> None:
        try:
            self.client.abort_transition(run_id)
        except ServiceError as error:
            # PCS (9d78bc5) answers 400 to aborting a transition that has finished: there is
            # nothing left to stop.
            if error.status != 400 or "already finished" not in error.message:
                raise


# PCS's words for a node it does not know, and what they mean for the admin.
_MISSING = "Missing xname"
_MISSING_WHY = (
    " (PCS has no power data for this node: right after PCS starts it knows no node until its"
    " first power-status sweep, one PCS_POWER_SAMPLE_INTERVAL later, 30 s by default; a node"
    " SMD holds without a BMC endpoint, or whose BMC has never answered, stays missing)"
)


def _node_power(task: TransitionTask) -> NodePower:
    status = _SETTLED.get(task.task_status, "running")
    if status != "failed":
        return NodePower(status)
    error = task.error or task.task_status_description or f"PCS task ended {task.task_status}"
    if error.startswith(_MISSING):
        error += _MISSING_WHY
    return NodePower(status, error)


def _state(pcs_state: str) -> str:
    return pcs_state if pcs_state in ("on", "off") else "unknown"
