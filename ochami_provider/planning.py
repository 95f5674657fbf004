"""Pure planning: from a template spec and what the services hold now to the writes to make.

No I/O here. Inputs are plain data (group members, components, what each node boots as its
boot store holds it, each group's data as its group-data store holds it); outputs are the
writes to make, in the same neutral terms (each store's adapter turns them into requests),
and a field-level change list to show the user.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidInputError
from .models.boot import Boot, BootWrite, NodeBoot
from .models.group_data import GroupEntry
from .models.kernel_params import (
    BOOT_SET_PARAMETER,
    OWNER_PARAMETER,
    SESSION_PARAMETER,
    VERSION_PARAMETER,
    marker_of,
    owner_of,
    strip_owner,
    with_owner,
)
from .models.owner import Owner, Stake, group_description, group_owner, group_text
from .models.problems import Problem
from .models.records import Component
from .models.template import BootTemplateSpec
from .nodesets import compact, grouped, shown


@dataclass(frozen=True)
class FieldChange:
    """One field that differs between what is wanted and what a service holds."""

    path: str
    old: Any
    new: Any
    # The nodes it differs on (none for cloud-init data, which is per group).
    nodes: tuple[str, ...] = ()

    def describe(self) -> str:
        scope = f" on {len(self.nodes)} node(s): {compact(self.nodes)}" if self.nodes else ""
        return f"{self.path}: {self.old!r} -> {self.new!r}{scope}"


@dataclass
class WritePlan:
    # One per boot set, for the nodes whose boot differs from what the store holds.
    boot_writes: list[BootWrite] = field(default_factory=list)
    # Nodes whose entries go: they left the template and the store still holds its own.
    boot_removals: list[str] = field(default_factory=list)
    # Nodes whose kernel, initrd or parameters the writes change (what they would boot).
    boot_changes: list[str] = field(default_factory=list)
    cloud_init_creates: list[GroupEntry] = field(default_factory=list)
    cloud_init_updates: list[GroupEntry] = field(default_factory=list)
    cloud_init_deletes: list[str] = field(default_factory=list)
    changes: list[FieldChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.boot_writes
            or self.boot_removals
            or self.cloud_init_creates
            or self.cloud_init_updates
            or self.cloud_init_deletes
        )


def resolve_boot_sets(
    spec: BootTemplateSpec,
    group_members: Mapping[str, Iterable[str]],
    components: Iterable[Component] = (),
    partition_members: Mapping[str, Iterable[str]] | None = None,
) -> dict[str, list[str]]:
    """Nodes of each boot set: its groups, partitions, node list and roles, filtered by arch.

    A node that two boot sets claim is an error: it could boot only one of them.
    """
    by_id = {c.id: c for c in components}
    owner: dict[str, str] = {}
    resolved: dict[str, list[str]] = {}
    for set_name, boot_set in spec.boot_sets.items():
        nodes: set[str] = set(boot_set.node_list)
        for label in boot_set.node_groups:
            nodes.update(group_members[label])
        for partition in boot_set.node_partitions:
            nodes.update((partition_members or {})[partition])
        for role in boot_set.node_roles_groups:
            nodes.update(c.id for c in by_id.values() if c.role == role)
        if boot_set.arch is not None:
            nodes = {n for n in nodes if n in by_id and by_id[n].arch == boot_set.arch}
        for node in nodes:
            if node in owner:
                raise InvalidInputError(
                    f"boot_sets.{set_name}",
                    node,
                    f"node is also a target of boot set {owner[node]!r}; a node boots one way",
                )
            owner[node] = set_name
        resolved[set_name] = sorted(nodes)
    return resolved


def desired_boots(
    spec: BootTemplateSpec,
    hosts_by_set: Mapping[str, list[str]],
    owner: Owner,
    session: str = "",
) -> dict[str, BootWrite]:
    """What each boot set's nodes should boot; its parameters end with the owner, boot set and
    version markers, and the session's name when a session writes it."""
    version = spec.version()
    return {
        set_name: BootWrite(
            set_name,
            Boot(
                boot_set.kernel,
                boot_set.initrd or "",
                with_owner(boot_set.kernel_parameters, owner.value, set_name, version, session),
            ),
            tuple(hosts_by_set.get(set_name, [])),
        )
        for set_name, boot_set in spec.boot_sets.items()
    }


