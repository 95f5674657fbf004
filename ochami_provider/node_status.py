"""Which template each node follows, whether it is on, and when it last asked for its boot
script: read from the services in a fixed number of requests, whatever the fleet's size.

`gather` does the I/O (SMD: one read of the nodes, or of one group, and one of their
interfaces; the boot store: its `read_all` and its fetch history where it keeps one (BSS
does, boot-service not); PCS: one power-status read); `rows` is pure and folds the nodes that
agree into one row each, named in hostlist notation. What a node boots is what the store
serves it (on BSS its record by MAC where that differs from its record by name: its iPXE asks
by MAC).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from .errors import InvalidInputError
from .models.kernel_params import (
    BOOT_SET_PARAMETER,
    SESSION_PARAMETER,
    VERSION_PARAMETER,
    marker_of,
)
from .models.problems import problems_from
from .nodesets import compact

if TYPE_CHECKING:
    from .clients.services import Services


@dataclass(frozen=True)
class NodeStatus:
    node: str
    # The owner marker of what it boots: None without a record; "" for a record no template
    # wrote (made by hand).
    template: str | None
    stack: str | None
    # The boot set and template version its record names (markers written since both were).
    boot_set: str | None
    version: str | None
    # The session that last wrote its configuration (before it powered the node).
    session: str | None
    kernel: str | None
    power: str
    # Unix seconds of its last boot-script fetch BSS recorded, or None.
    last_bootscript_fetch: int | None
    # The boot store, where it records no fetches (boot-service): "never" would be a lie.
    unrecorded_by: str | None = None

    def as_json(self) -> dict[str, object]:
        found = asdict(self)
        found["last_bootscript_fetch"] = _iso(self.last_bootscript_fetch)
        return found


class _StatusJson(BaseModel):
    """NodeStatus as `as_json` writes it (`status --json`, the `ochami_nodes` data source)."""

    model_config = ConfigDict(extra="ignore")
    node: str
    template: str | None = None
    stack: str | None = None
    boot_set: str | None = None
    version: str | None = None
    session: str | None = None
    kernel: str | None = None
    power: str = "unknown"
    last_bootscript_fetch: datetime | None = None
    unrecorded_by: str | None = None


_STATUS_LIST = TypeAdapter(list[_StatusJson])


def from_json(document: Any, source: str) -> list[NodeStatus]:
    """The nodes of `ochami-boot status --json`, or of the `ochami_nodes` data source's
    `nodes` (decoded); a bad entry is refused, naming its place and field."""
    try:
        read = _STATUS_LIST.validate_python(document)
    except ValidationError as error:
        problems = problems_from(error, source)
        raise InvalidInputError.of(problems, error.errors()[0].get("input")) from None
    return [
        NodeStatus(
            **item.model_dump(exclude={"last_bootscript_fetch"}),
            last_bootscript_fetch=(
                None
                if item.last_bootscript_fetch is None
                else int(item.last_bootscript_fetch.timestamp())
            ),
        )
        for item in read
    ]


@dataclass(frozen=True)
class StatusRow:
    nodes: str
    count: int
    template: str
    boot_set: str
    version: str
    session: str
    kernel: str
    power: str
    last_fetch: str


def gather(
    services: Services,
    *,
    nodes: Iterable[str] | None = None,
    group: str | None = None,
    template: str | None = None,
) -> list[NodeStatus]:
    """Every node SMD knows (or the members of `group`, or those of `nodes`), with what BSS and
    PCS say of it; with `template`, only the nodes that template boots."""
    if group is not None:
        known = services.inventory.get_group(group).members.ids
    else:
        known = [c.id for c in services.inventory.list_components(type_="Node")]
    if nodes is not None:
        wanted = set(nodes)
        missing = wanted - set(known)
        if missing:
            where = f"members of SMD group {group!r}" if group is not None else "nodes SMD knows"
            raise InvalidInputError(
                "--node", compact(missing), f"{len(missing)} of {len(wanted)} are not {where}"
            )
        known = [n for n in known if n in wanted]
    known = sorted(set(known))
    boots = services.boot.read_all()
    history = services.boot.last_fetches()
    fetched = history or {}
    power = services.power.power_states(known)
    found = []
    for node in known:
        held = boots.get(node)
        record = held.boot if held is not None else None
        owner = record.owner if record is not None else None
        name = None if record is None else (owner.template if owner else "")
        if template is not None and name != template:
            continue
        params = record.params if record is not None else ""
        found.append(
            NodeStatus(
                node=node,
                template=name,
                stack=owner.deployment if owner else None,
                boot_set=marker_of(params, BOOT_SET_PARAMETER),
                version=marker_of(params, VERSION_PARAMETER),
                session=marker_of(params, SESSION_PARAMETER),
                kernel=record.kernel if record is not None else None,
                power=power.get(node, "unknown"),
                last_bootscript_fetch=fetched.get(node),
                unrecorded_by=services.boot.label if history is None else None,
            )
        )
    return found


def rows(statuses: Iterable[NodeStatus]) -> list[StatusRow]:
    """One row per template, kernel and power state; the fetch column spans the row's earliest
    and latest boot-script fetch (to the minute), where the boot store records them."""
    groups: dict[tuple[str, str, str, str, str, str], list[NodeStatus]] = {}
    for status in statuses:
        key = (
            _template_label(status),
            status.boot_set or "-",
            status.version or "-",
            status.session or "-",
            status.kernel or "-",
            status.power,
        )
        groups.setdefault(key, []).append(status)
    found = []
    for (template, boot_set, version, session, kernel, power), members in sorted(groups.items()):
        times = sorted(s.last_bootscript_fetch for s in members if s.last_bootscript_fetch)
        span = _minute(times[0]) if times else "never"
        unrecorded = {s.unrecorded_by for s in members}
        if None not in unrecorded:
            span = f"not recorded ({', '.join(sorted(map(str, unrecorded)))} keeps none)"
        if times and _minute(times[-1]) != span:
            span += f" .. {_minute(times[-1])}"
        if times and len(times) < len(members):
            span += f" ({len(members) - len(times)} never)"
        nodes = compact(s.node for s in members)
        found.append(
            StatusRow(
                nodes, len(members), template, boot_set, version, session, kernel, power, span
            )
        )
    return found


def table(found: Iterable[StatusRow]) -> str:
    """The rows as aligned text columns, a header first."""
    cells = [
        (
            "NODES",
            "COUNT",
            "TEMPLATE",
            "BOOT SET",
            "VERSION",
            "LAST SESSION",
            "KERNEL",
            "POWER",
            "LAST BOOT-SCRIPT FETCH (UTC)",
        )
    ]
    cells += [
        (
            r.nodes,
            str(r.count),
            r.template,
            r.boot_set,
            r.version,
            r.session,
            r.kernel,
            r.power,
            r.last_fetch,
        )
        for r in found
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    )


def _template_label(status: NodeStatus) -> str:
    if status.template is None:
        return "(no boot entry)"  # nothing in the boot store (BSS or boot-service)
    if status.template == "":
        return "(none: no owner marker)"
    return f"{status.template}@{status.stack}" if status.stack else status.template


def _minute(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M")


def _iso(epoch: int | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat()
