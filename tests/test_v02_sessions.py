"""Templates and sessions on OpenCHAMI v0.2 (issue 22): the simulator as v0.2 (boot-service,
metadata-service; no `/boot/v1`), its nodes booting from boot-service's `/bootscript?mac=`
as iPXE does, the sessions proving boots by the nodes' own command line. What boot-service
cannot tell (it keeps no fetch history) is refused at check, naming the backend."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ochami_provider import BootSessionProvider, BootTemplateProvider
from ochami_provider.clients import Services
from ochami_provider.config import ProviderConfig
from ochami_provider.node_status import gather, rows
from ochami_provider.sim import Fleet, SimServer
from tests.conftest import nodes, template_props

V02 = {"bootBackend": "boot-service"}


@pytest.fixture
def v02() -> Iterator[tuple[Fleet, SimServer]]:
    fleet = Fleet.generate(16, groups={"compute": range(4, 16), "login": range(4)})
    fleet.generation = "v0.2"
    with SimServer(fleet) as sim:
        yield fleet, sim


def _pdsh(sim: SimServer) -> str:
    module = f"{shlex.quote(sys.executable)} -m ochami_provider.sim.pdsh --sim {sim.url}"
    return f'{module} -w "$OCHAMI_NODES" cat /proc/cmdline'


def _template(sim: SimServer) -> dict[str, Any]:
    props = template_props(sim.url, cloud_init=None)
    props["connection"] = {"uri": sim.url, "verifyArtifacts": False, **V02}
    template = BootTemplateProvider().create(BootTemplateProvider().check({}, props).inputs).outs
    assert template is not None
    return template


def _session_check(sim: SimServer, template: dict[str, Any], **extra: Any) -> Any:
    session = {
        "name": "reboot-compute",
        "template": {k: template[k] for k in ("name", "description", "boot_sets", "cloud_init")},
        "operation": "reboot",
        "poll_interval_seconds": 0.05,
        "connection": {"uri": sim.url, **V02},
        **extra,
    }
    return BootSessionProvider().check({}, session)


def _run(sim: SimServer, template: dict[str, Any], **extra: Any) -> dict[str, Any]:
    checked = _session_check(sim, template, **extra)
    assert not checked.failures, checked.failures
    outs = BootSessionProvider().create(checked.inputs).outs
    assert outs is not None
    return outs


def _boot(sim: SimServer, template: dict[str, Any], name: str) -> dict[str, Any]:
    """A `boot` session named `name`, proved by the probe, run to completion."""
    outs = _run(
        sim, template, name=name, operation="boot", booted_when="cmdline", probe_command=_pdsh(sim)
    )
    assert outs["status"] == "completed", outs["error_message"]
    return outs


def test_the_simulator_serves_one_generation_or_the_other(v02: tuple[Fleet, SimServer]) -> None:
    _, sim = v02
    assert httpx.get(sim.url + "/boot/v1/bootparameters").status_code == 404
    assert httpx.get(sim.url + "/cloud-init/admin/groups").status_code == 404
    assert httpx.get(sim.url + "/boot-service/bootconfigurations").status_code == 200
    v01 = Fleet.generate(2)
    v01.generation = "v0.1"
    with SimServer(v01) as old:
        assert httpx.get(old.url + "/boot-service/bootconfigurations").status_code == 404
        assert httpx.get(old.url + "/boot/v1/bootparameters").status_code == 200


def test_a_reboot_session_boots_the_nodes_from_boot_service_and_sees_them_run_it(
    v02: tuple[Fleet, SimServer],
) -> None:
    fleet, sim = v02
    template = _template(sim)
    assert fleet.bootparams == {} and len(fleet.boot_configurations) == 1
    outs = _run(sim, template, booted_when="cmdline", probe_command=_pdsh(sim))
    assert outs["status"] == "completed", outs["error_message"]
    compute = sorted(fleet.groups["compute"]["members"]["ids"])
    assert nodes(outs["results"]["succeeded"]) == compute
    for node in compute:
        cmdline = fleet.nodes[node].cmdline
        assert f"ochami.version={template['version']}" in cmdline
        assert "ochami.session=reboot-compute" in cmdline  # the session's configuration
        assert "BOOTIF=01-" in cmdline  # boot-service's own addition
    # The session moved its nodes into a configuration of its own; none is left targeting
    # nothing (a catch-all).
    labels = [c["metadata"]["labels"] for c in fleet.boot_configurations.values()]
    assert [lab["ochami.session"] for lab in labels] == ["reboot-compute"]


def test_boot_leaves_alone_the_nodes_that_run_the_template_by_their_own_word(
    v02: tuple[Fleet, SimServer],
) -> None:
    """BOS's `boot` with no fetch history to read: the probe tells which nodes already run
    this version; they are not powered (no reboot nobody asked for)."""
    fleet, sim = v02
    template = _template(sim)
    first = _run(sim, template, booted_when="cmdline", probe_command=_pdsh(sim))
    assert first["status"] == "completed", first["error_message"]
    transitions = len(fleet.transitions)
    again = _boot(sim, template, "boot-compute")
    assert again["results"]["steps"] == {"left alone": 12}
    assert len(fleet.transitions) == transitions  # nothing powered
    # One node powered off by hand: only it is powered on.
    off = sorted(fleet.groups["compute"]["members"]["ids"])[0]
    fleet.nodes[off].power = "off"
    fleet.nodes[off].cmdline = ""
    third = _boot(sim, template, "boot-compute-2")
    assert third["results"]["steps"] == {"left alone": 11, "On": 1}
    assert len(fleet.transitions) == transitions + 1


def test_what_boot_service_cannot_prove_is_refused_at_check_naming_the_backend(
    v02: tuple[Fleet, SimServer],
) -> None:
    _, sim = v02
    template = _template(sim)
    default = _session_check(sim, template)  # booted_when: bootscript
    assert [f.property for f in default.failures] == ["booted_when"]
    assert "boot-service (ochami:bootBackend), records none" in default.failures[0].reason
    boot = _session_check(sim, template, operation="boot", booted_when="power")
    assert [f.property for f in boot.failures] == ["operation"]
    assert "leaves alone the nodes already on the template's version" in boot.failures[0].reason
    assert _session_check(sim, template, booted_when="power").failures == []
    shutdown = _session_check(sim, template, operation="shutdown")
    assert shutdown.failures == []  # proves nothing by a boot


def test_status_reads_what_boot_service_serves_each_node(v02: tuple[Fleet, SimServer]) -> None:
    fleet, sim = v02
    template = _template(sim)
    config = ProviderConfig.model_validate({"uri": sim.url, **V02})
    with Services.from_config(config) as services:
        found = gather(services)
    compute = set(fleet.groups["compute"]["members"]["ids"])
    assert {s.node for s in found if s.template == "compute"} == compute
    assert {s.version for s in found if s.node in compute} == {template["version"]}
    assert {s.template for s in found if s.node not in compute} == {None}
    assert {s.last_bootscript_fetch for s in found} == {None}  # boot-service records none
    assert {r.last_fetch for r in rows(found)} == {"not recorded (boot-service keeps none)"}


def _requests_for(size: int) -> dict[str, int]:
    """Requests per service and method for a template and a reboot session over `size` nodes
    on OpenCHAMI v0.2, the session proving boots by the probe."""
    fleet = Fleet.generate(size, power_delay=0.0)
    fleet.generation = "v0.2"
    with SimServer(fleet) as sim:
        template = _template(sim)
        assert template["node_count"] == size
        fleet.requests.clear()
        outs = _run(sim, template, booted_when="cmdline", probe_command=_pdsh(sim))
        assert outs["status"] == "completed", outs["error_message"]
        assert outs["results"]["succeeded_count"] == size
    counted: dict[str, int] = {}
    for service, method, _ in fleet.requests:
        if service:
            counted[f"{service} {method}"] = counted.get(f"{service} {method}", 0) + 1
    return counted


def test_requests_to_boot_service_do_not_grow_with_the_fleet() -> None:
    small, large = _requests_for(100), _requests_for(10_000)
    polls = ("pcs GET",)  # PCS is polled until the transition ends: time, not nodes
    assert {k: v for k, v in small.items() if k not in polls} == {
        k: v for k, v in large.items() if k not in polls
    }
    assert small["boot-service POST"] == 1  # the session's own configuration
    # The template's, left with no node (the session took them all): deleted, not a catch-all.
    assert small["boot-service DELETE"] == 1 and "boot-service PUT" not in small


def _with_group_data(sim: SimServer, **cloud_init: Any) -> dict[str, Any]:
    props = template_props(sim.url)
    props["cloud_init"] = {**props["cloud_init"], **cloud_init}
    props["connection"] = {
        "uri": sim.url,
        "verifyArtifacts": False,
        "groupDataBackend": "metadata-service",
        **V02,
    }
    return props


def test_group_data_goes_to_metadata_service_and_comes_back_out(
    v02: tuple[Fleet, SimServer],
) -> None:
    """The template's cloud-init data as a metadata-service Group (the simulator's model of
    it: the real service is not tested here), owned by its description's marker and labels;
    an edit replaces it in place, a hand edit is drift, destroy removes it."""
    fleet, sim = v02
    provider = BootTemplateProvider()
    props = _with_group_data(sim)
    created = provider.create(provider.check({}, props).inputs).outs
    assert created is not None
    [group] = fleet.metadata_groups.values()
    assert group["metadata"]["name"] == "compute"
    assert group["metadata"]["labels"] == {
        "ochami.template": "compute",
        "ochami.stack": created["deployment"] or "",
    }
    assert group["spec"]["template"] == props["cloud_init"]["user_data"]
    assert group["spec"]["metaData"] == {"site": "test"}
    assert "[ochami.template=compute" in group["spec"]["description"]
    uid = group["metadata"]["uid"]

    edited = _with_group_data(sim, meta_data={"site": "test", "rack": "r1"})
    checked = provider.check(created, edited)
    assert not checked.failures, checked.failures
    updated = provider.update("compute", created, checked.inputs).outs
    assert list(fleet.metadata_groups) == [uid]
    assert fleet.metadata_groups[uid]["spec"]["metaData"] == {"site": "test", "rack": "r1"}

    fleet.metadata_groups[uid]["spec"]["metaData"] = {"site": "by-hand"}
    read = provider.read("compute", updated)
    assert read.outs is not None
    assert read.outs["cloud_init"]["meta_data"] == {"site": "by-hand"}  # drift, for refresh

    provider.delete("compute", updated)
    assert fleet.metadata_groups == {}


def test_nested_meta_data_is_refused_on_metadata_service_naming_the_key(
    v02: tuple[Fleet, SimServer],
) -> None:
    _, sim = v02
    props = _with_group_data(sim, meta_data={"site": "test", "rack": {"row": 3}, "slots": 4})
    failures = BootTemplateProvider().check({}, props).failures
    assert sorted(f.property for f in failures) == [
        "cloud_init.meta_data.rack",
        "cloud_init.meta_data.slots",
    ]
    assert "strings only" in failures[0].reason


def test_a_rolling_reboot_with_hooks_then_stage_and_shutdown_on_boot_service(
    v02: tuple[Fleet, SimServer], tmp_path: Path
) -> None:
    """The other operations and options on v0.2: a rolling reboot in batches of 4 whose
    pre/post commands (run once, around the whole session) see its nodes in hostlist
    notation, a `stage` that writes and powers nothing, a `shutdown` that powers them off."""
    fleet, sim = v02
    template = _template(sim)
    log = tmp_path / "hooks.log"
    rolling = _run(
        sim,
        template,
        booted_when="cmdline",
        probe_command=_pdsh(sim),
        batch_size=4,
        max_failed=0,
        pre_command=f'echo "pre $OCHAMI_NODES" >> {log}',
        post_command=f'echo "post $OCHAMI_NODES" >> {log}',
    )
    assert rolling["status"] == "completed", rolling["error_message"]
    assert rolling["results"]["batches"] == {"total": 3, "done": 3}
    hostlist = "x1000c0s[2-7]b0n[0-1]"
    assert log.read_text().splitlines() == [f"pre {hostlist}", f"post {hostlist}"]
    assert len(fleet.transitions) == 3

    fleet.boot_configurations.clear()  # wiped by hand: a stage puts it back, powering nothing
    staged = _run(sim, template, name="stage-compute", operation="stage")
    assert staged["status"] == "completed" and len(fleet.transitions) == 3
    compute = sorted(fleet.groups["compute"]["members"]["ids"])
    boots = gather_boots(sim, compute)
    assert set(boots) == set(compute)

    down = _run(sim, template, name="shutdown-compute", operation="shutdown")
    assert down["status"] == "completed", down["error_message"]
    assert all(fleet.nodes[n].power == "off" for n in compute)


def gather_boots(sim: SimServer, nodes: list[str]) -> dict[str, Any]:
    config = ProviderConfig.model_validate({"uri": sim.url, **V02})
    with Services.from_config(config) as services:
        return dict(services.boot.read(nodes))
