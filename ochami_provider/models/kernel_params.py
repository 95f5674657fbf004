"""Kernel command lines as the kernel reads them: words separated by spaces outside double
quotes (`console=ttyS0 rd.cmdline="a  b"` is two words, the second keeping both spaces), and a
word's name is what precedes its `=`, quotes removed (`"ochami.template=x"` names
`ochami.template` to the kernel). Pure."""

from __future__ import annotations

import functools
import unicodedata

# Every BSS record a template writes ends with this parameter naming the template: the node
# shows which template it booted (/proc/cmdline), and a second template, in this stack or
# another, sees that the node is taken. The kernel keeps a dotted parameter for a module that
# does not exist to itself, so nothing on the node acts on it.
OWNER_PARAMETER = "ochami.template"
# And which of its boot sets, at which template version: `ochami-boot status` reads them from
# BSS, and the node's /proc/cmdline says what it booted, as BOS's boot artifacts do.
BOOT_SET_PARAMETER = "ochami.boot_set"
VERSION_PARAMETER = "ochami.version"
# The session that last wrote the node's configuration (a session re-asserts it before it
# powers anything): what `ochami-boot status` shows as the node's last session.
SESSION_PARAMETER = "ochami.session"
MARKERS = (OWNER_PARAMETER, BOOT_SET_PARAMETER, VERSION_PARAMETER, SESSION_PARAMETER)


def words(line: str) -> list[str]:
    """The words of a command line; an unbalanced quote runs to the end, as in the kernel."""
    found: list[str] = []
    current: list[str] = []
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        if char == " " and not quoted:
            if current:
                found.append("".join(current))
                current = []
        else:
            current.append(char)
    if current:
        found.append("".join(current))
    return found


def name(word: str) -> str:
    return word.partition("=")[0].replace('"', "")


def is_owner(word: str, *, any_spelling: bool = False) -> bool:
    """The owner marker; with `any_spelling`, also what a reader would take for it
    (`OCHAMI.TEMPLATE`, `ochami_template`, `"ochami.template`)."""
    key = name(word)
    if any_spelling:
        key = key.lower().replace("-", ".").replace("_", ".")
    return key == OWNER_PARAMETER


@functools.lru_cache(maxsize=4096)
def _split(line: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The user's parameters and the markers (name, value), read once per distinct line:
    10,000 nodes of a boot set share one."""
    kept, markers = [], []
    for word in words(line):
        key = name(word)
        if key in MARKERS:
            markers.append((key, word.partition("=")[2]))
        else:
            kept.append(word)
    return " ".join(kept), tuple(markers)


def marker_of(line: str, parameter: str) -> str | None:
    return next((value for key, value in _split(line)[1] if key == parameter), None)


@functools.lru_cache(maxsize=4096)
def without_session(line: str) -> str:
    """The line as the template wrote it: which session wrote it last is not what it boots."""
    return " ".join(w for w in words(line) if name(w) != SESSION_PARAMETER)


def owner_of(line: str) -> str | None:
    return marker_of(line, OWNER_PARAMETER)


def strip_owner(line: str) -> str:
    """The user's parameters: the line without the markers this provider adds."""
    return _split(line)[0]


def with_owner(
    line: str, template: str, boot_set: str = "", version: str = "", session: str = ""
) -> str:
    marked = f"{strip_owner(line)} {OWNER_PARAMETER}={template}"
    for parameter, value in (
        (BOOT_SET_PARAMETER, boot_set),
        (VERSION_PARAMETER, version),
        (SESSION_PARAMETER, session),
    ):
        if value:
            marked += f" {parameter}={value}"
    return marked.strip()


def problem_with(line: str) -> str | None:
    """Why a command line cannot be written as it is, or None."""
    for char in line:
        if ord(char) < 32 or char == "\x7f":
            return "contains a control character or line break; iPXE takes one line"
        category = unicodedata.category(char)
        if category[0] == "C" or (category[0] == "Z" and char != " "):
            return (
                f"contains U+{ord(char):04X} ({unicodedata.name(char, 'unnamed')}), an invisible"
                " character the kernel would take as part of a word"
            )
    if line.count('"') % 2:
        return "has an unbalanced double quote; the kernel would run it to the end of the line"
    if any(is_owner(w, any_spelling=True) for w in words(line)):
        return (
            f"sets {OWNER_PARAMETER} (in some spelling), which the provider writes itself to"
            " record which template a node boots"
        )
    return None
