"""The session state machine as a pure function of events: no network."""

from __future__ import annotations

import typing
from typing import Any

import pytest

from ochami_provider.backends.pcs import PcsPower
from ochami_provider.models import BootSessionSpec
from ochami_provider.models.power import NodePower
from ochami_provider.session_machine import (
    _NEXT,
    TRANSITIONS,
    CheckBoots,
    Finished,
    IllegalTransition,
    Poll,
    Resolve,
    SessionMachine,
    SessionWords,
    StartPower,
    Survey,
    WriteConfig,
)
from ochami_provider.session_machine import SessionPhase as Phase

NODES = ["x1000c0s0b0n0", "x1000c0s0b0n1", "x1000c0s1b0n0"]
T = "2026-11-24T00:00:00+00:00"
# The words of a cluster on PCS and BSS: what results and errors say.
WORDS = SessionWords("PCS", PcsPower.names, "BSS")


def _machine(spec: BootSessionSpec, created: str = T) -> SessionMachine:
    return SessionMachine(spec, created, WORDS)


def _spec(**extra: Any) -> BootSessionSpec:
    """A reboot session; "booted" means powered, unless a test asks for the boot-script check."""
    template = {"name": "t", "boot_sets": {"b": {"kernel": "http://h/k", "node_list": NODES}}}
    return BootSessionSpec.model_validate(
        {"name": "s", "template": template, "operation": "reboot", "booted_when": "power"} | extra
    )


def _ok(*nodes: str) -> dict[str, NodePower]:
    return {n: NodePower("succeeded") for n in nodes}


def _through_power(machine: SessionMachine) -> None:
    """To the first power step, every node found on (a reboot restarts them all)."""
    assert machine.next_action() == Resolve()
    machine.on_resolved(NODES, T)
    assert machine.next_action() == WriteConfig(tuple(NODES))
    machine.on_config_written(T)
    if machine.spec.operation == "reboot":
        assert machine.next_action() == Survey(tuple(NODES), boots=False)
        machine.on_surveyed(dict.fromkeys(NODES, "on"), {}, T)


def test_reboot_powers_on_the_nodes_that_are_off_and_restarts_the_rest() -> None:
    """As BOS does, and as the real PCS requires: it refuses to restart a node that is off."""
    machine = _machine(_spec())
    machine.on_resolved(NODES, T)
    machine.on_config_written(T)
    assert machine.next_action() == Survey(tuple(NODES), boots=False)
    machine.on_surveyed({NODES[0]: "on", NODES[1]: "off", NODES[2]: "undefined"}, {}, T)
    assert machine.next_action() == StartPower("on", (NODES[1], NODES[2]))
    machine.on_power_started("tr-1")
    machine.on_polled(True, _ok(NODES[1], NODES[2]), T)
    assert machine.next_action() == StartPower("restart", (NODES[0],))
    machine.on_power_started("tr-2")
    machine.on_polled(True, _ok(NODES[0]), T)
    state = machine.state
    assert state.status == "completed" and state.results.succeeded == NODES
    assert state.results.steps == {"On": 2, "Hard-Restart": 1}
    assert state.power_operation == "Hard-Restart"


def test_happy_path_walks_every_phase() -> None:
    machine = _machine(_spec(), T)
    assert machine.state.status == "pending"
    _through_power(machine)
    assert machine.state.status == "running"
    assert machine.next_action() == StartPower("restart", tuple(NODES))
    machine.on_power_started("tr-1")
    assert machine.next_action() == Poll("tr-1")
    machine.on_polled(False, {}, T)
    assert machine.next_action() == Poll("tr-1")
    machine.on_polled(True, _ok(*NODES), "2026-11-24T00:05:00+00:00")
    action = machine.next_action()
    assert isinstance(action, Finished)
    assert action.state.status == "completed"
    assert action.state.results.succeeded == NODES
    assert action.state.completed_at == "2026-11-24T00:05:00+00:00"
    assert action.state.retry_count == 0


