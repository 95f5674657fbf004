"""Node sets as hostlist text (`x1000c0s[0-7]b0n[0-1]`) and back, for what the models record.

Folding 10,000 names takes python-hostlist about 0.1 s, and one session records the same sets
several times over (its state, its outputs, the retry merge), so the last folds are kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Annotated, Any

import hostlist
from pydantic import BeforeValidator, PlainSerializer


def compact(nodes: Iterable[str]) -> str:
    """`x1000c0s[0-7]b0n[0-1]` for those 16 nodes; "" for none."""
    return _collect(tuple(sorted(set(nodes))))


def expand(ranges: str) -> list[str]:
    return list(hostlist.expand_hostlist(ranges)) if ranges else []


@lru_cache(maxsize=16)
def _collect(names: tuple[str, ...]) -> str:
    return str(hostlist.collect_hostlist(list(names))) if names else ""


def _from_record(value: Any) -> Any:
    # States record hostlists; earlier ones recorded lists.
    return expand(value) if isinstance(value, str) else value


# A list of node names in Python, recorded (in state, in outputs) as one hostlist: one line in
# state and diffs at 10,000 nodes.
NodeList = Annotated[
    list[str], BeforeValidator(_from_record), PlainSerializer(compact, return_type=str)
]


class NodeSet(frozenset[str]):
    """A set of node names as HPC admins read them, after ClusterShell's `NodeSet`: `str()`
    folds it (`x1000c0s[0-7]b0n[0-1]`), `parse` takes that notation back and names the part it
    cannot read, and the set operators (`|`, `&`, `-`), which are BOS's limit grammar's `,`,
    `&` and `!`, give node sets again. `sorted()` is the order every output uses."""

    __slots__ = ()

    @classmethod
    def parse(cls, text: str) -> NodeSet:
        try:
            return cls(expand(text.strip()))
        except hostlist.BadHostlist as error:
            raise ValueError(f"{text!r} is not a hostlist: {error}") from None

    @classmethod
    def union_of(cls, groups: Iterable[Iterable[str]]) -> NodeSet:
        """Every node of every group once: the nodes of all of a template's boot sets."""
        return cls(node for group in groups for node in group)

    def sorted(self) -> list[str]:
        return sorted(self)

    def __str__(self) -> str:
        return compact(self)

    def __repr__(self) -> str:
        return f"NodeSet({str(self)!r})"

    def __or__(self, other: Iterable[str]) -> NodeSet:  # type: ignore[override]
        return NodeSet(frozenset.union(self, other))

    def __and__(self, other: Iterable[str]) -> NodeSet:  # type: ignore[override]
        return NodeSet(frozenset.intersection(self, other))

    def __sub__(self, other: Iterable[str]) -> NodeSet:  # type: ignore[override]
        return NodeSet(frozenset.difference(self, other))
