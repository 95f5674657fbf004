"""The map of a machine: each node's colour key (the template and version its boot record
names), its marks (its power, where it stands in its last session) and its place in the xname
hierarchy, one block per cabinet, a row per chassis, a column per slot, BMC and node; names that
are not xnames go to a plain grid of their own. Pure: `map_page` draws it as a page,
`map_text` in the terminal.

Colours: the Okabe-Ito palette (Wong, Nature Methods 8:441, 2011), made to stay apart for the
common colour-vision deficiencies; black is left out, the marks use it. Past seven keys a colour
comes back with a hatch of its own; in print every key has its hatch too (`map_page`), so a
grey print keeps them apart.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from .models.hostlists import compact
from .node_status import NodeStatus
from .session_progress import MARKS, NodeFacts, NodeProgress, SessionView

# Okabe-Ito without black: orange, sky blue, bluish green, yellow, blue, vermillion, reddish
# purple.
PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")
# Nodes without a boot record, and records no template wrote: greys, outside the palette.
NO_ENTRY = -1
BY_HAND = -2
GREYS = {NO_ENTRY: "#F2F2F2", BY_HAND: "#8C8C8C"}
# Names that are not xnames: this many to a row of their plain grid.
GRID_WIDTH = 32

_XNAME = re.compile(r"^x(\d+)c(\d+)s(\d+)b(\d+)n(\d+)$")


@dataclass(frozen=True)
class Key:
    """One colour: a template version (of one stack), or one of the two greys."""

    label: str
    colour: int  # an index into PALETTE (cycled, with a hatch past its end), or NO_ENTRY, BY_HAND
    count: int
    template: str | None = None
    version: str | None = None
    stack: str | None = None


@dataclass(frozen=True, slots=True)
class Cell:
    node: str
    key: int  # an index into NodeMap.keys
    mark: str  # session_progress.Mark
    power: str
    tip: str


@dataclass(frozen=True)
class Row:
    label: str  # the chassis, `c0`; in the plain grid the row's first name
    cells: tuple[Cell | None, ...]  # one per column; None where the chassis has no such node


@dataclass(frozen=True)
class Block:
    label: str  # the cabinet, `x1000`; "other nodes" for the plain grid
    # Where a slot ends: a gap is drawn after these columns.
    slot_ends: frozenset[int]
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class FailedGroup:
    error: str
    count: int
    nodes: str  # hostlist


@dataclass(frozen=True)
class NodeMap:
    title: str
    generated: str
    sources: tuple[str, ...]
    keys: tuple[Key, ...]
    blocks: tuple[Block, ...]
    marks: Mapping[str, int]
    power: Mapping[str, int]
    failed: tuple[FailedGroup, ...]
    sessions: tuple[SessionView, ...]
    total: int


def build(
    statuses: Iterable[NodeStatus],
    progress: Mapping[str, NodeProgress],
    sessions: Iterable[SessionView] = (),
    *,
    title: str = "ochami-boot status",
    sources: Iterable[str] = (),
    colours: Mapping[str, int] | None = None,
    now: datetime | None = None,
) -> NodeMap:
    """The map of `statuses`, with each node's `progress`. `colours`: the colour each key label
    had on an earlier map (`--watch` keeps them while counts change)."""
    nodes = sorted(statuses, key=lambda s: s.node)
    none = NodeProgress(None, "none")
    runs = [_runs(s, progress.get(s.node, none)) for s in nodes]
    labels = [_key_label(s) for s in runs]
    keys = _keys(runs, labels, colours or {})
    index = {k.label: i for i, k in enumerate(keys)}
    cells = [
        Cell(s.node, index[label], progress.get(s.node, none).mark, s.power, "")
        for s, label in zip(nodes, labels, strict=True)
    ]
    cells = [
        _with_tip(cell, status, progress.get(status.node, none))
        for cell, status in zip(cells, nodes, strict=True)
    ]
    failed: dict[str, list[str]] = {}
    for status in nodes:
        item = progress.get(status.node)
        if item is not None and item.mark == "failed":
            failed.setdefault(item.error or "(no error recorded)", []).append(status.node)
    marks = Counter(c.mark for c in cells)
    return NodeMap(
        title=title,
        generated=(now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%S UTC"),
        sources=tuple(sources),
        keys=keys,
        blocks=layout(cells),
        marks={m: marks[m] for m in MARKS if marks[m]},
        power=dict(sorted(Counter(c.power for c in cells).items())),
        failed=tuple(
            FailedGroup(error, len(members), compact(members))
            for error, members in sorted(failed.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        ),
        sessions=tuple(sessions),
        total=len(cells),
    )


def facts_of(statuses: Iterable[NodeStatus]) -> list[NodeFacts]:
    """What `session_progress` reads of each node's status."""
    return [
        NodeFacts(s.node, s.template, s.session, s.stack, s.version, s.last_bootscript_fetch)
        for s in statuses
    ]