def test_retry_touches_only_failed_nodes_then_gives_up_with_per_node_errors() -> None:
    machine = _machine(_spec(retry={"max_retries": 1}), T)
    _through_power(machine)
    machine.on_power_started("tr-1")
    tasks = {**_ok(NODES[0], NODES[2]), NODES[1]: NodePower("failed", "BMC timeout")}
    machine.on_polled(True, tasks, T)
    assert machine.next_action() == StartPower("restart", (NODES[1],))
    assert machine.state.retry_count == 1
    machine.on_power_started("tr-2")
    machine.on_polled(True, {NODES[1]: NodePower("failed", "BMC timeout again")}, T)
    state = machine.state
    assert state.status == "failed"
    assert state.results.failed == {NODES[1]: "BMC timeout again"}
    assert state.results.succeeded == [NODES[0], NODES[2]]
    assert "1 of 3 node(s) failed after 2 attempt(s)" in state.error_message
    assert state.transition_ids == ["tr-1", "tr-2"]


def test_node_missing_from_pcs_answer_counts_as_failed() -> None:
    machine = _machine(_spec(retry={"max_retries": 0}), T)
    _through_power(machine)
    machine.on_power_started("tr-1")
    machine.on_polled(True, _ok(*NODES[:2]), T)
    assert machine.state.results.failed == {NODES[2]: "PCS reported no task for this node"}


def test_a_failed_node_without_words_fails_with_its_status() -> None:
    machine = _machine(_spec(retry={"max_retries": 0}), T)
    _through_power(machine)
    machine.on_power_started("tr-1")
    machine.on_polled(True, {**_ok(*NODES[:2]), NODES[2]: NodePower("failed")}, T)
    assert machine.state.results.failed[NODES[2]] == "PCS task ended failed"


@pytest.mark.parametrize(
    ("operation", "graceful", "action", "pcs"),
    [
        ("boot", False, "on", "On"),
        ("reboot", False, "restart", "Hard-Restart"),
        ("reboot", True, "graceful-restart", "Soft-Restart"),
        ("shutdown", False, "off", "Soft-Off"),
    ],
)
def test_operations_map_to_power_actions_named_as_the_backend_names_them(
    operation: str, graceful: bool, action: str, pcs: str
) -> None:
    machine = _machine(_spec(operation=operation, graceful=graceful), T)
    _through_power(machine)
    if operation == "boot":  # first: which nodes are off, and which run what
        assert machine.next_action() == Survey(tuple(NODES))
        machine.on_surveyed({}, {}, T)
    assert machine.next_action() == StartPower(action, tuple(NODES))  # type: ignore[arg-type]
    assert machine.state.results.steps == {pcs: len(NODES)}
    assert machine.state.power_operation == pcs


def test_stage_completes_without_power() -> None:
    machine = _machine(_spec(operation="stage"), T)
    _through_power(machine)
    action = machine.next_action()
    assert isinstance(action, Finished) and action.state.status == "completed"
    assert action.state.transition_ids == []


def test_no_nodes_fails() -> None:
    machine = _machine(_spec(limit=["x9c0s0b0n0"]), T)
    machine.on_resolved([], T)
    assert machine.state.status == "failed"
    assert "limit ['x9c0s0b0n0']" in machine.state.error_message


def test_timeout_fails_unsettled_nodes() -> None:
    machine = _machine(_spec(timeout_seconds=30), T)
    _through_power(machine)
    machine.on_power_started("tr-1")
    machine.on_timeout(T)
    assert machine.state.status == "failed"
    assert set(machine.state.results.failed) == set(NODES)
    assert machine.state.error_message == "session timed out after 30s"


def test_timeout_keeps_what_polls_already_settled() -> None:
    machine = _machine(_spec(timeout_seconds=30), T)
    _through_power(machine)
    machine.on_power_started("tr-1")
    progress = {
        NODES[0]: NodePower("succeeded"),
        NODES[1]: NodePower("failed", "BMC said no"),
        NODES[2]: NodePower("running"),
    }
    machine.on_polled(False, progress, T)
    machine.on_timeout(T)
    results = machine.state.results
    assert results.succeeded == [NODES[0]]
    assert results.failed == {NODES[1]: "BMC said no", NODES[2]: "timed out after 30s"}