def desired_cloud_init(spec: BootTemplateSpec, owner: Owner) -> dict[str, GroupEntry]:
    if spec.cloud_init is None:
        return {}
    ci = spec.cloud_init
    return {
        group: GroupEntry(
            name=group,
            description=group_description(ci.description, owner),
            meta_data=dict(ci.meta_data),
            user_data=ci.user_data or "",
        )
        for group in spec.cloud_init_groups()
    }


def _boot_fields(boot: Boot) -> dict[str, str | None]:
    """A boot as the user thinks of it: the owner markers apart from their parameters."""
    return {
        "kernel": boot.kernel,
        "initrd": boot.initrd,
        "kernel_parameters": strip_owner(boot.params),
        "owner": owner_of(boot.params),
        "boot_set": marker_of(boot.params, BOOT_SET_PARAMETER),
        "version": marker_of(boot.params, VERSION_PARAMETER),
        "session": marker_of(boot.params, SESSION_PARAMETER),
    }


# Differences that change what a node boots; the markers (a rename, an upgrade that adds one)
# and an entry restored under another of the ways a node asks do not.
_BOOTED_FIELDS = ("kernel", "initrd", "kernel_parameters", "(record)")


def foreign_owners(
    stake: Stake,
    hosts_by_set: Mapping[str, list[str]],
    actual: Mapping[str, NodeBoot],
) -> list[tuple[str, str, Owner]]:
    """(boot set, node, owner) for each target the store says another template boots, unless
    the stake may take it (a template its deployment no longer declares)."""
    found = []
    for set_name, hosts in hosts_by_set.items():
        for host in hosts:
            current = actual.get(host)
            owner = current.boot.owner if current is not None else None
            if owner is not None and stake.refuses(owner, host):
                found.append((set_name, host, owner))
    return found


def refuse_foreign_owners(
    stake: Stake,
    hosts_by_set: Mapping[str, list[str]],
    actual: Mapping[str, NodeBoot],
    store: str,
) -> None:
    """Two templates over one node would overwrite each other on every `pulumi up`; an entry
    the store would serve instead of ours would make the write a lie."""
    found = foreign_owners(stake, hosts_by_set, actual)
    if found:
        raise InvalidInputError.of(foreign_owner_problems(found, store), value=found[0][1])
    outranked = outranked_problems(hosts_by_set, actual)
    if outranked:
        raise InvalidInputError.of(outranked, value=outranked[0].value)


def foreign_owner_problems(found: Iterable[tuple[str, str, Owner]], store: str) -> list[Problem]:
    """One problem per boot set and other template, naming its nodes in hostlist notation."""
    groups = grouped(((set_name, owner), host) for set_name, host, owner in found)
    return [
        Problem(f"boot_sets.{set_name}", foreign_owner_reason(owner, store), shown(hosts))
        for (set_name, owner), hosts in groups.items()
    ]


def foreign_owner_reason(owner: Owner, store: str) -> str:
    return (
        f"already boots {owner} ({OWNER_PARAMETER}={owner.value} in {store});"
        " a node follows one template: take it out of one of them"
    )


def outranked_problems(
    hosts_by_set: Mapping[str, list[str]], actual: Mapping[str, NodeBoot]
) -> list[Problem]:
    """One problem per boot set and reason for the targets whose store would go on serving
    another entry than the one this product writes (boot-service: one that outscores it)."""
    groups = grouped(
        ((set_name, reason), host)
        for set_name, hosts in hosts_by_set.items()
        for host in hosts
        if (current := actual.get(host)) is not None and (reason := current.outranked_by)
    )
    return [
        Problem(
            f"boot_sets.{set_name}",
            f"{reason}; the node would not boot this template: remove that entry, or take"
            " the node out of the boot set",
            shown(hosts),
        )
        for (set_name, reason), hosts in groups.items()
    ]


