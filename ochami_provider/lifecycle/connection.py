"""Where a resource's services are: the front end's settings (stack config, a provider block),
under the resource's own `connection` overrides, with the environment beneath both."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ..clients.services import Services
from ..config import CONFIG_KEYS, ProviderConfig, from_sources
from ..models.problems import Problem, problems_from


class Connector:
    """Settings per resource, and the clients for them, opened once and kept for the life of
    the process (one deployment): every check, read and write of a preview reuses their
    connections rather than opening, and on a real network handshaking, its own."""

    def __init__(self, base: ProviderConfig | None = None) -> None:
        # None until the front end configures it: then the environment alone.
        self.base = base
        self._open: dict[ProviderConfig, Services] = {}
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        # Front ends may pickle their provider (Pulumi does); open clients stay behind.
        return {"base": self.base}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["base"])  # type: ignore[misc]

    def settings(self, connection: Mapping[str, Any] | None) -> ProviderConfig:
        base = self.base if self.base is not None else from_sources()
        return base.merged(connection or {})

    def services(self, connection: Mapping[str, Any] | None) -> Services:
        settings = self.settings(connection)
        with self._lock:
            services = self._open.get(settings)
            if services is None:
                services = self._open[settings] = Services.from_config(settings)
        return services

    def for_writes(self, connection: Mapping[str, Any] | None) -> Services:
        """The services, for a create, update or delete: every listing the run's refreshes
        shared is forgotten first (clients/listings.py), on every cluster this process talks
        to, so no read after a write is answered from before it."""
        services = self.services(connection)
        with self._lock:
            for open_services in self._open.values():
                open_services.listings.forget()
        return services

    def problems(self, connection: Any) -> list[Problem]:
        """What is wrong with a resource's `connection` input, named as the user wrote it."""
        if connection is None:
            return []
        if not isinstance(connection, dict):
            return [Problem.of("connection", "must be a mapping", connection)]
        try:
            self.settings(connection)
        except ValidationError as error:
            # Name the key as the user wrote it (`timeout`, not `timeout_seconds`).
            spelled = {f: a for f, a in CONFIG_KEYS.items() if a in connection}
            return [
                Problem(
                    ".".join(spelled.get(part, part) for part in p.field.split(".")),
                    p.message,
                    p.value,
                )
                for p in problems_from(error, "connection")
            ]
        except ValueError as error:
            return [Problem("connection", str(error))]
        return []
