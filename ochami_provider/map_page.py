"""The map as one self-contained HTML page: inline CSS and SVG, no script and no fetch (its
Content-Security-Policy forbids any), readable offline, in a mail, in print.

Each node is a square coloured by its key, in its cabinet's block (a row per chassis, a gap
between slots); a glyph on it says where it stands in its last session, a bar under it that it
is off (dashed: its power is not known); its tooltip names the node, template, version, boot
set, last session and last boot-script fetch. The legend counts each colour, glyph and power
state; the failed nodes are listed under the map with their error.
"""

from __future__ import annotations

from html import escape

from .node_map import BY_HAND, GREYS, NO_ENTRY, PALETTE, Block, Key, NodeMap
from .session_progress import SessionView

CELL = 9  # px, a node's square
PITCH = CELL + 1
SLOT_GAP = 3
TOP = 14  # the cabinet's name above its rows
_MARK_GLYPHS = {
    "failed": '<path d="M1.5 1.5l6 6M7.5 1.5l-6 6" class="halo"/>'
    '<path d="M1.5 1.5l6 6M7.5 1.5l-6 6" class="ink"/>',
    "in progress": '<path d="M4.5 1.3L7.8 7.4H1.2z" class="solid"/>',
    "pending": '<circle cx="4.5" cy="4.5" r="2.3" class="hollow"/>',
    "skipped": '<path d="M1.5 7.5l6-6" class="halo"/><path d="M1.5 7.5l6-6" class="ink"/>',
}
_POWER_GLYPHS = {
    "off": '<rect y="7" width="9" height="2" fill="#000"/>',
    "unknown": '<path d="M0 8h9" stroke="#000" stroke-width="1.6" stroke-dasharray="1.5 1.5"/>',
}
# Short ids: a page of 10,000 nodes names them thousands of times.
_GLYPH_IDS = {
    "failed": "gf",
    "in progress": "gi",
    "pending": "gp",
    "skipped": "gs",
    "off": "po",
    "unknown": "pu",
}
_POWER_WORDS = {"off": "off (bar under the square)", "on": "on"}
_MARK_WORDS = {
    "booted": "booted (no glyph)",
    "done": "done: off or staged as asked (no glyph)",
    "in progress": "in progress: powered, not booted yet",
    "pending": "pending: waiting for its batch",
    "failed": "failed",
    "skipped": "skipped",
    "none": "in no recorded session (no glyph)",
}
# Hatches: one per key in print, and on screen for keys past the palette's seven colours.
_HATCHES = (
    "",
    '<path d="M-1 1l2-2M0 4l4-4M3 5l2-2" stroke="#000" stroke-width=".7"/>',
    '<path d="M-1 3l2 2M0 0l4 4M3 -1l2 2" stroke="#000" stroke-width=".7"/>',
    '<path d="M0 2h4" stroke="#000" stroke-width=".7"/>',
    '<path d="M2 0v4" stroke="#000" stroke-width=".7"/>',
    '<circle cx="2" cy="2" r=".8" fill="#000"/>',
    '<path d="M0 2h4M2 0v4" stroke="#000" stroke-width=".5"/>',
)
_STYLE = """
body{font:13px/1.4 system-ui,sans-serif;margin:16px;color:#111;background:#fff;
print-color-adjust:exact;-webkit-print-color-adjust:exact}
h1{font-size:18px;margin:0 0 4px}h2{font-size:14px;margin:18px 0 6px}
table{border-collapse:collapse}td,th{padding:2px 8px;text-align:left;vertical-align:top}
th{border-bottom:1px solid #999}td.n{text-align:right;font-variant-numeric:tabular-nums}
.legend{display:flex;flex-wrap:wrap;gap:4px 18px}.legend span{white-space:nowrap}
.map{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
.cells rect{width:9px;height:9px}.map text,.sw text{font:9px monospace;fill:#333}
use{pointer-events:none}.halo{stroke:#fff;stroke-width:3;fill:none}
.ink{stroke:#000;stroke-width:1.5;fill:none}.solid{fill:#000;stroke:#fff;stroke-width:.8}
.hollow{fill:#fff;stroke:#000;stroke-width:1}.muted{color:#555}code{font-size:12px}
"""


