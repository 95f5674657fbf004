"""Which template of which stack owns a node or a cloud-init group, and what a template may take:
its own records, and those of a template its stack no longer declares (a rename in one `up`)."""

from __future__ import annotations

from typing import Any

import pytest

from ochami_provider.backends.bss import node_boots
from ochami_provider.errors import InvalidInputError
from ochami_provider.lifecycle import TemplateLifecycle
from ochami_provider.models.kernel_params import owner_of
from ochami_provider.models.owner import (
    Owner,
    Stake,
    group_description,
    group_owner,
    group_text,
    marked_owner,
)
from ochami_provider.models.records import BootParams
from ochami_provider.models.template import TemplateState
from ochami_provider.planning import plan_boot
from ochami_provider.sim import Fleet, SimServer
from tests.conftest import template_props

DEV = "ochami-boot/dev"
OTHER = "ochami-boot/other"


@pytest.mark.parametrize(
    ("found", "declared", "refused"),
    [
        (Owner("t", DEV), None, False),  # its own record
        (Owner("t"), None, False),  # its own, from before markers named the stack
        (Owner("t", OTHER), None, True),  # the same name in another stack
        (Owner("old", DEV), frozenset({"t"}), False),  # renamed away in this stack
        (Owner("old", DEV), frozenset({"t", "old"}), True),  # still declared: a real conflict
        (Owner("old", DEV), None, True),  # what the stack declares is not known
        (Owner("old", OTHER), frozenset({"t"}), True),  # never this stack's to free
        (Owner("old"), frozenset({"t"}), True),  # an old marker cannot say whose it is
    ],
)
def test_a_stake_refuses_what_another_template_may_still_hold(
    found: Owner, declared: frozenset[str] | None, refused: bool
) -> None:
    assert Stake(Owner("t", DEV), declared).refuses(found) is refused


def test_markers_round_trip_in_bss_and_in_cloud_init_descriptions() -> None:
    owner = Owner("compute", DEV)
    assert marked_owner(f"quiet ochami.template={owner.value}") == owner
    assert marked_owner("quiet ochami.template=compute") == Owner("compute")
    assert marked_owner("quiet") is None
    described = group_description("Compute nodes", owner)
    assert described == "Compute nodes [ochami.template=compute@ochami-boot/dev]"
    assert group_owner(described) == owner and group_text(described) == "Compute nodes"
    default = group_description(None, owner)
    assert group_owner(default) == owner and group_text(default) is None
    assert group_owner("ochami_provider template compute") == Owner("compute")
    assert group_owner("made by hand") is None and group_text("made by hand") == "made by hand"


def test_a_leaver_another_template_took_keeps_its_record() -> None:
    """Moving nodes between templates: the one that lets a node go must not delete the record
    the other has written since (their updates run in either order)."""
    taken = BootParams(hosts=["x1000c0s0b0n0"], kernel="k", params="ochami.template=b@" + DEV)
    still = BootParams(hosts=["x1000c0s0b0n1"], kernel="k", params="ochami.template=a@" + DEV)
    plan = plan_boot(
        {},
        node_boots({h.hosts[0]: h for h in (taken, still)}, {}),
        Stake(Owner("a", DEV)),
        [
            "x1000c0s0b0n0",
            "x1000c0s0b0n1",
        ],
    )
    assert plan.boot_removals == ["x1000c0s0b0n1"]


def _props(sim: SimServer, name: str, deployment: str | None, declared: list[str] | None) -> Any:
    props = template_props(sim.url, name=name, deployment=deployment)
    props["deployment_templates"] = declared
    return props


def _create(sim: SimServer, props: dict[str, Any]) -> TemplateState:
    core = TemplateLifecycle()
    inputs, problems = core.check({}, props)
    assert problems == [] and inputs is not None
    return core.create(inputs)


def test_a_renamed_template_takes_over_and_the_old_ones_delete_leaves_it(
    fleet: Fleet, sim: SimServer
) -> None:
    old_props = _props(sim, "old", DEV, ["old"])
    old = _create(sim, old_props)
    said: list[str] = []
    new_props = _props(sim, "new", DEV, ["new"])
    core = TemplateLifecycle(log=said.append)  # a later `up`: a new provider process
    inputs, problems = core.check({}, new_props)
    assert problems == [] and inputs is not None
    assert any("takes over 12 nodes" in line for line in said), said
    assert any("takes over cloud-init group compute" in line for line in said), said
    core.create(inputs)
    # The engine deletes the template that left the stack config last.
    core.delete(old_props, old)
    assert len(fleet.bootparams) == 12
    assert {owner_of(r["params"]) for r in fleet.bootparams.values()} == {"new@ochami-boot/dev"}
    assert group_owner(fleet.cloud_init_groups["compute"]["description"]) == Owner("new", DEV)


@pytest.mark.parametrize(
    ("old_deployment", "declared", "named"),
    [
        (OTHER, ["new"], "template 'old' of stack 'ochami-boot/other'"),
        (None, ["new"], "template 'old' (ochami.template=old in BSS)"),
        (DEV, None, "template 'old' of stack 'ochami-boot/dev'"),
    ],
)
def test_nodes_of_a_template_that_may_still_hold_them_are_refused_at_check_and_at_write(
    fleet: Fleet,
    sim: SimServer,
    old_deployment: str | None,
    declared: list[str] | None,
    named: str,
) -> None:
    _create(sim, _props(sim, "old", old_deployment, ["old"]))
    before = {h: dict(r) for h, r in fleet.bootparams.items()}
    groups_before = {g: dict(d) for g, d in fleet.cloud_init_groups.items()}
    props = _props(sim, "new", DEV, declared)
    inputs, problems = TemplateLifecycle().check({}, props)
    assert inputs is not None
    assert [p.field for p in problems] == ["boot_sets.compute", "cloud_init"]
    assert named.split(" (")[0] in problems[0].message and named in str(problems[0])
    assert "(12 nodes)" in str(problems[0])
    with pytest.raises(InvalidInputError):
        TemplateLifecycle().create(inputs)
    assert fleet.bootparams == before and fleet.cloud_init_groups == groups_before


