"""Pure planning: from a template spec and what the services hold now to the writes to make.

No I/O here. Inputs are plain data (group members, components, BSS and cloud-init records);
outputs are the requests to send and a field-level change list to show the user.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidInputError
from .models.kernel_params import (
    BOOT_SET_PARAMETER,
    OWNER_PARAMETER,
    SESSION_PARAMETER,
    VERSION_PARAMETER,
    marker_of,
    owner_of,
    strip_owner,
    with_owner,
    without_session,
)
from .models.owner import Owner, Stake, bss_owner, group_description, group_owner, group_text
from .models.problems import Problem
from .models.records import BootParams, BootRecords, CloudConfigFile, CloudInitGroup, Component
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
    bss_writes: list[BootParams] = field(default_factory=list)
    bss_deletes: list[str] = field(default_factory=list)
    bss_mac_deletes: list[str] = field(default_factory=list)
    # Nodes whose kernel, initrd or parameters the writes change (what they would boot).
    boot_changes: list[str] = field(default_factory=list)
    cloud_init_creates: list[CloudInitGroup] = field(default_factory=list)
    cloud_init_updates: list[CloudInitGroup] = field(default_factory=list)
    cloud_init_deletes: list[str] = field(default_factory=list)
    changes: list[FieldChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.bss_writes
            or self.bss_deletes
            or self.bss_mac_deletes
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


def desired_boot_params(
    spec: BootTemplateSpec,
    hosts_by_set: Mapping[str, list[str]],
    owner: Owner,
    session: str = "",
) -> dict[str, BootParams]:
    """Each boot set's record; its parameters end with the owner, boot set and version
    markers, and the session's name when a session writes it."""
    version = spec.version()
    return {
        set_name: BootParams(
            hosts=list(hosts_by_set.get(set_name, [])),
            kernel=boot_set.kernel,
            initrd=boot_set.initrd or "",
            params=with_owner(boot_set.kernel_parameters, owner.value, set_name, version, session),
        )
        for set_name, boot_set in spec.boot_sets.items()
    }


def desired_cloud_init(spec: BootTemplateSpec, owner: Owner) -> dict[str, CloudInitGroup]:
    if spec.cloud_init is None:
        return {}
    ci = spec.cloud_init
    return {
        group: CloudInitGroup(
            name=group,
            description=group_description(ci.description, owner),
            meta_data=dict(ci.meta_data),
            file=CloudConfigFile(content=ci.user_data or "", encoding="plain"),
        )
        for group in spec.cloud_init_groups()
    }


def boot_view(
    records: BootRecords,
    macs_by_host: Mapping[str, list[str]],
    hosts: Iterable[str],
    wanted: Mapping[str, tuple[str, str, str]] | None = None,
) -> dict[str, BootParams]:
    """What each host boots, from its records by name and by MAC, keyed by host.

    A host's view is its first record (by name, then by each MAC) whose boot configuration
    differs from `wanted` (what the template would write), else its record by name: an edit
    under either key is drift, and a node's iPXE asks by MAC, so what it boots may be the MAC
    record alone. The view's `macs` are the host's MACs whose record holds the view's boot
    configuration; a MAC missing from it has no record, or another one."""
    wanted = wanted or {}
    view: dict[str, BootParams] = {}
    for host in hosts:
        by_mac = [(m, records.by_mac[m]) for m in macs_by_host.get(host, []) if m in records.by_mac]
        candidates = [r for r in (records.by_host.get(host),) if r is not None]
        candidates += [r for _, r in by_mac]
        if not candidates:
            continue
        want = wanted.get(host)
        chosen = next((r for r in candidates if not _same_boot(r, want)), candidates[0])
        by_name = records.by_host.get(host)
        held = [host] if by_name is not None and by_name.boot_config == chosen.boot_config else []
        same = [m for m, r in by_mac if r.boot_config == chosen.boot_config]
        view[host] = chosen.model_copy(update={"hosts": held, "macs": same})
    return view


def _same_boot(record: BootParams, config: tuple[str, str, str] | None) -> bool:
    """Whether `record` boots `config`, whichever session wrote either last."""
    if config is None:
        return False
    kernel, initrd, params = config
    return (record.kernel, record.initrd) == (kernel, initrd) and without_session(
        record.params
    ) == without_session(params)


def _bss_fields(record: BootParams) -> dict[str, str | None]:
    """A record as the user thinks of it: the owner marker apart from their parameters."""
    return {
        "kernel": record.kernel,
        "initrd": record.initrd,
        "kernel_parameters": strip_owner(record.params),
        "owner": owner_of(record.params),
        "boot_set": marker_of(record.params, BOOT_SET_PARAMETER),
        "version": marker_of(record.params, VERSION_PARAMETER),
        "session": marker_of(record.params, SESSION_PARAMETER),
    }