def test_service_error_leaves_unsettled_nodes_pending() -> None:
    machine = _machine(_spec(), T)
    machine.on_resolved(NODES, T)
    machine.on_error("bss: PUT failed (HTTP 500)", T)
    assert machine.state.status == "failed"
    assert machine.state.results.pending == NODES


def test_cancel_is_terminal() -> None:
    machine = _machine(_spec(), T)
    _through_power(machine)
    machine.cancel(T, "interrupted")
    assert machine.state.status == "cancelled"
    assert isinstance(machine.next_action(), Finished)


def test_events_out_of_order_are_refused() -> None:
    machine = _machine(_spec(), T)
    with pytest.raises(RuntimeError, match="phase 'created'"):
        machine.on_power_started("tr-1")


def test_a_powered_node_is_booted_once_it_asks_bss_for_its_boot_script() -> None:
    machine = _machine(_spec(booted_when="bootscript"), T)
    _through_power(machine)
    machine.on_power_started("tr-1", 1000.7)
    machine.on_polled(True, _ok(*NODES), T)
    # Powered is not booted yet: every node waits for its fetch, counted from the start second.
    assert machine.next_action() == CheckBoots(tuple(NODES), 1000)
    assert machine.state.results.succeeded == []
    machine.on_boot_checks({NODES[0]: 1000, NODES[1]: 999}, 1005.0, T)
    assert machine.next_action() == CheckBoots((NODES[1], NODES[2]), 1000)
    machine.on_boot_checks({NODES[0]: 1000, NODES[1]: 1003, NODES[2]: 1004}, 1010.0, T)
    assert machine.state.status == "completed"
    assert machine.state.results.succeeded == NODES
    assert machine.state.results.phases == {"booted": NODES}


def test_a_node_that_never_asks_fails_with_why_and_a_restart_is_retried() -> None:
    machine = _machine(
        _spec(booted_when="bootscript", boot_timeout_seconds=60, retry={"max_retries": 1}), T
    )
    _through_power(machine)
    machine.on_power_started("tr-1", 1000)
    machine.on_polled(True, _ok(*NODES), T)
    fetched = {NODES[0]: 1001, NODES[1]: 1002}
    machine.on_boot_checks(fetched, 1059.0, T)
    assert machine.next_action() == CheckBoots((NODES[2],), 1000)
    machine.on_boot_checks(fetched, 1060.0, T)
    # Restarting it again may mend it (a hung firmware): one more attempt for it alone.
    assert machine.next_action() == StartPower("restart", (NODES[2],))
    machine.on_power_started("tr-2", 1100)
    machine.on_polled(True, _ok(NODES[2]), T)
    machine.on_boot_checks(fetched, 1160.0, T)
    state = machine.state
    assert state.status == "failed" and state.results.succeeded == NODES[:2]
    assert "did not ask BSS for its boot script within 60s" in state.results.failed[NODES[2]]
    assert "PCS Hard-Restart confirmed" in state.results.failed[NODES[2]]


def test_a_node_that_asks_again_within_the_settle_window_is_in_a_boot_loop() -> None:
    """BSS's iPXE script asks again (after `sleep 30`) when the kernel or initrd does not
    load: with a settle window, that second fetch fails the node; one fetch that holds passes."""
    machine = _machine(
        _spec(
            booted_when="bootscript",
            boot_settle_seconds=40,
            boot_timeout_seconds=300,
            retry={"max_retries": 1},
        ),
        T,
    )
    _through_power(machine)
    machine.on_power_started("tr-1", 1000)
    machine.on_polled(True, _ok(*NODES), T)
    machine.on_boot_checks({NODES[0]: 1002, NODES[1]: 1003}, 1010.0, T)
    # Both fetched, neither settled yet; the third has not asked.
    assert machine.next_action() == CheckBoots(tuple(NODES), 1000)
    assert machine.state.results.succeeded == []
    machine.on_boot_checks({NODES[0]: 1002, NODES[1]: 1035, NODES[2]: 1020}, 1042.0, T)
    assert machine.next_action() == CheckBoots((NODES[2],), 1000)
    machine.on_boot_checks({NODES[0]: 1002, NODES[1]: 1070, NODES[2]: 1020}, 1061.0, T)
    # A restart may mend a transient failure: one more attempt for the looping node alone.
    assert machine.next_action() == StartPower("restart", (NODES[1],))
    machine.on_power_started("tr-2", 1100)
    machine.on_polled(True, _ok(NODES[1]), T)
    machine.on_boot_checks({NODES[1]: 1101}, 1110.0, T)
    machine.on_boot_checks({NODES[1]: 1133}, 1141.0, T)
    state = machine.state
    assert state.status == "failed" and state.results.succeeded == [NODES[0], NODES[2]]
    error = state.results.failed[NODES[1]]
    assert "again 32s after the first time" in error and "kernel or initrd" in error