def layout(cells: Iterable[Cell]) -> tuple[Block, ...]:
    """Cabinets in order, each a row per chassis; every cabinet has the same columns (each
    slot, BMC and node that any chassis has), so equal places line up down the page."""
    placed: dict[int, dict[int, dict[tuple[int, int, int], Cell]]] = {}
    others = []
    for cell in cells:
        match = _XNAME.match(cell.node)
        if match is None:
            others.append(cell)
            continue
        cabinet, chassis, slot, bmc, node = (int(part) for part in match.groups())
        placed.setdefault(cabinet, {}).setdefault(chassis, {})[(slot, bmc, node)] = cell
    columns = sorted({place for rows in placed.values() for row in rows.values() for place in row})
    slot_ends = frozenset(i for i in range(len(columns) - 1) if columns[i][0] != columns[i + 1][0])
    blocks = [
        Block(
            f"x{cabinet}",
            slot_ends,
            tuple(
                Row(f"c{chassis}", tuple(rows[chassis].get(place) for place in columns))
                for chassis in sorted(rows)
            ),
        )
        for cabinet, rows in sorted(placed.items())
    ]
    if others:
        rows = tuple(
            Row(others[i].node, tuple(others[i : i + GRID_WIDTH]))
            for i in range(0, len(others), GRID_WIDTH)
        )
        blocks.append(Block("other nodes", frozenset(), rows))
    return tuple(blocks)


def _runs(status: NodeStatus, item: NodeProgress) -> NodeStatus:
    """The status as the colour reads it: with the template and version the node runs, where
    a session has written a new one it has not booted yet."""
    if item.runs is None:
        return status
    template, version = item.runs
    return replace(status, template=template, version=version)


def _key_label(status: NodeStatus) -> str:
    if status.template is None:
        return "(no boot entry)"
    if status.template == "":
        return "(made by hand: no owner marker)"
    label = f"{status.template}@{status.version or '?'}"
    return f"{label} (stack {status.stack})" if status.stack else label


def _keys(
    nodes: list[NodeStatus], labels: list[str], earlier: Mapping[str, int]
) -> tuple[Key, ...]:
    counts = Counter(labels)
    first = {label: status for status, label in zip(nodes, labels, strict=True)}
    templated = sorted(label for label in counts if first[label].template)
    taken = {earlier[label] for label in templated if label in earlier}
    free = (i for i in range(len(templated) + len(taken)) if i not in taken)
    colour = {label: earlier[label] if label in earlier else next(free) for label in templated}
    keys = [
        Key(
            label,
            colour[label],
            counts[label],
            first[label].template,
            first[label].version,
            first[label].stack,
        )
        for label in templated
    ]
    for label, grey in (
        ("(made by hand: no owner marker)", BY_HAND),
        ("(no boot entry)", NO_ENTRY),
    ):
        if label in counts:
            keys.append(Key(label, grey, counts[label]))
    return tuple(keys)


def _with_tip(cell: Cell, status: NodeStatus, item: NodeProgress) -> Cell:
    """Short lines: ten thousand of them make most of the page."""
    held = _key_label(replace(status, stack=None))
    if status.boot_set:
        held += f", boot set {status.boot_set}"
    if item.runs is not None and item.runs[0] == status.template:
        held = f"boot set {status.boot_set}" if status.boot_set else "its boot set"
    lines = [f"{status.node}, power {status.power}"]
    if item.runs is not None and item.runs[0] == status.template:
        lines.append(f"runs {item.runs[0]}@{item.runs[1]}, next {status.version} ({held})")
    elif item.runs is not None:
        lines.append(f"runs {item.runs[0]}@{item.runs[1]}, next {held}")
    else:
        lines.append(held)
    if item.session is not None:
        detail = f", {item.detail}" if item.detail and item.detail != item.mark else ""
        lines.append(f"session {item.session}: {item.mark}{detail}")
    if status.last_bootscript_fetch is not None:
        fetched = datetime.fromtimestamp(status.last_bootscript_fetch, UTC)
        lines.append(f"boot script {fetched:%Y-%m-%d %H:%M:%S}Z")
    elif status.unrecorded_by is not None:
        lines.append(f"boot-script fetches not recorded by {status.unrecorded_by}")
    else:
        lines.append("boot script never fetched")
    if item.error:
        lines.append(f"error: {item.error}")
    return Cell(cell.node, cell.key, cell.mark, cell.power, "\n".join(lines))
