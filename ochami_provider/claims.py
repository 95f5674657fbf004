"""Which template each node was given to, as the templates of one deployment are checked.

The engine checks every resource of a stack in one provider process before it writes any of
them, so two templates of one stack that target the same node are caught here, at preview,
before either is created. Templates of other stacks are caught through BSS (the owner marker).
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .nodesets import NodeSet


@dataclass
class NodeClaims:
    # (cluster key, node) -> template name; the cluster key is the BSS endpoint.
    owners: dict[tuple[str, str], str] = field(default_factory=dict)
    # Per cluster: template -> the nodes it targets as last checked.
    targets: dict[tuple[str, str], NodeSet] = field(default_factory=dict)

    def claim(
        self, cluster: str, template: str, hosts_by_set: Mapping[str, Iterable[str]]
    ) -> list[tuple[str, str, str]]:
        """Record the template's nodes; return (boot set, node, other template) for each node
        another template of this deployment already holds. Nothing is recorded on a conflict."""
        conflicts = []
        for set_name, hosts in hosts_by_set.items():
            for host in hosts:
                owner = self.owners.get((cluster, host))
                if owner is not None and owner != template:
                    conflicts.append((set_name, host, owner))
        if conflicts:
            return conflicts
        previous = self.targets.get((cluster, template), NodeSet())
        wanted = NodeSet.union_of(hosts_by_set.values())
        for host in previous - wanted:
            self.owners.pop((cluster, host), None)
        for host in wanted:
            self.owners[(cluster, host)] = template
        self.targets[(cluster, template)] = wanted
        return []

    def clear(self) -> None:
        self.owners.clear()
        self.targets.clear()

    def checked(self, cluster: str) -> set[str]:
        """The templates checked (and claimed) in this deployment so far."""
        return {template for key, template in self.targets if key == cluster}

    def others(self, cluster: str, template: str) -> dict[str, str]:
        """The nodes the other templates of this deployment target, as checked: node ->
        template."""
        return {
            host: owner
            for (key, host), owner in self.owners.items()
            if key == cluster and owner != template
        }

    def releases(self, cluster: str, template: str, host: str) -> bool:
        """True when `template` was checked in this deployment and no longer targets `host`:
        its own update frees the node, so another template may take it."""
        checked = self.targets.get((cluster, template))
        return checked is not None and host not in checked