def _booting_all_off() -> SessionMachine:
    """A `boot` proven by boot-script fetches within 5 s, one retry, every node found off."""
    spec = _spec(
        operation="boot", booted_when="bootscript", boot_timeout_seconds=5, retry={"max_retries": 1}
    )
    machine = _machine(spec, T)
    _through_power(machine)
    machine.on_surveyed({}, {}, T)
    return machine


def test_power_on_leaves_nodes_that_were_on_unverified_and_restarts_a_silent_one() -> None:
    machine = _booting_all_off()  # NODES[0] is switched on before PCS acts
    machine.on_power_started("tr-1", 1000, frozenset({NODES[0]}))
    machine.on_polled(True, _ok(*NODES), T)
    assert machine.next_action() == CheckBoots((NODES[1], NODES[2]), 1000)
    machine.on_boot_checks({NODES[1]: 1001}, 1006.0, T)
    # Powering on again would leave the silent node as it is: its retry is a restart.
    assert machine.next_action() == StartPower("restart", (NODES[2],))
    assert machine.state.retry_count == 1
    machine.on_power_started("tr-2", 1010)
    machine.on_polled(True, _ok(NODES[2]), T)
    machine.on_boot_checks({NODES[1]: 1001}, 1016.0, T)
    assert machine.state.status == "failed"
    assert machine.state.results.steps == {"On": 3}  # a retry is no step of its own
    assert machine.state.results.succeeded == NODES[:2]
    assert list(machine.state.results.failed) == [NODES[2]]
    assert machine.state.results.phases == {
        "already-on": [NODES[0]],
        "booted": [NODES[1]],
        "failed": [NODES[2]],
    }


def test_one_retry_powers_on_the_nodes_whose_on_failed_then_restarts_the_silent_ones() -> None:
    """An On step where one node's power failed and one came on but never asked BSS: the one
    retry is two power runs, On then a restart, and the retry budget counts it once."""
    machine = _booting_all_off()
    machine.on_power_started("tr-1", 1000)
    refused = NodePower("failed", "giving up after 4 attempt(s): connection refused")
    machine.on_polled(True, {**_ok(NODES[0], NODES[1]), NODES[2]: refused}, T)
    machine.on_boot_checks({NODES[0]: 1001}, 1006.0, T)
    assert machine.next_action() == StartPower("on", (NODES[2],))
    machine.on_power_started("tr-2", 1010)
    machine.on_polled(True, _ok(NODES[2]), T)
    machine.on_boot_checks({NODES[2]: 1011}, 1016.0, T)
    assert machine.next_action() == StartPower("restart", (NODES[1],))
    machine.on_power_started("tr-3", 1020)
    machine.on_polled(True, _ok(NODES[1]), T)
    machine.on_boot_checks({}, 1026.0, T)
    # The retry is spent: the node that never asked fails, with the restart's words.
    state = machine.state
    assert state.status == "failed" and state.retry_count == 1
    assert state.results.succeeded == [NODES[0], NODES[2]]
    assert "PCS Hard-Restart confirmed" in state.results.failed[NODES[1]]
    assert state.transition_ids == ["tr-1", "tr-2", "tr-3"]


