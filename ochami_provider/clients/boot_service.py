"""boot-service (OpenCHAMI v0.2's successor to BSS): BootConfigurations under
/bootconfigurations, addressed by the UID the service generates.

Quirks of v0.3.2 (`cmd/server/bootconfiguration_handlers_generated.go`), absorbed or named here:
- A create takes labels from `metadata.labels` (and a top-level `labels`); an update (PUT) reads
  only the top-level `labels` and merges them into the stored ones: a label can be added or
  changed, never removed. `update` sends them where PUT reads them.
- PUT replaces the whole spec and keeps the name unless one is given; it never creates (404).
- GET of the list ignores a label selector: every configuration comes back.
- Errors are JSON `{"error": ..., "code": ...}`.
"""

from __future__ import annotations

from ..errors import NotFoundError
from ..models.boot_configuration import BootConfiguration, BootConfigurationSpec
from .transport import ServiceTransport


class BootServiceClient:
    def __init__(self, transport: ServiceTransport) -> None:
        self.transport = transport

    def list(self) -> list[BootConfiguration]:
        items = self.transport.request("GET", "/bootconfigurations").json() or []
        return [BootConfiguration.from_wire(item) for item in items]

    def get(self, uid: str) -> BootConfiguration | None:
        try:
            response = self.transport.request("GET", f"/bootconfigurations/{uid}")
        except NotFoundError:
            return None
        return BootConfiguration.from_wire(response.json())

    def create(
        self, name: str, labels: dict[str, str], spec: BootConfigurationSpec
    ) -> BootConfiguration:
        body = {"metadata": {"name": name, "labels": labels}, "spec": spec.wire()}
        # A POST is not retried: a lost answer would leave a second configuration.
        response = self.transport.request("POST", "/bootconfigurations", json=body, ok=(201,))
        return BootConfiguration.from_wire(response.json())

    def update(
        self, uid: str, name: str, labels: dict[str, str], spec: BootConfigurationSpec
    ) -> BootConfiguration:
        """Replace the spec, set the name, and add or change `labels` (none is removed)."""
        body = {"metadata": {"name": name}, "labels": labels, "spec": spec.wire()}
        response = self.transport.request("PUT", f"/bootconfigurations/{uid}", json=body)
        return BootConfiguration.from_wire(response.json())

    def delete(self, uid: str) -> bool:
        """False when there was nothing to delete."""
        try:
            self.transport.request("DELETE", f"/bootconfigurations/{uid}")
        except NotFoundError:
            return False
        return True
