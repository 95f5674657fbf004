"""A session's `limit`: which of its template's nodes it acts on, and what is wrong with it.

BOS's grammar: comma-separated terms, applied left to right to an empty set: a plain term adds
its nodes, `&term` keeps only the nodes also in it, `!term` takes its nodes away; `*` (or
`all`) stands for every node of the template. A term names a node (xname), an SMD group, a
partition or a role (`Compute`, or `Compute_Worker` with its sub-role). `limit` is a list;
each entry may hold several terms.

Pure: the runner resolves the names in SMD (a fixed number of requests) and hands the result
here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from .errors import InvalidInputError
from .models.problems import Problem
from .nodesets import phrase

# The terms that mean every node of the template, said out loud.
EVERY_NODE = "*"
_EVERY = (EVERY_NODE, "all")

# Operations that may take a running node down: `boot` reboots nodes on another version.
POWERS_DOWN = ("boot", "reboot", "shutdown")


@dataclass(frozen=True)
class LimitTerm:
    index: int  # the `limit` entry it was written in
    op: Literal["add", "keep", "drop"]
    name: str

    @property
    def field(self) -> str:
        return f"limit[{self.index}]"

    @property
    def every(self) -> bool:
        return self.name.lower() in _EVERY

    def __str__(self) -> str:
        return {"add": "", "keep": "&", "drop": "!"}[self.op] + self.name


# What each named term stands for: name -> nodes.
ResolvedLimit = Mapping[str, frozenset[str]]


def parse_limit(limit: Iterable[str]) -> list[LimitTerm]:
    """The terms, in order; an empty term is an error naming its entry."""
    terms = []
    for index, entry in enumerate(limit):
        for raw in entry.split(","):
            text = raw.strip()
            op: Literal["add", "keep", "drop"] = "add"
            if text[:1] in ("&", "!"):
                op = "keep" if text[0] == "&" else "drop"
                text = text[1:].strip()
            if not text:
                raise InvalidInputError(
                    f"limit[{index}]",
                    entry,
                    "has an empty term: terms are separated by commas, each a node, group,"
                    " partition or role, `&` before one to intersect, `!` to exclude",
                )
            terms.append(LimitTerm(index, op, text))
    return terms


def narrow(
    template_nodes: Iterable[str],
    terms: list[LimitTerm] | None,
    resolved: ResolvedLimit | None = None,
) -> list[str]:
    """The template's nodes the limit keeps (all of them without a limit)."""
    nodes = set(template_nodes)
    if not terms:
        return sorted(nodes)
    chosen: set[str] = set()
    for term in terms:
        found = nodes if term.every else set((resolved or {}).get(term.name, frozenset()))
        if term.op == "add":
            chosen |= found
        elif term.op == "keep":
            chosen &= found
        else:
            chosen -= found
    return sorted(chosen & nodes)


def limit_problems(
    template: str, template_nodes: Iterable[str], terms: list[LimitTerm], resolved: ResolvedLimit
) -> list[Problem]:
    """Terms that match no node of the template (a typo, a node of another template) would
    be dropped without a word, and a limit that keeps nothing would leave nothing to do."""
    nodes = set(template_nodes)
    problems = [
        Problem.of(
            term.field,
            f"{str(term)!r} matches no node of template {template!r}"
            + (f" (it names {phrase(members)})" if members else " (it names no node)"),
            term.name,
        )
        for term in terms
        if not term.every and not (members := resolved.get(term.name, frozenset())) & nodes
    ]
    if not problems and not narrow(nodes, terms, resolved):
        shown = ",".join(str(t) for t in terms)
        problems.append(
            Problem.of(
                "limit",
                f"keeps no node of template {template!r} (terms apply left to right from"
                " nothing: to exclude from all, start with `*`)",
                shown,
            )
        )
    return problems


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
