"""Client-level contract: each test runs against the embedded simulator and the real services.

What the real services taught the simulator (and the client) is written next to the assertion
that pins it; docs/real-services.md lists the differences found.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator

import pytest

from ochami_provider.backends.cloud_init import CloudInitStore
from ochami_provider.clients import Services
from ochami_provider.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    ServiceError,
)
from ochami_provider.models.owner import Owner, Stake, group_owner
from ochami_provider.models.records import BootParams, CloudConfigFile, CloudInitGroup, Members
from ochami_provider.template_writer import remove_template, write_template
from tests.backends import Backend


@pytest.fixture
def services(backend: Backend) -> Iterator[Services]:
    with backend.services() as s:
        yield s


def test_smd_groups_members_and_components(backend: Backend, services: Services) -> None:
    nodes = backend.nodes
    login = services.smd.get_group("login")
    assert login.label == "login" and login.members.ids == nodes[:4]
    members = services.smd.transport.request("GET", "/groups/compute/members").json()
    assert sorted(Members.model_validate(members).ids) == sorted(nodes[4:])
    listed = services.smd.transport.request("GET", "/groups").json()
    assert {g["label"] for g in listed} >= {"login", "compute"}
    apps = services.smd.list_components(role="Application")
    assert sorted(c.id for c in apps) == nodes[:4]
    first = next(c for c in apps if c.id == nodes[0])
    assert first.arch == "ARM" and first.nid == 1 and first.type == "Node"
    picked = services.smd.list_components(ids=nodes[4:6])
    assert sorted(c.id for c in picked) == nodes[4:6]


def test_smd_missing_group_and_partition_are_not_found(services: Services) -> None:
    with pytest.raises(NotFoundError) as caught:
        services.smd.get_group("gpu")
    assert caught.value.status == 404 and "No such group: gpu" in str(caught.value)
    assert caught.value.service == "smd" and caught.value.url.endswith("/hsm/v2/groups/gpu")
    with pytest.raises(NotFoundError, match="No such partition: p9"):
        services.smd.get_partition("p9")


def test_boot_sets_target_partitions_and_name_an_unknown_one(
    backend: Backend, services: Services
) -> None:
    """A boot set's `node_partitions` resolve in one SMD read each (p1 = nodes 12-15); check
    names the boot set and the partition SMD does not know."""
    from ochami_provider.models.template import BootTemplateSpec
    from ochami_provider.template_writer import resolve_targets

    def spec(partitions: list[str]) -> BootTemplateSpec:
        return BootTemplateSpec.model_validate(
            {
                "name": "parts",
                "boot_sets": {
                    "login": {"kernel": "http://h/k", "node_groups": ["login"]},
                    "part": {"kernel": "http://h/k", "node_partitions": partitions},
                },
            }
        )

    resolved = resolve_targets(services, spec(["P1"]), require_members=True)
    assert resolved == {"login": backend.nodes[:4], "part": sorted(backend.nodes[12:16])}
    with pytest.raises(InvalidInputError) as caught:
        resolve_targets(services, spec(["p1", "p9"]), require_members=True)
    problem = caught.value.problems[0]
    assert problem.field == "boot_sets.part.node_partitions"
    assert "SMD has no partition" in problem.message and "'p9'" in str(problem)


def test_smd_group_create_conflict_delete(backend: Backend, services: Services) -> None:
    """How SMD answers what an admin does to groups by hand (the provider only reads them)."""
    smd = services.smd.transport
    group = {"label": "contract-tmp", "members": {"ids": backend.nodes[:2]}}
    smd.request("POST", "/groups", json=group, ok=(201,))
    try:
        assert services.smd.get_group("contract-tmp").members.ids == backend.nodes[:2]
        with pytest.raises(ConflictError, match="same label"):
            smd.request("POST", "/groups", json=group, ok=(201,))
    finally:
        smd.request("DELETE", "/groups/contract-tmp")
    # SMD words the missing group differently for DELETE than for GET.
    with pytest.raises(NotFoundError, match="no such group"):
        smd.request("DELETE", "/groups/contract-tmp")


def test_bss_batch_put_get_delete(backend: Backend, services: Services) -> None:
    hosts = backend.nodes[:3]
    services.bss.put(BootParams(hosts=hosts, kernel="http://h/k", initrd="http://h/i", params="q"))
    try:
        found = services.bss.get([*hosts, "x2000c0s0b0n0"])
        assert sorted(found) == sorted(hosts)
        assert all(r.hosts == [h] for h, r in found.items())  # one record per asked host
        assert found[hosts[0]].kernel == "http://h/k" and found[hosts[0]].params == "q"
        assert found[hosts[0]].initrd == "http://h/i"
        # Listing everything groups hosts that share a boot configuration into one record.
        listed = [r for r in services.bss.get_all() if set(r.hosts) & set(hosts)]
        assert len(listed) == 1 and sorted(listed[0].hosts) == sorted(hosts)
        # POST creates only; BSS answers 400 (not 409) when a host already has parameters.
        with pytest.raises(ServiceError) as caught:
            record = BootParams(hosts=hosts[:1], kernel="http://h/k")
            services.bss.transport.request("POST", "/bootparameters", json=record.wire())
        assert caught.value.status == 400 and "already exists" in caught.value.message
        # PUT replaces per host, whatever group it was in.
        services.bss.put(BootParams(hosts=hosts[1:2], kernel="http://h/k2", params="r"))
        assert services.bss.get(hosts[1:2])[hosts[1]].params == "r"
        services.bss.delete(hosts[:2])
        assert list(services.bss.get(hosts)) == [hosts[2]]
    finally:
        left = sorted(services.bss.get(hosts))
        services.bss.delete(left)
    assert services.bss.get(hosts) == {}


def test_bss_delete_of_hosts_it_does_not_hold(backend: Backend, services: Services) -> None:
    # BSS refuses a DELETE naming no host it holds...
    with pytest.raises(ServiceError) as caught:
        services.bss.transport.request(
            "DELETE", "/bootparameters", json={"hosts": ["x3000c0s0b0n0"]}
        )
    assert caught.value.status == 400 and "no node IDs" in caught.value.message
    # ...which the client takes for what it is: those hosts have no record. Known there alone.
    services.bss.delete(["x3000c0s0b0n0"])
    # A mix of held and unheld hosts deletes the held ones.
    services.bss.put(BootParams(hosts=backend.nodes[:1], kernel="http://h/k"))
    services.bss.delete([backend.nodes[0], "x3000c0s0b0n0"])
    assert services.bss.get(backend.nodes[:1]) == {}


def test_bss_drops_hosts_that_are_not_xnames(services: Services) -> None:
    # 200 for a host that is no xname, and nothing stored: the provider's check refuses such
    # names before anything is sent (test_check_validation).
    services.bss.put(BootParams(hosts=["not-an-xname"], kernel="http://h/k"))
    assert services.bss.get(["not-an-xname"]) == {}
    assert all("not-an-xname" not in r.hosts for r in services.bss.get_all())


def test_bss_lists_an_empty_store_as_null(backend: Backend, services: Services) -> None:
    # JSON null, not []: get_all() must still give a list.
    assert services.bss.get_all() == []


def test_cloud_init_group_lifecycle(services: Services) -> None:
    name = "contract-ci"
    group = CloudInitGroup(
        name=name,
        description="contract",
        meta_data={"a": 1, "nested": {"b": [1, 2]}},
        file=CloudConfigFile(content="#cloud-config\nruncmd:\n  - echo hi\n"),
    )
    # A missing group: the server's memstore answers 500 "not found"; the client says None.
    assert services.cloud_init.get_group(name) is None
    services.cloud_init.create_group(group)
    try:
        with pytest.raises(ConflictError) as caught:
            services.cloud_init.create_group(group)
        assert caught.value.status == 409 and "already exists" in caught.value.message
        stored = services.cloud_init.get_group(name)
        assert stored is not None
        assert stored.meta_data == {"a": 1, "nested": {"b": [1, 2]}}
        assert stored.file.content == group.file.content and stored.description == "contract"
        services.cloud_init.put_group(group.model_copy(update={"meta_data": {"a": 2}}))
        stored = services.cloud_init.get_group(name)
        assert stored is not None and stored.meta_data == {"a": 2}
        assert name in services.cloud_init.list_groups()
    finally:
        services.cloud_init.delete_group(name)
    assert services.cloud_init.get_group(name) is None
    services.cloud_init.delete_group(name)  # deleting a missing group is not an error


def test_cloud_init_put_creates_a_missing_group(services: Services) -> None:
    group = CloudInitGroup(name="contract-put", file=CloudConfigFile(content="#cloud-config\n"))
    services.cloud_init.put_group(group)
    try:
        stored = services.cloud_init.get_group("contract-put")
        assert stored is not None and stored.file.content == "#cloud-config\n"
    finally:
        services.cloud_init.delete_group("contract-put")


def test_a_group_stored_in_base64_reads_as_the_text_the_node_sees(services: Services) -> None:
    """The cloud-init server keeps a file plain or base64 (a group written by hand may be
    either); the group-data port gives the text, so a plan compares what nodes get."""
    text = "#cloud-config\nruncmd: [[echo, b64]]\n"
    encoded = CloudConfigFile(content=base64.b64encode(text.encode()).decode(), encoding="base64")
    services.cloud_init.put_group(CloudInitGroup(name="contract-b64", file=encoded))
    try:
        stored = CloudInitStore(services.cloud_init).get_group("contract-b64")
        assert stored is not None and stored.user_data == text
    finally:
        services.cloud_init.delete_group("contract-b64")


@pytest.mark.parametrize("which", ["missing", "wrong"])
def test_missing_or_wrong_token_is_a_clear_authentication_error(
    backend: Backend, which: str
) -> None:
    token = None if which == "missing" else backend.wrong_token
    reason = "no token found" if which == "missing" else "token is unauthorized"
    with backend.services(token=token) as anonymous:
        for call in (
            lambda: anonymous.smd.get_group("compute"),
            lambda: anonymous.bss.get(backend.nodes[:1]),
            lambda: anonymous.cloud_init.list_groups(),
        ):
            with pytest.raises(AuthenticationError) as caught:
                call()
            assert caught.value.status == 401 and reason in str(caught.value)
            assert "ochami:token" in str(caught.value)
            if token:
                assert token not in str(caught.value)
        # SMD leaves component and interface listings open; the provider reads them unauthenticated.
        assert len(anonymous.smd.list_components()) == len(backend.nodes)


def test_template_apply_and_remove(backend: Backend, services: Services) -> None:
    """The provider's own apply path, end to end through the clients: one PUT per boot set,
    cloud-init written, and removal that survives records already deleted by hand."""
    from ochami_provider.models.template import BootTemplateSpec

    spec = BootTemplateSpec.model_validate(
        {
            "name": "contract",
            "boot_sets": {
                "login": {
                    "kernel": "http://h/vmlinuz",
                    "kernel_parameters": "console=ttyS0",
                    "node_groups": ["login"],
                }
            },
            "cloud_init": {"meta_data": {"site": "c"}, "user_data": "#cloud-config\n{}\n"},
        }
    )
    stake = Stake(Owner("contract", "ochami-boot/contract"))
    report = write_template(services, spec, stake)
    hosts = report.hosts_by_set["login"]
    try:
        assert sorted(hosts) == backend.nodes[:4]
        stored = services.bss.get(hosts)
        assert {r.params for r in stored.values()} == {
            "console=ttyS0 ochami.template=contract@ochami-boot/contract"
            f" ochami.boot_set=login ochami.version={spec.version()}"
        }
        # The same record under each node's MACs, for its iPXE (`?mac=`).
        macs = services.smd.boot_macs()
        by_mac = services.bss.read([], [m for h in hosts for m in macs[h]]).by_mac
        assert len(by_mac) == len(hosts)
        assert {r.boot_config for r in by_mac.values()} == {r.boot_config for r in stored.values()}
        group = services.cloud_init.get_group("login")
        # The server keeps the owner marker in the description, where another stack reads it.
        assert group is not None and group_owner(group.description) == stake.owner
        services.bss.delete(hosts[:2])  # drift: records removed by hand
    finally:
        remove_template(services, stake, hosts, ["login"])
    assert services.bss.get(hosts) == {}
    assert services.cloud_init.get_group("login") is None


def test_smd_service_reservations_hold_nodes_until_released(
    backend: Backend, services: Services
) -> None:
    """The protocol sessions use to keep out of each other's way (and PCS honours)."""
    nodes = backend.nodes[6:9]
    held = services.smd.reserve(nodes, 1)
    try:
        assert sorted(r.id for r in held) == nodes
        assert all(r.deputy_key and r.reservation_key for r in held)
        # Rigid: one node already held refuses the whole request, naming no node...
        with pytest.raises(ServiceError) as caught:
            services.smd.reserve([backend.nodes[5], nodes[0]], 1)
        assert caught.value.status == 400 and "Reserved" in caught.value.message
        # ...so the lock status says which.
        status = {s.id: s.reserved for s in services.smd.lock_status([backend.nodes[5], *nodes])}
        assert status == {backend.nodes[5]: False, **{n: True for n in nodes}}
        services.smd.renew(held, 2)
    finally:
        services.smd.release(held)
    again = services.smd.reserve(nodes, 1)
    services.smd.release(again)
    with pytest.raises(ServiceError, match="greater than 0"):
        services.smd.reserve(nodes, 0)


