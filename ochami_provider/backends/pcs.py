"""Power through PCS (OpenCHAMI's power-control): its transitions carry a power run, its
operation names and task statuses are translated here and nowhere else."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ..clients.pcs import PcsClient
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

    def power_states(self, nodes: Sequence[str]) -> dict[str, str]:
        return self.client.power_states(list(nodes))

    def start(
        self,
        action: PowerAction,
        nodes: Sequence[str],
        deadline_minutes: int | None = None,
        deputy_keys: Mapping[str, str] | None = None,
    ) -> str:
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
        self.client.abort_transition(run_id)


def _node_power(task: TransitionTask) -> NodePower:
    status = _SETTLED.get(task.task_status, "running")
    if status != "failed":
        return NodePower(status)
    return NodePower(
        status, task.error or task.task_status_description or f"PCS task ended {task.task_status}"
    )
