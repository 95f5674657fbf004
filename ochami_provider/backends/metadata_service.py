"""Group data on OpenCHAMI v0.2: metadata-service Groups (`/groups`, modelled from its
published code; not tested against the real service, which cannot be built here).

What this product writes: one Group per SMD group the template's `cloud_init` names, its name
the group's, its `template` the user-data (cloud-config), its `metaData` the meta-data, its
description carrying the owner marker as on the cloud-init server, and labels
`ochami.template` and `ochami.stack`. Groups are found by name in one list request (the
service addresses them by a UID it makes). Its ways, kept here: `metaData` holds strings only,
so a nested value is refused at check naming it (not stringified, as the migration guide's
`--stringify-metadata` does: a `{{ ds... }}` reference would then see a string); the service
refuses a template whose `{{ var }}` it cannot find in its sample meta-data, with its own words.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..clients.metadata_service import MetadataServiceClient
from ..errors import InvalidInputError
from ..models.group_data import GroupEntry
from ..models.metadata_group import MetadataGroup, MetadataGroupSpec
from ..models.owner import group_owner
from ..models.problems import Problem

if TYPE_CHECKING:
    from ..clients.services import Services

TEMPLATE_LABEL = "ochami.template"
STACK_LABEL = "ochami.stack"


class MetadataServiceStore:
    backend = "metadata-service"
    label = "metadata-service"

    @classmethod
    def over(cls, services: Services) -> MetadataServiceStore:
        return cls(services.metadata_service)

    def __init__(self, client: MetadataServiceClient) -> None:
        self.client = client

    def _by_name(self) -> dict[str, MetadataGroup]:
        return {group.name: group for group in self.client.list()}

    def list_groups(self) -> dict[str, GroupEntry]:
        return {name: _group_data(g) for name, g in self._by_name().items()}

    def get_group(self, name: str) -> GroupEntry | None:
        found = self._by_name().get(name)
        return _group_data(found) if found is not None else None

    def create_group(self, group: GroupEntry) -> None:
        self.client.create(group.name, _labels(group), _spec(group))

    def put_group(self, group: GroupEntry) -> None:
        """Replace the group's data, or create it (as the cloud-init server's PUT does)."""
        found = self._by_name().get(group.name)
        if found is None:
            self.create_group(group)
        else:
            self.client.update(found.uid, group.name, _labels(group), _spec(group))

    def delete_group(self, name: str) -> None:
        found = self._by_name().get(name)
        if found is not None:
            self.client.delete(found.uid)

    @staticmethod
    def meta_data_problems(meta_data: dict[str, Any]) -> list[Problem]:
        return [
            Problem.of(
                f"cloud_init.meta_data.{key}",
                "metadata-service (ochami:groupDataBackend) keeps meta-data values as strings"
                " only: write it as a string (a {{ ds... }} reference in user_data then sees"
                " that string)",
                value,
            )
            for key, value in meta_data.items()
            if not isinstance(value, str)
        ]


def _group_data(group: MetadataGroup) -> GroupEntry:
    return GroupEntry(
        name=group.name,
        description=group.spec.description,
        meta_data=dict(group.spec.meta_data),
        user_data=group.spec.template,
    )


def _spec(group: GroupEntry) -> MetadataGroupSpec:
    problems = MetadataServiceStore.meta_data_problems(group.meta_data)
    if problems:  # check refuses these first; never stringified behind the admin's back
        raise InvalidInputError.of(problems, value=group.name)
    return MetadataGroupSpec(
        description=group.description, template=group.user_data, metaData=group.meta_data
    )


def _labels(group: GroupEntry) -> dict[str, str]:
    owner = group_owner(group.description)
    if owner is None:
        return {}
    return {TEMPLATE_LABEL: owner.template, STACK_LABEL: owner.deployment or ""}
