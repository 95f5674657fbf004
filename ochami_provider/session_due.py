"""Which of a session's nodes a template change makes due again, and why (pure).

A session is done once its nodes have booted what the template gives them. A later template
change makes it due again only for the nodes whose own boot changed: the kernel, initrd or
kernel parameters of their boot set, the cloud-init data their groups serve, or the boot set
they are in. A description, another boot set, a rename or the owner markers change nothing a
node boots, so they make no node due.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .models.template import BootSet, BootTemplateSpec
from .nodesets import grouped, phrase

# A boot set's fields that decide what its nodes boot, as a preview names them.
BOOT_FIELDS = (
    ("kernel", "kernel"),
    ("initrd", "initrd"),
    ("kernel_parameters", "kernel parameters"),
)
TARGET_FIELDS = ("node_groups", "node_list", "node_roles_groups", "node_partitions", "arch")
# Operations a template change reruns: those that boot nodes. `shutdown` and `stage` have
# nothing left to do once done.
RERUNS_ON_TEMPLATE_CHANGE = ("boot", "reboot")
VERB = {"boot": "boots", "reboot": "reboots"}

HostsBySet = Mapping[str, Iterable[str]]


@dataclass(frozen=True)
class NodeBoot:
    """What one node boots from a template: its boot set's artifacts and parameters, and the
    cloud-init data it is served (only through the groups its boot set names)."""

    boot_set: str
    kernel: str
    initrd: str | None
    kernel_parameters: str
    cloud_init: str | None


@dataclass(frozen=True)
class DueNodes:
    """A session's nodes a template change makes due, by why (a sentence -> nodes)."""

    why: dict[str, list[str]] = field(default_factory=dict)

    @property
    def nodes(self) -> list[str]:
        return sorted({n for nodes in self.why.values() for n in nodes})

    def __bool__(self) -> bool:
        return bool(self.why)

    def describe(self, session: str, operation: str) -> str:
        """`session reboot-compute: reboots 12 nodes 'x1000c0s[0-5]b0n[0-1]' whose kernel
        parameters changed`, one clause per reason."""
        verb = VERB.get(operation, operation)
        clauses = [f"{phrase(nodes)} {why}" for why, nodes in self.why.items()]
        return f"session {session}: {verb} " + "; ".join(clauses)


def template_boot_changed(old: BootTemplateSpec, new: BootTemplateSpec) -> bool:
    """Whether anything a node boots may differ (no SMD read needed to say no)."""
    if (
        _cloud_init_text(old) != _cloud_init_text(new)
        or old.boot_sets.keys() != new.boot_sets.keys()
    ):
        return True
    return any(
        _set_boot(old.boot_sets[name]) != _set_boot(boot_set)
        or _targets(old.boot_sets[name]) != _targets(boot_set)
        for name, boot_set in new.boot_sets.items()
    )


def targets_changed(old: BootTemplateSpec, new: BootTemplateSpec) -> bool:
    """Whether the boot sets' targets differ: only then may a node be in another boot set."""
    return {k: _targets(v) for k, v in old.boot_sets.items()} != {
        k: _targets(v) for k, v in new.boot_sets.items()
    }


def node_boots(spec: BootTemplateSpec, hosts_by_set: HostsBySet) -> dict[str, NodeBoot]:
    data = _cloud_init_text(spec)
    boots: dict[str, NodeBoot] = {}
    for set_name, hosts in hosts_by_set.items():
        boot_set = spec.boot_sets[set_name]
        boot = NodeBoot(
            set_name,
            boot_set.kernel,
            boot_set.initrd,
            boot_set.kernel_parameters,
            data if boot_set.node_groups else None,
        )
        boots.update((host, boot) for host in hosts)
    return boots


def due_nodes(
    old: BootTemplateSpec,
    old_hosts: HostsBySet,
    new: BootTemplateSpec,
    new_hosts: HostsBySet,
    session_nodes: Iterable[str],
) -> DueNodes:
    """The session's nodes (`session_nodes`, as the new template and the session's limit give
    them) whose boot differs between the old template and the new, grouped by what changed."""
    before, after = node_boots(old, old_hosts), node_boots(new, new_hosts)
    reasons = (
        (why, node)
        for node in sorted(set(session_nodes))
        if node in after and (why := _why(before.get(node), after[node])) is not None
    )
    return DueNodes(grouped(reasons))


def _why(before: NodeBoot | None, after: NodeBoot) -> str | None:
    if before is None:
        return f"newly in boot set {after.boot_set!r}"
    changed = [label for key, label in BOOT_FIELDS if getattr(before, key) != getattr(after, key)]
    if before.cloud_init != after.cloud_init:
        changed.append("cloud-init data")
    if not changed:
        return None
    moved = (
        f" (moved from boot set {before.boot_set!r})" if before.boot_set != after.boot_set else ""
    )
    return f"whose {_and(changed)} changed{moved}"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _set_boot(boot_set: BootSet) -> tuple[str, str | None, str]:
    return boot_set.kernel, boot_set.initrd, boot_set.kernel_parameters


def _targets(boot_set: BootSet) -> tuple[object, ...]:
    return tuple(getattr(boot_set, key) for key in TARGET_FIELDS)


def _cloud_init_text(spec: BootTemplateSpec) -> str | None:
    """The cloud-init data a node is served (meta-data and user-data); the group description
    is the server's label, not read at boot."""
    if spec.cloud_init is None:
        return None
    return spec.cloud_init.model_dump_json(include={"meta_data", "user_data"})