def render(found: NodeMap, *, refresh_seconds: float | None = None) -> str:
    """The page; with `refresh_seconds`, it reloads itself that often (`--watch`)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy"'
        " content=\"default-src 'none'; style-src 'unsafe-inline'\">",
    ]
    if refresh_seconds is not None:
        parts.append(f'<meta http-equiv="refresh" content="{max(1, round(refresh_seconds))}">')
    parts += [
        f"<title>{escape(found.title)}</title>",
        f"<style>{_STYLE}{_key_style(found.keys)}</style></head><body>",
        _defs(found.keys),
        f"<h1>{escape(found.title)}</h1>",
        f'<p class="muted">{found.total:,} nodes; {escape(found.generated)};'
        f" from {escape(', '.join(found.sources) or 'the services')}</p>",
        *_sessions(found.sessions),
        '<h2>Legend</h2><div class="legend" id="keys">',
        *(_key_entry(i, key) for i, key in enumerate(found.keys)),
        '</div><div class="legend" id="marks" style="margin-top:6px">',
        *(_mark_entry(mark, count) for mark, count in found.marks.items()),
        '</div><div class="legend" id="power" style="margin-top:6px">',
        *(_power_entry(state, count) for state, count in found.power.items()),
        '</div><h2>Nodes</h2><div class="map" id="map">',
        *(_block(block) for block in found.blocks),
        "</div>",
        *_failed(found),
        '<p class="muted">Colours: the Okabe-Ito palette, which stays apart for colour-blind'
        " readers; a key past the seventh, and every key in print, adds a hatch. Hover a node for"
        " its template, version, boot set, last session and last boot-script fetch.</p>",
        "</body></html>",
    ]
    return "\n".join(parts)


def _fill(key: Key) -> str:
    if key.colour < 0:
        return GREYS[key.colour]
    return PALETTE[key.colour % len(PALETTE)]


def _key_style(keys: tuple[Key, ...]) -> str:
    screen = []
    printed = []
    for i, key in enumerate(keys):
        plain = key.colour < len(PALETTE)
        screen.append(f".k{i}{{fill:{_fill(key) if plain else f'url(#s{i})'}}}")
        if key.colour >= 0:
            printed.append(f".k{i}{{fill:url(#q{i})}}")
    return "".join(screen) + "@media print{" + "".join(printed) + "}"


def _defs(keys: tuple[Key, ...]) -> str:
    patterns = []
    for i, key in enumerate(keys):
        if key.colour < 0:
            continue
        kinds = [("q", key.colour % len(_HATCHES))]
        if key.colour >= len(PALETTE):
            kinds.append(("s", key.colour // len(PALETTE) % len(_HATCHES) or 1))
        for prefix, hatch in kinds:
            patterns.append(
                f'<pattern id="{prefix}{i}" width="4" height="4" patternUnits="userSpaceOnUse">'
                f'<rect width="4" height="4" fill="{_fill(key)}"/>{_HATCHES[hatch]}</pattern>'
            )
    glyphs = [f'<g id="{_GLYPH_IDS[mark]}">{g}</g>' for mark, g in _MARK_GLYPHS.items()]
    glyphs += [f'<g id="{_GLYPH_IDS[state]}">{g}</g>' for state, g in _POWER_GLYPHS.items()]
    return (
        '<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>'
        + "".join(patterns + glyphs)
        + "</defs></svg>"
    )


def _swatch(inner: str) -> str:
    return f'<svg class="sw" width="{CELL}" height="{CELL}">{inner}</svg>'


def _key_entry(i: int, key: Key) -> str:
    square = f'<rect class="k{i}" width="{CELL}" height="{CELL}" stroke="#999" stroke-width=".5"/>'
    where = ""
    if key.colour == BY_HAND:
        where = " written by hand or another tool"
    elif key.colour == NO_ENTRY:
        where = " nothing in the boot store"
    return (
        f'<span class="key" data-key="{i}">{_swatch(square)} {escape(key.label)}{where}'
        f" &middot; <b>{key.count:,}</b></span>"
    )


def _mark_entry(mark: str, count: int) -> str:
    glyph = f'<use href="#{_GLYPH_IDS[mark]}"/>' if mark in _MARK_GLYPHS else ""
    square = f'<rect width="{CELL}" height="{CELL}" fill="#ddd"/>{glyph}'
    return (
        f'<span class="mark" data-mark="{escape(mark)}">{_swatch(square)}'
        f" {escape(_MARK_WORDS.get(mark, mark))} &middot; <b>{count:,}</b></span>"
    )


def _power_entry(state: str, count: int) -> str:
    glyph = _power_glyph(state)
    overlay = f'<use href="{glyph}"/>' if glyph else ""
    square = f'<rect width="{CELL}" height="{CELL}" fill="#ddd"/>{overlay}'
    words = _POWER_WORDS.get(state, f"{state} (dashed bar)")
    return (
        f'<span class="power" data-power="{escape(state)}">{_swatch(square)} power'
        f" {escape(words)} &middot; <b>{count:,}</b></span>"
    )


def _power_glyph(state: str) -> str:
    if state == "on":
        return ""
    return f"#{_GLYPH_IDS['off' if state == 'off' else 'unknown']}"


def _block(block: Block) -> str:
    label_width = (
        24 if block.label != "other nodes" else 8 + 6 * max(len(r.label) for r in block.rows)
    )
    columns = max(len(row.cells) for row in block.rows)
    gaps = [0]
    for column in range(1, columns):
        gaps.append(gaps[-1] + (SLOT_GAP if column - 1 in block.slot_ends else 0))
    width = label_width + columns * PITCH + gaps[-1]
    height = TOP + len(block.rows) * PITCH
    out = [
        f'<svg class="block" data-block="{escape(block.label)}" width="{width}" height="{height}">'
        f'<text x="0" y="9">{escape(block.label)}</text>'
    ]
    cells: list[str] = []
    overlays = []
    for r, row in enumerate(block.rows):
        y = TOP + r * PITCH
        out.append(f'<text x="0" y="{y + 8}">{escape(row.label)}</text>')
        for column, cell in enumerate(row.cells):
            if cell is None:
                continue
            x = label_width + column * PITCH + gaps[column]
            cells.append(
                f'<rect class="k{cell.key}" x="{x}" y="{y}"><title>{escape(cell.tip)}</title>'
                "</rect>"
            )
            if cell.mark in _MARK_GLYPHS:
                overlays.append(f'<use href="#{_GLYPH_IDS[cell.mark]}" x="{x}" y="{y}"/>')
            if cell.power != "on":
                overlays.append(f'<use href="{_power_glyph(cell.power)}" x="{x}" y="{y}"/>')
    return "".join(out) + '<g class="cells">' + "".join(cells + overlays) + "</g></svg>"


def _sessions(sessions: tuple[SessionView, ...]) -> list[str]:
    if not sessions:
        return []
    rows = [
        "<h2>Sessions</h2><table id=sessions><tr><th>session</th><th>state</th><th>template"
        "</th><th>operation</th><th>batches</th><th>nodes</th><th>started</th></tr>"
    ]
    for view in sessions:
        batches = ""
        if view.batches_done is not None:
            of = f" of {view.batches_total}" if view.batches_total else ""
            batches = f"{view.batches_done}{of} {'started' if view.running else 'ran'}"
        counts = ", ".join(f"{n:,} {mark}" for mark, n in sorted(view.marks.items()))
        state = escape(view.status) + (
            f'<br><span class="muted">{escape(view.error_message)}</span>'
            if view.error_message
            else ""
        )
        rows.append(
            f"<tr><td>{escape(view.name)}</td><td>{state}</td>"
            f"<td>{escape(view.template)}@{escape(view.version)}</td>"
            f"<td>{escape(view.operation)}</td><td>{escape(batches)}</td>"
            f"<td>{escape(counts)}</td><td>{escape(view.started_at or '')}</td></tr>"
        )
    rows.append("</table>")
    return rows


def _failed(found: NodeMap) -> list[str]:
    if not found.failed:
        return []
    rows = [
        "<h2>Failed nodes</h2><table id=failed><tr><th>nodes</th><th>count</th><th>error</th></tr>"
    ]
    rows += [
        f'<tr><td><code>{escape(group.nodes)}</code></td><td class="n">{group.count:,}</td>'
        f"<td>{escape(group.error)}</td></tr>"
        for group in found.failed
    ]
    rows.append("</table>")
    return rows