def test_boot_powers_on_what_is_off_reboots_what_runs_another_version_and_leaves_the_rest() -> None:
    """BOS's `boot`: the template last wrote the nodes at 1000 (and this session rewrote
    NODES[3]); a node on that asked BSS after that runs the current version."""
    nodes = [*NODES, "x1000c0s1b0n1", "x1000c0s2b0n0"]
    writes = {"1000": nodes[:4], "900": nodes[4:]}
    machine = _machine(_spec(operation="boot", booted_when="bootscript", template_writes=writes), T)
    machine.on_resolved(nodes, T)
    machine.on_config_written(T, frozenset({nodes[3]}))
    assert machine.next_action() == Survey(tuple(nodes))
    power = {nodes[1]: "on", nodes[2]: "on", nodes[3]: "on", nodes[4]: "on"}
    fetched = {nodes[0]: 1500, nodes[1]: 1200, nodes[2]: 990, nodes[3]: 1200, nodes[4]: 950}
    machine.on_surveyed(power, fetched, T)
    # Off first, powered on; then the nodes on another version (or unknown), rebooted.
    assert machine.next_action() == StartPower("on", (nodes[0],))
    machine.on_power_started("tr-1", 2000)
    machine.on_polled(True, _ok(nodes[0]), T)
    machine.on_boot_checks({nodes[0]: 2001}, 2002.0, T)
    assert machine.next_action() == StartPower("restart", (nodes[2], nodes[3]))
    machine.on_power_started("tr-2", 2010)
    machine.on_polled(True, _ok(nodes[2], nodes[3]), T)
    machine.on_boot_checks({nodes[2]: 2011, nodes[3]: 2012}, 2013.0, T)
    state = machine.state
    assert state.status == "completed" and state.results.succeeded == sorted(nodes)
    assert state.results.phases == {
        "booted": [nodes[0], nodes[2], nodes[3]],
        "current": [nodes[1], nodes[4]],
    }
    assert state.results.steps == {"left alone": 2, "On": 1, "Hard-Restart": 2}
    # Every node on the current version: nothing to power.
    again = _machine(_spec(operation="boot", template_writes=writes), T)
    again.on_resolved(nodes, T)
    again.on_config_written(T)
    again.on_surveyed(dict.fromkeys(nodes, "on"), dict.fromkeys(nodes, 1100), T)
    assert again.state.status == "completed" and again.state.transition_ids == []
    assert again.state.results.phases == {"current": sorted(nodes)}


def test_booted_when_power_and_operations_without_power_on_check_nothing() -> None:
    for spec in (_spec(), _spec(operation="shutdown", booted_when="bootscript")):
        machine = _machine(spec, T)
        _through_power(machine)
        machine.on_power_started("tr-1", 1000)
        machine.on_polled(True, _ok(*NODES), T)
        assert machine.state.status == "completed"


def test_each_node_ends_in_a_phase_that_says_how_far_it_got() -> None:
    machine = _machine(_spec(booted_when="bootscript", timeout_seconds=30), T)
    _through_power(machine)
    machine.on_power_started("tr-1", 1000)
    machine.on_polled(False, {NODES[0]: NodePower("succeeded")}, T)
    machine.on_polled(True, {**_ok(NODES[0], NODES[1]), NODES[2]: NodePower("failed", "x")}, T)
    machine.on_timeout(T)  # while the first two boot
    assert machine.state.results.phases == {"failed": NODES}
    for operation, phase in (("shutdown", "off"), ("stage", "staged")):
        other = _machine(_spec(operation=operation), T)
        _through_power(other)
        if operation == "shutdown":
            other.on_power_started("tr-2", 1000)
            other.on_polled(True, _ok(*NODES), T)
        assert other.state.results.phases == {phase: NODES}


ROLLING = [f"x1000c0s{i}b0n0" for i in range(10)]


def _rolling(**extra: Any) -> SessionMachine:
    template = {"name": "t", "boot_sets": {"b": {"kernel": "http://h/k", "node_list": ROLLING}}}
    spec = BootSessionSpec.model_validate(
        {"name": "s", "template": template, "operation": "reboot"} | extra
    )
    machine = _machine(spec, T)
    machine.on_resolved(ROLLING, T)
    machine.on_config_written(T)
    machine.on_surveyed(dict.fromkeys(ROLLING, "on"), {}, T)
    return machine


