"""OpenCHAMI cloud-init server: per-group data under /admin/groups.

A group record holds group meta-data and one cloud-config file. The server hands each node an
`#include` list of its SMD groups' files as vendor-data, so group data reaches exactly the nodes
SMD puts in that group.
"""

from __future__ import annotations

import base64
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..errors import NotFoundError, ServiceError
from .transport import ServiceTransport


class CloudConfigFile(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    content: str = ""
    filename: str = ""
    encoding: Literal["plain", "base64"] | str = "plain"

    def text(self) -> str:
        """The content as the node sees it, whatever encoding it was stored in."""
        if self.encoding == "base64":
            return base64.b64decode(self.content).decode()
        return self.content


class CloudInitGroup(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    name: str
    description: str = ""
    meta_data: dict[str, Any] = Field(default_factory=dict, alias="meta-data")
    file: CloudConfigFile = Field(default_factory=CloudConfigFile)

    def wire(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True)


class CloudInitClient:
    def __init__(self, transport: ServiceTransport) -> None:
        self.t = transport

    def list_groups(self) -> dict[str, CloudInitGroup]:
        body = self.t.request("GET", "/admin/groups").json() or {}
        return {name: CloudInitGroup.model_validate(g) for name, g in body.items()}

    def get_group(self, name: str) -> CloudInitGroup | None:
        try:
            return CloudInitGroup.model_validate(
                self.t.request("GET", f"/admin/groups/{name}").json()
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
        self.t.request("POST", "/admin/groups", json=group.wire(), ok=(201,))

    def put_group(self, group: CloudInitGroup) -> None:
        """Create or replace (the server's PUT is idempotent and answers 201)."""
        self.t.request("PUT", f"/admin/groups/{group.name}", json=group.wire(), ok=(200, 201))

    def delete_group(self, name: str) -> None:
        self.t.request("DELETE", f"/admin/groups/{name}", ok=(200, 204))
