"""Where each node stands in its last session: what the engine recorded of the sessions (a
stack export, a Tofu state), and, for a run still going, the notes its journal keeps of each
batch it powered, with the boot store's boot-script fetches as the proof a powered node booted.
Pure: `status_map_command.py` reads the documents and the journal files.

A session writes every node's boot configuration (naming itself in `ochami.session`) before it
powers the first batch, and notes each batch in its journal before powering it; a run that ends
clears its journal. So while a run goes, its nodes are those whose record names it: pending
until their batch is noted, then in progress until they fetch a boot script, then booted. Once
it ended, the engine's record says (`results`): booted, done, failed, skipped, pending.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import ValidationError

from .errors import InvalidInputError
from .history import SEALED, plain, tf_resources
from .models.hostlists import expand
from .models.problems import problems_from
from .models.session import SessionRecord

# A node's mark on the map. `done`: the session's work on it succeeded and it was not a boot
# (powered off, staged); `none`: no session that the sources record names it.
Mark = Literal["booted", "done", "in progress", "pending", "failed", "skipped", "none"]
MARKS: tuple[Mark, ...] = ("booted", "done", "in progress", "pending", "failed", "skipped", "none")

# The recorded phases (models.session.NodePhase) as marks.
_PHASE_MARKS: dict[str, Mark] = {
    "booted": "booted",
    "current": "booted",
    "already-on": "booted",
    "off": "done",
    "staged": "done",
    "configuring": "in progress",
    "powering": "in progress",
    "booting": "in progress",
    "skipped": "skipped",
    "failed": "failed",
}
_SESSION_TYPE = "ochami_boot_session"
# Outputs a Tofu state keeps as JSON text.
_JSON_OUTPUTS = ("results", "history", "transition_ids")


@dataclass(frozen=True)
class Recorded:
    """A session as the engine recorded it after its last run, and the deployment (stack) it
    belongs to: its journal is named by both."""

    name: str
    deployment: str | None
    record: SessionRecord


@dataclass(frozen=True)
class BatchNote:
    """One power run of a session's current run, as its journal noted it."""

    run: str
    template_version: str
    operation: str
    started: int  # Unix seconds
    nodes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NodeProgress:
    session: str | None
    mark: Mark
    # The recorded phase, or where a running session has it (its batch, when it was powered).
    detail: str = ""
    error: str = ""
    # Not booted by this session yet: the template and version the latest recorded session
    # booted it with, which it runs still (its boot record already names the new one).
    runs: tuple[str, str] | None = None


@dataclass
class SessionView:
    """One session, as the map's panel shows it."""

    name: str
    running: bool
    status: str
    template: str
    version: str
    operation: str
    started_at: str | None
    error_message: str
    # A rolling session's batches: how many started (running) or ran (recorded), and of how many
    # (None while running: the journal does not say).
    batches_done: int | None
    batches_total: int | None
    marks: Counter[str] = field(default_factory=Counter)


# Reading what the engines recorded --------------------------------------------------------
def from_pulumi_export(document: Mapping[str, Any], source: str) -> dict[str, Recorded]:
    """The sessions of `pulumi stack export --show-secrets`: the dynamic resources whose
    outputs are a session's."""
    deployment = document.get("deployment") or {}
    found = {}
    for resource in deployment.get("resources") or []:
        outputs = {
            k: value
            for k, v in (resource.get("outputs") or {}).items()
            if (value := plain(v)) is not SEALED
        }
        if "template_version" not in outputs or "results" not in outputs:
            continue  # a template, the provider, the stack
        found.update(_recorded(outputs, source))
    return found


def from_tf_state(document: Mapping[str, Any], source: str) -> dict[str, Recorded]:
    """The sessions of a state file (`terraform.tfstate`, `tofu state pull`) or of
    `tofu show -json`."""
    found = {}
    for _, values in tf_resources(document, "managed", (_SESSION_TYPE,)):
        outputs = {
            k: json.loads(v) if k in _JSON_OUTPUTS and isinstance(v, str) else v
            for k, v in values.items()
        }
        found.update(_recorded(outputs, source))
    return found


