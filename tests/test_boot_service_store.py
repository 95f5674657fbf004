"""The boot store on OpenCHAMI v0.2 (issue 22, item 2): templates written to boot-service
BootConfigurations through the same writer as on BSS, with the same promises: one
configuration per boot set, owned by labels and markers; found again by label; drift shown and
put back; a configuration of someone else's that would outscore ours refused, a weaker one left
alone; a session's nodes moved to a configuration of their own; destroy removes only ours;
nothing half-written. Each test runs on the simulator and on the real boot-service v0.3.2."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ochami_provider.backends.boot_service import PRIORITY
from ochami_provider.claims import NodeClaims
from ochami_provider.clients import Services
from ochami_provider.errors import InvalidInputError, ServiceError
from ochami_provider.models import BootTemplateSpec
from ochami_provider.models.boot_configuration import BootConfiguration, BootConfigurationSpec
from ochami_provider.models.owner import Owner, Stake
from ochami_provider.sim.ipxe import kernel_command_line
from ochami_provider.template_import import import_template
from ochami_provider.template_writer import (
    read_template,
    remove_template,
    target_problems,
    write_template,
)
from tests.backends import Backend

STAKE = Stake(Owner("compute", "ochami-boot/v02"))


def _spec(
    params: str = "console=ttyS0", kernel: str = "http://h/vmlinuz", name: str = "compute"
) -> BootTemplateSpec:
    return BootTemplateSpec.model_validate(
        {
            "name": name,
            "boot_sets": {
                "login": {"kernel": kernel, "node_groups": ["login"]},
                "compute": {
                    "kernel": kernel,
                    "initrd": "http://h/initrd",
                    "kernel_parameters": params,
                    "node_groups": ["compute"],
                },
            },
        }
    )


@pytest.fixture
def services(backend: Backend) -> Iterator[Services]:
    with backend.services(bootBackend="boot-service") as s:
        yield s
        for item in s.boot_service.list():
            s.boot_service.delete(item.uid)


def _ours(services: Services) -> dict[str, BootConfiguration]:
    return {
        c.labels["ochami.boot_set"]
        + (f"/{c.labels['ochami.session']}" if c.labels.get("ochami.session") else ""): c
        for c in services.boot_service.list()
        if "ochami.template" in c.labels
    }


def test_a_template_is_one_configuration_per_boot_set_by_xname_and_mac(
    backend: Backend, services: Services
) -> None:
    spec = _spec()
    report = write_template(services, spec, STAKE)
    nodes = backend.nodes
    assert report.hosts_by_set == {"login": nodes[:4], "compute": nodes[4:]}
    ours = _ours(services)
    assert sorted(ours) == ["compute", "login"]
    compute = ours["compute"]
    macs = services.smd.boot_macs()
    assert compute.spec.hosts == nodes[4:]
    assert sorted(compute.spec.macs) == sorted(m.lower() for n in nodes[4:] for m in macs[n])
    assert compute.spec.priority == PRIORITY and compute.spec.groups == []
    assert compute.spec.params == (
        "console=ttyS0 ochami.template=compute@ochami-boot/v02 ochami.boot_set=compute"
        f" ochami.version={spec.version()}"
    )
    assert compute.labels == {
        "ochami.template": "compute",
        "ochami.stack": "ochami-boot/v02",
        "ochami.boot_set": "compute",
        "ochami.session": "",
        "ochami.version": spec.version(),
    }
    assert compute.name == "compute-compute"
    # What each node boots, read back: every node, its owner.
    boots = services.boot.read(nodes)
    assert sorted(boots) == nodes and {b.boot.owner for b in boots.values()} == {STAKE.owner}
    # Written again unchanged: nothing to write.
    again = write_template(services, spec, STAKE, previous_hosts=nodes)
    assert again.changes == [] and _ours(services) == ours


def test_an_edit_updates_its_configuration_in_place_and_a_leaver_is_taken_out(
    backend: Backend, services: Services
) -> None:
    write_template(services, _spec(), STAKE)
    before = _ours(services)
    changed = _spec("console=ttyS0 quiet")
    report = write_template(services, changed, STAKE, previous_hosts=backend.nodes)
    assert report.written_hosts == backend.nodes[4:]
    after = _ours(services)
    assert after["compute"].uid == before["compute"].uid  # the same configuration, updated
    assert after["compute"].spec.params.startswith("console=ttyS0 quiet ochami.template=")
    assert after["compute"].labels["ochami.version"] == changed.version()
    # login's boot is the same; only its version marker moves on (as on BSS), in place.
    assert after["login"].uid == before["login"].uid
    assert after["login"].spec.params.endswith(f"ochami.version={changed.version()}")
    # A boot set that loses all its nodes: its configuration goes (left empty, it would be a
    # catch-all for every node boot-service knows).
    only_compute = BootTemplateSpec.model_validate(
        {"name": "compute", "boot_sets": {"compute": changed.boot_sets["compute"]}}
    )
    write_template(services, only_compute, STAKE, previous_hosts=backend.nodes)
    assert sorted(_ours(services)) == ["compute"]
    assert services.boot.read(backend.nodes[:4]) == {}


def test_drift_is_read_back_and_put_right(backend: Backend, services: Services) -> None:
    spec = _spec()
    write_template(services, spec, STAKE)
    compute = _ours(services)["compute"]
    edited = compute.spec.model_copy(update={"params": "init=/bin/sh"})
    services.boot_service.update(compute.uid, compute.name, {}, edited)  # by hand
    observed, plan = read_template(services, spec, STAKE, backend.nodes)
    kernel_parameters = [c for c in plan.changes if c.path.endswith("kernel_parameters")]
    assert [(c.old, c.new, len(c.nodes)) for c in kernel_parameters] == [
        ("init=/bin/sh", "console=ttyS0", 12)
    ]
    write_template(services, spec, STAKE, previous_hosts=backend.nodes)
    assert _ours(services)["compute"].spec == compute.spec


def test_a_configuration_that_would_outscore_ours_is_refused_and_a_weaker_one_left_alone(
    backend: Backend, services: Services
) -> None:
    nodes = backend.nodes
    node = nodes[5]
    mac = services.smd.boot_macs()[node][0]
    # Made by hand: a catch-all, and a host-only one for the node; ours outscores both.
    catch_all = services.boot_service.create(
        "site-default", {}, BootConfigurationSpec(kernel="http://h/rescue")
    )
    weaker = services.boot_service.create(
        "by-hand", {}, BootConfigurationSpec(hosts=[node], kernel="http://h/old", priority=100)
    )
    write_template(services, _spec(), STAKE)
    assert services.boot.read([node])[node].boot.owner == STAKE.owner
    assert services.boot_service.get(catch_all.uid) == catch_all
    assert services.boot_service.get(weaker.uid) == weaker
    remove_template(services, STAKE, nodes, [])
    # One that matches the node by MAC and by xname at the top priority would tie with ours:
    # refused at check and at the write, naming it; nothing written.
    services.boot_service.create(
        "pinned",
        {},
        BootConfigurationSpec(hosts=[node], macs=[mac], kernel="http://h/debug", priority=100),
    )
    problems = target_problems(services, _spec(), STAKE, NodeClaims())
    assert [(p.field, p.value) for p in problems] == [("boot_sets.compute", f"got {node!r}")]
    assert "configuration 'pinned'" in problems[0].message
    assert "scores 150 at priority 100" in problems[0].message
    mine = {c.uid for c in services.boot_service.list()}
    with pytest.raises(InvalidInputError) as refused:
        write_template(services, _spec(), STAKE)
    assert refused.value.field == "boot_sets.compute"
    assert {c.uid for c in services.boot_service.list()} == mine


def test_a_session_moves_its_nodes_to_its_own_configuration(
    backend: Backend, services: Services
) -> None:
    spec = _spec()
    write_template(services, spec, STAKE)
    chosen = backend.nodes[4:6]
    report = write_template(
        services,
        spec,
        STAKE,
        owned_groups=[],
        only_nodes=chosen,
        session="reboot-two",
    )
    assert report.written_hosts == []  # the session marker alone changes nothing booted
    ours = _ours(services)
    assert sorted(ours) == ["compute", "compute/reboot-two", "login"]
    assert ours["compute/reboot-two"].spec.hosts == chosen
    assert ours["compute/reboot-two"].name == "compute-compute-reboot-two"
    assert not set(chosen) & set(ours["compute"].spec.hosts)
    boots = services.boot.read(backend.nodes[4:])
    assert {n for n, b in boots.items() if "ochami.session=reboot-two" in b.boot.params} == set(
        chosen
    )
    # The template's next write leaves the session's marker in place (no change), and destroy
    # removes every configuration of ours, and only those.
    assert write_template(services, spec, STAKE, previous_hosts=backend.nodes).changes == []
    hand_made = services.boot_service.create(
        "spare", {}, BootConfigurationSpec(hosts=[backend.nodes[0]], kernel="http://h/k")
    )
    remove_template(services, STAKE, backend.nodes, [])
    assert [c.uid for c in services.boot_service.list()] == [hand_made.uid]


def test_state_lost_the_configurations_are_found_again_by_their_labels(
    backend: Backend, services: Services
) -> None:
    """No UID is kept anywhere: a second writer (a fresh state) finds and updates ours."""
    write_template(services, _spec(), STAKE)
    uids = {k: c.uid for k, c in _ours(services).items()}
    with backend.services(bootBackend="boot-service") as fresh:
        write_template(fresh, _spec("quiet"), STAKE)
        assert {k: c.uid for k, c in _ours(fresh).items()} == uids


def test_a_failed_write_puts_back_the_configurations_written_before_it(
    backend: Backend, services: Services
) -> None:
    if backend.kind != "sim":
        pytest.skip("faults are injected into the simulator")
    write_template(services, _spec(), STAKE)
    before = {c.uid: c for c in services.boot_service.list()}
    # Both boot sets change; the second update (compute's configuration) is refused, and
    # login's, done first, is put back.
    compute = _ours(services)["compute"].uid
    backend.fleet.faults.add("boot-service", "PUT", compute, status=400, times=None)
    with pytest.raises(ServiceError) as failed:
        write_template(services, _spec(kernel="http://h/vmlinuz-2"), STAKE)
    backend.fleet.faults.clear()
    notes = "".join(failed.value.__notes__)
    assert "Nothing is half-written: the 1 write(s) before it were rolled back" in notes
    assert "boot-service: updated configuration compute-login" in notes
    assert {c.uid: c for c in services.boot_service.list()} == before


def _served(services: Services, mac: str) -> str:
    """The kernel command line boot-service's `/bootscript?mac=` boots, as iPXE asks."""
    script = services.boot_service.transport.request("GET", "/bootscript", params={"mac": mac})
    return kernel_command_line(script.text)


