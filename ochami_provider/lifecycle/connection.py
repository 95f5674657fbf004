"""Where a resource's services are: the front end's settings (stack config, a provider block),
under the resource's own `connection` overrides, with the environment beneath both."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ..clients.services import Services
from ..config import CONFIG_KEYS, ProviderConfig, from_sources
from ..models.problems import Problem, problems_from


@dataclass
class Connector:
    # None until the front end configures it: then the environment alone.
    base: ProviderConfig | None = None

    def settings(self, connection: Mapping[str, Any] | None) -> ProviderConfig:
        base = self.base if self.base is not None else from_sources()
        return base.merged(connection or {})

    def services(self, connection: Mapping[str, Any] | None) -> Services:
        return Services.from_config(self.settings(connection))

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
