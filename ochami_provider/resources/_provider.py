"""What both dynamic providers share: connection settings, input plumbing, check failures."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

import pulumi
from pulumi.dynamic import CheckFailure, ConfigureRequest, ResourceProvider
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pydantic import BaseModel, ValidationError

from ..clients.services import Services
from ..config import CONFIG_KEYS, ProviderConfig, from_sources
from ..models.validation import FieldProblem, field_problems, problems_from

PROVIDER_KEY = "__provider"
SpecT = TypeVar("SpecT", bound=BaseModel)


def contains_unknown(value: Any) -> bool:
    """True while a preview still waits for a value another resource has not produced."""
    if isinstance(value, Unknown) or (isinstance(value, str) and value == rpc.UNKNOWN):
        return True
    if isinstance(value, dict):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False


def pick(props: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    return {k: props[k] for k in keys if props.get(k) is not None}


def unknown_keys(props: dict[str, Any], allowed: Iterable[str]) -> list[FieldProblem]:
    known = {*allowed, PROVIDER_KEY}
    return [
        FieldProblem(key, f"unknown field (got {props[key]!r})")
        for key in sorted(props)
        if key not in known
    ]


def to_failures(problems: Iterable[FieldProblem]) -> list[CheckFailure]:
    return [CheckFailure(p.field, p.message) for p in problems]


def progress(message: str) -> None:
    """Shown by `pulumi up` while a long operation runs."""
    pulumi.log.info(message)


class OchamiResourceProvider(ResourceProvider):
    """Holds no settings when pickled: they arrive through `configure` or resource inputs."""

    def __init__(self) -> None:
        super().__init__()
        self._stack_config: ProviderConfig | None = None

    def configure(self, req: ConfigureRequest) -> None:
        self._stack_config = from_sources(req.config.get)

    def settings(self, props: dict[str, Any]) -> ProviderConfig:
        base = self._stack_config if self._stack_config is not None else from_sources()
        return base.merged(props.get("connection") or {})

    def services(self, props: dict[str, Any]) -> Services:
        return Services.from_config(self.settings(props))

    def check_inputs(
        self,
        news: dict[str, Any],
        model: type[SpecT],
        spec_keys: Iterable[str],
        known_keys: Iterable[str],
    ) -> tuple[SpecT | None, list[FieldProblem]]:
        """The validated spec, or the problems found; (None, []) while inputs are unknown."""
        spec_data = pick(news, spec_keys)
        if contains_unknown(spec_data):
            return None, []
        problems = (
            field_problems(model, spec_data)
            + self.connection_problems(news)
            + unknown_keys(news, known_keys)
        )
        if problems:
            return None, problems
        return model.model_validate(spec_data), []

    def connection_problems(self, props: dict[str, Any]) -> list[FieldProblem]:
        connection = props.get("connection")
        if connection is None or contains_unknown(connection):
            return []
        if not isinstance(connection, dict):
            return [FieldProblem("connection", f"must be a mapping (got {connection!r})")]
        try:
            self.settings(props)
        except ValidationError as error:
            # Name the key as the user wrote it (`timeout`, not `timeout_seconds`).
            spelled = {f: a for f, a in CONFIG_KEYS.items() if a in connection}
            return [
                FieldProblem(
                    ".".join(spelled.get(part, part) for part in p.field.split(".")), p.message
                )
                for p in problems_from(error, "connection")
            ]
        except ValueError as error:
            return [FieldProblem("connection", str(error))]
        return []


def changed_keys(olds: dict[str, Any], news: dict[str, Any], keys: Iterable[str]) -> list[str]:
    return [k for k in keys if olds.get(k) != news.get(k)]
