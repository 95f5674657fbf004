"""What a template and a session keep of their past in the engine's state: the last writes of a
template (each version's spec, when, by whom, for which nodes, what changed) and the last runs
of a session. Bounded by `ochami:historyLength` entries, each of a size that does not grow with
the nodes (hostlists), so the state of a 10,000-node cluster stays small."""

from __future__ import annotations

import getpass
import socket
from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from .hostlists import NodeList

# What a state keeps by default: a year of weekly changes.
DEFAULT_HISTORY_LENGTH = 50
# Distinct errors a session run keeps (the error summary of its failed nodes, largest first).
ERRORS_KEPT = 10


class TemplateWrite(BaseModel):
    """One write of a template: the version it wrote and what changed since the one before."""

    model_config = ConfigDict(extra="ignore")

    version: str
    # ISO 8601, UTC, to the second.
    at: str
    # Who ran the engine: user@host.
    by: str = ""
    # The nodes each boot set was written for.
    hosts: dict[str, NodeList] = Field(default_factory=dict)
    # The write's field-level change lines, as its `changes` output (at most 50).
    changes: list[str] = Field(default_factory=list)
    # The normalized spec of this version, as the `spec` output holds it: what a roll back
    # declares again (`ochami-boot history --show NAME@VERSION`).
    spec: dict[str, Any] = Field(default_factory=dict)

    def boot_set_of(self, node: str) -> str | None:
        return next((name for name, nodes in self.hosts.items() if node in nodes), None)


class SessionRun(BaseModel):
    """One run of a session (its create, a retry, a rerun for a template change)."""

    model_config = ConfigDict(extra="ignore")

    started_at: str | None = None
    completed_at: str | None = None
    by: str = ""
    operation: str
    template_name: str = ""
    template_version: str = ""
    status: str
    # The nodes each power run was sent, by the power backend's name of the action (retries
    # included): what the run powered.
    acted: dict[str, NodeList] = Field(default_factory=dict)
    failed: NodeList = Field(default_factory=list)
    # Failed nodes by error (the largest ERRORS_KEPT): error -> count.
    errors: dict[str, int] = Field(default_factory=dict)
    error_message: str = ""

    def acted_on(self, node: str) -> bool:
        return any(node in nodes for nodes in self.acted.values())


Entry = TypeVar("Entry", TemplateWrite, SessionRun)


def appended(history: Sequence[Entry], entry: Entry, length: int) -> list[Entry]:
    """`history` with `entry` last, keeping the newest `length` (none with 0)."""
    kept = list(history)
    kept.append(entry)
    return kept[-length:] if length > 0 else []


def author() -> str:
    """Who runs the engine (the provider runs in the engine's process tree, as that user)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container's uid)
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


# How a history is recorded. Most writes of a template are for the nodes of the write before,
# and most runs of a session power the nodes of the run before: a node set equal to the one
# of the entry before is recorded as SAME. A hostlist with holes (drained nodes, scattered
# failures) is kilobytes at 10,000 nodes; recorded once, 50 entries stay under the 200 KiB
# goal (benchmarks/history_size.py).
SAME = "="
_NODE_SETS = ("hosts", "acted", "failed")


def _packed(entries: Sequence[BaseModel]) -> list[dict[str, Any]]:
    recorded: list[dict[str, Any]] = []
    before: dict[str, Any] = {}
    for entry in entries:
        dumped = entry.model_dump(mode="json")
        out = dict(dumped)
        for name in _NODE_SETS:
            value, earlier = dumped.get(name), before.get(name)
            if isinstance(value, dict) and isinstance(earlier, dict):
                out[name] = {k: SAME if v and v == earlier.get(k) else v for k, v in value.items()}
            elif isinstance(value, str) and value and value == earlier:
                out[name] = SAME
        recorded.append(out)
        before = dumped
    return recorded


def _unpacked(raw: Any) -> Any:
    """Recorded entries with each SAME replaced by the entry before's node set."""
    if not isinstance(raw, list):
        return raw
    entries: list[Any] = []
    before: dict[str, Any] = {}
    for item in raw:
        if not isinstance(item, dict):
            entries.append(item)
            before = item.model_dump(mode="json") if isinstance(item, BaseModel) else {}
            continue
        entry = dict(item)
        for name in _NODE_SETS:
            value, earlier = entry.get(name), before.get(name)
            if isinstance(value, dict):
                entry[name] = {
                    k: (earlier or {}).get(k, []) if v == SAME else v for k, v in value.items()
                }
            elif value == SAME:
                entry[name] = earlier if earlier is not None else []
        entries.append(entry)
        before = entry
    return entries


TemplateHistory = Annotated[
    list[TemplateWrite], BeforeValidator(_unpacked), PlainSerializer(_packed, return_type=list)
]
SessionHistory = Annotated[
    list[SessionRun], BeforeValidator(_unpacked), PlainSerializer(_packed, return_type=list)
]


def recorded_entries(raw: Any) -> list[Any]:
    """A recorded history (SAME marks unfolded), for readers of a state (history.py)."""
    unfolded = _unpacked(raw)
    return unfolded if isinstance(unfolded, list) else []
