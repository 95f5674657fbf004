"""boot-service's BootConfiguration (OpenCHAMI v0.2, boot-service v0.3.2,
`apis/boot.openchami.io/v1/bootconfiguration_types.go`): what a set of nodes boots, selected by
exact xnames, MACs, NIDs or inventory groups, found by the UID the service gives it.

Wire format only: which configuration this product writes for a boot set, and what its labels
say, is the boot-service adapter's business.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .fabrica import metadata_of


class BootConfigurationSpec(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    hosts: list[str] = Field(default_factory=list)
    macs: list[str] = Field(default_factory=list)
    nids: list[int] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    profile: str = ""
    kernel: str
    initrd: str = ""
    params: str = ""
    # 0-100; higher wins among configurations that score the same for a node.
    priority: int = 0

    @property
    def targets_nothing(self) -> bool:
        """No host, MAC, NID or group: boot-service serves it to every node (a catch-all)."""
        return not (self.hosts or self.macs or self.nids or self.groups)

    def wire(self) -> dict[str, Any]:
        """The spec as boot-service takes it: empty fields left out (its `omitempty`)."""
        return self.model_dump(exclude_defaults=True) | {"kernel": self.kernel}


class BootConfiguration(BaseModel):
    model_config = ConfigDict(extra="ignore")

    uid: str
    name: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    spec: BootConfigurationSpec

    @classmethod
    def from_wire(cls, item: dict[str, Any]) -> BootConfiguration:
        spec = BootConfigurationSpec.model_validate(item.get("spec") or {})
        return cls(**metadata_of(item), spec=spec)


# How boot-service v0.3.2 picks the configuration a node boots
# (`pkg/controllers/bootscript/controller.go`, calculateConfigScore): each matching host entry
# (exact, or `*`) scores 50, its boot MAC 100, its NID 75, each shared inventory group 25; a
# configuration that targets nothing scores 1 (a catch-all); then the higher priority wins,
# then the name that sorts first.
HOST_SCORE, MAC_SCORE, NID_SCORE, GROUP_SCORE, CATCH_ALL_SCORE = 50, 100, 75, 25, 1


class _Targets:
    """One configuration's targets, counted once: scoring 10,000 nodes against a
    configuration of 10,000 hosts is then a lookup per node, not a scan."""

    def __init__(self, spec: BootConfigurationSpec) -> None:
        self.hosts = Counter(spec.hosts)
        self.macs = Counter(mac.lower() for mac in spec.macs)
        self.nids = Counter(spec.nids)
        self.groups = Counter(spec.groups)
        self.catch_all = spec.targets_nothing

    def score(
        self, xname: str, macs: frozenset[str], nid: int | None, groups: frozenset[str]
    ) -> int:
        points = HOST_SCORE * (self.hosts[xname] + (self.hosts["*"] if xname != "*" else 0))
        points += MAC_SCORE * sum(self.macs[mac] for mac in macs)
        points += NID_SCORE * self.nids[nid] if nid is not None else 0
        points += GROUP_SCORE * sum(self.groups[group] for group in groups)
        if not points and self.catch_all:
            return CATCH_ALL_SCORE
        return points


class Selection:
    """boot-service's choice among `configurations` for any node."""

    def __init__(self, configurations: list[BootConfiguration]) -> None:
        self._scored = [(_Targets(c.spec), c) for c in configurations]
        # Whether any selects by inventory group (the caller then needs the node's groups).
        self.uses_groups = any(c.spec.groups for c in configurations)

    def selected(
        self,
        xname: str,
        macs: frozenset[str] = frozenset(),
        nid: int | None = None,
        groups: frozenset[str] = frozenset(),
    ) -> tuple[BootConfiguration, int] | None:
        """The configuration boot-service serves the node and its score, or None. `macs`
        lower-case."""
        best: tuple[tuple[int, int, str], BootConfiguration, int] | None = None
        for targets, configuration in self._scored:
            points = targets.score(xname, macs, nid, groups)
            if points <= 0:
                continue
            key = (-points, -configuration.spec.priority, configuration.name)
            if best is None or key < best[0]:
                best = (key, configuration, points)
        return (best[1], best[2]) if best is not None else None
