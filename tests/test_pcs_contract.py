"""PCS contract tests: each runs against the simulator's PCS and against the real PCS
(power-control 9d78bc5 driving sushy-tools BMCs, `tests/openchami/real_pcs.py`), through the
power port as a session uses it, so the simulator answers as the real one does
(../shared/facts/real-pcs.md). The real PCS takes 15 s or more per power step.

The real stack is shared with the rest of the real tier, whose sessions power the login and
compute nodes, so a test that needs a node off or on first puts it there (`set_power`, one
power step on the real PCS when it is not): 0 (off), 1-2, 3, 5-6 (off), 10 (then off),
12-13, 11 (on) and 14 (off).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from ochami_provider.errors import ServiceError, SessionConflictError
from ochami_provider.models.owner import Owner, Stake
from ochami_provider.models.power import PowerProgress
from ochami_provider.ports import Power
from ochami_provider.reservations import NodeReservation
from tests.backends import Backend, finished, reboot_two, set_power, until

STAKE = Stake(Owner("pcs-contract", "ochami-boot/contract"))
# One power step on the real PCS: its 15 s confirmation sleep, a sweep, sushy's 1-11 s.
STEP_SECONDS = 120


def _finished(power: Power, run: str) -> PowerProgress:
    return finished(power, run, STEP_SECONDS, every=0.5)


def test_a_restart_of_a_node_that_is_off_is_refused_in_pcs_words(power_backend: Backend) -> None:
    node = power_backend.nodes[0]
    with power_backend.services() as services:
        set_power(services, node, "off", STEP_SECONDS)
        progress = _finished(services.power, services.power.start("restart", [node]))
        assert progress.nodes[node].status == "failed"
        assert progress.nodes[node].error == "Component is in the wrong power state"
        assert services.power.power_states([node]) == {node: "off"}


def test_on_then_restart_power_the_nodes_and_each_boots(power_backend: Backend) -> None:
    nodes = power_backend.nodes[1:3]
    fleet = power_backend.fleet
    with power_backend.services() as services:
        progress = _finished(services.power, services.power.start("on", nodes))
        assert {n: p.status for n, p in progress.nodes.items()} == dict.fromkeys(nodes, "succeeded")
        assert services.power.power_states(nodes) == dict.fromkeys(nodes, "on")
        _until(lambda: all(fleet.nodes[n].power == "on" for n in nodes))
        progress = _finished(services.power, services.power.start("restart", nodes))
        assert {n: p.status for n, p in progress.nodes.items()} == dict.fromkeys(nodes, "succeeded")
        assert services.power.power_states(nodes) == dict.fromkeys(nodes, "on")


def test_a_node_pcs_does_not_know_is_unknown_and_missing(power_backend: Backend) -> None:
    stranger = "x9999c0s0b0n0"
    with power_backend.services() as services:
        assert services.power.power_states([stranger]) == {stranger: "unknown"}
        progress = _finished(services.power, services.power.start("on", [stranger]))
        error = progress.nodes[stranger].error
        assert error.startswith("Missing xname") and "first power-status sweep" in error


def test_a_malformed_name_fails_pcs_whole_request_and_the_port_never_sends_it(
    power_backend: Backend,
) -> None:
    node = power_backend.nodes[3]
    with power_backend.services() as services:
        with pytest.raises(ServiceError) as refused:
            services.pcs.power_states([node, "not-an-xname"])
        assert refused.value.status == 400 and "invalid xnames" in refused.value.message
        known = services.power.power_states([node])[node]
        assert known in ("on", "off")
        states = services.power.power_states([node, "not-an-xname"])
        assert states == {node: known, "not-an-xname": "unknown"}


def test_an_abort_is_signaled_then_ends_and_a_finished_run_needs_none(
    power_backend: Backend,
) -> None:
    """An abort is `abort-signaled` (not finished) until PCS acts on it; the real PCS may
    also lose it, the transition completing. Aborting a completed one is HTTP 400 from PCS,
    and nothing to do for the port."""
    nodes, running = power_backend.nodes[12:14], power_backend.nodes[10]
    if power_backend.kind == "sim":
        power_backend.fleet.stuck.update(nodes)  # the simulator's power steps are instant
    with power_backend.services() as services:
        run = services.power.start("on", nodes)
        services.power.abort(run)
        seen = services.power.progress(run)
        # A lost abort (real-pcs.md §16) leaves the transition in progress until it completes.
        assert seen.state in ("in-progress", "abort-signaled", "aborted", "completed"), seen
        if power_backend.kind == "sim":
            assert seen.state == "abort-signaled"
        power_backend.fleet.stuck.clear()
        ended = _finished(services.power, run)
        assert ended.state in ("aborted", "completed")
        for part in ended.nodes.values():
            if part.status == "failed":
                assert part.error == "Transition aborted", part
        completed = services.power.start("off", [running])
        assert _finished(services.power, completed).state == "completed"
        with pytest.raises(ServiceError) as refused:
            services.pcs.abort_transition(completed)
        assert refused.value.status == 400 and "already finished" in refused.value.message
        services.power.abort(completed)


def test_a_reboot_session_powers_on_the_off_node_and_restarts_the_on_node(
    power_backend: Backend,
) -> None:
    state = reboot_two(power_backend, "pcs-contract", STAKE, 4 * STEP_SECONDS)
    assert state.results.steps == {"On": 1, "Hard-Restart": 1}


def _until(condition: Callable[[], bool], timeout: float = 30) -> None:
    until(condition, timeout, every=0.2)


def test_pcs_holds_the_nodes_of_a_transition_sent_without_deputy_keys(
    power_backend: Backend,
) -> None:
    """PCS reserves in SMD, for the whole transition, the nodes it is given no deputy key for
    (a transition from another client, or `ochami pcs`): a session over them is refused
    before it writes anything, and goes once PCS is done. A session's own transitions carry
    its deputy keys, so PCS does not reserve those nodes again (test_conflicts)."""
    nodes = power_backend.nodes[5:7]
    if power_backend.kind == "sim":
        power_backend.fleet.stuck.update(nodes)
    with power_backend.services() as services:
        for node in nodes:  # an On of a node that is on ends before its hold can be seen
            set_power(services, node, "off", STEP_SECONDS)
        run = services.power.start("on", nodes)
        # The real PCS reserves when its worker takes the transition: seconds, more under load.
        _until(lambda: all(s.reserved for s in services.inventory.lock_status(nodes)), STEP_SECONDS)
        second = NodeReservation(services.inventory, "second", time.monotonic, lambda _: None)
        with pytest.raises(SessionConflictError, match="held in SMD by another session"):
            second.acquire(nodes)
        power_backend.fleet.stuck.clear()
        _finished(services.power, run)
        _until(lambda: not any(s.reserved for s in services.inventory.lock_status(nodes)), 30)
        second.acquire(nodes)
        second.release()
