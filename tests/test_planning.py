"""Planning as pure functions: desired vs actual to writes and field-level changes."""

from __future__ import annotations

from typing import Any

import pytest

from ochami_provider.backends.bss import BssStore, boot_view, node_boots
from ochami_provider.errors import InvalidInputError
from ochami_provider.models import BootTemplateSpec
from ochami_provider.models.group_data import GroupEntry
from ochami_provider.models.kernel_params import owner_of, strip_owner, with_owner
from ochami_provider.models.owner import Owner, Stake
from ochami_provider.models.records import (
    BootParams,
    BootRecords,
    Component,
)
from ochami_provider.planning import (
    WritePlan,
    desired_boots,
    desired_cloud_init,
    foreign_owners,
    observed_spec,
    plan_boot,
    plan_cloud_init,
    refuse_foreign_owners,
    resolve_boot_sets,
)

A, B, C, D = "x1000c0s0b0n0", "x1000c0s0b0n1", "x1000c0s1b0n0", "x1000c0s1b0n1"
E = "x1000c0s2b0n0"
# Template `t` of a program that does not name its deployment (markers as before they named one).
T = Owner("t")
STAKE = Stake(T)


def _boots(
    actual: dict[str, BootParams], macs: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    """Per-host BSS records (as `boot_view` leaves them) in the planner's neutral terms."""
    return node_boots(actual, macs or {})


def plan_bss(
    desired: Any,
    actual: dict[str, BootParams],
    stake: Stake,
    previous_hosts: Any = (),
    macs_by_host: dict[str, list[str]] | None = None,
) -> WritePlan:
    return plan_boot(desired, _boots(actual, macs_by_host), stake, previous_hosts)


class _Bss:
    """What the BSS adapter sends, recorded."""

    def __init__(self) -> None:
        self.puts: list[BootParams] = []
        self.deletes: list[tuple[list[str], list[str]]] = []

    def put(self, record: BootParams) -> None:
        self.puts.append(record)

    def delete(self, hosts: list[str], macs: list[str] | None = None) -> None:
        self.deletes.append((hosts, macs or []))


class _Smd:
    def boot_macs(self) -> dict[str, list[str]]:
        return MACS


def _sent(plan: WritePlan, actual: dict[str, BootParams]) -> _Bss:
    """The requests the BSS adapter makes for `plan`."""
    bss = _Bss()
    store = BssStore(bss, _Smd())  # type: ignore[arg-type]
    before = _boots(actual, MACS)
    for step in store.write_steps(plan.boot_writes, before):
        step.run()
    for step in store.remove_steps(plan.boot_removals, before):
        step.run()
    return bss


def _marked(params: str = "", boot_set: str = "b") -> str:
    """`params` as template `t` (the default spec) writes them for `boot_set`."""
    return with_owner(params, "t", boot_set, _spec().version())


def _spec(**boot_sets: dict[str, Any]) -> BootTemplateSpec:
    return BootTemplateSpec.model_validate(
        {
            "name": "t",
            "boot_sets": boot_sets or {"b": {"kernel": "http://h/k", "node_groups": ["g"]}},
            "cloud_init": {"user_data": "#cloud-config\n{}\n"},
        }
    )


def test_resolve_unions_groups_lists_and_roles_filtered_by_arch() -> None:
    spec = _spec(
        b={
            "kernel": "http://h/k",
            "node_groups": ["g"],
            "node_list": [C],
            "node_roles_groups": ["Compute"],
            "arch": "X86",
        }
    )
    components = [
        Component(ID=A, Role="Compute", Arch="X86"),
        Component(ID=B, Role="Compute", Arch="ARM"),
        Component(ID=C, Role="Service", Arch="X86"),
        Component(ID=D, Role="Compute", Arch="X86"),
    ]
    assert resolve_boot_sets(spec, {"g": [A, B]}, components) == {"b": [A, C, D]}


def test_resolve_refuses_a_node_in_two_boot_sets() -> None:
    spec = _spec(
        one={"kernel": "http://h/k", "node_groups": ["g"]},
        two={"kernel": "http://h/k", "node_list": [B]},
    )
    with pytest.raises(InvalidInputError) as caught:
        resolve_boot_sets(spec, {"g": [A, B]})
    assert caught.value.field == "boot_sets.two" and caught.value.value == B


def test_plan_bss_writes_only_differing_hosts_in_one_request_per_set() -> None:
    spec = _spec()
    desired = desired_boots(spec, {"b": [A, B, C]}, T)
    actual = {
        A: BootParams(hosts=[A], kernel="http://h/k", params=_marked()),
        B: BootParams(hosts=[B], kernel="http://h/old", params=_marked("quiet")),
        D: BootParams(hosts=[D], kernel="http://h/k", params=_marked()),
    }
    # E left the template too, but BSS no longer holds it: nothing to remove, no change to show.
    plan = plan_bss(desired, actual, STAKE, previous_hosts=[A, D, E])
    assert [list(w.nodes) for w in plan.boot_writes] == [[B, C]]
    assert plan.boot_removals == [D]
    assert sorted(plan.boot_changes) == [B, C]
    described = [c.describe() for c in plan.changes]
    # Each change names its nodes, in hostlist notation.
    assert f"boot_sets.b.kernel: 'http://h/old' -> 'http://h/k' on 1 node(s): {B}" in described
    assert f"boot_sets.b.kernel_parameters: 'quiet' -> '' on 1 node(s): {B}" in described
    assert f"boot_sets.b.(record): 'absent' -> 'present' on 1 node(s): {C}" in described
    assert f"hosts: 'present' -> 'removed' on 1 node(s): {D}" in described


def test_plan_bss_in_sync_is_empty() -> None:
    spec = _spec()
    desired = desired_boots(spec, {"b": [A]}, T)
    in_sync = BootParams(hosts=[A], kernel="http://h/k", params=_marked())
    plan = plan_bss(desired, {A: in_sync}, STAKE, [A])
    assert plan.empty and plan.changes == []


MACS = {A: ["02:00:00:00:00:0a"], B: ["02:00:00:00:00:0b"], C: ["02:00:00:00:00:0c"]}


def _record(kernel: str, params: str = "ochami.template=t") -> BootParams:
    return BootParams(kernel=kernel, params=params)


def test_what_a_node_boots_is_read_under_its_name_and_its_macs() -> None:
    """A hand edit under either key is what the view shows; a missing key is named."""
    right, edited = _record("http://h/k"), _record("http://h/by-hand")
    records = BootRecords(
        by_host={A: right, B: right, C: edited},
        by_mac={MACS[A][0]: right, MACS[B][0]: edited, MACS[C][0]: right},
    )
    wanted = {
        h: node_boots({h: right.model_copy(update={"hosts": [h]})}, {})[h].boot for h in (A, B, C)
    }
    view = boot_view(records, MACS, [A, B, C, D], wanted)
    assert D not in view  # no record under any key
    assert (view[A].kernel, view[A].hosts, view[A].macs) == ("http://h/k", [A], MACS[A])
    # B's iPXE (by MAC) boots the edit even though its record by name is right.
    assert (view[B].kernel, view[B].hosts, view[B].macs) == ("http://h/by-hand", [], MACS[B])
    assert (view[C].kernel, view[C].hosts, view[C].macs) == ("http://h/by-hand", [C], [])


def test_plan_bss_writes_missing_keys_and_their_macs_and_deletes_both() -> None:
    spec = _spec()
    desired = desired_boots(spec, {"b": [A, B]}, T)
    right = BootParams(hosts=[A], kernel="http://h/k", params=_marked())
    actual = {
        A: right,  # by name only: its iPXE finds nothing
        B: right.model_copy(update={"hosts": [], "macs": MACS[B]}),  # by MAC only
        C: right.model_copy(update={"hosts": [C], "macs": MACS[C]}),  # a leaver
    }
    plan = plan_bss(desired, actual, STAKE, previous_hosts=[A, B, C], macs_by_host=MACS)
    sent = _sent(plan, actual)
    assert [(r.hosts, r.macs) for r in sent.puts] == [([A, B], MACS[A] + MACS[B])]
    assert sent.deletes == [([C], MACS[C])]
    described = [c.describe() for c in plan.changes]
    assert f"boot_sets.b.records_by_mac: 'absent' -> 'present' on 1 node(s): {A}" in described
    assert f"boot_sets.b.record_by_name: 'absent' -> 'present' on 1 node(s): {B}" in described
    # Both keys right: nothing to write.
    in_sync = {A: right.model_copy(update={"macs": MACS[A]})}
    assert plan_bss(desired_boots(spec, {"b": [A]}, T), in_sync, STAKE, [A], MACS).empty


def test_every_record_names_its_template_and_a_hand_written_one_is_taken_over() -> None:
    spec = _spec()
    desired = desired_boots(spec, {"b": [A]}, T)
    # The owner, the boot set and the template version, last: what the node's command line
    # says it booted.
    version = spec.version()
    assert desired["b"].boot.params.split()[-3:] == [
        "ochami.template=t",
        "ochami.boot_set=b",
        f"ochami.version={version}",
    ]
    hand_written = BootParams(hosts=[A], kernel="http://h/k", params="")
    plan = plan_bss(desired, {A: hand_written}, STAKE)
    assert [list(w.nodes) for w in plan.boot_writes] == [[A]]
    assert [c.describe() for c in plan.changes] == [
        f"boot_sets.b.boot_set: None -> 'b' on 1 node(s): {A}",
        f"boot_sets.b.owner: None -> 't' on 1 node(s): {A}",
        f"boot_sets.b.version: None -> {version!r} on 1 node(s): {A}",
    ]
    # Markers alone change nothing the node boots.
    assert plan.boot_changes == []


def test_nodes_another_template_boots_are_refused_by_name() -> None:
    theirs = BootParams(hosts=[B], kernel="http://h/k", params="quiet ochami.template=other")
    mine = BootParams(hosts=[A], kernel="http://h/k", params="ochami.template=t")
    held = _boots({A: mine, B: theirs})
    assert foreign_owners(STAKE, {"b": [A, B]}, held) == [("b", B, Owner("other"))]
    with pytest.raises(InvalidInputError) as caught:
        refuse_foreign_owners(STAKE, {"b": [A, B]}, held, "BSS")
    assert caught.value.field == "boot_sets.b" and caught.value.value == B
    assert "'other'" in str(caught.value) and "in BSS" in str(caught.value)
    refuse_foreign_owners(STAKE, {"b": [A]}, held, "BSS")  # B is not a target: fine


def test_owner_marker_helpers_keep_the_users_parameters() -> None:
    assert owner_of("quiet ochami.template=x console=ttyS0") == "x"
    assert owner_of("quiet") is None
    assert strip_owner("quiet ochami.template=x console=ttyS0") == "quiet console=ttyS0"
    assert with_owner("quiet ochami.template=old", "new") == "quiet ochami.template=new"
    assert with_owner("", "new") == "ochami.template=new"


def test_plan_cloud_init_creates_updates_refuses_and_deletes() -> None:
    desired = desired_cloud_init(_spec(), T)
    assert list(desired) == ["g"]
    assert plan_cloud_init(desired, {"g": None}, STAKE, store="cloud-init").cloud_init_creates == [
        desired["g"]
    ]
    current = desired["g"].model_copy(update={"meta_data": {"x": 1}})
    dropped = current.model_copy(update={"name": "old"})
    plan = plan_cloud_init(
        desired, {"g": current, "old": dropped}, STAKE, owned=["g", "old"], store="cloud-init"
    )
    assert plan.cloud_init_updates == [desired["g"]]
    assert plan.cloud_init_deletes == ["old"]
    assert [c.path for c in plan.changes] == ["cloud_init[g].meta_data", "cloud_init[old]"]
    hand_made = current.model_copy(update={"description": "made by hand"})
    with pytest.raises(InvalidInputError, match="no template owns it"):
        plan_cloud_init(desired, {"g": hand_made}, STAKE, owned=[], store="cloud-init")
    # A dropped group the server no longer holds: nothing to remove.
    assert (
        plan_cloud_init(
            desired, {"g": current, "old": None}, STAKE, ["g", "old"], store="cloud-init"
        ).cloud_init_deletes
        == []
    )


def test_observed_spec_takes_the_drifted_value() -> None:
    spec = _spec()
    actual = {
        A: BootParams(hosts=[A], kernel="http://h/k"),
        B: BootParams(hosts=[B], kernel="http://h/k", params="init=/bin/sh"),
    }
    group = GroupEntry(
        name="g", description="ochami_provider template t", user_data="#cloud-config\n{}\n"
    )
    seen = observed_spec(spec, {"b": [A, B]}, _boots(actual), {"g": group}, T)
    assert seen["boot_sets"]["b"]["kernel_parameters"] == "init=/bin/sh"
    assert seen["cloud_init"] == {
        "meta_data": {},
        "user_data": "#cloud-config\n{}\n",
        "description": "",
    }


def test_kernel_parameters_keep_quoted_spaces_and_lose_the_rest() -> None:
    spec = _spec()
    boot_set = {"kernel": "http://h/k", "node_groups": ["g"]}
    boot_set["kernel_parameters"] = '  quiet   rd.info="a  b"  console=ttyS0 '
    normalized = (
        BootTemplateSpec.model_validate({**spec.model_dump(), "boot_sets": {"b": boot_set}})
        .boot_sets["b"]
        .kernel_parameters
    )
    assert normalized == 'quiet rd.info="a  b" console=ttyS0'
    assert strip_owner(with_owner(normalized, "t")) == normalized
    assert owner_of(with_owner(normalized, "t")) == "t"
