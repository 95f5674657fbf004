"""Faults injected per service and endpoint (ochami_provider/sim/faults.py): the resources retry
what is safe to retry, never repeat a non-idempotent call blindly, and end in a state that says
truthfully what was written, from which the next run converges."""

from __future__ import annotations

from typing import Any

import pytest

from ochami_provider import BootSessionProvider, BootTemplateProvider
from ochami_provider.errors import ServiceError, ServiceUnreachable
from ochami_provider.sim import Fleet, SimServer
from tests.conftest import nodes as expanded
from tests.conftest import session_props
from tests.test_resources import _created


def _template_inputs(sim: SimServer, **connection: Any) -> dict[str, Any]:
    from tests.conftest import template_props

    props = template_props(sim.url)
    props["connection"] = {"uri": sim.url, **connection}
    return BootTemplateProvider().check({}, props).inputs


def _requests(fleet: Fleet, service: str, method: str) -> int:
    return sum(1 for svc, m, _ in fleet.requests if svc == service and m == method)


def test_503_and_429_on_idempotent_calls_are_retried_until_they_pass(
    fleet: Fleet, sim: SimServer
) -> None:
    fleet.faults.add("bss", "PUT", kind="status", status=503, times=2)
    fleet.faults.add("smd", "GET", "/groups", kind="status", status=429, retry_after=0.05)
    fleet.faults.add("cloud-init", "GET", kind="status", status=502)
    outs = BootTemplateProvider().create(_template_inputs(sim)).outs
    assert outs is not None and outs["node_count"] == 12
    # two refused, the third landed (by name), then the write by MAC
    assert _requests(fleet, "bss", "PUT") == 4
    assert all(f.fired == f.times for f in fleet.faults.rules)
    assert len(fleet.bootparams) == 12 and "compute" in fleet.cloud_init_groups
    assert len(fleet.bootparams_by_mac) == 12


def test_a_dropped_connection_on_a_read_is_retried(fleet: Fleet, sim: SimServer) -> None:
    fleet.faults.add("bss", "GET", kind="reset", times=2)
    outs = BootTemplateProvider().create(_template_inputs(sim)).outs
    assert outs is not None and len(fleet.bootparams) == 12
    assert fleet.faults.rules[0].fired == 2


def test_a_failed_non_idempotent_write_is_sent_once_and_rolled_back(
    fleet: Fleet, sim: SimServer
) -> None:
    # cloud-init's POST (create) fails after BSS was written: one attempt, then the BSS write
    # is undone, so no record is left that no resource owns.
    fleet.faults.add("cloud-init", "POST", kind="status", status=500)
    provider = BootTemplateProvider()
    inputs = _template_inputs(sim)
    with pytest.raises(ServiceError) as caught:
        provider.create(inputs)
    assert caught.value.status == 500 and caught.value.service == "cloud-init"
    assert _requests(fleet, "cloud-init", "POST") == 1
    assert fleet.bootparams == {} and fleet.bootparams_by_mac == {}
    assert fleet.cloud_init_groups == {}
    # The error says so: "wrote boot parameters" followed by an error read as half-written.
    assert caught.value.__notes__ == [
        "Nothing is half-written: the 1 write(s) before it were rolled back"
        " (BSS: wrote boot parameters for 12 node(s) (and by 12 MAC(s)))."
    ]
    # The next run converges.
    outs = provider.create(inputs).outs
    assert outs is not None and len(fleet.bootparams) == 12 and "compute" in fleet.cloud_init_groups


def test_a_rollback_note_claims_no_write_that_never_happened(fleet: Fleet, sim: SimServer) -> None:
    """Issue 21: BSS's very first PUT failed, and the error said "the 1 write(s) before it were
    rolled back (BSS: wrote boot parameters for 12 node(s))"."""
    fleet.faults.add("bss", "PUT", kind="status", status=400, times=1)
    with pytest.raises(ServiceError) as caught:
        BootTemplateProvider().create(_template_inputs(sim))
    assert caught.value.service == "bss"
    assert not any("rolled back" in note for note in getattr(caught.value, "__notes__", []))
    assert fleet.bootparams == {} and fleet.cloud_init_groups == {}


def test_a_service_that_keeps_failing_leaves_nothing_behind(fleet: Fleet, sim: SimServer) -> None:
    fleet.faults.add("cloud-init", "POST", kind="reset", times=None)
    with pytest.raises(ServiceUnreachable):
        BootTemplateProvider().create(_template_inputs(sim))
    assert _requests(fleet, "cloud-init", "POST") == 1  # a POST is never repeated blindly
    assert fleet.bootparams == {} and fleet.cloud_init_groups == {}


