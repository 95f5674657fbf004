"""BOS's `limit` grammar: terms applied left to right (`&` intersects, `!` excludes, `*` is
every node), names resolved in SMD in a fixed number of requests."""

from __future__ import annotations

from collections import Counter

import pytest

from ochami_provider.clients import Services
from ochami_provider.config import ProviderConfig
from ochami_provider.errors import InvalidInputError
from ochami_provider.session_limit import limit_problems, narrow, parse_limit
from ochami_provider.session_runner import resolve_limit, resolve_limit_saying
from ochami_provider.sim import Fleet, SimServer
from tests.backends import Backend

NODES = [f"x1000c0s{i}b0n0" for i in range(6)]
MEMBERS = {"gpu": frozenset(NODES[:3]), "rack1": frozenset(NODES[2:5]), NODES[5]: frozenset()}


@pytest.mark.parametrize(
    ("limit", "kept"),
    [
        (["gpu"], NODES[:3]),
        (["gpu,rack1"], NODES[:5]),
        (["gpu", "rack1"], NODES[:5]),  # list entries are terms too
        (["gpu,&rack1"], [NODES[2]]),
        (["rack1,!gpu"], NODES[3:5]),
        (["*,!gpu"], NODES[3:]),
        (["all", "!rack1", "!gpu"], [NODES[5]]),
        (["!gpu"], []),  # from nothing: BOS says to start with `*` to exclude
        ([" gpu , & rack1 "], [NODES[2]]),
    ],
)
def test_terms_apply_left_to_right(limit: list[str], kept: list[str]) -> None:
    assert narrow(NODES, parse_limit(limit), MEMBERS) == kept


def test_no_limit_keeps_every_node_and_an_empty_term_names_its_entry() -> None:
    assert narrow(NODES, parse_limit([]), None) == NODES
    with pytest.raises(InvalidInputError) as caught:
        parse_limit(["gpu", "rack1,,&"])
    assert caught.value.problems[0].field == "limit[1]"
    assert "empty term" in caught.value.problems[0].message


def test_problems_name_the_term_that_matches_nothing_and_a_limit_that_keeps_nothing() -> None:
    members = {**MEMBERS, "other": frozenset({"x9000c0s0b0n0"})}
    found = limit_problems("t", NODES, parse_limit(["gpu", "&other"]), members)
    assert [(p.field, p.message.split(" matches")[0]) for p in found] == [("limit[1]", "'&other'")]
    empty = limit_problems("t", NODES, parse_limit(["gpu,!gpu"]), MEMBERS)
    assert [p.field for p in empty] == ["limit"]
    assert "keeps no node of template 't'" in empty[0].message


def test_names_are_case_sensitive_as_in_bos_and_a_near_miss_is_named() -> None:
    """Issue 21: `limit: [Compute]` (README's role example) acted on the group `compute`, since
    groups won case-insensitively. BOS's names are case-sensitive."""
    fleet = Fleet.generate(8, groups={"compute": range(2)})
    for i, node in enumerate(fleet.nodes.values()):
        node.role = "Compute" if i >= 4 else "Application"
    with SimServer(fleet) as sim, Services.from_config(ProviderConfig(uri=sim.url)) as services:
        resolved = resolve_limit(services, parse_limit(["Compute", "compute"]))
        assert resolved["Compute"] == frozenset(list(fleet.nodes)[4:])
        assert resolved["compute"] == frozenset(list(fleet.nodes)[:2])
        with pytest.raises(InvalidInputError) as caught:
            resolve_limit(services, parse_limit(["application"]))
    assert "names are case-sensitive, as in BOS; SMD has role 'Application'" in str(caught.value)


def test_a_name_of_two_kinds_acts_as_in_bos_and_says_which_kinds_it_matched() -> None:
    """Issue 21, item 11: a name that was both an SMD group and a partition acted on the group,
    without a word. BOS's inventory takes SMD's groups, then its partitions, then its roles,
    a later kind replacing an earlier one of the same name: the partition acts."""
    fleet = Fleet.generate(8, groups={"rack1": range(4)})
    fleet.add_partition("rack1", list(fleet.nodes)[2:8])
    with SimServer(fleet) as sim, Services.from_config(ProviderConfig(uri=sim.url)) as services:
        resolved, said = resolve_limit_saying(services, parse_limit(["x1000c0s0b0n0", "rack1"]))
        assert resolved["rack1"] == frozenset(list(fleet.nodes)[2:8])
        assert [(p.field, p.blocks) for p in said] == [("limit[1]", False)]
        assert said[0].message.startswith(
            "'rack1' is a group of 4 node(s) and a partition of 6 node(s) in SMD: it acts on"
            " the partition's nodes, as BOS would"
        )
        assert resolve_limit_saying(services, parse_limit(["x1000c0s0b0n0"]))[1] == []


