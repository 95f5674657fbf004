"""Which inputs an update changes, path by path, for Pulumi's diff view.

A dynamic provider's diff says only "something changed", and `pulumi preview --diff` then prints
every input of the resource: a session's whole template copy and every default setting, about
a hundred lines for a one-word edit of kernel parameters. A detailed diff (the property paths
that changed, as native providers send) makes it print those paths alone.

Pure: the provider process hands the result to the engine (`_provider`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from ..lifecycle import Diff

Kind = Literal["add", "delete", "update"]
Path = tuple[str | int, ...]

# A key Pulumi's property paths take after a dot; any other is quoted in brackets.
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


def changed_paths(
    olds: Mapping[str, Any], news: Mapping[str, Any], keys: Iterable[str]
) -> dict[Path, Kind]:
    """The deepest paths under `keys` where `news` differs from `olds`. Maps are walked key by
    key and lists index by index, so one edited kernel parameter is one path, not its template."""
    found: dict[Path, Kind] = {}
    for key in keys:
        _walk((key,), olds.get(key), news.get(key), found)
    return found


# A list index past the end: unlike a map's null value, not the same as a null element.
_PAST_END = object()


def _walk(path: Path, old: Any, new: Any, found: dict[Path, Kind]) -> None:
    if old == new:
        return
    if old is None or old is _PAST_END:
        found[path] = "add"
    elif new is None or new is _PAST_END:
        found[path] = "delete"
    elif isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted({*old, *new}, key=str):
            _walk((*path, key), old.get(key), new.get(key), found)
    elif isinstance(old, list) and isinstance(new, list):
        for index in range(max(len(old), len(new))):
            before = old[index] if index < len(old) else _PAST_END
            after = new[index] if index < len(new) else _PAST_END
            _walk((*path, index), before, after, found)
    else:
        found[path] = "update"


def property_path(path: Path) -> str:
    """A path as Pulumi writes one: `boot_sets.compute.kernel_parameters`, `limit[0]`,
    `template_writes["1796125460"]`."""
    first, *rest = path
    text = str(first)
    for part in rest:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            text += f".{part}"
        else:
            escaped = part.replace("\\", "\\\\").replace('"', '\\"')
            text += f'["{escaped}"]'
    return text


def detailed_paths(
    olds: Mapping[str, Any], news: Mapping[str, Any], diff: Diff
) -> dict[Path, Kind]:
    """What Pulumi's diff view shows: the changed paths of the changed inputs; none (so the
    engine shows every input) for work to do with no input changed, such as a retry."""
    paths = changed_paths(olds, news, diff.changed)
    for key in [*diff.changed, *diff.replaces]:
        if not any(path[0] == key for path in paths):
            paths[(key,)] = "update"
    return paths
