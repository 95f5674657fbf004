"""metadata-service (OpenCHAMI v0.2's successor to the cloud-init server): Groups under
/groups, addressed by the UID the service generates. Its handlers come from the same generator
(fabrica) as boot-service's, with the same quirks: a PUT replaces the spec and only merges a
top-level `labels`; errors are `{"error": ..., "code": ...}`. Writes need a TokenSmith JWT.

Modelled from the published code, not tested against the real service (it cannot be built
here): see docs/real-services.md.
"""

from __future__ import annotations

from ..errors import NotFoundError
from ..models.metadata_group import MetadataGroup, MetadataGroupSpec
from .transport import ServiceTransport


class MetadataServiceClient:
    def __init__(self, transport: ServiceTransport) -> None:
        self.transport = transport

    def list(self) -> list[MetadataGroup]:
        items = self.transport.request("GET", "/groups").json() or []
        return [MetadataGroup.from_wire(item) for item in items]

    def get(self, uid: str) -> MetadataGroup | None:
        try:
            response = self.transport.request("GET", f"/groups/{uid}")
        except NotFoundError:
            return None
        return MetadataGroup.from_wire(response.json())

    def create(self, name: str, labels: dict[str, str], spec: MetadataGroupSpec) -> MetadataGroup:
        body = {"metadata": {"name": name, "labels": labels}, "spec": spec.wire()}
        response = self.transport.request("POST", "/groups", json=body, ok=(201,))
        return MetadataGroup.from_wire(response.json())

    def update(
        self, uid: str, name: str, labels: dict[str, str], spec: MetadataGroupSpec
    ) -> MetadataGroup:
        """Replace the spec, set the name, and add or change `labels` (none is removed)."""
        body = {"metadata": {"name": name}, "labels": labels, "spec": spec.wire()}
        return MetadataGroup.from_wire(
            self.transport.request("PUT", f"/groups/{uid}", json=body).json()
        )

    def delete(self, uid: str) -> bool:
        try:
            self.transport.request("DELETE", f"/groups/{uid}")
        except NotFoundError:
            return False
        return True
