"""OpenCHAMI cloud-init server: per-group data under /admin/groups.

A group record holds group meta-data and one cloud-config file. The server hands each node an
`#include` list of its SMD groups' files as vendor-data, so group data reaches exactly the nodes
SMD puts in that group.
"""

from __future__ import annotations

from ..errors import NotFoundError, ServiceError
from ..models.records import CloudInitGroup
from .listings import Listings
from .transport import ServiceTransport


class CloudInitClient:
    def __init__(self, transport: ServiceTransport, listings: Listings | None = None) -> None:
        self.transport = transport
        self.listings = listings or Listings()

    def list_groups(self) -> dict[str, CloudInitGroup]:
        body = self.transport.request("GET", "/admin/groups").json() or {}
        return {name: CloudInitGroup.model_validate(g) for name, g in body.items()}

    def get_group(self, name: str) -> CloudInitGroup | None:
        if self.listings.active:
            return self.listings.get("cloud-init groups", self.list_groups).get(name)
        try:
            return CloudInitGroup.model_validate(
                self.transport.request("GET", f"/admin/groups/{name}").json()
            )
        except NotFoundError:
            return None
        except ServiceError as error:
            # The server's in-memory store answers a missing group with HTTP 500 and
            # "group (<name>) not found in memstore" (v1.2.3, checked against the real server).
            if error.status == 500 and "not found" in error.message:
                return None
            raise

    def create_group(self, group: CloudInitGroup) -> None:
        """Create only: the server answers 409 when the group exists."""
        self.transport.request("POST", "/admin/groups", json=group.wire(), ok=(201,))

    def put_group(self, group: CloudInitGroup) -> None:
        """Create or replace (the server's PUT is idempotent and answers 201)."""
        self.transport.request(
            "PUT", f"/admin/groups/{group.name}", json=group.wire(), ok=(200, 201)
        )

    def delete_group(self, name: str) -> None:
        self.transport.request("DELETE", f"/admin/groups/{name}", ok=(200, 204))