def test_adopt_never_takes_a_group_another_stacks_template_wrote(
    fleet: Fleet, sim: SimServer
) -> None:
    _create(sim, _props(sim, "theirs", OTHER, ["theirs"]))
    fleet.bootparams.clear()  # only the cloud-init group stays theirs
    fleet.bootparams_by_mac.clear()
    props = {**_props(sim, "mine", DEV, ["mine"]), "adopt": True}
    _, problems = TemplateLifecycle().check({}, props)
    assert [(p.field, p.value) for p in problems] == [("cloud_init", "got 'compute'")]
    assert "belongs to template 'theirs' of stack 'ochami-boot/other'" in problems[0].message


def test_records_without_the_stack_in_their_marker_are_the_templates_own_and_rewritten(
    fleet: Fleet, sim: SimServer
) -> None:
    legacy_props = _props(sim, "compute", None, None)
    legacy = _create(sim, legacy_props)
    assert {owner_of(r["params"]) for r in fleet.bootparams.values()} == {"compute"}
    core = TemplateLifecycle()
    props = _props(sim, "compute", DEV, ["compute"])
    diff = core.diff(legacy_props | legacy.to_props(), props)
    assert "deployment" in diff.changed
    inputs, problems = core.check(legacy_props | legacy.to_props(), props)
    assert problems == [] and inputs is not None
    state = core.update(legacy, inputs)
    assert {owner_of(r["params"]) for r in fleet.bootparams.values()} == {"compute@ochami-boot/dev"}
    assert any("owner" in change for change in state.changes)
    assert group_owner(fleet.cloud_init_groups["compute"]["description"]) == Owner("compute", DEV)


def _template_over(sim: SimServer, name: str, nodes: list[str], props: Any = None) -> Any:
    props = props or _props(sim, name, DEV, ["a", "b"])
    props = {**props, "name": name, "cloud_init": None}
    props["boot_sets"] = {"compute": {**props["boot_sets"]["compute"], "node_list": nodes}}
    del props["boot_sets"]["compute"]["node_groups"]
    return props


@pytest.mark.parametrize("giver_first", [True, False])
def test_two_declared_templates_swap_nodes_in_one_run_whatever_the_order(
    fleet: Fleet, sim: SimServer, giver_first: bool
) -> None:
    """Issue 21, item 3: moving a node between two templates that both stay declared depended
    on the order the engine checked and wrote them (three previews: 0, 1, 0), and the update
    left the node without a record. Now a swap of nodes is one run in either order, and no
    node is ever without its record."""
    names = sorted(fleet.nodes)
    a_nodes, b_nodes = names[:2], names[2:4]
    a = _create(sim, _template_over(sim, "a", a_nodes))
    b = _create(sim, _template_over(sim, "b", b_nodes))
    recorded = {
        "a": {**_template_over(sim, "a", a_nodes), **a.to_props()},
        "b": {**_template_over(sim, "b", b_nodes), **b.to_props()},
    }
    wanted = {"a": b_nodes, "b": a_nodes}
    core = TemplateLifecycle()  # one provider process: one run's checks and writes
    order = ["a", "b"] if giver_first else ["b", "a"]
    checked = {}
    for name in order:
        inputs, problems = core.check(recorded[name], _template_over(sim, name, wanted[name]))
        assert problems == [] and inputs is not None, problems
        checked[name] = inputs
    seen_without_a_record: set[str] = set()
    for name in order:
        state = TemplateState.from_props(recorded[name])
        core.update(state, checked[name])
        seen_without_a_record |= {n for n in names[:4] if n not in fleet.bootparams}
    assert seen_without_a_record == set()
    owners = {n: owner_of(fleet.bootparams[n]["params"]) for n in names[:4]}
    assert owners == {
        **{n: "b@" + DEV for n in a_nodes},
        **{n: "a@" + DEV for n in b_nodes},
    }


def test_a_declared_template_that_still_targets_a_node_keeps_it_whatever_the_order(
    fleet: Fleet, sim: SimServer
) -> None:
    """A real conflict, not a move: the one checked second is refused, naming the other, in
    either order; nothing is written."""
    names = sorted(fleet.nodes)
    a = _create(sim, _template_over(sim, "a", names[:2]))
    recorded = {**_template_over(sim, "a", names[:2]), **a.to_props()}
    before = {h: dict(r) for h, r in fleet.bootparams.items()}
    for a_first in (True, False):
        core = TemplateLifecycle()
        checks = [("a", recorded, _template_over(sim, "a", names[:2]))]
        checks.append(("b", {}, _template_over(sim, "b", names[1:3])))
        if not a_first:
            checks.reverse()
        problems = [core.check(olds, news)[1] for _, olds, news in checks]
        second = problems[1]
        assert {p.field for p in second} == {"boot_sets.compute"}, second
        other = "a" if a_first else "b"
        assert f"also a target of template {other!r} in this stack" in second[0].message
        assert problems[0] == []
    assert fleet.bootparams == before
