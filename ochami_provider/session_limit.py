"""A session's `limit`: which of its template's nodes it acts on, and what is wrong with it.

Pure: the runner resolves each entry in SMD (an xname stands for itself, a label for its
group's members) and hands the result here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .models.problems import Problem
from .nodesets import phrase

# What each limit entry stands for, in the order the user wrote them.
ResolvedLimit = Mapping[str, frozenset[str]]


def narrow(template_nodes: Iterable[str], resolved: ResolvedLimit | None) -> list[str]:
    """The template's nodes the limit keeps (all of them without a limit)."""
    nodes = set(template_nodes)
    if resolved is None:
        return sorted(nodes)
    allowed = frozenset().union(*resolved.values()) if resolved else frozenset()
    return sorted(nodes & allowed)


def limit_problems(
    template: str, template_nodes: Iterable[str], resolved: ResolvedLimit
) -> list[Problem]:
    """Entries that match no node of the template (a typo, a node of another template) would
    be dropped without a word, and a limit of only such entries would leave nothing to do."""
    nodes = set(template_nodes)
    return [
        Problem.of(
            f"limit[{index}]",
            f"matches no node of template {template!r}"
            + (f" (it names {phrase(members)})" if members else " (an empty group)"),
            entry,
        )
        for index, (entry, members) in enumerate(resolved.items())
        if not members & nodes
    ]
