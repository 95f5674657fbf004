"""Group data on OpenCHAMI v0.1: the cloud-init server's groups (`/admin/groups`), which its
client already speaks in the port's terms (`CloudInitGroup`: a description that carries the
owner marker, meta-data, one cloud-config file)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..clients.cloud_init import CloudInitClient
from ..models.problems import Problem
from ..models.records import CloudInitGroup

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

    def list_groups(self) -> dict[str, CloudInitGroup]:
        return self.client.list_groups()

    def get_group(self, name: str) -> CloudInitGroup | None:
        return self.client.get_group(name)

    def create_group(self, group: CloudInitGroup) -> None:
        self.client.create_group(group)

    def put_group(self, group: CloudInitGroup) -> None:
        self.client.put_group(group)

    def delete_group(self, name: str) -> None:
        self.client.delete_group(name)

    @staticmethod
    def meta_data_problems(meta_data: dict[str, Any]) -> list[Problem]:
        return []  # the server keeps any JSON