def _run_batch(
    machine: SessionMachine, failing: set[str], fetched_at: int = 100
) -> tuple[str, ...]:
    """Power the batch the machine asks for (nodes in `failing` fail at PCS), verify the rest
    booted; the batch's nodes."""
    action = machine.next_action()
    assert isinstance(action, StartPower)
    machine.on_power_started(f"tr-{len(machine.state.transition_ids)}", started_epoch=fetched_at)
    tasks = {
        n: NodePower("failed", "BMC timeout") if n in failing else NodePower("succeeded")
        for n in action.nodes
    }
    machine.on_polled(True, tasks, T)
    check = machine.next_action()
    if isinstance(check, CheckBoots):
        machine.on_boot_checks({n: fetched_at for n in check.nodes}, fetched_at + 1, T)
    return action.nodes


def test_a_rolling_session_powers_one_batch_at_a_time_each_verified_first() -> None:
    machine = _rolling(batch_size=3, retry={"max_retries": 0})
    batches = []
    while not isinstance(machine.next_action(), Finished):
        batches.append(_run_batch(machine, set()))
    assert batches == [tuple(ROLLING[i : i + 3]) for i in range(0, 10, 3)]
    state = machine.state
    assert state.status == "completed" and state.results.batches == {"total": 4, "done": 4}
    assert state.results.steps == {"Hard-Restart": 10}
    assert len(state.transition_ids) == 4


def test_a_batch_is_verified_before_the_next_starts() -> None:
    machine = _rolling(batch_size=5)
    action = machine.next_action()
    assert isinstance(action, StartPower) and action.nodes == tuple(ROLLING[:5])
    machine.on_power_started("tr-0", started_epoch=100)
    machine.on_polled(True, _ok(*ROLLING[:5]), T)
    # Powered, but not all seen booting: still this batch.
    machine.on_boot_checks({n: 100 for n in ROLLING[:4]}, 101, T)
    assert machine.next_action() == CheckBoots((ROLLING[4],), 100)
    machine.on_boot_checks({n: 100 for n in ROLLING[:5]}, 102, T)
    assert machine.next_action() == StartPower("restart", tuple(ROLLING[5:]))


def test_over_the_failure_budget_no_further_batch_starts_and_the_rest_is_skipped() -> None:
    machine = _rolling(batch_size="20%", max_failed=1, retry={"max_retries": 1})
    _run_batch(machine, set())
    # Batch 2: two nodes fail, and fail their retry too: 2 > max_failed 1.
    _run_batch(machine, {ROLLING[2], ROLLING[3]})
    retry = _run_batch(machine, {ROLLING[2], ROLLING[3]})
    assert retry == (ROLLING[2], ROLLING[3])
    state = machine.state
    assert state.status == "failed"
    assert state.results.batches == {"total": 5, "done": 2}
    assert state.results.failed == {ROLLING[2]: "BMC timeout", ROLLING[3]: "BMC timeout"}
    unreached = ROLLING[4:]
    assert list(state.results.skipped.values()) == [unreached]
    assert "max_failed" in next(iter(state.results.skipped))
    assert state.results.pending == unreached  # the next `up` continues with them
    assert state.results.phases["skipped"] == unreached
    assert state.results.percent == {"booted": 20.0, "failed": 20.0, "skipped": 60.0}
    assert state.error_message.startswith(
        "stopped after batch 2 of 5: 2 node(s) failed, more than max_failed 1 allows (1);"
        " 4 of 10 node(s) acted on, 6 not reached (skipped)"
    )