def test_bss_serves_a_nodes_boot_script_and_records_the_fetch(
    backend: Backend, services: Services
) -> None:
    """What a node's iPXE gets from BSS for a template's node, and what BSS then remembers:
    the template's kernel, initrd and parameters (owner marker included), and the fetch's time
    in the endpoint history, for every node in one request."""
    from ochami_provider.models.template import BootTemplateSpec

    spec = BootTemplateSpec.model_validate(
        {
            "name": "scripted",
            "boot_sets": {
                "login": {
                    "kernel": "http://images.example/vmlinuz-6.1",
                    "initrd": "http://images.example/initrd-6.1.img",
                    "kernel_parameters": "console=ttyS0,115200 quiet",
                    "node_groups": ["login"],
                }
            },
        }
    )
    stake = Stake(Owner("scripted", "ochami-boot/contract"))
    hosts = write_template(services, spec, stake).hosts_by_set["login"]
    try:
        started = int(time.time())
        by_name, by_mac = hosts[0], hosts[1]
        # A node's iPXE asks by its MAC (SMD's interface for it); `?name=` serves scripts too.
        mac = services.smd.boot_macs()[by_mac][0]
        for node, params in ((by_name, {"name": by_name}), (by_mac, {"mac": mac})):
            script = services.bss.transport.request(
                "GET", "/bootscript", params={**params, "arch": "x86_64"}
            ).text
            lines = script.splitlines()
            assert lines[0] == "#!ipxe"
            kernel = lines[1].split()
            assert kernel[:4] == ["kernel", "--name", "kernel", "http://images.example/vmlinuz-6.1"]
            assert "console=ttyS0,115200" in kernel and "quiet" in kernel
            assert "ochami.template=scripted@ochami-boot/contract" in kernel
            assert f"xname={node}" in kernel and "initrd=initrd" in kernel
            assert lines[2].startswith("initrd --name initrd http://images.example/initrd-6.1.img")
        fetched = services.bss.last_fetches()
        # The fetch by MAC is recorded under the node's name (BSS finds it in SMD).
        for node in (by_name, by_mac):
            assert started - 1 <= fetched[node] <= time.time() + 1
        # Only the nodes that asked: the others have not fetched since.
        assert all(fetched.get(h, 0) < started - 1 for h in hosts[2:])
    finally:
        remove_template(services, stake, hosts, [])
    # Removal takes the records under both keys: a MAC no longer finds a script.
    with pytest.raises(NotFoundError):
        services.bss.transport.request("GET", "/bootparameters", params={"mac": mac})


