"""BSS (Boot Script Service): boot parameters under /boot/v1/bootparameters.

Every call takes a whole batch of hosts in one request: BSS stores one kernel/initrd/params
record for all hosts named in a PUT, and answers a GET whose body lists hosts.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..errors import NotFoundError
from .transport import ServiceTransport


class BootParams(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    hosts: list[str] = Field(default_factory=list)
    macs: list[str] = Field(default_factory=list)
    nids: list[int] = Field(default_factory=list)
    params: str = ""
    kernel: str = ""
    initrd: str = ""
    cloud_init: dict[str, Any] = Field(default_factory=dict, alias="cloud-init")

    def wire(self) -> dict[str, Any]:
        """The JSON BSS expects: empty fields left out, as its Go encoder does."""
        return self.model_dump(by_alias=True, exclude_defaults=True)


class BssClient:
    def __init__(self, transport: ServiceTransport) -> None:
        self.t = transport

    def get(self, hosts: list[str]) -> dict[str, BootParams]:
        """Boot parameters of these hosts, keyed by host; hosts BSS does not know are absent."""
        if not hosts:
            return {}
        try:
            response = self.t.request("GET", "/bootparameters", json={"hosts": hosts})
        except NotFoundError:
            return {}
        wanted = set(hosts)
        found: dict[str, BootParams] = {}
        for item in response.json() or []:
            record = BootParams.model_validate(item)
            for host in record.hosts:
                if host in wanted:
                    found[host] = record.model_copy(update={"hosts": [host]})
        return found

    def get_all(self) -> list[BootParams]:
        """Every record; BSS lists one per boot configuration with all its hosts, and answers
        an empty store with JSON null."""
        body = self.t.request("GET", "/bootparameters").json() or []
        return [BootParams.model_validate(i) for i in body]

    def put(self, record: BootParams) -> None:
        """Create or replace the record for every host in `record.hosts` in one request."""
        self.t.request("PUT", "/bootparameters", json=record.wire())

    def post(self, record: BootParams) -> None:
        """Create only: BSS refuses it when any host already has parameters."""
        self.t.request("POST", "/bootparameters", json=record.wire(), ok=(201,))

    def delete(self, hosts: list[str]) -> None:
        """Remove these hosts' parameters. BSS answers 400 when it holds none of them, so
        callers pass only hosts they have just read back."""
        if hosts:
            self.t.request("DELETE", "/bootparameters", json={"hosts": hosts})