def test_a_node_asking_by_mac_boots_what_the_adapter_says_it_boots(
    backend: Backend, services: Services
) -> None:
    """boot-service's own choice among configurations, against the adapter's reading of it:
    ours for the template's nodes; a hand-made one that outscores ours (MAC, xname and NID)
    wins there too, and the adapter names it."""
    spec = _spec()
    write_template(services, spec, STAKE)
    node = backend.nodes[5]
    mac = backend.fleet.nodes[node].mac
    bootif = "BOOTIF=01-" + mac.lower().replace(":", "-")
    assert _served(services, mac) == (
        "BOOT_IMAGE=http://h/vmlinuz console=ttyS0 ochami.template=compute@ochami-boot/v02"
        f" ochami.boot_set=compute ochami.version={spec.version()} {bootif}"
    )
    assert services.boot.read([node])[node].outranked_by is None
    services.boot_service.create(
        "debug-one-node",
        {},
        BootConfigurationSpec(
            hosts=[node],
            macs=[mac],
            nids=[backend.fleet.nodes[node].nid],
            kernel="http://h/debug",
            params="init=/bin/sh",
        ),
    )
    assert _served(services, mac) == f"BOOT_IMAGE=http://h/debug init=/bin/sh {bootif}"
    seen = services.boot.read([node])[node]
    assert seen.boot.kernel == "http://h/debug"
    assert seen.outranked_by is not None and "scores 225 at priority 0" in seen.outranked_by


