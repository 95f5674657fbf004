"""Node sets as HPC admins read them: hostlist notation (x1000c0s[0-7]b0n[0-1]), so a message
or an output about 10,000 nodes stays one line."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import TypeVar

from .models.hostlists import NodeSet as NodeSet
from .models.hostlists import compact as compact

Key = TypeVar("Key", bound=Hashable)


def phrase(nodes: Iterable[str]) -> str:
    """`node 'x1000c0s0b0n0'`, or `16 nodes 'x1000c0s[0-7]b0n[0-1]'`."""
    names = sorted(set(nodes))
    if len(names) == 1:
        return f"node {names[0]!r}"
    return f"{len(names)} nodes {compact(names)!r}"


def shown(nodes: Iterable[str]) -> str:
    """How a Problem shows the nodes it is about: `got 'x1000c0s0b0n0'`, or
    `got 'x1000c0s[0-7]b0n[0-1]' (16 nodes)`."""
    names = sorted(set(nodes))
    count = f" ({len(names)} nodes)" if len(names) > 1 else ""
    return f"got {compact(names)!r}{count}"


def grouped(items: Iterable[tuple[Key, str]]) -> dict[Key, list[str]]:
    """Nodes gathered under the key they share (a field and a message, say), in first-seen order."""
    groups: dict[Key, list[str]] = {}
    for key, node in items:
        groups.setdefault(key, []).append(node)
    return groups