def nodes_from_tf(document: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The per-node objects of the first `data "ochami_nodes"` in a state or `tofu show -json`
    document, or None when it holds none."""
    for _, values in tf_resources(document, "data", ("ochami_nodes",)):
        nodes = values.get("nodes")
        loaded = json.loads(nodes) if isinstance(nodes, str) else nodes
        if isinstance(loaded, list):
            return loaded
    return None


def _recorded(outputs: Mapping[str, Any], source: str) -> dict[str, Recorded]:
    name = str(outputs.get("name") or "")
    try:
        record = SessionRecord.from_props(outputs)
    except ValidationError as error:
        problems = problems_from(error, f"{source}: session {name!r}")
        raise InvalidInputError.of(problems, error.errors()[0].get("input")) from None
    deployment = outputs.get("deployment")
    return {name: Recorded(name, str(deployment) if deployment else None, record)}


def batch_notes(entries: Iterable[Mapping[str, Any]]) -> list[BatchNote]:
    """A journal file's entries (session_journal.Powered as JSON), oldest first."""
    notes = [
        BatchNote(
            str(e["run"]),
            str(e["template_version"]),
            str(e["operation"]),
            int(e["started"]),
            tuple(expand(str(e["nodes"]))),
        )
        for e in entries
    ]
    return sorted(notes, key=lambda n: n.started)


# Where each node stands -----------------------------------------------------------------
@dataclass(frozen=True)
class NodeFacts:
    """What the boot store and the power service say of one node (node_status.NodeStatus)."""

    node: str
    template: str | None
    session: str | None
    deployment: str | None
    version: str | None
    last_fetch: int | None


def progress(
    nodes: Iterable[NodeFacts],
    recorded: Mapping[str, Recorded],
    journals: Mapping[tuple[str | None, str], list[BatchNote]],
) -> tuple[dict[str, NodeProgress], list[SessionView]]:
    """Each node's mark in its last session, and each session the nodes or the records name.

    A node's last session is the one its boot record names; else the latest recorded session
    whose results name it. `journals`: the notes of each (deployment, session) whose journal
    was found; a journal whose notes are of a run the record does not show is a run going
    on (or one an interrupted engine never recorded)."""
    facts = list(nodes)
    running = {
        key: [n for n in notes if n.run == notes[-1].run]
        for key, notes in journals.items()
        if notes and (key[1] not in recorded or recorded[key[1]].record.run_id != notes[-1].run)
    }
    by_result = _recorded_nodes(recorded)
    booted = _booted_with(recorded)
    found: dict[str, NodeProgress] = {}
    for fact in facts:
        key = (fact.deployment, fact.session) if fact.session else None
        if key is not None and key in running:
            item = _running_mark(fact, running[key], recorded.get(key[1]))
        elif fact.session is not None and fact.session in recorded:
            item = _recorded_mark(fact.node, recorded[fact.session])
        elif fact.node in by_result:
            item = _recorded_mark(fact.node, recorded[by_result[fact.node]])
        else:
            item = NodeProgress(fact.session, "none")
        runs = _runs(fact, item, booted.get(fact.node), key is not None and key in running)
        found[fact.node] = replace(item, runs=runs) if runs else item
    facts_by_session = {(f.deployment, f.session): f.template for f in facts if f.session}
    return found, _views(found, recorded, running, facts_by_session)


def _booted_with(recorded: Mapping[str, Recorded]) -> dict[str, _Booted]:
    """node -> the latest recorded session that booted it."""
    found: dict[str, _Booted] = {}
    for entry in sorted(recorded.values(), key=lambda r: r.record.started_at or ""):
        record = entry.record
        ended = _epoch(record.completed_at)
        booted = _Booted(entry.name, (record.template_name, record.template_version), ended)
        for phase in ("booted", "current", "already-on"):
            for node in record.results.phases.get(phase, ()):
                found[node] = booted
    return found


@dataclass(frozen=True)
class _Booted:
    session: str
    version: tuple[str, str]  # template, version
    ended: float | None


def _runs(
    fact: NodeFacts, item: NodeProgress, booted: _Booted | None, running: bool
) -> tuple[str, str] | None:
    """What the node runs where its boot record says otherwise: a template written since the
    session that booted it (its next boot takes the new one), or a running session's new
    version it was not rebooted into yet. A boot-script fetch after that session ended means
    it rebooted since, into what its record holds."""
    if booted is None or (running and item.mark == "booted"):
        return None
    if fact.last_fetch is not None and booted.ended is not None and fact.last_fetch > booted.ended:
        return None
    if booted.version == (fact.template, fact.version):
        return None
    return booted.version


def _epoch(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def _recorded_nodes(recorded: Mapping[str, Recorded]) -> dict[str, str]:
    """node -> the latest recorded session whose results name it."""
    latest: dict[str, str] = {}
    ordered = sorted(recorded.values(), key=lambda r: r.record.started_at or "")
    for entry in ordered:
        for nodes in entry.record.results.phases.values():
            for node in nodes:
                latest[node] = entry.name
    return latest


def _recorded_mark(node: str, entry: Recorded) -> NodeProgress:
    results = entry.record.results
    if node in results.failed:
        return NodeProgress(entry.name, "failed", "failed", results.failed[node])
    for why, nodes in results.skipped.items():
        if node in nodes:
            return NodeProgress(entry.name, "skipped", why)
    for phase, nodes in results.phases.items():
        if node in nodes:
            return NodeProgress(entry.name, _PHASE_MARKS.get(phase, "pending"), phase)
    if node in results.pending:
        return NodeProgress(entry.name, "pending", "not reached")
    return NodeProgress(entry.name, "none", "not in its last run")


def _running_mark(fact: NodeFacts, notes: list[BatchNote], before: Recorded | None) -> NodeProgress:
    session = str(fact.session)
    for number, note in enumerate(notes, start=1):
        if fact.node in note.nodes:
            powered = f"batch {number}, powered {_clock(note.started)}"
            if fact.last_fetch is not None and fact.last_fetch >= note.started:
                return NodeProgress(session, "booted", powered)
            return NodeProgress(session, "in progress", powered)
    # Not powered in this run: left for a later batch, or done by an earlier run of the same
    # version (a retry of the failed nodes powers only those).
    if before is not None and before.record.template_version == notes[-1].template_version:
        earlier = _recorded_mark(fact.node, before)
        if earlier.mark in ("booted", "done"):
            return earlier
    return NodeProgress(session, "pending")


def _views(
    found: Mapping[str, NodeProgress],
    recorded: Mapping[str, Recorded],
    running: Mapping[tuple[str | None, str], list[BatchNote]],
    templates: Mapping[tuple[str | None, str], str | None],
) -> list[SessionView]:
    marks: dict[str, Counter[str]] = {}
    for item in found.values():
        if item.session is not None:
            marks.setdefault(item.session, Counter())[item.mark] += 1
    views: dict[str, SessionView] = {}
    for entry in recorded.values():
        record = entry.record
        batches = record.results.batches
        views[entry.name] = SessionView(
            name=entry.name,
            running=False,
            status=record.status,
            template=record.template_name,
            version=record.template_version,
            operation=record.operation,
            started_at=record.started_at,
            error_message=record.error_message,
            batches_done=batches.get("done"),
            batches_total=batches.get("total"),
        )
    for key, notes in running.items():
        name = key[1]
        views[name] = SessionView(
            name=name,
            running=True,
            status="running",
            template=templates.get(key) or "",
            version=notes[-1].template_version,
            operation=notes[-1].operation,
            started_at=_iso(notes[0].started),
            error_message="",
            batches_done=len(notes),
            batches_total=None,
        )
    for name, counted in marks.items():
        if name in views:
            views[name].marks = counted
    # Running sessions first, then the latest started (two stable sorts).
    latest = sorted(views.values(), key=lambda v: v.started_at or "", reverse=True)
    return sorted(latest, key=lambda v: not v.running)


def _clock(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%H:%M:%SZ")


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
