"""The one writer of a template's data: resolve its nodes in SMD, read the boot store and
cloud-init, plan (pure, in planning.py), then write, putting back what earlier writes replaced
if a later one fails. Template create, update and delete use it, and so does a session's
configuration step (restricted to the session's nodes).

Request counts do not grow with the number of nodes: one SMD read per group and per partition
(plus one component read when roles, arch or node lists are used), the boot store's reads and
writes (constant per boot set: `ports.BootStore`), one cloud-init request per group.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial

from .claims import NodeClaims
from .clients.services import Services
from .errors import InvalidInputError, NotFoundError, OchamiError
from .models.boot import BootWrite, NodeBoot, StoreStep
from .models.group_data import GroupEntry
from .models.owner import Owner, Stake, group_owner
from .models.problems import Problem
from .models.records import Component, Group, Partition
from .models.template import BootTemplateSpec
from .nodesets import NodeSet, grouped, phrase, shown
from .planning import (
    FieldChange,
    WritePlan,
    desired_boots,
    desired_cloud_init,
    foreign_owner_problems,
    foreign_owners,
    merge_plans,
    outranked_problems,
    plan_boot,
    plan_cloud_init,
    refuse_foreign_owners,
    resolve_boot_sets,
)

Log = Callable[[str], None]
HostsBySet = dict[str, list[str]]


def quiet(_: str) -> None:
    return None


@dataclass
class Observed:
    hosts_by_set: HostsBySet
    # What each node boots, as the boot store holds it (`BootStore.read`).
    boots: dict[str, NodeBoot]
    cloud_init: dict[str, GroupEntry | None]
    # What each boot set's nodes should boot.
    desired: dict[str, BootWrite]
    # Groups and partitions the spec names that SMD no longer has (a refresh reads on).
    gone: list[str] = field(default_factory=list)


@dataclass
class WriteReport:
    hosts_by_set: HostsBySet
    cloud_init_groups: list[str]
    changes: list[FieldChange] = field(default_factory=list)
    # Hand-made data (no template's marker) the template's groups held before this write.
    groups_before: dict[str, GroupEntry] = field(default_factory=dict)
    # Nodes whose boot this write changed: their kernel, initrd or parameters, or their
    # cloud-init data (read at boot), not the markers alone.
    written_hosts: list[str] = field(default_factory=list)


def resolve_targets(
    services: Services,
    spec: BootTemplateSpec,
    *,
    require_members: bool = False,
    gone: list[str] | None = None,
) -> HostsBySet:
    """Nodes of each boot set, from SMD. An unknown group is an error naming the boot set
    (unless `gone` collects it: a refresh, where a group removed from SMD is drift, not a
    reason to refuse a refresh or a destroy); with `require_members` (check and apply, not
    refresh) so are an empty group and a boot set that resolves to no node."""
    members = _named_members(spec, "node_groups", "group", services.inventory.get_group, gone)
    partitions = _named_members(
        spec, "node_partitions", "partition", services.inventory.get_partition, gone
    )
    components: list[Component] = []
    if any(b.node_roles_groups or b.arch for b in spec.boot_sets.values()):
        components = services.inventory.list_components(type_="Node")
    _check_listed_nodes(services, spec, components)
    resolved = resolve_boot_sets(spec, members, components, partitions)
    if require_members:
        _refuse_empty(spec, members, resolved, partitions)
    return resolved


def _named_members(
    spec: BootTemplateSpec,
    key: str,
    what: str,
    read: Callable[[str], Group | Partition],
    gone: list[str] | None = None,
) -> dict[str, list[str]]:
    """Members of every SMD group (or partition) the boot sets name under `key`, one read
    each; an unknown one is an error naming the (first) boot set that names it, or, with
    `gone`, has no members and is said there."""
    members: dict[str, list[str]] = {}
    for set_name, boot_set in spec.boot_sets.items():
        for name in getattr(boot_set, key):
            if name in members:
                continue
            try:
                members[name] = read(name).members.ids
            except NotFoundError:
                if gone is None:
                    raise InvalidInputError(
                        f"boot_sets.{set_name}.{key}", name, f"SMD has no {what} of this name"
                    ) from None
                members[name] = []
                gone.append(f"boot_sets.{set_name}.{key}: SMD has no {what} {name!r} any more")
    return members


def _refuse_empty(
    spec: BootTemplateSpec,
    members: Mapping[str, list[str]],
    resolved: HostsBySet,
    partitions: Mapping[str, list[str]],
) -> None:
    for set_name, boot_set in spec.boot_sets.items():
        named = [("node_groups", "group", g, members[g]) for g in boot_set.node_groups]
        named += [
            ("node_partitions", "partition", p, partitions[p]) for p in boot_set.node_partitions
        ]
        for key, what, label, found in named:
            if not found:
                raise InvalidInputError(
                    f"boot_sets.{set_name}.{key}",
                    label,
                    f"SMD {what} has no members; the boot set would boot none of its nodes",
                )
        if not resolved[set_name]:
            raise InvalidInputError(
                f"boot_sets.{set_name}",
                set_name,
                "resolves to no node in SMD (check node_roles_groups and arch)",
            )


def _check_listed_nodes(
    services: Services, spec: BootTemplateSpec, components: list[Component]
) -> None:
    """Every node_list entry must be a node SMD knows. BSS would store parameters for any
    well-formed xname (seen on the real BSS), so a typo would go unnoticed until PCS failed."""
    listed = sorted({x for b in spec.boot_sets.values() for x in b.node_list})
    if not listed:
        return
    if not components:
        components = services.inventory.list_nodes(listed)
    known = {c.id for c in components}
    for set_name, boot_set in spec.boot_sets.items():
        for xname in boot_set.node_list:
            if xname not in known:
                raise InvalidInputError(
                    f"boot_sets.{set_name}.node_list", xname, "SMD has no node with this xname"
                )


def observe(
    services: Services,
    spec: BootTemplateSpec,
    owner: Owner,
    hosts_by_set: HostsBySet,
    previous_hosts: Iterable[str] = (),
    owned_groups: Iterable[str] = (),
    session: str = "",
) -> Observed:
    """One boot store read for the targets and the hosts the template held before (possible
    leavers); one cloud-init read per group it writes or held before. `session`: the session
    writing, named in the boot it writes."""
    hosts = (NodeSet.union_of(hosts_by_set.values()) | previous_hosts).sorted()
    groups = sorted(set(spec.cloud_init_groups()) | set(owned_groups))
    desired = desired_boots(spec, hosts_by_set, owner, session)
    wanted = {host: target.boot for target in desired.values() for host in target.nodes}
    return Observed(
        hosts_by_set=hosts_by_set,
        boots=services.boot.read(hosts, wanted),
        cloud_init={g: services.group_data.get_group(g) for g in groups},
        desired=desired,
    )


def plan_template(
    services: Services,
    spec: BootTemplateSpec,
    stake: Stake,
    observed: Observed,
    previous_hosts: Iterable[str] = (),
    owned_groups: Iterable[str] = (),
) -> WritePlan:
    return merge_plans(
        plan_boot(observed.desired, observed.boots, stake, previous_hosts),
        plan_cloud_init(
            desired_cloud_init(spec, stake.owner),
            observed.cloud_init,
            stake,
            owned_groups,
            store=services.group_data.label,
        ),
    )


def write_template(
    services: Services,
    spec: BootTemplateSpec,
    stake: Stake,
    *,
    previous_hosts: Iterable[str] = (),
    owned_groups: Iterable[str] = (),
    hosts_by_set: HostsBySet | None = None,
    only_nodes: Iterable[str] | None = None,
    restore_groups: Mapping[str, GroupEntry] | None = None,
    session: str = "",
    log: Log = quiet,
) -> WriteReport:
    """Make the boot store and cloud-init hold `spec`: resolve (unless `hosts_by_set` is
    given), read, plan (every check passes before the first write), write.

    `previous_hosts` and `owned_groups` are what the template held before: hosts it no longer
    targets lose their records, and groups it owns may be replaced (or removed when dropped).
    `only_nodes` restricts the boot writes to those nodes (a session's configuration step).
    A group in `restore_groups` that the template drops is put back as it was, not removed."""
    if hosts_by_set is None:
        hosts_by_set = resolve_targets(services, spec, require_members=True)
    if only_nodes is not None:
        chosen = set(only_nodes)
        hosts_by_set = {k: [h for h in v if h in chosen] for k, v in hosts_by_set.items()}
    previous_hosts, owned_groups = list(previous_hosts), list(owned_groups)
    observed = observe(
        services, spec, stake.owner, hosts_by_set, previous_hosts, owned_groups, session
    )
    refuse_foreign_owners(stake, hosts_by_set, observed.boots, services.boot.label)
    plan = plan_template(services, spec, stake, observed, previous_hosts, owned_groups)
    _execute(services, plan, observed, log, restore_groups or {})
    groups = spec.cloud_init_groups()
    found = {
        g: data
        for g, data in observed.cloud_init.items()
        if g in groups and data is not None and group_owner(data.description) is None
    }
    written = set(plan.boot_changes)
    if any(_changes_cloud_init_data(c.path) for c in plan.changes):
        written |= NodeSet.union_of(hosts_by_set.values())
    return WriteReport(hosts_by_set, groups, plan.changes, found, sorted(written))


def _changes_cloud_init_data(path: str) -> bool:
    return path.startswith("cloud_init[") and not path.endswith(".description")


def read_template(
    services: Services, spec: BootTemplateSpec, stake: Stake, previous_hosts: Iterable[str] = ()
) -> tuple[Observed, WritePlan]:
    """What the services hold for `spec` now, and what writing it would change (reads only).
    The template's own groups count as owned, so data present before it shows as drift. A
    group or partition gone from SMD has no members here (its nodes' records show as ones
    the template no longer targets) and is said in `Observed.gone`."""
    gone: list[str] = []
    hosts_by_set = resolve_targets(services, spec, gone=gone)
    observed = observe(services, spec, stake.owner, hosts_by_set, previous_hosts)
    observed.gone = gone
    return observed, plan_template(
        services, spec, stake, observed, previous_hosts, spec.cloud_init_groups()
    )


def remove_template(
    services: Services,
    stake: Stake,
    hosts: list[str],
    groups: list[str],
    restore_groups: Mapping[str, GroupEntry] | None = None,
    log: Log = quiet,
) -> None:
    """Remove what the template wrote and still holds (another template of its stack may have
    taken nodes or groups over in the same `up`: a rename); cloud-init data it adopted is put
    back as it was."""
    store = services.boot
    boots = store.read(hosts)
    owners = {h: boots[h].boot.owner for h in boots}
    mine = [h for h, owner in owners.items() if stake.marked(owner)]
    by_hand = sum(owner is None for owner in owners.values())
    if by_hand:
        log(
            f"{store.label}: left {by_hand} node(s) whose record was written by hand"
            " (no owner marker)"
        )
    if len(mine) + by_hand < len(boots):
        taken = len(boots) - len(mine) - by_hand
        log(f"{store.label}: left {taken} node(s) another template boots now")
    for step in store.remove_steps(mine, boots):
        step.run()
    for group in groups:
        current = services.group_data.get_group(group)
        if current is not None and not stake.still_holds(group_owner(current.description)):
            log(
                f"{services.group_data.label}: left the data of group {group}: another"
                " template holds it now"
            )
            continue
        original = (restore_groups or {}).get(group)
        if original is not None or current is not None:
            _let_go_of_group(services, group, original, log)


def target_problems(
    services: Services, spec: BootTemplateSpec, stake: Stake, claims: NodeClaims, log: Log = quiet
) -> list[Problem]:
    """What `check` finds in SMD and the boot store; reads only.

    Unknown or empty groups, unknown nodes, nodes another template of this deployment
    targets, nodes the store says another template boots (unless that template, checked in
    this deployment, lets them go), and nodes the store would serve another entry than ours."""
    try:
        hosts_by_set = resolve_targets(services, spec, require_members=True)
    except InvalidInputError as error:
        return error.problems
    cluster = services.cluster
    problems = claim_problems(claims, cluster, spec.name, hosts_by_set)
    stake = replace(stake, siblings=claims.others(cluster, spec.name))
    hosts = NodeSet.union_of(hosts_by_set.values()).sorted()
    boots = services.boot.read(hosts)
    _say_takeovers(spec, stake, boots, log)
    taken = foreign_owners(stake, hosts_by_set, boots)
    return (
        problems
        + foreign_owner_problems(
            (
                (set_name, host, owner)
                for set_name, host, owner in taken
                if not (
                    stake.same_deployment(owner) and claims.releases(cluster, owner.template, host)
                )
            ),
            services.boot.label,
        )
        + outranked_problems(hosts_by_set, boots)
    )


def claim_problems(
    claims: NodeClaims, cluster: str, template: str, hosts_by_set: Mapping[str, Iterable[str]]
) -> list[Problem]:
    """The template's nodes claimed for it in this deployment; one problem per boot set and
    other template for the nodes another template of the deployment targets."""
    claimed = grouped(
        ((set_name, other), host)
        for set_name, host, other in claims.claim(cluster, template, hosts_by_set)
    )
    return [
        Problem(
            f"boot_sets.{set_name}",
            f"also a target of template {other!r} in this stack; a node follows one template",
            shown(hosts),
        )
        for (set_name, other), hosts in claimed.items()
    ]


def _let_go_of_group(services: Services, name: str, original: GroupEntry | None, log: Log) -> None:
    """A group the template no longer writes: the data it adopted put back, or removed."""
    if original is not None:
        services.group_data.put_group(original)
        log(
            f"{services.group_data.label}: put back the data group {name} held before it"
            " was adopted"
        )
    else:
        services.group_data.delete_group(name)
        log(f"{services.group_data.label}: removed group data for {name}")


def _say_takeovers(
    spec: BootTemplateSpec, stake: Stake, boots: Mapping[str, NodeBoot], log: Log
) -> None:
    """Nodes a template of this stack that the stack no longer declares boots now: the preview
    says they change hands (a rename), as the update will do without a gap in the store."""
    owners = ((b.boot.owner, host) for host, b in boots.items())
    taken = grouped((o, host) for o, host in owners if o is not None and stake.may_take(o))
    for owner, nodes in taken.items():
        log(
            f"template {spec.name} takes over {phrase(nodes)} from {owner}, which the stack"
            " no longer declares"
        )


def _execute(
    services: Services,
    plan: WritePlan,
    observed: Observed,
    log: Log,
    restore_groups: Mapping[str, GroupEntry],
) -> None:
    """Write the plan; if a write fails, put back what the earlier writes replaced, and say so."""
    store = services.boot
    steps = store.write_steps(plan.boot_writes, observed.boots)
    steps += store.remove_steps(plan.boot_removals, observed.boots)
    steps += _cloud_init_steps(services, plan, observed, log, restore_groups)
    undo: list[StoreStep] = []
    # How many of the undo steps belong to writes that completed: a write that failed is no
    # write "before it", but one that lands in part is put back too.
    completed = 0
    try:
        for step in steps:
            if step.lands_in_part:
                undo.append(step)
            step.run()
            if not step.lands_in_part and step.undo is not None:
                undo.append(step)
            if step.undo is not None:
                completed += 1
            if step.done:
                log(step.done)
    except OchamiError as error:
        undone, stuck = [], []
        for index, step in reversed(list(enumerate(undo))):
            what = step.done if index < completed else f"whatever landed of: {step.done}"
            try:
                assert step.undo is not None
                step.undo()
                if index < completed:
                    undone.append(step.done)
                log(f"rolled back ({what}): put back as it was")
            except OchamiError as undo_error:  # keep the first error; report the second
                stuck.append(what)
                log(f"rollback failed ({what}): {undo_error}")
        if undone and not stuck:
            error.add_note(
                f"Nothing is half-written: the {len(undone)} write(s) before it were rolled"
                f" back ({'; '.join(reversed(undone))})."
            )
        elif stuck:
            error.add_note(f"Rolling back failed for: {'; '.join(reversed(stuck))}.")
        raise


def _cloud_init_steps(
    services: Services,
    plan: WritePlan,
    observed: Observed,
    log: Log,
    restore_groups: Mapping[str, GroupEntry],
) -> list[StoreStep]:
    client = services.group_data
    steps = [
        StoreStep(
            f"{client.label}: created group data for {group.name}",
            partial(client.create_group, group),
            partial(client.delete_group, group.name),
        )
        for group in plan.cloud_init_creates
    ]
    for group in plan.cloud_init_updates:
        before = observed.cloud_init.get(group.name)
        steps.append(
            StoreStep(
                f"{client.label}: replaced group data for {group.name}",
                partial(client.put_group, group),
                partial(client.put_group, before) if before is not None else None,
            )
        )
    steps += [
        StoreStep(
            "", partial(_let_go_of_group, services, name, restore_groups.get(name), log), None
        )
        for name in plan.cloud_init_deletes
    ]
    return steps