def test_node_status_reads_template_power_and_fetch_from_the_services(
    backend: Backend, services: Services
) -> None:
    """What `ochami-boot status` reads, against the simulator and the real SMD/BSS: the nodes
    of one group with their template, boot set and version (the markers), power (PCS), and
    the boot-script fetch their power-on caused (BSS's endpoint history)."""
    from ochami_provider.models.template import BootTemplateSpec
    from ochami_provider.node_status import gather

    spec = BootTemplateSpec.model_validate(
        {
            "name": "statused",
            "boot_sets": {
                "b": {"kernel": "http://images.example/vmlinuz", "node_groups": ["login"]}
            },
        }
    )
    stake = Stake(Owner("statused", "ochami-boot/contract"))
    # Written as a session's configuration step writes it: the session names itself.
    hosts = write_template(services, spec, stake, session="reboot-login").hosts_by_set["b"]
    try:
        started = int(time.time())
        # The login nodes are off: PCS powers them On (it refuses to restart a node that is off).
        transition = services.pcs.start_transition("On", hosts)
        deadline = time.monotonic() + 30
        while not services.pcs.get_transition(transition).finished:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        found = {s.node: s for s in gather(services, group="login")}
        assert sorted(found) == sorted(hosts)
        for status in found.values():
            assert (status.template, status.stack) == ("statused", "ochami-boot/contract")
            assert (status.boot_set, status.version) == ("b", spec.version())
            assert status.session == "reboot-login"
            assert status.kernel == "http://images.example/vmlinuz" and status.power == "on"
            assert status.last_bootscript_fetch is not None
            assert status.last_bootscript_fetch >= started - 1
    finally:
        remove_template(services, stake, hosts, [])
