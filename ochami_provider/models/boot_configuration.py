"""boot-service's BootConfiguration (OpenCHAMI v0.2, boot-service v0.3.2,
`apis/boot.openchami.io/v1/bootconfiguration_types.go`): what a set of nodes boots, selected by
exact xnames, MACs, NIDs or inventory groups, found by the UID the service gives it.

Wire format only: which configuration this product writes for a boot set, and what its labels
say, is the boot-service adapter's business.
"""

from __future__ import annotations

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
