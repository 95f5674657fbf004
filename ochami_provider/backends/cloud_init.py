"""Group data on OpenCHAMI v0.1: the cloud-init server's groups (`/admin/groups`): meta-data
under `meta-data` and the user data as one cloud-config file, plain or base64."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..clients.cloud_init import CloudInitClient
from ..models.group_data import GroupEntry
from ..models.problems import Problem
from ..models.records import CloudConfigFile, CloudInitGroup

if TYPE_CHECKING:
    from ..clients.services import Services


class CloudInitStore:
    backend = "cloud-init"
    label = "cloud-init"

    @classmethod
    def over(cls, services: Services) -> CloudInitStore:
        return cls(services.cloud_init)

    def __init__(self, client: CloudInitClient) -> None:
        self.client = client

    def list_groups(self) -> dict[str, GroupEntry]:
        return {name: _entry(group) for name, group in self.client.list_groups().items()}

    def get_group(self, name: str) -> GroupEntry | None:
        found = self.client.get_group(name)
        return _entry(found) if found is not None else None

    def create_group(self, group: GroupEntry) -> None:
        self.client.create_group(_record(group))

    def put_group(self, group: GroupEntry) -> None:
        self.client.put_group(_record(group))

    def delete_group(self, name: str) -> None:
        self.client.delete_group(name)

    @staticmethod
    def meta_data_problems(meta_data: dict[str, Any]) -> list[Problem]:
        return []  # the server keeps any JSON


def _entry(group: CloudInitGroup) -> GroupEntry:
    return GroupEntry(
        name=group.name,
        description=group.description,
        meta_data=group.meta_data,
        user_data=group.file.text(),
    )


def _record(group: GroupEntry) -> CloudInitGroup:
    return CloudInitGroup(
        name=group.name,
        description=group.description,
        meta_data=group.meta_data,
        file=CloudConfigFile(content=group.user_data, encoding="plain"),
    )
