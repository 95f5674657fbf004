"""What the OpenCHAMI services hold, as their APIs spell it: the records clients read and write.

These live beside the specs, not in the clients, so pure code (planning, the session machine,
the simulator) can use them without importing any HTTP client.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Record(BaseModel):
    # Services send more fields than this package reads; unknown ones are ignored.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


# SMD ------------------------------------------------------------------------------------
class Members(_Record):
    ids: list[str] = Field(default_factory=list)


class Group(_Record):
    label: str
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    exclusive_group: str | None = Field(default=None, alias="exclusiveGroup")
    members: Members = Field(default_factory=Members)


class Partition(_Record):
    name: str
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    members: Members = Field(default_factory=Members)


class Component(_Record):
    """The fields of an SMD component this package reads."""

    id: str = Field(alias="ID")
    type: str = Field(default="", alias="Type")
    state: str = Field(default="", alias="State")
    role: str = Field(default="", alias="Role")
    sub_role: str = Field(default="", alias="SubRole")
    arch: str = Field(default="", alias="Arch")
    nid: int | None = Field(default=None, alias="NID")
    enabled: bool | None = Field(default=None, alias="Enabled")


class Reservation(_Record):
    """An SMD service reservation on one component; the deputy key lets PCS act on it."""

    id: str = Field(alias="ID")
    deputy_key: str = Field(alias="DeputyKey")
    reservation_key: str = Field(alias="ReservationKey")
    expiration_time: str = Field(default="", alias="ExpirationTime")


class IpAddress(_Record):
    address: str = Field(default="", alias="IPAddress")


class EthernetInterface(_Record):
    """A node's network interface as SMD's inventory holds it (found by discovery)."""

    mac: str = Field(alias="MACAddress")
    component_id: str = Field(default="", alias="ComponentID")
    ip_addresses: list[IpAddress] = Field(default_factory=list, alias="IPAddresses")


class BootInterface(_Record):
    """What a boot MAC needs of an interface: the node and the MAC (validating the rest of
    100,000 interfaces costs 8 times as much, 0.6 s)."""

    mac: str = Field(alias="MACAddress")
    component_id: str = Field(default="", alias="ComponentID")


class LockStatus(_Record):
    id: str = Field(alias="ID")
    locked: bool = Field(default=False, alias="Locked")
    reserved: bool = Field(default=False, alias="Reserved")
    reservation_disabled: bool = Field(default=False, alias="ReservationDisabled")


class ComponentEndpoint(_Record):
    """SMD's Redfish view of one node (`/Inventory/ComponentEndpoints`, what discovery or
    magellan loaded): its BMC's address, its system's URI, and how the BMC resets it."""

    id: str = Field(alias="ID")
    bmc: str = Field(default="", alias="RedfishEndpointID")
    # The BMC's address as SMD holds it, used verbatim (`https://<fqdn><path>`, as PCS does);
    # it may carry a port.
    fqdn: str = Field(default="", alias="RedfishEndpointFQDN")
    system_path: str = Field(default="", alias="OdataID")
    reset_target: str = ""
    # The reset types the BMC allows (`ResetType@Redfish.AllowableValues`); empty when SMD was
    # loaded without them.
    reset_types: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _reset_action(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "RedfishSystemInfo" not in data:
            return data
        info = data.get("RedfishSystemInfo") or {}
        reset = (info.get("Actions") or {}).get("#ComputerSystem.Reset") or {}
        return {
            **data,
            "reset_target": reset.get("target") or "",
            "reset_types": reset.get("ResetType@Redfish.AllowableValues") or [],
        }


# BSS ------------------------------------------------------------------------------------
class BootParams(_Record):
    """One BSS boot-parameters record: BSS stores one kernel/initrd/params for all its hosts."""

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

    @property
    def boot_config(self) -> tuple[str, str, str]:
        """What a node boots from this record, whichever keys it is stored under."""
        return (self.kernel, self.initrd, self.params)


@dataclass
class BootRecords:
    """BSS records read in one request, by the key each is stored under: node name (what
    `?name=` finds) and boot MAC (what a node's iPXE asks for: `?mac=`)."""

    by_host: dict[str, BootParams]
    by_mac: dict[str, BootParams]

    @classmethod
    def of(
        cls,
        listed: Iterable[BootParams],
        hosts: Iterable[str] | None = None,
        macs: Iterable[str] | None = None,
    ) -> BootRecords:
        """The records BSS listed (one per boot configuration, with its hosts and MACs), by
        key; only `hosts` and `macs` when given. Keys that share a record share one object:
        what a node boots, not whose key it is."""
        wanted_hosts = None if hosts is None else set(hosts)
        wanted_macs = None if macs is None else {m.lower() for m in macs}
        found = cls({}, {})
        for record in listed:
            alone = record.model_copy(update={"hosts": [], "macs": []})
            for host in record.hosts:
                if wanted_hosts is None or host in wanted_hosts:
                    found.by_host[host] = alone
            for mac in (m.lower() for m in record.macs):
                if wanted_macs is None or mac in wanted_macs:
                    found.by_mac[mac] = alone
        return found


class EndpointAccess(_Record):
    """BSS's endpoint history: when a node last fetched an endpoint (its boot script)."""

    name: str
    endpoint: str
    last_epoch: int


# cloud-init server ----------------------------------------------------------------------
class CloudConfigFile(_Record):
    content: str = ""
    filename: str = ""
    encoding: Literal["plain", "base64"] | str = "plain"

    def text(self) -> str:
        """The content as the node sees it, whatever encoding it was stored in."""
        if self.encoding == "base64":
            return base64.b64decode(self.content).decode()
        return self.content


class CloudInitGroup(_Record):
    """Group data: meta-data and one cloud-config file, handed to every member node."""

    name: str
    description: str = ""
    meta_data: dict[str, Any] = Field(default_factory=dict, alias="meta-data")
    file: CloudConfigFile = Field(default_factory=CloudConfigFile)

    def wire(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True)


# PCS ------------------------------------------------------------------------------------
PCS_OPERATIONS = ("On", "Off", "Soft-Off", "Soft-Restart", "Hard-Restart", "Init", "Force-Off")


class TransitionTask(_Record):
    xname: str
    task_status: str = Field(alias="taskStatus")
    task_status_description: str = Field(default="", alias="taskStatusDescription")
    error: str = ""


class TaskCounts(_Record):
    total: int = 0
    new: int = 0
    in_progress: int = Field(default=0, alias="in-progress")
    failed: int = 0
    succeeded: int = 0
    unsupported: int = Field(default=0, alias="un-supported")


class Transition(_Record):
    transition_id: str = Field(alias="transitionID")
    operation: str = ""
    transition_status: str = Field(alias="transitionStatus")
    task_counts: TaskCounts = Field(default_factory=TaskCounts, alias="taskCounts")
    tasks: list[TransitionTask] = Field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.transition_status in ("completed", "aborted")


class PowerStatus(_Record):
    xname: str
    power_state: str = Field(default="", alias="powerState")
    management_state: str = Field(default="", alias="managementState")
    error: str = ""
