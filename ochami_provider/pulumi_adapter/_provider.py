"""What both dynamic providers share: engine settings, unknown values, check failures, diffs."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from types import ModuleType
from typing import Any, Protocol

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, ConfigureRequest, DiffResult, ResourceProvider
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pydantic import BaseModel

from .. import cancellation
from ..config import from_sources
from ..errors import OchamiError
from ..lifecycle import Connector, Diff, holds
from ..models.problems import Problem

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


def user_message(error: BaseException) -> str:
    """An error as a user reads it: the message, then what happened around it (notes)."""
    return "\n".join([str(error), *getattr(error, "__notes__", [])])


class _TracebackForUsers:
    """Stands in for `traceback` in the dynamic-provider server, which reports every exception
    with its Python traceback: ours (a service answering 503, a session conflict, bad input)
    are meant for the user and are reported as their message alone; anything else, a bug,
    keeps its traceback."""

    def __init__(self, original: ModuleType) -> None:
        self._original = original

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)

    def format_exc(self, *args: Any, **kwargs: Any) -> str:
        error = sys.exc_info()[1]
        if isinstance(error, OchamiError):
            return user_message(error)
        return str(self._original.format_exc(*args, **kwargs))


def _in_the_provider_process() -> None:
    """In the dynamic-provider server (not the program, not a test): our errors without
    tracebacks, and the engine's cancel (its Cancel call, or the interrupt that ends the
    server's main thread) stops sessions from starting new power transitions."""
    server = sys.modules.get("__main__")
    spec = getattr(server, "__spec__", None)
    if spec is None or spec.name != "pulumi.dynamic.__main__":
        return
    original = getattr(server, "traceback", None)
    if isinstance(original, ModuleType):
        server.traceback = _TracebackForUsers(original)  # type: ignore[union-attr]
    servicer = getattr(server, "DynamicResourceProviderServicer", None)
    cancel = getattr(servicer, "Cancel", None)
    if servicer is not None and cancel is not None and not hasattr(cancel, "__ochami__"):

        def cancelled(self: Any, request: Any, context: Any) -> Any:
            cancellation.request()
            return cancel(self, request, context)

        cancelled.__ochami__ = True  # type: ignore[attr-defined]
        servicer.Cancel = cancelled
    cancellation.watch_process_end()


_in_the_provider_process()


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
    core: _Lifecycle

    def __init__(self) -> None:
        super().__init__()
        self.connector = Connector()

    def configure(self, req: ConfigureRequest) -> None:
        self.connector.base = from_sources(req.config.get)

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        # While a value another resource produces is unknown, check judges only what does not
        # depend on it (a new stack's preview: the session's template is not written yet).
        unknown = {k for k in self.input_keys if contains_unknown(news.get(k))}
        if unknown:
            known = {k: v for k, v in news.items() if k not in unknown}
            early = self.core.check_known(without_engine_keys(known))
            return CheckResult(news, [CheckFailure(p.field, p.reason) for p in early])
        inputs, problems = self.core.check(olds, without_engine_keys(news))
        normalized = inputs.spec.model_dump(mode="json") if inputs else {}
        failures = [CheckFailure(p.field, p.reason) for p in problems]
        return CheckResult({**news, **normalized}, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        diff = self.core.diff(olds, news)
        # A warning: `preview --diff` shows no info-level message, and this one names the nodes
        # the update will power.
        for note in diff.notes:
            warn(note)
        return DiffResult(
            changes=diff.has_changes,
            replaces=diff.replaces,
            stables=[],
            delete_before_replace=diff.delete_before_replace,
        )
