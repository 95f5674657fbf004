"""Provider-defined functions (OpenTofu 1.7 and later, Terraform 1.8 and later), offline and pure:
`provider::ochami::hostlist_expand`, `hostlist_compress` and `limit_nodes`, the node-set
arithmetic an admin otherwise does by hand in a configuration."""

from __future__ import annotations

from typing import Any

import hostlist
from tf import types
from tf.function import CallContext, FunctionSignature, Parameter, Return

from ..errors import InvalidInputError
from ..models.hostlists import compact, expand
from ..models.names import normalize_xname
from ..session_limit import narrow, parse_limit


def _nodes(argument: str, ranges: str) -> list[str]:
    """The node xnames of a hostlist; an error naming the argument and the value otherwise."""
    try:
        names = expand(ranges)
    except hostlist.BadHostlist as error:
        raise InvalidInputError(argument, ranges, f"is not a hostlist ({error})") from None
    try:
        return [normalize_xname(name) for name in names]
    except ValueError as error:
        raise InvalidInputError(argument, ranges, str(error)) from None


class HostlistExpand:
    @classmethod
    def get_name(cls) -> str:
        return "hostlist_expand"

    @classmethod
    def get_signature(cls) -> FunctionSignature:
        return FunctionSignature(
            parameters=[
                Parameter("hostlist", types.String(), description="e.g. `x1000c0s[0-7]b0n[0-1]`")
            ],
            return_type=Return(types.List(types.String())),
            summary="The node xnames of a hostlist, in order",
            description='`x1000c0s[0-1]b0n0` is `["x1000c0s0b0n0", "x1000c0s1b0n0"]`.',
        )

    def call(self, ctx: CallContext, arguments: list[Any]) -> Any:
        return _called(ctx, lambda: _nodes("hostlist", str(arguments[0])))


class HostlistCompress:
    @classmethod
    def get_name(cls) -> str:
        return "hostlist_compress"

    @classmethod
    def get_signature(cls) -> FunctionSignature:
        return FunctionSignature(
            parameters=[Parameter("nodes", types.List(types.String()), description="xnames")],
            return_type=Return(types.String()),
            summary="Node xnames as one hostlist, as `ochami-boot status` shows them",
            description="Sorted and deduplicated: 16 nodes of one chassis are"
            " `x1000c0s[0-7]b0n[0-1]`.",
        )

    def call(self, ctx: CallContext, arguments: list[Any]) -> Any:
        def folded() -> str:
            names = [_nodes(f"nodes[{i}]", str(n)) for i, n in enumerate(arguments[0] or [])]
            return compact(name for chunk in names for name in chunk)

        return _called(ctx, folded)


class LimitNodes:
    @classmethod
    def get_name(cls) -> str:
        return "limit_nodes"

    @classmethod
    def get_signature(cls) -> FunctionSignature:
        return FunctionSignature(
            parameters=[
                Parameter(
                    "limit",
                    types.List(types.String()),
                    description="a session's `limit`: terms of node names or hostlists,"
                    " `&` to intersect, `!` to exclude, `*` for every node",
                ),
                Parameter("nodes", types.List(types.String()), description="the node xnames"),
            ],
            return_type=Return(types.List(types.String())),
            summary="The nodes a session's limit keeps of `nodes` (BOS's grammar), offline",
            description="Terms apply left to right from nothing, as a session applies them."
            " Offline, a term names nodes only (an xname or a hostlist); a group, partition"
            ' or role needs SMD: use `data "ochami_nodes"` for those.',
        )

    def call(self, ctx: CallContext, arguments: list[Any]) -> Any:
        def kept() -> list[str]:
            nodes = [normalize_xname(str(n)) for n in arguments[1] or []]
            terms = parse_limit([str(entry) for entry in arguments[0] or []])
            resolved = {t.name: frozenset(_nodes(t.field, t.name)) for t in terms if not t.every}
            return narrow(nodes, terms, resolved)

        return _called(ctx, kept)


def _called(ctx: CallContext, compute: Any) -> Any:
    """The function's result, or its error (field and value named) as the call's error."""
    try:
        return compute()
    except (InvalidInputError, ValueError) as error:
        ctx.diagnostics.add_error(f"provider::ochami::{ctx.function_name}: {error}")
        return None


FUNCTIONS: list[type[HostlistExpand | HostlistCompress | LimitNodes]] = [
    HostlistExpand,
    HostlistCompress,
    LimitNodes,
]
