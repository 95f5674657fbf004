"""Validation as a property (hypothesis): every value `check` accepts is written, read back and
compared unchanged, with its owner marker; every value it refuses is refused by a named rule,
before anything is written.

Strategies mix valid shapes with what people paste by accident: quoted kernel parameters,
runs of white space, trailing newlines, unicode, invisible characters, and the owner marker in
any spelling.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ochami_provider import BootTemplateProvider
from ochami_provider.clients import Services
from ochami_provider.config import ProviderConfig
from ochami_provider.models.kernel_params import (
    OWNER_PARAMETER,
    is_owner,
    owner_of,
    strip_owner,
)
from ochami_provider.models.kernel_params import words as kernel_words
from ochami_provider.models.owner import Owner, group_owner, marked_owner
from ochami_provider.models.records import BootParams
from ochami_provider.sim import Fleet, SimServer
from ochami_provider.sim.fleet import Node
from tests.conftest import nodes

EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Fleet, SimServer]]:
    fleet = Fleet.generate(4, groups={"compute": range(4)}, power_delay=0.01)
    with SimServer(fleet) as sim:
        yield fleet, sim


def _reset(fleet: Fleet) -> None:
    fleet.bootparams.clear()
    fleet.bootparams_by_mac.clear()
    fleet.cloud_init_groups.clear()
    fleet.requests.clear()


def _props(url: str, name: str = "t", **boot_set: Any) -> dict[str, Any]:
    return {
        "name": name,
        "boot_sets": {
            "b": {"kernel": "http://images.example/vmlinuz", "node_groups": ["compute"]} | boot_set
        },
        "connection": {"uri": url, "verifyArtifacts": False},
    }


def _written(url: str, hosts: list[str]) -> dict[str, BootParams]:
    with Services.from_config(ProviderConfig(uri=url)) as services:
        return services.bss.get(hosts)


def _accepted_or_named(
    fleet: Fleet, url: str, props: dict[str, Any], field_prefix: str
) -> dict[str, Any] | None:
    """Check the props: refused with a failure naming the field and a rule (and nothing
    written), or accepted, created, and returned as recorded."""
    provider = BootTemplateProvider()
    result = provider.check({}, props)
    if result.failures:
        assert all(f.property.startswith(field_prefix) for f in result.failures), [
            (f.property, f.reason) for f in result.failures
        ]
        assert all(f.reason.strip() for f in result.failures)
        assert fleet.count(writes_only=True) == 0
        return None
    outs = provider.create(result.inputs).outs
    assert outs is not None
    drift = provider.read("t", outs).outs
    assert drift is not None and drift["drift"] == [], drift["drift"]
    return dict(outs)


MARKER_SPELLINGS = st.sampled_from(
    [
        OWNER_PARAMETER,
        OWNER_PARAMETER.upper(),
        "Ochami.Template",
        "ochami_template",
        "ochami-template",
        f'"{OWNER_PARAMETER}',
    ]
)
WORDS = st.one_of(
    st.from_regex(r"[a-z_.]{1,8}(=[a-zA-Z0-9,._:/]{0,12})?", fullmatch=True),
    st.from_regex(r'[a-z]{1,6}="[a-z ]{0,10}"', fullmatch=True),
    st.builds(
        lambda k, v: f"{k}={v}", MARKER_SPELLINGS, st.from_regex(r"[a-z]{1,5}", fullmatch=True)
    ),
    st.text(min_size=1, max_size=6),
)
SPACES = st.sampled_from([" ", "  ", "\t", "\n", " \n", "\u00a0", ""])


@EXAMPLES
@given(words=st.lists(WORDS, max_size=6), gaps=st.lists(SPACES, min_size=7, max_size=7))
def test_kernel_parameters_round_trip_or_are_refused_by_a_rule(
    world: tuple[Fleet, SimServer], words: list[str], gaps: list[str]
) -> None:
    fleet, sim = world
    _reset(fleet)
    value = gaps[0] + "".join(w + g for w, g in zip(words, gaps[1:], strict=False))
    outs = _accepted_or_named(
        fleet, sim.url, _props(sim.url, kernel_parameters=value), "boot_sets.b.kernel_parameters"
    )
    if outs is None:
        return
    accepted = outs["boot_sets"]["b"]["kernel_parameters"]
    stored = _written(sim.url, nodes(outs["hosts"]["b"]))
    assert {strip_owner(r.params) for r in stored.values()} == {accepted}
    assert {owner_of(r.params) for r in stored.values()} == {"t"}
    # The marker BSS holds is the only word a reader takes for one, however it is spelled.
    for record in stored.values():
        assert [w for w in kernel_words(record.params) if is_owner(w, any_spelling=True)] == [
            f"{OWNER_PARAMETER}=t"
        ]


NAMES = st.one_of(
    st.from_regex(r"[a-z0-9][-a-z0-9_.]{0,10}[a-z0-9]", fullmatch=True),
    st.text(min_size=0, max_size=12),
    st.builds(lambda n, tail: n + tail, st.from_regex(r"[a-z]{1,6}", fullmatch=True), SPACES),
)


@EXAMPLES
@given(name=NAMES)
def test_template_names_round_trip_into_the_marker_or_are_refused(
    world: tuple[Fleet, SimServer], name: str
) -> None:
    fleet, sim = world
    _reset(fleet)
    outs = _accepted_or_named(fleet, sim.url, _props(sim.url, name=name), "name")
    if outs is None:
        return
    assert outs["name"] == name
    stored = _written(sim.url, nodes(outs["hosts"]["b"]))
    assert {owner_of(r.params) for r in stored.values()} == {name}


@EXAMPLES
@given(label=NAMES)
@example(label="Compute ")  # the module's own group: it must survive for the tests after this
def test_group_labels_round_trip_or_are_refused(world: tuple[Fleet, SimServer], label: str) -> None:
    fleet, sim = world
    _reset(fleet)
    candidate = label.strip().lower()
    members = list(fleet.nodes)[:2]
    # The label may spell the module's own "compute" group, which later tests still need.
    kept = fleet.groups.get(candidate)
    fleet.add_group(candidate, members)
    try:
        props = _props(sim.url, node_groups=[label])
        outs = _accepted_or_named(fleet, sim.url, props, "boot_sets.b.node_groups")
    finally:
        if kept is None:
            fleet.groups.pop(candidate, None)
        else:
            fleet.groups[candidate] = kept
    if outs is not None:
        assert outs["boot_sets"]["b"]["node_groups"] == [candidate]
        assert sorted(nodes(outs["hosts"]["b"])) == sorted(members)


XNAMES = st.one_of(
    st.from_regex(r"x[1-9][0-9]{0,3}c[0-7]s[0-9]b0n[0-1]", fullmatch=True),
    st.from_regex(r"[xX]0?[0-9]{1,5}[cC][0-9]{1,3}s[0-9]{1,3}b[0-9]n[0-9]{1,2}", fullmatch=True),
    st.builds(lambda x, g: x + g, st.from_regex(r"x1000c0s[0-9]b0n[01]", fullmatch=True), SPACES),
    st.text(max_size=14),
)


@EXAMPLES
@given(xname=XNAMES)
def test_node_list_entries_round_trip_or_are_refused(
    world: tuple[Fleet, SimServer], xname: str
) -> None:
    fleet, sim = world
    _reset(fleet)
    candidate = xname.strip().lower()
    added = candidate not in fleet.nodes
    fleet.nodes.setdefault(candidate, Node(candidate, nid=999))
    try:
        props = _props(sim.url, node_groups=[], node_list=[xname])
        outs = _accepted_or_named(fleet, sim.url, props, "boot_sets.b")
    finally:
        if added:
            del fleet.nodes[candidate]
    if outs is not None:
        assert nodes(outs["hosts"]["b"]) == [candidate]
        assert owner_of(_written(sim.url, [candidate])[candidate].params) == "t"


DEPLOYMENTS = st.one_of(
    st.from_regex(r"[A-Za-z0-9._-]{1,12}/[A-Za-z0-9._-]{1,12}", fullmatch=True),
    st.text(min_size=0, max_size=14),
    st.builds(lambda p, s: f"{p}@{s}", st.from_regex(r"[a-z]{1,5}", fullmatch=True), SPACES),
)


@EXAMPLES
@given(deployment=DEPLOYMENTS)
def test_deployment_names_round_trip_into_both_markers_or_are_refused(
    world: tuple[Fleet, SimServer], deployment: str
) -> None:
    """The stack a marker names is read back as written, from BSS and from cloud-init."""
    fleet, sim = world
    _reset(fleet)
    props = _props(sim.url) | {
        "deployment": deployment,
        "cloud_init": {"user_data": "#cloud-config\n{}\n"},
    }
    outs = _accepted_or_named(fleet, sim.url, props, "deployment")
    if outs is None:
        return
    stored = _written(sim.url, nodes(outs["hosts"]["b"]))
    assert {marked_owner(r.params) for r in stored.values()} == {Owner("t", deployment)}
    group = fleet.cloud_init_groups["compute"]
    assert group_owner(group["description"]) == Owner("t", deployment)


@given(
    st.sets(st.integers(0, 63), max_size=40),
    st.sets(st.integers(0, 63), max_size=40),
)
def test_a_node_set_folds_and_parses_back_and_its_operators_stay_node_sets(
    left: set[int], right: set[int]
) -> None:
    from ochami_provider.models.hostlists import NodeSet

    def names(ids: set[int]) -> NodeSet:
        return NodeSet(f"x1000c0s{i // 2}b0n{i % 2}" for i in ids)

    a, b = names(left), names(right)
    assert NodeSet.parse(str(a)) == a
    for combined, expected in ((a | b, left | right), (a & b, left & right), (a - b, left - right)):
        assert isinstance(combined, NodeSet) and combined == names(expected)
    assert NodeSet.union_of([a, b]).sorted() == sorted(a | b)


def test_a_hostlist_a_node_set_cannot_read_is_named() -> None:
    from ochami_provider.models.hostlists import NodeSet

    with pytest.raises(ValueError, match=r"'x1000c0s\[0-' is not a hostlist"):
        NodeSet.parse("x1000c0s[0-")
    assert repr(NodeSet.parse("x1000c0s[0-1]b0n0")) == "NodeSet('x1000c0s[0-1]b0n0')"
