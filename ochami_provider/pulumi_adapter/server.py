"""What the provider process changes in the Pulumi SDK's dynamic-provider server: our errors
without tracebacks, diffs that name the paths that changed, and the engine's Cancel heard.

The server binds its gRPC handlers when it starts, before our module is loaded (the engine
hands the pickled provider over in the first request), so its methods cannot be replaced; the
module globals they call at each request can, and each stand-in here answers one of them.
"""

from __future__ import annotations

import sys
import threading
from types import ModuleType
from typing import Any

from pulumi.runtime.proto import provider_pb2

from .. import cancellation
from ..errors import OchamiError
from .detailed_diff import Kind, Path, property_path


def user_message(error: BaseException) -> str:
    """An error as a user reads it: the message, then what happened around it (notes)."""
    return "\n".join([str(error), *getattr(error, "__notes__", [])])


class _StandIn:
    """A module of the dynamic-provider server, with some of its names answered here."""

    def __init__(self, original: ModuleType) -> None:
        self._original = original

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


class _TracebackForUsers(_StandIn):
    """Stands in for `traceback` in the dynamic-provider server, which reports every exception
    with its Python traceback: ours (a service answering 503, a session conflict, bad input)
    are meant for the user and are reported as their message alone; anything else, a bug,
    keeps its traceback."""

    def format_exc(self, *args: Any, **kwargs: Any) -> str:
        error = sys.exc_info()[1]
        if isinstance(error, OchamiError):
            return user_message(error)
        return str(self._original.format_exc(*args, **kwargs))


def in_the_provider_process() -> None:
    """In the dynamic-provider server (not the program, not a test): our errors without
    tracebacks, diffs that name the paths that changed, and the engine's cancel (its Cancel
    call, or the interrupt that ends the server's main thread) stops sessions from starting
    new power transitions."""
    server = sys.modules.get("__main__")
    spec = getattr(server, "__spec__", None)
    if server is None or spec is None or spec.name != "pulumi.dynamic.__main__":
        return
    for name, stand_in in (
        ("traceback", _TracebackForUsers),
        ("proto", _ProtoWithDetailedDiff),
        ("empty_pb2", _EmptyOnCancel),
    ):
        original = getattr(server, name, None)
        if isinstance(original, ModuleType):
            setattr(server, name, stand_in(original))
    cancellation.watch_process_end()


class _EmptyOnCancel(_StandIn):
    """Stands in for `empty_pb2`, whose `Empty()` is the answer of the server's Cancel (and of
    other calls: the caller's name tells them apart)."""

    def Empty(self) -> Any:  # noqa: N802 (the protobuf message's name)
        if sys._getframe(1).f_code.co_name == "Cancel":
            cancellation.request()
        return self._original.Empty()


# The paths our provider's `diff` found, for the DiffResponse the server builds next in the
# same thread: the SDK's DiffResult has no field for them.
_found = threading.local()


def hand_over(paths: dict[Path, Kind]) -> None:
    """The paths the diff being answered in this thread found."""
    _found.paths = paths


_KINDS: dict[tuple[Kind, bool], Any] = {
    ("add", False): provider_pb2.PropertyDiff.ADD,
    ("add", True): provider_pb2.PropertyDiff.ADD_REPLACE,
    ("delete", False): provider_pb2.PropertyDiff.DELETE,
    ("delete", True): provider_pb2.PropertyDiff.DELETE_REPLACE,
    ("update", False): provider_pb2.PropertyDiff.UPDATE,
    ("update", True): provider_pb2.PropertyDiff.UPDATE_REPLACE,
}


class _ProtoWithDetailedDiff(_StandIn):
    """Stands in for the server's `proto`: its DiffResponse carries the paths that changed (a
    detailed diff), so `preview --diff` shows those and not every input."""

    def __init__(self, original: ModuleType) -> None:
        super().__init__(original)
        self.DiffResponse = _DetailedDiffResponse(original.DiffResponse)


class _DetailedDiffResponse:
    """DiffResponse as the server calls it (and reads its constants)."""

    def __init__(self, message: Any) -> None:
        self._message = message

    def __getattr__(self, name: str) -> Any:
        return getattr(self._message, name)

    def __call__(self, **fields: Any) -> Any:
        response = self._message(**fields)
        paths: dict[Path, Kind] = getattr(_found, "paths", {})
        _found.paths = {}
        if paths and response.changes == self._message.DIFF_SOME:
            replaces = set(response.replaces)
            response.diffs.extend(sorted({str(path[0]) for path in paths}))
            for path, kind in paths.items():
                entry = response.detailedDiff[property_path(path)]
                entry.kind = _KINDS[kind, str(path[0]) in replaces]
            response.hasDetailedDiff = True
        return response
