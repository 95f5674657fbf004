"""Two sessions over the same nodes, in one stack or two: the second is refused, not interleaved.

Sessions hold their nodes with SMD service reservations, which every stack (and PCS) sees.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from ochami_provider import BootSessionProvider, BootTemplateProvider
from ochami_provider.clients import Services
from ochami_provider.errors import SessionConflictError
from ochami_provider.models.template import TEMPLATE_SPEC_KEYS as SPEC_KEYS
from ochami_provider.sim import Fleet, SimServer
from tests.conftest import nodes, template_props


def _template(sim: SimServer) -> dict[str, Any]:
    provider = BootTemplateProvider()
    outs = provider.create(provider.check({}, template_props(sim.url)).inputs).outs
    assert outs is not None
    return outs


def _session(sim: SimServer, template: dict[str, Any], name: str, **extra: Any) -> dict[str, Any]:
    props = {
        "name": name,
        "template": {k: template[k] for k in SPEC_KEYS},
        "operation": "reboot",
        "poll_interval_seconds": 0.02,
        "connection": {"uri": sim.url},
        **extra,
    }
    return BootSessionProvider().check({}, props).inputs


def _wait_for(predicate: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.mark.parametrize("where", ["one stack", "two stacks"])
def test_a_second_session_over_held_nodes_is_refused_before_any_write(
    fleet: Fleet, sim: SimServer, where: str
) -> None:
    template = _template(sim)
    compute = nodes(template["hosts"]["compute"])
    fleet.stuck.add(compute[0])  # keeps the first session running until its timeout
    first_provider = BootSessionProvider()
    # Two stacks: two provider processes; they share nothing but the services.
    second_provider = first_provider if where == "one stack" else BootSessionProvider()
    outcome: dict[str, Any] = {}
    first = threading.Thread(
        target=lambda: outcome.update(
            first_provider.create(_session(sim, template, "first", timeout_seconds=1.5)).outs or {}
        )
    )
    first.start()
    try:
        _wait_for(lambda: len(fleet.transitions) == 1)
        writes = fleet.count("bss", writes_only=True) + fleet.count("pcs", writes_only=True)
        overlapping = _session(sim, template, "second", limit=[compute[0], compute[-1]])
        with pytest.raises(SessionConflictError) as caught:
            second_provider.create(overlapping)
        message = str(caught.value)
        assert "'second'" in message and compute[0] in message and compute[-1] in message
        assert "nothing was written" in message
        assert fleet.count("bss", writes_only=True) + fleet.count("pcs", writes_only=True) == (
            writes
        )
        assert len(fleet.transitions) == 1
    finally:
        first.join()
    assert outcome["status"] == "failed"  # the stuck node timed out
    # The first released its nodes: the same session now runs.
    fleet.stuck.clear()
    again = second_provider.create(overlapping).outs
    assert again is not None and again["status"] == "completed"


def test_sessions_over_disjoint_nodes_run_side_by_side(fleet: Fleet, sim: SimServer) -> None:
    template = _template(sim)
    compute = nodes(template["hosts"]["compute"])
    fleet.stuck.add(compute[0])
    provider = BootSessionProvider()
    first = threading.Thread(
        target=lambda: provider.create(
            _session(sim, template, "first", limit=compute[:2], timeout_seconds=1.0)
        )
    )
    first.start()
    try:
        _wait_for(lambda: len(fleet.transitions) == 1)
        outs = provider.create(_session(sim, template, "second", limit=compute[2:])).outs
        assert outs is not None and outs["status"] == "completed"
    finally:
        first.join()


def test_a_reservation_left_by_an_interrupted_run_lapses_on_its_own(
    fleet: Fleet, sim: SimServer, services: Services
) -> None:
    """A killed `pulumi up` cannot release its reservation; it lapses, and the next run goes."""
    template = _template(sim)
    compute = nodes(template["hosts"]["compute"])
    fleet.reservation_minute = 0.3  # a reservation "minute" of 0.3 s
    services.smd.reserve(compute[:1], 1)  # what the interrupted session left behind
    props = _session(sim, template, "after-interrupt")
    with pytest.raises(SessionConflictError, match="lapses 2 minutes"):
        BootSessionProvider().create(props)
    time.sleep(0.4)
    outs = BootSessionProvider().create(props).outs
    assert outs is not None and outs["status"] == "completed"
    assert fleet.reservations == {}  # released at the end


def test_pcs_powers_a_reserved_node_only_for_the_holder(
    fleet: Fleet, sim: SimServer, services: Services
) -> None:
    nodes = list(fleet.nodes)[4:6]
    held = services.smd.reserve(nodes, 1)
    stranger = services.pcs.start_transition("On", nodes)
    holder = services.pcs.start_transition(
        "On", nodes, deputy_keys={r.id: r.deputy_key for r in held}
    )
    _wait_for(lambda: services.pcs.get_transition(holder).finished)
    assert {t.task_status for t in services.pcs.get_transition(holder).tasks} == {"succeeded"}
    refused = services.pcs.get_transition(stranger).tasks
    assert {t.task_status for t in refused} == {"failed"}
    assert all("reserve" in (t.error or "").lower() for t in refused)