def plan_boot(
    desired: Mapping[str, BootWrite],
    actual: Mapping[str, NodeBoot],
    stake: Stake,
    previous_hosts: Iterable[str] = (),
) -> WritePlan:
    """One write per boot set carrying only the nodes that differ (or that lack it under one
    of the ways they ask); one removal for leavers whose entry is still the template's
    (another template may have taken one since).

    `actual` is what each node boots now (`BootStore.read`)."""
    booted: set[str] = set()
    plan = WritePlan()
    wanted_hosts: set[str] = set()
    for set_name, target in desired.items():
        wanted_hosts.update(target.nodes)
        stale: list[str] = []
        tallies: dict[tuple[str, str | None, str | None], list[str]] = {}
        want = _boot_fields(target.boot)  # one per boot set, not per node: 10,000 share it
        if want["session"] is None:
            del want["session"]  # the template's own write keeps whichever session wrote last
        for host in target.nodes:
            current = actual.get(host)
            if current is None:
                stale.append(host)
                tallies.setdefault(("(record)", "absent", "present"), []).append(host)
                continue
            differs = False
            have = _boot_fields(current.boot)
            for label, new in want.items():
                old = have[label]
                if old != new:
                    differs = True
                    tallies.setdefault((label, old, new), []).append(host)
            if not differs:
                # Right under one way of asking, absent (or another) under another.
                for way in current.missing:
                    differs = True
                    tallies.setdefault((way, "absent", "present"), []).append(host)
            if differs:
                stale.append(host)
        if stale:
            plan.boot_writes.append(BootWrite(set_name, target.boot, tuple(stale)))
        for (label, old, new), nodes in sorted(tallies.items(), key=lambda kv: repr(kv[0])):
            change = FieldChange(f"boot_sets.{set_name}.{label}", old, new, tuple(nodes))
            plan.changes.append(change)
            if label in _BOOTED_FIELDS:
                booted.update(nodes)
    plan.boot_changes = sorted(booted)
    # Only nodes the store still holds with this template's marker: one removed or rewritten
    # by hand since is no change to make, and one another template of the deployment targets
    # now is that template's to write (a move between two templates in one `up`).
    leavers = sorted(
        h
        for h in set(previous_hosts) - wanted_hosts
        if h in actual and stake.marked(actual[h].boot.owner) and not stake.left_to_sibling(h)
    )
    if leavers:
        plan.boot_removals = leavers
        plan.changes.append(FieldChange("hosts", "present", "removed", tuple(leavers)))
    return plan


def cloud_init_differences(desired: GroupEntry, actual: GroupEntry) -> list[FieldChange]:
    changes = []
    if desired.meta_data != actual.meta_data:
        changes.append(
            FieldChange(
                f"cloud_init[{desired.name}].meta_data", actual.meta_data, desired.meta_data
            )
        )
    if desired.user_data != actual.user_data:
        changes.append(
            FieldChange(
                f"cloud_init[{desired.name}].user_data", actual.user_data, desired.user_data
            )
        )
    if desired.description != actual.description:
        changes.append(
            FieldChange(
                f"cloud_init[{desired.name}].description", actual.description, desired.description
            )
        )
    return changes


def unowned_group_reason(store: str) -> str:
    return (
        f"{store} already has data for this group and no template owns it;"
        " set `adopt: true` on the template to take it over, or delete it first"
    )


def group_problem(
    stake: Stake, name: str, current: GroupEntry, owned: Iterable[str], *, store: str
) -> str | None:
    """Why the template may not write over the data a group holds now, or None.

    Data another template wrote (its marker is in the description) is never overwritten, even
    adopted; hand-made data only when the template owns or adopts the group. Overwriting another
    team's cloud-init data silently is how nodes end up with the wrong configuration."""
    owner = group_owner(current.description)
    if owner is not None:
        if stake.refuses(owner):
            return (
                f"{store}'s data for this group belongs to {owner};"
                " a group follows one template: take it out of one of them"
            )
        return None
    return None if name in set(owned) else unowned_group_reason(store)


