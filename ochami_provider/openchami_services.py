"""The OpenCHAMI services this product talks to, one row each: where each sits under a
cluster's base URI, which setting names it on its own, and where the `ochami` CLI puts it.
Everything that maps a service to a setting reads this table, so a new service is one row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Service = Literal["smd", "bss", "cloud-init", "pcs", "boot-service", "metadata-service"]


@dataclass(frozen=True)
class ServiceRow:
    name: Service
    # The ProviderConfig field of its own URI (stack config: the camelCase of it).
    uri_field: str
    # Its base path under this project's `uri` setting.
    default_path: str
    # The `ochami` CLI's default base path (`internal/config/config.go` DefaultBasePath*).
    cli_path: str
    # This project's environment variable for its own URI (the CLI has none).
    env: str | None = None


SERVICES: dict[Service, ServiceRow] = {
    row.name: row
    for row in (
        ServiceRow("smd", "smd_uri", "/hsm/v2", "/hsm/v2", "OCHAMI_SMD_URI"),
        ServiceRow("bss", "bss_uri", "/boot/v1", "/boot/v1", "OCHAMI_BSS_URI"),
        ServiceRow(
            "cloud-init", "cloud_init_uri", "/cloud-init", "/cloud-init", "OCHAMI_CLOUD_INIT_URI"
        ),
        # PCS has no fixed path behind the gateway; the CLI puts it at the root.
        ServiceRow("pcs", "pcs_uri", "/power-control/v1", "/", "OCHAMI_PCS_URI"),
        ServiceRow("boot-service", "boot_service_uri", "/boot-service", "/boot-service"),
        ServiceRow(
            "metadata-service", "metadata_service_uri", "/metadata-service", "/metadata-service"
        ),
    )
}
