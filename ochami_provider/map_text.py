"""The map in a terminal: one character per node, a row per chassis, cabinets side by side as
far as the width allows, then on the next band.

A node's character is its key's letter (A, B, ...; `.` no boot entry, `?` made by hand): upper
case when booted, done or in no recorded session, lower case while pending; `+` in progress,
`!` failed, `-` skipped. With colour, its background is its key's colour (the page's palette)
and an underline marks a node that is not on; without colour the letters alone carry the key.
"""

from __future__ import annotations

from collections.abc import Iterator

from .node_map import BY_HAND, GREYS, NO_ENTRY, PALETTE, Block, Cell, Key, NodeMap

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_MARK_CHARS = {"in progress": "+", "failed": "!", "skipped": "-"}
_SEPARATOR = "  "


def render(found: NodeMap, *, width: int = 80, colour: bool = False) -> str:
    letters = [_letter(i, key) for i, key in enumerate(found.keys)]
    lines = [f"{found.title}: {found.total:,} nodes ({found.generated})"]
    for view in found.sessions:
        batches = ""
        if view.batches_done is not None:
            of = f" of {view.batches_total}" if view.batches_total else ""
            noun = "batch" if view.batches_done == 1 and not of else "batches"
            batches = f", {view.batches_done}{of} {noun} {'started' if view.running else 'ran'}"
        counts = ", ".join(f"{n:,} {mark}" for mark, n in sorted(view.marks.items()))
        lines.append(
            f"session {view.name} ({view.template}@{view.version}): {view.status}{batches}"
            + (f"; {counts}" if counts else "")
        )
    for i, key in enumerate(found.keys):
        lines.append(f"  {_paint(letters[i], key, colour, on=True)} {key.label}: {key.count:,}")
    lines.append(
        "  upper case booted/done, lower case pending, + in progress, ! failed, - skipped"
        + ("; underlined: not on" if colour else "")
    )
    marks = ", ".join(f"{n:,} {mark}" for mark, n in found.marks.items())
    power = ", ".join(f"{n:,} {state}" for state, n in found.power.items())
    lines.append(f"  marks: {marks}; power: {power}")
    lines += _bands(found, letters, width, colour)
    for group in found.failed:
        lines.append(f"failed {group.nodes} ({group.count:,}): {group.error}")
    return "\n".join(lines)


def _letter(i: int, key: Key) -> str:
    if key.colour == NO_ENTRY:
        return "."
    if key.colour == BY_HAND:
        return "?"
    return _LETTERS[i] if i < len(_LETTERS) else "#"


def _bands(found: NodeMap, letters: list[str], width: int, colour: bool) -> Iterator[str]:
    band: list[list[str]] = []
    used = 0
    for block in found.blocks:
        drawn = list(_block(block, found.keys, letters, colour))
        size = _width(block)
        if band and used + len(_SEPARATOR) + size > width:
            yield from _joined(band)
            band, used = [], 0
        band.append(drawn)
        used += size + (len(_SEPARATOR) if used else 0)
    if band:
        yield from _joined(band)


def _label_width(block: Block) -> int:
    return max(
        len(block.label) if block.label != "other nodes" else 0, *(len(r.label) for r in block.rows)
    )


def _width(block: Block) -> int:
    return _label_width(block) + 1 + max(len(row.cells) for row in block.rows)


def _joined(band: list[list[str]]) -> Iterator[str]:
    yield ""
    height = max(len(drawn) for drawn in band)
    for line in range(height):
        yield _SEPARATOR.join(
            drawn[line] if line < len(drawn) else " " * _visible(drawn[0]) for drawn in band
        ).rstrip()


def _visible(text: str) -> int:
    """Its width on screen, escape sequences left out."""
    count, escaped = 0, False
    for char in text:
        if char == "\x1b":
            escaped = True
        elif escaped:
            escaped = char != "m"
        else:
            count += 1
    return count


def _block(block: Block, keys: tuple[Key, ...], letters: list[str], colour: bool) -> Iterator[str]:
    label = _label_width(block)
    columns = max(len(row.cells) for row in block.rows)
    ruler = [" "] * columns
    if block.label != "other nodes":
        starts = [0, *(end + 1 for end in sorted(block.slot_ends))]
        for slot, start in enumerate(starts):
            ruler[start] = str(slot % 10)
    head = block.label if block.label != "other nodes" else "other"
    yield f"{head:<{label}} {''.join(ruler)}"
    for row in block.rows:
        chars = [_char(cell, keys, letters, colour) for cell in row.cells]
        chars += [" "] * (columns - len(chars))
        yield f"{row.label:<{label}} {''.join(chars)}"


def _char(cell: Cell | None, keys: tuple[Key, ...], letters: list[str], colour: bool) -> str:
    if cell is None:
        return " "
    letter = letters[cell.key]
    char = _MARK_CHARS.get(cell.mark, letter.lower() if cell.mark == "pending" else letter)
    return _paint(char, keys[cell.key], colour, on=cell.power == "on")


def _paint(char: str, key: Key, colour: bool, *, on: bool) -> str:
    if not colour:
        return char
    fill = GREYS[key.colour] if key.colour < 0 else PALETTE[key.colour % len(PALETTE)]
    r, g, b = (int(fill[i : i + 2], 16) for i in (1, 3, 5))
    ink = "30" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "97"
    underline = "" if on else ";4"
    return f"\x1b[48;2;{r};{g};{b};{ink}{underline}m{char}\x1b[0m"
