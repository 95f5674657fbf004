"""What both dynamic providers share: engine settings, unknown values, check failures, diffs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, ConfigureRequest, DiffResult, ResourceProvider
from pulumi.output import Unknown
from pulumi.runtime import rpc

from ..config import from_sources
from ..lifecycle import Connector, Diff
from ..models.problems import Problem

# Where the engine keeps the serialized provider among a resource's properties.
PROVIDER_KEY = "__provider"


def contains_unknown(value: Any) -> bool:
    """True while a preview still waits for a value another resource has not produced."""
    if isinstance(value, Unknown) or (isinstance(value, str) and value == rpc.UNKNOWN):
        return True
    if isinstance(value, dict):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False


def without_engine_keys(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k != PROVIDER_KEY}


def check_result(
    news: dict[str, Any], normalized: dict[str, Any], problems: Iterable[Problem]
) -> CheckResult:
    return CheckResult({**news, **normalized}, [CheckFailure(p.field, p.reason) for p in problems])


def diff_result(diff: Diff) -> DiffResult:
    return DiffResult(
        changes=diff.has_changes,
        replaces=diff.replaces,
        stables=[],
        delete_before_replace=diff.delete_before_replace,
    )


def info(message: str) -> None:
    """Shown by `pulumi up` while a long operation runs."""
    pulumi.log.info(message)


def warn(message: str) -> None:
    pulumi.log.warn(message)


class OchamiResourceProvider(ResourceProvider):
    """Holds no settings when pickled: they arrive through `configure` or resource inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.connector = Connector()

    def configure(self, req: ConfigureRequest) -> None:
        self.connector.base = from_sources(req.config.get)

    def spec_is_unknown(self, news: dict[str, Any], keys: Iterable[str]) -> bool:
        """While a value another resource produces is unknown, check judges nothing yet."""
        return any(contains_unknown(news.get(k)) for k in keys)