def test_a_rename_takes_the_nodes_over_and_the_old_ones_delete_leaves_them(
    backend: Backend, services: Services
) -> None:
    """A template renamed in its stack (the old name no longer declared): the new one takes
    every node in its write, the old configurations go as they empty, and the old template's
    destroy, running after, leaves the nodes the new one boots."""
    write_template(services, _spec(), STAKE)
    renamed = Stake(Owner("compute-v2", "ochami-boot/v02"), declared=frozenset({"compute-v2"}))
    write_template(services, _spec(name="compute-v2"), renamed)
    owners = {c.labels["ochami.template"] for c in services.boot_service.list()}
    assert owners == {"compute-v2"}
    remove_template(services, STAKE, backend.nodes, [])
    boots = services.boot.read(backend.nodes)
    assert {b.boot.owner for b in boots.values()} == {renamed.owner}
    assert sorted(boots) == backend.nodes


def test_a_hand_made_configuration_is_imported_and_outlives_the_templates_destroy(
    backend: Backend, services: Services
) -> None:
    """`import <name>:<group>` of a configuration made by hand (`ochami` CLI): the template
    rebuilt from it takes its nodes over by outscoring it, never editing it; destroyed, the
    nodes boot the hand-made one again."""
    login = backend.nodes[:4]
    made = services.boot_service.create(
        "login-by-hand",
        {},
        BootConfigurationSpec(hosts=login, kernel="http://h/login", params="console=ttyS1"),
    )
    imported = import_template(services, "login-image:login", "ochami-boot/v02")
    boot_set = imported.spec.boot_sets["login"]
    assert (boot_set.kernel, boot_set.kernel_parameters, boot_set.node_groups) == (
        "http://h/login",
        "console=ttyS1",
        ["login"],
    )
    stake = Stake(Owner("login-image", "ochami-boot/v02"))
    write_template(services, imported.spec, stake)
    assert {b.boot.owner for b in services.boot.read(login).values()} == {stake.owner}
    assert services.boot_service.get(made.uid) == made
    remove_template(services, stake, login, [])
    assert {b.boot.kernel for b in services.boot.read(login).values()} == {"http://h/login"}
    assert [c.uid for c in services.boot_service.list()] == [made.uid]
