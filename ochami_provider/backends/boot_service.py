"""The boot store on OpenCHAMI v0.2: boot-service BootConfigurations (boot-service v0.3.2).

What this product writes: one configuration per template, boot set and writing session,
targeting its nodes by exact xname and by boot MAC (boot-service's SMD group sync lags, so
`groups` is never used), at priority 100. Its labels say whose it is (`ochami.template`,
`ochami.stack`, `ochami.boot_set`, `ochami.session`: set at creation and never changed, as an
update cannot remove a label) and which version it holds (`ochami.version`); the kernel
parameters carry the same markers, for the node's `/proc/cmdline`. Configurations are found by
their labels in one list request, so state lost or never kept finds them again.

boot-service's ways, kept here: it serves a node the best-scoring configuration
(`models.boot_configuration.Selection`), so a configuration of someone else's that would
outscore ours is reported (`NodeBoot.outranked_by`) rather than written around; a
configuration left targeting nothing would become a catch-all for every node, so an emptied one
is deleted; it records nothing about which node fetched what (no `booted_when: bootscript`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..clients.boot_service import BootServiceClient
from ..models.boot import Boot, BootWrite, NodeBoot, StoreStep
from ..models.boot_configuration import (
    HOST_SCORE,
    MAC_SCORE,
    BootConfiguration,
    BootConfigurationSpec,
    Selection,
)
from ..models.kernel_params import (
    SESSION_PARAMETER,
    VERSION_PARAMETER,
    marker_of,
)
from ..ports import Inventory

if TYPE_CHECKING:
    from ..clients.services import Services

# Highest there is: a configuration of someone else's that scores the same as ours can only
# tie with it, never win on priority.
PRIORITY = 100
TEMPLATE_LABEL = "ochami.template"
STACK_LABEL = "ochami.stack"
BOOT_SET_LABEL = "ochami.boot_set"
SESSION_LABEL = "ochami.session"
VERSION_LABEL = "ochami.version"
# A node that asks with a MAC the configuration does not list scores 50, not 150.
BY_MAC = "selected_by_mac"

Key = tuple[str, str, str, str]


def _key_of(boot: Boot, boot_set: str) -> Key | None:
    owner = boot.owner
    if owner is None:
        return None
    session = marker_of(boot.params, SESSION_PARAMETER) or ""
    return (owner.template, owner.deployment or "", boot_set, session)


def _labelled_key(configuration: BootConfiguration) -> Key | None:
    labels = configuration.labels
    if TEMPLATE_LABEL not in labels:
        return None
    return (
        labels[TEMPLATE_LABEL],
        labels.get(STACK_LABEL, ""),
        labels.get(BOOT_SET_LABEL, ""),
        labels.get(SESSION_LABEL, ""),
    )


def _labels(key: Key, boot: Boot) -> dict[str, str]:
    template, stack, boot_set, session = key
    return {
        TEMPLATE_LABEL: template,
        STACK_LABEL: stack,
        BOOT_SET_LABEL: boot_set,
        SESSION_LABEL: session,
        VERSION_LABEL: marker_of(boot.params, VERSION_PARAMETER) or "",
    }


def _name(key: Key) -> str:
    template, _, boot_set, session = key
    return "-".join(part for part in (template, boot_set, session) if part)


@dataclass
class _Planned:
    """A configuration as the steps will leave it (None: deleted)."""

    before: BootConfiguration | None
    key: Key
    spec: BootConfigurationSpec | None
    labels: dict[str, str]


class BootServiceStore:
    backend = "boot-service"
    label = "boot-service"
    keeps_fetch_history = False
    renders_ahead = False

    @classmethod
    def over(cls, services: Services) -> BootServiceStore:
        return cls(services.boot_service, services.inventory)

    def __init__(self, client: BootServiceClient, inventory: Inventory) -> None:
        self.client = client
        self.inventory = inventory
        # The boot MACs the last read found: the plan and its writes see one inventory.
        self._macs: dict[str, list[str]] | None = None

    @property
    def identity(self) -> str:
        return self.client.transport.base_url

    def _boot_macs(self) -> dict[str, list[str]]:
        if self._macs is None:
            self._macs = self.inventory.boot_macs()
        return self._macs

    def read(
        self, nodes: Sequence[str], wanted: Mapping[str, Boot] | None = None
    ) -> dict[str, NodeBoot]:
        """One list of the configurations and one SMD read of the boot MACs (plus one of the
        nodes' NIDs and one of the groups, only when a configuration selects by them)."""
        if not nodes:
            return {}
        self._macs = None
        return self._view(self.client.list(), list(nodes))

    def read_all(self) -> dict[str, NodeBoot]:
        self._macs = None
        configurations = self.client.list()
        macs = self._boot_macs()
        listed = {h for c in configurations for h in c.spec.hosts if h != "*"}
        by_mac = {m.lower() for c in configurations for m in c.spec.macs}
        listed |= {h for h, ms in macs.items() if any(m.lower() in by_mac for m in ms)}
        if any("*" in c.spec.hosts or c.spec.targets_nothing for c in configurations):
            listed |= set(macs)
        return self._view(configurations, sorted(listed))

    def _view(
        self, configurations: list[BootConfiguration], nodes: list[str]
    ) -> dict[str, NodeBoot]:
        macs = self._boot_macs()
        nids: dict[str, int | None] = {}
        if any(c.spec.nids for c in configurations):
            nids = {c.id: c.nid for c in self.inventory.list_nodes(nodes)}
        groups: dict[str, set[str]] = {}
        if any(c.spec.groups for c in configurations):
            for group in self.inventory.list_groups():
                for member in group.members.ids:
                    groups.setdefault(member, set()).add(group.label)
        found = {}
        selection = Selection(configurations)
        # Each configuration's MACs, once: per node they would be 10^8 steps at 10,000.
        listed_macs = {c.uid: frozenset(m.lower() for m in c.spec.macs) for c in configurations}
        for node in nodes:
            node_macs = frozenset(m.lower() for m in macs.get(node, []))
            node_groups = frozenset(groups.get(node, ()))
            match = selection.selected(node, node_macs, nids.get(node), node_groups)
            if match is None:
                continue
            chosen, points = match
            spec = chosen.spec
            missing: tuple[str, ...] = ()
            ours = _labelled_key(chosen) is not None
            if ours and node_macs - listed_macs[chosen.uid]:
                missing = (BY_MAC,)
            outranked = None
            if not ours:
                mine = HOST_SCORE + (MAC_SCORE if node_macs else 0)
                if (points, spec.priority) >= (mine, PRIORITY):
                    outranked = (
                        f"boot-service serves it configuration {chosen.name or chosen.uid!r}"
                        f" ({chosen.uid}, no ochami-boot labels), which scores {points} at"
                        f" priority {spec.priority} against this product's {mine} at"
                        f" {PRIORITY}"
                    )
            found[node] = NodeBoot(
                Boot(spec.kernel, spec.initrd, spec.params),
                missing,
                (chosen.uid,),
                outranked,
            )
        return found

    def write_steps(
        self, writes: Sequence[BootWrite], before: Mapping[str, NodeBoot]
    ) -> list[StoreStep]:
        """One list request, then one request per configuration that changes: the ones
        that take nodes first (created or updated), then the ones that give them up (updated,
        or deleted when left with none), so a node moving between two of ours is never
        without one."""
        if not writes:
            return []
        configurations = {c.uid: c for c in self.client.list()}
        macs = self._boot_macs()
        by_key = {k: c for c in configurations.values() if (k := _labelled_key(c)) is not None}
        planned: dict[str, _Planned] = {}
        taking: list[str] = []
        for write in writes:
            key = _key_of(write.boot, write.boot_set)
            assert key is not None, "a template's boot always carries its owner marker"
            current = by_key.get(key)
            ref = current.uid if current is not None else f"new:{_name(key)}"
            entry = planned.get(ref)
            if entry is None:
                spec = current.spec if current is not None else None
                entry = _Planned(current, key, spec, {})
                planned[ref] = entry
                taking.append(ref)
            hosts = set(entry.spec.hosts if entry.spec is not None else ())
            node_macs = {m.lower() for h in write.nodes for m in macs.get(h, [])}
            kept_macs = {m.lower() for m in (entry.spec.macs if entry.spec is not None else ())}
            entry.spec = BootConfigurationSpec(
                hosts=sorted(hosts | set(write.nodes)),
                macs=sorted(kept_macs | node_macs),
                kernel=write.boot.kernel,
                initrd=write.boot.initrd,
                params=write.boot.params,
                priority=PRIORITY,
            )
            entry.labels = _labels(key, write.boot)
            # The other configurations of ours these nodes leave, each cut once (not per
            # node: 10,000 nodes leaving one of 10,000 hosts would be 10^8 steps).
            sources = {
                uid
                for node in write.nodes
                for uid in (before[node].held if node in before else ())
                if uid != ref
            }
            for uid in sorted(sources):
                source = configurations.get(uid)
                source_key = _labelled_key(source) if source is not None else None
                if source is None or source_key is None:
                    continue
                held = planned.setdefault(uid, _Planned(source, source_key, source.spec, {}))
                if held.spec is not None:
                    held.spec = _without(held.spec, set(write.nodes), node_macs)
        giving = [ref for ref in planned if ref not in taking]
        return [self._step(planned[ref]) for ref in (*taking, *giving)]

    def remove_steps(self, nodes: Sequence[str], before: Mapping[str, NodeBoot]) -> list[StoreStep]:
        if not nodes:
            return []
        configurations = {c.uid: c for c in self.client.list()}
        macs = self._boot_macs()
        gone = set(nodes)
        gone_macs = {m.lower() for h in nodes for m in macs.get(h, [])}
        planned: dict[str, _Planned] = {}
        for node in nodes:
            for uid in before[node].held if node in before else ():
                source = configurations.get(uid)
                key = _labelled_key(source) if source is not None else None
                if source is None or key is None or uid in planned:
                    continue
                planned[uid] = _Planned(
                    source, key, _without(source.spec, gone, gone_macs), source.labels
                )
        return [self._step(entry) for entry in planned.values()]

    def _step(self, entry: _Planned) -> StoreStep:
        before, spec, name = entry.before, entry.spec, _name(entry.key)
        nodes = len(spec.hosts) if spec is not None else 0
        if before is None:
            assert spec is not None
            made: list[BootConfiguration] = []

            def create() -> None:
                made.append(self.client.create(name, entry.labels, spec))

            def uncreate() -> None:
                for configuration in made:
                    self.client.delete(configuration.uid)

            return StoreStep(
                f"boot-service: created configuration {name} for {nodes} node(s)",
                create,
                uncreate,
            )
        old = before

        def put_back() -> None:
            if self.client.get(old.uid) is None:
                self.client.create(old.name, old.labels, old.spec)
            else:
                self.client.update(old.uid, old.name, old.labels, old.spec)

        if spec is None:
            return StoreStep(
                f"boot-service: deleted configuration {old.name} ({old.uid}): it targets no"
                " node any more",
                lambda: _deleted(self.client, old.uid),
                put_back,
            )
        labels = entry.labels or old.labels
        return StoreStep(
            f"boot-service: updated configuration {old.name} ({old.uid}): {nodes} node(s)",
            lambda: _updated(self.client, old.uid, old.name, labels, spec),
            put_back,
        )

    def last_fetches(self) -> Mapping[str, int] | None:
        return None

    def boot_mac(self, node: str) -> str | None:
        return next(iter(self._boot_macs().get(node, [])), None)

    def render_problem(self, node: str, mac: str | None) -> str | None:
        return None  # not `renders_ahead`: it answers every request with a script


def _without(
    spec: BootConfigurationSpec, nodes: set[str], macs: set[str]
) -> BootConfigurationSpec | None:
    """`spec` without these nodes, or None when it would target nothing (a catch-all)."""
    left = spec.model_copy(
        update={
            "hosts": [h for h in spec.hosts if h not in nodes],
            "macs": [m for m in spec.macs if m.lower() not in macs],
        }
    )
    return None if left.targets_nothing else left


def _deleted(client: BootServiceClient, uid: str) -> None:
    client.delete(uid)


def _updated(
    client: BootServiceClient,
    uid: str,
    name: str,
    labels: dict[str, str],
    spec: BootConfigurationSpec,
) -> None:
    client.update(uid, name, labels, spec)
