"""The PCS power adapter: the session's actions in PCS's operation names, PCS's task statuses
in the session's, and PCS's own words for a failed node kept."""

from __future__ import annotations

from typing import Any

from ochami_provider.backends.pcs import PcsPower
from ochami_provider.clients.pcs import PcsClient
from ochami_provider.models.power import NodePower
from ochami_provider.models.records import Transition


class _Pcs(PcsClient):
    """PCS's answers as recorded, no network: what a transition body was, and its status."""

    def __init__(self, status: dict[str, Any]) -> None:
        self.started: list[tuple[str, list[str], int | None, dict[str, str] | None]] = []
        self.status = status

    def start_transition(
        self,
        operation: str,
        xnames: list[str],
        deadline_minutes: int | None = None,
        deputy_keys: dict[str, str] | None = None,
    ) -> str:
        self.started.append((operation, xnames, deadline_minutes, deputy_keys))
        return "tr-1"

    def get_transition(self, transition_id: str) -> Transition:
        return Transition.model_validate(self.status)


def _task(xname: str, status: str, **extra: str) -> dict[str, str]:
    return {"xname": xname, "taskStatus": status, **extra}


def test_each_action_is_sent_under_pcs_operation_name_with_deputy_keys() -> None:
    pcs = _Pcs({})
    power = PcsPower(pcs)
    for action in ("on", "off", "restart", "graceful-restart"):
        power.start(action, ("x1c0s0b0n0",), 2, {"x1c0s0b0n0": "key"})  # type: ignore[arg-type]
    assert [s[0] for s in pcs.started] == ["On", "Soft-Off", "Hard-Restart", "Soft-Restart"]
    assert pcs.started[0][1:] == (["x1c0s0b0n0"], 2, {"x1c0s0b0n0": "key"})


def test_task_statuses_become_node_power_keeping_pcs_words() -> None:
    status = {
        "transitionID": "tr-1",
        "transitionStatus": "in-progress",
        "taskCounts": {"total": 5},
        "tasks": [
            _task("n0", "succeeded"),
            _task("n1", "failed", error="Component is in the wrong power state"),
            _task("n2", "unsupported"),
            _task("n3", "in-progress"),
            _task("n4", "new", taskStatusDescription="waiting"),
        ],
    }
    progress = PcsPower(_Pcs(status)).progress("tr-1")
    assert not progress.finished and progress.state == "in-progress"
    assert progress.nodes == {
        "n0": NodePower("succeeded"),
        "n1": NodePower("failed", "Component is in the wrong power state"),
        "n2": NodePower("failed", "PCS task ended unsupported"),
        "n3": NodePower("running"),
        "n4": NodePower("running"),
    }
    assert (progress.count("succeeded"), progress.count("failed"), progress.running) == (1, 2, 2)


def test_a_transition_is_finished_once_completed_or_aborted() -> None:
    for status, finished in (("completed", True), ("aborted", True), ("new", False)):
        body = {"transitionID": "tr-1", "transitionStatus": status, "tasks": []}
        assert PcsPower(_Pcs(body)).progress("tr-1").finished is finished
