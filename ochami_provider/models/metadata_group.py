"""metadata-service's Group (OpenCHAMI v0.2's successor to the cloud-init server's groups;
`apis/cloud-init.openchami.io/v1/group_types.go` in OpenCHAMI/metadata-service): one group's
cloud-config `template` and its `metaData`, strings only, found by the UID the service gives it.
The service validates the template (its `{{ var }}` references must exist in the sample
meta-data or the group's own) and keeps the versions of the last 10 templates in `status`.

Wire format only: what this product writes there is the metadata-service adapter's business.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .fabrica import metadata_of


class MetadataGroupSpec(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    description: str = ""
    template: str
    meta_data: dict[str, str] = Field(default_factory=dict, alias="metaData")
    os_version: str = Field(default="", alias="osVersion")

    def wire(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_defaults=True) | {"template": self.template}


class TemplateVersion(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: str
    timestamp: str = ""
    valid: bool = False


class MetadataGroup(BaseModel):
    model_config = ConfigDict(extra="ignore")

    uid: str
    name: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    spec: MetadataGroupSpec
    # The service's view: the current template's version and the last 10.
    template_version: str = ""
    template_history: list[TemplateVersion] = Field(default_factory=list)

    @classmethod
    def from_wire(cls, item: dict[str, Any]) -> MetadataGroup:
        status = item.get("status") or {}
        return cls(
            **metadata_of(item),
            spec=MetadataGroupSpec.model_validate(item.get("spec") or {}),
            template_version=status.get("currentTemplateVersion", ""),
            template_history=status.get("templateHistory") or [],
        )