# Differences that change what a node boots; the markers (a rename, an upgrade that adds one)
# and a record restored under its other key do not.
_BOOTED_FIELDS = ("kernel", "initrd", "kernel_parameters", "(record)")


def foreign_owners(
    stake: Stake,
    hosts_by_set: Mapping[str, list[str]],
    actual: Mapping[str, BootParams],
) -> list[tuple[str, str, Owner]]:
    """(boot set, node, owner) for each target BSS says another template boots, unless the
    stake may take it (a template its deployment no longer declares)."""
    found = []
    for set_name, hosts in hosts_by_set.items():
        for host in hosts:
            record = actual.get(host)
            owner = bss_owner(record.params) if record is not None else None
            if owner is not None and stake.refuses(owner, host):
                found.append((set_name, host, owner))
    return found


def refuse_foreign_owners(
    stake: Stake,
    hosts_by_set: Mapping[str, list[str]],
    actual: Mapping[str, BootParams],
) -> None:
    """Two templates over one node would overwrite each other on every `pulumi up`."""
    found = foreign_owners(stake, hosts_by_set, actual)
    if found:
        raise InvalidInputError.of(foreign_owner_problems(found), value=found[0][1])


def foreign_owner_problems(found: Iterable[tuple[str, str, Owner]]) -> list[Problem]:
    """One problem per boot set and other template, naming its nodes in hostlist notation."""
    groups = grouped(((set_name, owner), host) for set_name, host, owner in found)
    return [
        Problem(f"boot_sets.{set_name}", foreign_owner_reason(owner), shown(hosts))
        for (set_name, owner), hosts in groups.items()
    ]


def foreign_owner_reason(owner: Owner) -> str:
    return (
        f"already boots {owner} ({OWNER_PARAMETER}={owner.value} in BSS);"
        " a node follows one template: take it out of one of them"
    )


def plan_bss(
    desired: Mapping[str, BootParams],
    actual: Mapping[str, BootParams],
    stake: Stake,
    previous_hosts: Iterable[str] = (),
    macs_by_host: Mapping[str, list[str]] | None = None,
) -> WritePlan:
    """One PUT per boot set carrying only the hosts that differ (and their MACs: a record by
    MAC is what a node's iPXE finds); one DELETE for leavers whose record is still the
    template's (another template may have taken one since).

    `actual` is each host's boot view (`boot_view`); `macs_by_host` the MACs SMD knows."""
    macs_by_host = macs_by_host or {}
    booted: set[str] = set()
    plan = WritePlan()
    wanted_hosts: set[str] = set()
    for set_name, record in desired.items():
        wanted_hosts.update(record.hosts)
        stale: list[str] = []
        tallies: dict[tuple[str, str | None, str | None], list[str]] = {}
        want = _bss_fields(record)  # one per boot set, not per host: 10,000 hosts share it
        if want["session"] is None:
            del want["session"]  # the template's own write keeps whichever session wrote last
        for host in record.hosts:
            current = actual.get(host)
            if current is None:
                stale.append(host)
                tallies.setdefault(("(record)", "absent", "present"), []).append(host)
                continue
            differs = False
            have = _bss_fields(current)
            for label, new in want.items():
                old = have[label]
                if old != new:
                    differs = True
                    tallies.setdefault((label, old, new), []).append(host)
            if not differs:
                # Right under one key, absent (or another) under the other: iPXE asks by MAC,
                # `?name=` and this provider's reads by name.
                for key, absent in (
                    ("record_by_name", not current.hosts),
                    ("records_by_mac", set(macs_by_host.get(host, ())) - set(current.macs)),
                ):
                    if absent:
                        differs = True
                        tallies.setdefault((key, "absent", "present"), []).append(host)
            if differs:
                stale.append(host)
        if stale:
            macs = [m for h in stale for m in macs_by_host.get(h, ())]
            plan.bss_writes.append(record.model_copy(update={"hosts": stale, "macs": macs}))
        for (label, old, new), nodes in sorted(tallies.items(), key=lambda kv: repr(kv[0])):
            change = FieldChange(f"boot_sets.{set_name}.{label}", old, new, tuple(nodes))
            plan.changes.append(change)
            if label in _BOOTED_FIELDS:
                booted.update(nodes)
    plan.boot_changes = sorted(booted)
    # Only hosts BSS still holds with this template's marker: one removed or rewritten by hand
    # since is no change to make, and one another template of the deployment targets now is
    # that template's to write (a move between two templates in one `up`).
    leavers = sorted(
        h
        for h in set(previous_hosts) - wanted_hosts
        if h in actual
        and stake.marked(bss_owner(actual[h].params))
        and not stake.left_to_sibling(h)
    )
    if leavers:
        plan.bss_deletes = leavers
        plan.bss_mac_deletes = [m for h in leavers for m in actual[h].macs]
        plan.changes.append(FieldChange("hosts", "present", "removed", tuple(leavers)))
    return plan


