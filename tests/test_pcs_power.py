"""The PCS power adapter: the session's actions in PCS's operation names, PCS's task statuses
in the session's, and PCS's own words for a failed node kept; and the simulator's PCS
answering as the real one does (`../shared/facts/real-pcs.md`)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from ochami_provider.backends.pcs import PcsPower
from ochami_provider.clients import Services
from ochami_provider.clients.pcs import PcsClient
from ochami_provider.errors import InvalidInputError, ServiceError
from ochami_provider.models import BootSessionSpec
from ochami_provider.models.owner import Owner, Stake
from ochami_provider.models.power import NodePower, PowerProgress
from ochami_provider.models.records import Transition
from ochami_provider.session_runner import run_session
from ochami_provider.sim import Fleet

STAKE = Stake(Owner("t", "ochami-boot/pcs"))


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


# Against the simulator's PCS, which answers as the real one (9d78bc5) does ------------------
KERNEL_URL = "http://images.example/vmlinuz"


def _reboot(**extra: Any) -> BootSessionSpec:
    template = {"name": "t", "boot_sets": {"b": {"kernel": KERNEL_URL, "node_groups": ["compute"]}}}
    return BootSessionSpec.model_validate(
        {
            "name": "r",
            "template": template,
            "operation": "reboot",
            "booted_when": "power",
            "poll_interval_seconds": 0.01,
        }
        | extra
    )


def test_pcs_refuses_to_restart_a_node_that_is_off_in_its_own_words(
    fleet: Fleet, services: Services
) -> None:
    off = next(x for x, n in fleet.nodes.items() if n.power == "off")
    run = services.power.start("restart", [off])
    progress = _finished(services, run)
    assert progress.nodes[off] == NodePower("failed", "Component is in the wrong power state")
    assert fleet.nodes[off].power == "off"


def test_a_reboot_powers_on_the_nodes_that_are_off_and_restarts_those_that_are_on(
    fleet: Fleet, services: Services
) -> None:
    compute = sorted(fleet.groups["compute"]["members"]["ids"])
    running = compute[:5]
    for node in running:
        fleet.nodes[node].power = "on"
    state = run_session(services, _reboot(), STAKE)
    assert state.status == "completed", state.error_message
    assert state.results.steps == {"On": len(compute) - 5, "Hard-Restart": 5}
    sent = {tr.operation: sorted(t.xname for t in tr.tasks) for tr in fleet.transitions.values()}
    assert sent == {"On": sorted(set(compute) - set(running)), "Hard-Restart": sorted(running)}
    assert all(fleet.nodes[x].power == "on" for x in compute)


def test_unknown_and_malformed_names_are_unknown_and_a_malformed_one_is_never_sent(
    fleet: Fleet, services: Services
) -> None:
    known = next(iter(fleet.nodes))
    states = services.power.power_states([known, "x9999c0s0b0n0", "not-an-xname"])
    assert states == {known: "off", "x9999c0s0b0n0": "unknown", "not-an-xname": "unknown"}
    # PCS itself fails the whole request for one malformed name.
    with pytest.raises(ServiceError) as refused:
        services.pcs.power_states([known, "not-an-xname"])
    assert refused.value.status == 400 and "invalid xnames detected" in refused.value.message
    with pytest.raises(InvalidInputError, match="not-an-xname"):
        services.power.start("on", [known, "not-an-xname"])
    assert fleet.transitions == {}


def test_a_node_pcs_does_not_know_fails_with_why(fleet: Fleet, services: Services) -> None:
    progress = _finished(services, services.power.start("on", ["x9999c0s0b0n0"]))
    error = progress.nodes["x9999c0s0b0n0"].error
    assert error.startswith("Missing xname") and "first power-status sweep" in error


def test_an_abort_is_signaled_before_it_is_done_and_aborting_a_finished_run_is_no_error(
    fleet: Fleet, services: Services
) -> None:
    node = next(iter(fleet.nodes))
    fleet.stuck.add(node)
    run = services.power.start("on", [node])
    services.power.abort(run)
    signaled = services.power.progress(run)
    assert signaled.state == "abort-signaled" and not signaled.finished
    aborted = services.power.progress(run)
    assert aborted.finished and aborted.state == "aborted"
    assert aborted.nodes[node].status == "failed"
    assert aborted.nodes[node].error == "Transition aborted"
    fleet.stuck.clear()
    done = _finished(services, services.power.start("on", [node]))
    assert done.state == "completed"
    finished = next(iter(set(fleet.transitions) - {run}))
    with pytest.raises(ServiceError) as refused:  # PCS: 400, nothing left to stop
        services.pcs.abort_transition(finished)
    assert refused.value.status == 400
    services.power.abort(finished)  # the port: nothing to do, no error


def _finished(services: Services, run: str) -> PowerProgress:
    deadline = time.monotonic() + 10
    while not (progress := services.power.progress(run)).finished:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return progress
