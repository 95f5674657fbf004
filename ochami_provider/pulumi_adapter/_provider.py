"""What both dynamic providers share: engine settings, unknown values, check failures, diffs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, ConfigureRequest, DiffResult, ResourceProvider
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pydantic import BaseModel

from ..config import from_sources
from ..lifecycle import Connector, Diff, holds
from ..models.problems import Problem
from .detailed_diff import detailed_paths
from .server import hand_over, in_the_provider_process

# Where the engine keeps the serialized provider among a resource's properties.
PROVIDER_KEY = "__provider"


def contains_unknown(value: Any) -> bool:
    """True while a preview still waits for a value another resource has not produced."""
    return holds(
        value, lambda v: isinstance(v, Unknown) or (isinstance(v, str) and v == rpc.UNKNOWN)
    )


def deployment() -> str:
    """This stack as its BSS records and cloud-init groups name it (`<project>/<stack>`)."""
    return f"{pulumi.get_project()}/{pulumi.get_stack()}"


def without_engine_keys(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k != PROVIDER_KEY}


in_the_provider_process()


def info(message: str) -> None:
    """Shown by `pulumi up` while a long operation runs."""
    pulumi.log.info(message)


def warn(message: str) -> None:
    pulumi.log.warn(message)


class _Inputs(Protocol):
    @property
    def spec(self) -> BaseModel: ...


class _Lifecycle(Protocol):
    def check(
        self, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> tuple[_Inputs | None, list[Problem]]: ...

    def diff(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> Diff: ...

    def check_known(self, news: Mapping[str, Any]) -> list[Problem]: ...


class OchamiResourceProvider(ResourceProvider):
    """Check and diff, shared; settings arrive through `configure` or resource inputs, so the
    pickled provider holds none."""

    input_keys: tuple[str, ...] = ()
    # Inputs another resource produces that check does not need.
    known_later: tuple[str, ...] = ()
    core: _Lifecycle

    def __init__(self) -> None:
        super().__init__()
        self.connector = Connector()

    def configure(self, req: ConfigureRequest) -> None:
        self.connector.base = from_sources(req.config.get)

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        # While a value another resource produces is unknown, check judges only what does not
        # depend on it (a new stack's preview of a template given as a plain spec). Inputs
        # `known_later` do not count: the check needs none of them.
        unknown = {k for k in self.input_keys if contains_unknown(news.get(k))}
        later = unknown & set(self.known_later)
        if unknown - later:
            known = {k: v for k, v in news.items() if k not in unknown}
            early = self.core.check_known(without_engine_keys(known))
            return CheckResult(news, [CheckFailure(p.field, p.reason) for p in early])
        judged = {k: v for k, v in without_engine_keys(news).items() if k not in later}
        inputs, problems = self.core.check(olds, judged)
        normalized = inputs.spec.model_dump(mode="json") if inputs else {}
        for warning in (p for p in problems if not p.blocks):
            warn(str(warning))
        failures = [CheckFailure(p.field, p.reason) for p in problems if p.blocks]
        # What is still unknown stays so: the engine fills it in once it is produced.
        return CheckResult({**news, **normalized, **{k: news[k] for k in later}}, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        diff = self.core.diff(olds, news)
        # A warning: `preview --diff` shows no info-level message, and this one names the nodes
        # the update will power.
        for note in diff.notes:
            warn(note)
        hand_over(detailed_paths(olds, news, diff) if diff.has_changes else {})
        return DiffResult(
            changes=diff.has_changes,
            replaces=diff.replaces,
            stables=[],
            delete_before_replace=diff.delete_before_replace,
        )
