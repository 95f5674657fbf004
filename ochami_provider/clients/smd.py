"""SMD (State Management Database): groups, partitions and node components under /hsm/v2."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .transport import ServiceTransport


class Members(BaseModel):
    model_config = ConfigDict(extra="ignore")
    ids: list[str] = Field(default_factory=list)


class Group(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    label: str
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    exclusive_group: str | None = Field(default=None, alias="exclusiveGroup")
    members: Members = Field(default_factory=Members)


class Partition(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str
    description: str = ""
    members: Members = Field(default_factory=Members)


class Component(BaseModel):
    """The fields of an SMD component this provider reads; SMD sends more."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    id: str = Field(alias="ID")
    type: str = Field(default="", alias="Type")
    state: str = Field(default="", alias="State")
    role: str = Field(default="", alias="Role")
    sub_role: str = Field(default="", alias="SubRole")
    arch: str = Field(default="", alias="Arch")
    nid: int | None = Field(default=None, alias="NID")
    enabled: bool | None = Field(default=None, alias="Enabled")


class Reservation(BaseModel):
    """An SMD service reservation on one component; the deputy key lets PCS act on it."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    id: str = Field(alias="ID")
    deputy_key: str = Field(alias="DeputyKey")
    reservation_key: str = Field(alias="ReservationKey")
    expiration_time: str = Field(default="", alias="ExpirationTime")


class LockStatus(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    id: str = Field(alias="ID")
    locked: bool = Field(default=False, alias="Locked")
    reserved: bool = Field(default=False, alias="Reserved")
    reservation_disabled: bool = Field(default=False, alias="ReservationDisabled")


def _keys(reservations: list[Reservation]) -> list[dict[str, str]]:
    return [{"ID": r.id, "Key": r.reservation_key} for r in reservations]


class SmdClient:
    def __init__(self, transport: ServiceTransport) -> None:
        self.t = transport

    def get_group(self, label: str) -> Group:
        return Group.model_validate(self.t.request("GET", f"/groups/{label}").json())

    def list_groups(self) -> list[Group]:
        return [Group.model_validate(g) for g in self.t.request("GET", "/groups").json()]

    def get_group_members(self, label: str) -> list[str]:
        body = self.t.request("GET", f"/groups/{label}/members").json()
        return list(Members.model_validate(body).ids)

    def create_group(self, group: Group) -> None:
        self.t.request(
            "POST", "/groups", json=group.model_dump(by_alias=True, exclude_none=True), ok=(201,)
        )

    def delete_group(self, label: str) -> None:
        self.t.request("DELETE", f"/groups/{label}")

    def get_partition(self, name: str) -> Partition:
        return Partition.model_validate(self.t.request("GET", f"/partitions/{name}").json())

    def list_components(
        self,
        *,
        type_: str | None = "Node",
        role: str | None = None,
        ids: list[str] | None = None,
    ) -> list[Component]:
        params: dict[str, Any] = {}
        if type_:
            params["type"] = type_
        if role:
            params["role"] = role
        if ids:
            params["id"] = ids
        body = self.t.request("GET", "/State/Components", params=params).json()
        return [Component.model_validate(c) for c in body.get("Components") or []]

    def post_components(self, components: list[dict[str, Any]]) -> None:
        """Create or update components in one request (used to seed a fleet)."""
        self.t.request("POST", "/State/Components", json={"Components": components}, ok=(200, 204))

    # Service reservations (/locks/service/reservations): all or nothing ("rigid"), time-boxed.
    def reserve(self, ids: list[str], minutes: int) -> list[Reservation]:
        body = self.t.request(
            "POST",
            "/locks/service/reservations",
            json={"ComponentIDs": ids, "ProcessingModel": "rigid", "ReservationDuration": minutes},
        ).json()
        return [Reservation.model_validate(r) for r in body.get("Success") or []]

    def renew(self, reservations: list[Reservation], minutes: int) -> None:
        # Renewing twice is harmless: safe to retry.
        self.t.request(
            "POST",
            "/locks/service/reservations/renew",
            json={
                "ReservationKeys": _keys(reservations),
                "ProcessingModel": "flexible",
                "ReservationDuration": minutes,
            },
            idempotent=True,
        )

    def release(self, reservations: list[Reservation]) -> None:
        self.t.request(
            "POST",
            "/locks/service/reservations/release",
            json={"ReservationKeys": _keys(reservations), "ProcessingModel": "flexible"},
            idempotent=True,
        )

    def lock_status(self, ids: list[str]) -> list[LockStatus]:
        body = self.t.request(
            "POST", "/locks/status", json={"ComponentIDs": ids}, idempotent=True
        ).json()
        return [LockStatus.model_validate(c) for c in body.get("Components") or []]