def test_within_the_budget_every_batch_runs_and_the_failed_nodes_fail_the_session() -> None:
    machine = _rolling(batch_size=4, max_failed="10%", retry={"max_retries": 0})
    while not isinstance(machine.next_action(), Finished):
        _run_batch(machine, {ROLLING[0]})
    state = machine.state
    assert state.status == "failed" and state.results.batches == {"total": 3, "done": 3}
    assert list(state.results.failed) == [ROLLING[0]] and not state.results.skipped
    assert len(state.results.succeeded) == 9


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("batch_size", 0, "0 is less than 1 node(s)"),
        (
            "batch_size",
            "0%",
            "'0%' is not a number of nodes or a percentage of them (more than 0% to 100%",
        ),
        # Issue 21: YAML's `true` was a batch of one; spaces passed.
        ("batch_size", True, "True is not a number of nodes"),
        ("batch_size", "10 %", "'10 %' is not a number of nodes"),
        ("batch_size", " 5", "' 5' is not a number of nodes"),
        ("max_failed", False, "False is not a number of nodes"),
        ("batch_size", 2.5, "2.5 is not a number of nodes"),
        ("batch_size", "150%", "'150%' is not a number of nodes"),
        ("batch_size", "ten", "'ten' is not a number of nodes"),
        ("max_failed", -1, "-1 is less than 0 node(s)"),
    ],
)
def test_batch_size_and_max_failed_refuse_what_is_no_count_or_share(
    field: str, value: Any, said: str
) -> None:
    with pytest.raises(ValueError) as caught:
        _spec(**{field: value})
    assert field in str(caught.value) and said in str(caught.value)


def test_percentages_round_to_whole_nodes() -> None:
    spec = _spec(batch_size="25%", max_failed="15%")
    assert (spec.batch_nodes(10), spec.failure_budget(10)) == (3, 1)
    assert (spec.batch_nodes(2), spec.failure_budget(2)) == (1, 0)
    assert _spec(batch_size="12").batch_nodes(100) == 12
    # Issue 21: half a percent was refused, although it is 50 nodes at 10,000.
    assert _spec(batch_size="0.5%").batch_nodes(10_000) == 50
    # Engines send numbers as floats.
    assert (
        _spec(batch_size=2.0, max_failed=0.0).batch_nodes(10),
        _spec(max_failed=0.0).failure_budget(5),
    ) == (2, 0)
    assert (_spec().batch_nodes(7), _spec().failure_budget(7)) == (7, None)


def test_every_phase_has_its_moves_and_its_action_in_one_table() -> None:
    phases = set(typing.get_args(Phase))
    assert set(TRANSITIONS) == phases and set(_NEXT) == phases
    assert all(moves <= phases for moves in TRANSITIONS.values())
    # Every phase can end, and the end is reached only by finishing.
    assert all("done" in moves for moves in TRANSITIONS.values())


def test_a_move_the_table_does_not_hold_is_refused_naming_both_phases() -> None:
    machine = _machine(_spec())
    with pytest.raises(IllegalTransition, match="'created', not 'polling'"):
        machine.on_polled(True, _ok(*NODES), T)
    machine.on_resolved(NODES, T)
    with pytest.raises(IllegalTransition, match="cannot go from 'writing' to 'verifying'"):
        machine._move("verifying")
    assert machine.phase == "writing"


def test_a_reboot_with_a_retry_walks_the_table_in_order() -> None:
    """The phases one session passes through, each move one the table holds: a node that
    does not boot is restarted once, and the session then completes."""
    machine = _machine(_spec(booted_when="bootscript"))
    seen: list[str] = [machine.phase]

    def note() -> None:
        if machine.phase != seen[-1]:
            seen.append(machine.phase)

    machine.on_resolved(NODES, T)
    note()
    machine.on_config_written(T)
    note()
    machine.on_surveyed(dict.fromkeys(NODES, "on"), {}, T)
    note()
    for attempt, fetched in enumerate(({n: 100 for n in NODES[:2]}, {NODES[2]: 200})):
        machine.on_power_started(f"run-{attempt}", started_epoch=50 + 100 * attempt)
        note()
        machine.on_polled(True, _ok(*machine._attempt), T)
        note()
        machine.on_boot_checks(fetched, 10_000, T)
        note()
    assert seen == [
        "created",
        "writing",
        "surveying",
        "powering",
        "polling",
        "verifying",
        "powering",
        "polling",
        "verifying",
        "done",
    ]
    assert machine.state.status == "completed" and machine.state.retry_count == 1