def plan_cloud_init(
    desired: Mapping[str, GroupEntry],
    actual: Mapping[str, GroupEntry | None],
    stake: Stake,
    owned: Iterable[str] = (),
    *,
    store: str,
) -> WritePlan:
    """Create groups that do not exist, replace the template's own that differ, and delete
    those it dropped (unless another template has taken one since). `store` names the
    group-data service in what is refused."""
    plan = WritePlan()
    owned_set = set(owned)
    for name, group in desired.items():
        current = actual.get(name)
        if current is None:
            plan.cloud_init_creates.append(group)
            plan.changes.append(FieldChange(f"cloud_init[{name}]", None, "created"))
            continue
        problem = group_problem(stake, name, current, owned_set, store=store)
        if problem:
            raise InvalidInputError("cloud_init", name, problem)
        differences = cloud_init_differences(group, current)
        if differences:
            plan.cloud_init_updates.append(group)
            plan.changes.extend(differences)
    plan.cloud_init_deletes = [
        name
        for name in sorted(owned_set - set(desired))
        if (current := actual.get(name)) is not None
        and stake.still_holds(group_owner(current.description))
    ]
    plan.changes.extend(
        FieldChange(f"cloud_init[{name}]", "present", "removed") for name in plan.cloud_init_deletes
    )
    return plan


def merge_plans(*plans: WritePlan) -> WritePlan:
    merged = WritePlan()
    for plan in plans:
        merged.boot_writes += plan.boot_writes
        merged.boot_removals += plan.boot_removals
        merged.boot_changes += plan.boot_changes
        merged.cloud_init_creates += plan.cloud_init_creates
        merged.cloud_init_updates += plan.cloud_init_updates
        merged.cloud_init_deletes += plan.cloud_init_deletes
        merged.changes += plan.changes
    return merged


def _or_default(text: str | None, spec: BootTemplateSpec) -> str | None:
    # The default description reads back as whatever the spec says, so it is no drift.
    return spec.cloud_init.description if text is None and spec.cloud_init else text


def observed_spec(
    spec: BootTemplateSpec,
    hosts_by_set: Mapping[str, list[str]],
    actual_boots: Mapping[str, NodeBoot],
    actual_cloud_init: Mapping[str, GroupEntry | None],
    owner: Owner,
) -> dict[str, Any]:
    """The spec as the services hold it now, for `pulumi refresh` to record drift.

    Each boot set takes the values of its first host that differs from the spec (or of the first
    host when none differs); `cloud_init` takes the first group's data.
    """
    observed = spec.model_dump(mode="json")
    for set_name, hosts in hosts_by_set.items():
        boot_set = observed["boot_sets"][set_name]
        records = [actual_boots[h].boot for h in hosts if h in actual_boots]
        if not records:
            continue
        wanted = (boot_set["kernel"], boot_set["initrd"] or "", boot_set["kernel_parameters"])
        pick = next(
            (r for r in records if (r.kernel, r.initrd, strip_owner(r.params)) != wanted),
            records[0],
        )
        boot_set["kernel"] = pick.kernel
        boot_set["initrd"] = pick.initrd or None
        boot_set["kernel_parameters"] = strip_owner(pick.params)
    if spec.cloud_init is not None:
        for group in spec.cloud_init_groups():
            current = actual_cloud_init.get(group)
            if current is None:
                observed["cloud_init"] = None
                break
            observed["cloud_init"] = {
                "meta_data": current.meta_data,
                "user_data": current.user_data or None,
                "description": _or_default(group_text(current.description), spec),
            }
            if cloud_init_differences(desired_cloud_init(spec, owner)[group], current):
                break
    return observed
