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
# The entry that means every node of the template, said out loud (BOS's `*`).
EVERY_NODE = "*"


def narrow(template_nodes: Iterable[str], resolved: ResolvedLimit | None) -> list[str]:
    """The template's nodes the limit keeps (all of them without a limit, or with `*`)."""
    nodes = set(template_nodes)
    if resolved is None or EVERY_NODE in resolved:
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
        if entry != EVERY_NODE and not members & nodes
    ]


# Operations that may take a running node down: `boot` reboots nodes on another version.
POWERS_DOWN = ("boot", "reboot", "shutdown")


def missing_limit(operation: str, limit: list[str], required: bool) -> Problem | None:
    """A session that may reboot or power off nodes without naming them, where the stack
    requires a limit (`ochami:sessionLimitRequired`)."""
    if not required or limit or operation not in POWERS_DOWN:
        return None
    return Problem(
        "limit",
        f"required for a {operation} session by ochami:sessionLimitRequired: name the nodes"
        f" (xnames or groups), or `{EVERY_NODE}` for every node of the template",
    )