def test_names_resolve_in_at_most_three_smd_requests_whatever_their_number() -> None:
    fleet = Fleet.generate(64, groups={f"g{i}": range(i, i + 8) for i in range(0, 64, 8)})
    fleet.add_partition("p1", list(fleet.nodes)[:16])
    for i, node in enumerate(fleet.nodes.values()):
        node.role = "Application" if i % 2 else "Compute"
    with SimServer(fleet) as sim, Services.from_config(ProviderConfig(uri=sim.url)) as services:
        terms = parse_limit([",".join(f"g{i}" for i in range(0, 64, 8)), "&p1", "!Application"])
        fleet.requests.clear()
        resolved = resolve_limit(services, terms)
        assert Counter(s for s, _, _ in fleet.requests) == Counter({"smd": 3})
        kept = narrow(fleet.nodes, terms, resolved)
        assert kept == sorted(list(fleet.nodes)[:16:2])  # in p1, and Compute (even indexes)
        fleet.requests.clear()
        only_xnames = parse_limit([",".join(list(fleet.nodes)[:40])])
        assert len(resolve_limit(services, only_xnames)) == 40
        assert fleet.requests == []  # xnames stand for themselves


def test_roles_groups_and_partitions_resolve_in_the_real_smd_as_in_the_simulator(
    backend: Backend,
) -> None:
    """Contract: login = nodes 0-3 (role Application), compute = 4-15 (role Compute),
    partition p1 = 12-15."""
    nodes = backend.nodes
    with backend.services() as services:
        terms = parse_limit(["Application,compute", "!login", f"{nodes[0]}"])
        resolved = resolve_limit(services, terms)
        assert narrow(nodes, terms, resolved) == sorted(nodes[4:] + nodes[:1])
        in_partition = parse_limit(["compute,&p1", f"!{nodes[15]}"])
        resolved = resolve_limit(services, in_partition)
        assert narrow(nodes, in_partition, resolved) == sorted(nodes[12:15])
        with pytest.raises(InvalidInputError) as caught:
            resolve_limit(services, parse_limit(["compute", "nosuch-role"]))
        assert caught.value.problems[0].field == "limit[1]"
        assert "no group, partition or role" in caught.value.problems[0].message
        # Case-sensitive, as BOS: the role as SMD spells it, or the near miss named.
        with pytest.raises(InvalidInputError) as caught:
            resolve_limit(services, parse_limit(["APPLICATION"]))
    assert "SMD has role 'Application'" in caught.value.problems[0].message


def _mark(backend: Backend, services: Services, disabled: str, locked: str, on: bool) -> None:
    """Disable one node and lock another (or undo it): an admin's calls to the real SMD,
    the fleet's flags in the simulator (which takes no such calls)."""
    if backend.kind == "sim":
        backend.fleet.nodes[disabled].enabled = not on
        backend.fleet.nodes[locked].locked = on
        return
    smd = services.smd.transport
    enable = f"/State/Components/{disabled}/Enabled"
    smd.request("PATCH", enable, json={"Enabled": not on}, ok=(200, 204))
    smd.request("POST", f"/locks/{'lock' if on else 'unlock'}", json={"ComponentIDs": [locked]})


def test_disabled_and_locked_nodes_are_left_out_in_the_real_smd_as_in_the_simulator(
    backend: Backend,
) -> None:
    """What BOS skips: nodes SMD marks disabled (unless include_disabled) and locked nodes;
    one component read and one lock-status read."""
    from ochami_provider.session_runner import DISABLED, LOCKED, left_out

    nodes = backend.nodes[8:12]
    disabled, locked = nodes[0], nodes[1]
    with backend.services() as services:
        _mark(backend, services, disabled, locked, on=True)
        try:
            assert left_out(services, nodes, include_disabled=False) == {
                disabled: DISABLED,
                locked: LOCKED,
            }
            assert left_out(services, nodes, include_disabled=True) == {locked: LOCKED}
        finally:
            _mark(backend, services, disabled, locked, on=False)