def cloud_init_differences(desired: CloudInitGroup, actual: CloudInitGroup) -> list[FieldChange]:
    changes = []
    if desired.meta_data != actual.meta_data:
        changes.append(
            FieldChange(
                f"cloud_init[{desired.name}].meta_data", actual.meta_data, desired.meta_data
            )
        )
    if desired.file.text() != actual.file.text():
        changes.append(
            FieldChange(
                f"cloud_init[{desired.name}].user_data", actual.file.text(), desired.file.text()
            )
        )
    if desired.description != actual.description:
        changes.append(
            FieldChange(
                f"cloud_init[{desired.name}].description", actual.description, desired.description
            )
        )
    return changes


UNOWNED_GROUP_REASON = (
    "the cloud-init server already has data for this group and no template owns it;"
    " set `adopt: true` on the template to take it over, or delete it first"
)


def group_problem(
    stake: Stake, name: str, current: CloudInitGroup, owned: Iterable[str]
) -> str | None:
    """Why the template may not write over the data a group holds now, or None.

    Data another template wrote (its marker is in the description) is never overwritten, even
    adopted; hand-made data only when the template owns or adopts the group. Overwriting another
    team's cloud-init data silently is how nodes end up with the wrong configuration."""
    owner = group_owner(current.description)
    if owner is not None:
        if stake.refuses(owner):
            return (
                f"the cloud-init server's data for this group belongs to {owner};"
                " a group follows one template: take it out of one of them"
            )
        return None
    return None if name in set(owned) else UNOWNED_GROUP_REASON


def plan_cloud_init(
    desired: Mapping[str, CloudInitGroup],
    actual: Mapping[str, CloudInitGroup | None],
    stake: Stake,
    owned: Iterable[str] = (),
) -> WritePlan:
    """Create groups that do not exist, replace the template's own that differ, and delete
    those it dropped (unless another template has taken one since)."""
    plan = WritePlan()
    owned_set = set(owned)
    for name, group in desired.items():
        current = actual.get(name)
        if current is None:
            plan.cloud_init_creates.append(group)
            plan.changes.append(FieldChange(f"cloud_init[{name}]", None, "created"))
            continue
        problem = group_problem(stake, name, current, owned_set)
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
        merged.bss_writes += plan.bss_writes
        merged.bss_deletes += plan.bss_deletes
        merged.bss_mac_deletes += plan.bss_mac_deletes
        merged.boot_changes += plan.boot_changes
        merged.cloud_init_creates += plan.cloud_init_creates
        merged.cloud_init_updates += plan.cloud_init_updates
        merged.cloud_init_deletes += plan.cloud_init_deletes
        merged.changes += plan.changes
    return merged


def batch_by_content(records: Iterable[BootParams]) -> list[BootParams]:
    """Merge per-host records with the same kernel, initrd and params into one batch each
    (hosts and MACs alike)."""
    batches: dict[tuple[str, str, str], tuple[list[str], list[str]]] = {}
    for record in records:
        hosts, macs = batches.setdefault(record.boot_config, ([], []))
        hosts.extend(record.hosts)
        macs.extend(record.macs)
    return [
        BootParams(hosts=hosts, macs=macs, kernel=kernel, initrd=initrd, params=params)
        for (kernel, initrd, params), (hosts, macs) in batches.items()
    ]


def _or_default(text: str | None, spec: BootTemplateSpec) -> str | None:
    # The default description reads back as whatever the spec says, so it is no drift.
    return spec.cloud_init.description if text is None and spec.cloud_init else text


def observed_spec(
    spec: BootTemplateSpec,
    hosts_by_set: Mapping[str, list[str]],
    actual_bss: Mapping[str, BootParams],
    actual_cloud_init: Mapping[str, CloudInitGroup | None],
    owner: Owner,
) -> dict[str, Any]:
    """The spec as the services hold it now, for `pulumi refresh` to record drift.

    Each boot set takes the values of its first host that differs from the spec (or of the first
    host when none differs); cloud-init takes the first group's data.
    """
    observed = spec.model_dump(mode="json")
    for set_name, hosts in hosts_by_set.items():
        boot_set = observed["boot_sets"][set_name]
        records = [actual_bss[h] for h in hosts if h in actual_bss]
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
                "user_data": current.file.text() or None,
                "description": _or_default(group_text(current.description), spec),
            }
            if cloud_init_differences(desired_cloud_init(spec, owner)[group], current):
                break
    return observed