def test_a_response_slower_than_the_timeout_is_a_clear_error_and_nothing_is_written(
    fleet: Fleet, sim: SimServer
) -> None:
    fleet.faults.add("smd", "GET", "/groups", kind="delay", delay=1.0, times=None)
    with pytest.raises(ServiceUnreachable) as caught:
        BootTemplateProvider().create(_template_inputs(sim, timeout=0.2))
    assert "ReadTimeout" in str(caught.value) and "/hsm/v2/groups/compute" in str(caught.value)
    assert fleet.count(writes_only=True) == 0


def test_slow_but_within_the_timeout_just_works(fleet: Fleet, sim: SimServer) -> None:
    fleet.faults.add("bss", "PUT", kind="delay", delay=0.3)
    outs = BootTemplateProvider().create(_template_inputs(sim, timeout=5)).outs
    assert outs is not None and len(fleet.bootparams) == 12
    assert _requests(fleet, "bss", "PUT") == 2  # by name, by MAC


def test_a_refused_power_request_is_not_repeated_and_the_session_fails_truthfully(
    fleet: Fleet, sim: SimServer
) -> None:
    _, template = _created(sim)
    fleet.faults.add("pcs", "POST", "/transitions", kind="status", status=503, times=None)
    provider = BootSessionProvider()
    props = session_props(sim, template)
    outs = provider.create(props).outs
    assert outs is not None and outs["status"] == "failed"
    assert "HTTP 503" in outs["error_message"]
    nodes = expanded(template["hosts"]["compute"])
    assert all(fleet.nodes[x].power == "off" for x in nodes)
    posts = sum(
        1
        for svc, m, path in fleet.requests
        if (svc, m) == ("pcs", "POST") and "/transitions" in path
    )
    # One transition per attempt the session's own retry policy allows, never a transport retry.
    assert posts == 1 + outs["retry_count"]
    fleet.faults.clear()
    retried = provider.update("id", outs, props).outs
    assert retried is not None and retried["status"] == "completed"
    assert all(fleet.nodes[x].power == "on" for x in nodes)


def test_nodes_that_never_finish_time_out_alone_and_are_retried_alone(
    fleet: Fleet, sim: SimServer
) -> None:
    _, template = _created(sim)
    nodes = expanded(template["hosts"]["compute"])
    stuck = nodes[3]
    fleet.stuck.add(stuck)
    provider = BootSessionProvider()
    props = session_props(sim, template, timeout_seconds=0.5, retry={"max_retries": 0})
    outs = provider.create(props).outs
    assert outs is not None and outs["status"] == "failed"
    assert list(outs["results"]["failed"]) == [stuck]
    assert expanded(outs["results"]["succeeded"]) == sorted(set(nodes) - {stuck})
    fleet.stuck.clear()
    before = len(fleet.transitions)
    retried = provider.update("id", outs, props).outs
    assert retried is not None and retried["status"] == "completed"
    new = list(fleet.transitions.values())[before:]
    assert {t.xname for tr in new for t in tr.tasks} == {stuck}


def test_fault_specs_from_the_command_line() -> None:
    from ochami_provider.sim.faults import FaultPlan, parse_fault

    spec = parse_fault("bss:PUT:/bootparameters:status:status=503:retry_after=2:times=always")
    assert spec == {
        "service": "bss",
        "method": "PUT",
        "path": "/bootparameters",
        "kind": "status",
        "status": 503,
        "retry_after": 2.0,
        "times": None,
    }
    plan = FaultPlan()
    fault = plan.add(**spec)  # type: ignore[arg-type]
    assert plan.take("bss", "PUT", "/bootparameters") is fault
    assert plan.take("bss", "GET", "/bootparameters") is None
    with pytest.raises(ValueError, match="unknown option 'colour'"):
        parse_fault("bss:PUT::status:colour=red")
    with pytest.raises(ValueError, match="status='x' is not a number"):
        parse_fault("bss:PUT::status:status=x")
    with pytest.raises(ValueError, match="'dns' is not one of smd, bss, cloud-init, pcs"):
        plan.add("dns")
    with pytest.raises(ValueError, match="'explode' is not one of status, delay, reset"):
        plan.add("bss", kind="explode")  # type: ignore[arg-type]
