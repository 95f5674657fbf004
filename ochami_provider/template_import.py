"""A template rebuilt from what the boot store and the cloud-init server hold: what `import` adopts.

Two ways in, by the id given:
- `<name>`: the template's own records, found by their owner marker (`<name>@<deployment>`),
  after its state was lost or to move it between configurations of one deployment. Its boot sets
  come back from the `ochami.boot_set` markers, a cloud-init group it owns as that boot set's
  `node_groups` (where the group's members are the boot set's nodes).
- `<name>:<group>[,<group>...]`: data an admin made by hand (`ochami bss boot params set`,
  `ochami cloud-init group set`): one boot set per group, from the record its members share;
  the groups' cloud-init data is adopted (kept, and put back when the template is destroyed).
Records another template owns are never taken: the error names their owner.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .clients.services import Services
from .errors import InvalidInputError, NotFoundError
from .models.boot import Boot
from .models.group_data import GroupEntry
from .models.kernel_params import BOOT_SET_PARAMETER, marker_of, strip_owner
from .models.owner import Owner, group_owner, group_text
from .models.template import BootTemplateSpec


@dataclass
class ImportedTemplate:
    spec: BootTemplateSpec
    # Cloud-init data the template takes over (hand-made): put back on destroy.
    adopted: dict[str, GroupEntry] = field(default_factory=dict)


def import_template(services: Services, import_id: str, deployment: str | None) -> ImportedTemplate:
    name, _, groups = import_id.partition(":")
    if groups:
        return _from_groups(services, name, [g.strip() for g in groups.split(",") if g.strip()])
    return _from_markers(services, name, Owner(name, deployment))


def _from_markers(services: Services, name: str, owner: Owner) -> ImportedTemplate:
    boot_sets: dict[str, dict[str, Any]] = {}
    foreign: set[str] = set()
    nodes_of: dict[str, list[str]] = {}
    for node, held in sorted(services.boot.read_all().items()):
        record = held.boot
        found = record.owner
        if found is None or found.template != name:
            continue
        if found.deployment != owner.deployment:
            foreign.add(str(found))
            continue
        set_name = marker_of(record.params, BOOT_SET_PARAMETER) or name
        nodes_of.setdefault(set_name, []).append(node)
        boot_sets[set_name] = {**_boot(record), "node_list": nodes_of[set_name]}
    if not boot_sets:
        also = f"; {', '.join(sorted(foreign))} has such records" if foreign else ""
        raise InvalidInputError(
            "id",
            name,
            f"{services.boot.label} holds no record of template {owner}{also} (to adopt data"
            " made by hand: <name>:<group>[,<group>])",
        )
    cloud_init: dict[str, Any] | None = None
    for label, group in sorted(_group_data(services).items()):
        if group_owner(group.description) != owner:
            continue
        members = set(services.inventory.get_group(label).members.ids)
        home = next(
            (s for s, b in boot_sets.items() if members and members <= set(b["node_list"])), None
        )
        if home is None:
            raise InvalidInputError(
                "id",
                name,
                f"cloud-init group {label} is the template's, but no boot set holds"
                " all its members",
            )
        kept = [n for n in boot_sets[home]["node_list"] if n not in members]
        boot_sets[home] = {**boot_sets[home], "node_list": kept}
        boot_sets[home].setdefault("node_groups", []).append(label)
        cloud_init = cloud_init or _cloud_init(group, owner)
    for boot_set in boot_sets.values():
        if not boot_set["node_list"]:
            del boot_set["node_list"]
    spec = BootTemplateSpec.model_validate(
        {"name": name, "boot_sets": boot_sets, "cloud_init": cloud_init}
    )
    return ImportedTemplate(spec)


def _from_groups(services: Services, name: str, groups: list[str]) -> ImportedTemplate:
    boot_sets: dict[str, dict[str, Any]] = {}
    adopted: dict[str, GroupEntry] = {}
    for label in groups:
        try:
            members = services.inventory.get_group(label).members.ids
        except NotFoundError:
            raise InvalidInputError("id", label, "SMD has no group with this label") from None
        view = {n: held.boot for n, held in services.boot.read(sorted(members)).items()}
        configs = {_key(r) for r in view.values()}
        owners = {str(o) for r in view.values() if (o := r.owner) is not None}
        if owners:
            raise InvalidInputError(
                "id", label, f"the group's records belong to {', '.join(sorted(owners))}"
            )
        if len(configs) != 1 or len(view) != len(members):
            raise InvalidInputError(
                "id",
                label,
                f"the group's {len(members)} node(s) hold {len(view)} record(s) with"
                f" {len(configs)} boot configuration(s); a boot set needs one for all",
            )
        record = next(iter(view.values()))
        boot_sets[label] = {**_boot(record), "node_groups": [label]}
        data = services.group_data.get_group(label)
        if data is not None:
            if (holder := group_owner(data.description)) is not None:
                raise InvalidInputError("id", label, f"its cloud-init data belongs to {holder}")
            adopted[label] = data
    cloud_init = None
    distinct = {_content(g) for g in adopted.values()}
    if len(distinct) > 1:
        raise InvalidInputError(
            "id", name, "the groups hold different cloud-init data; a template writes one"
        )
    if adopted:
        cloud_init = _cloud_init(next(iter(adopted.values())), None)
    spec = BootTemplateSpec.model_validate(
        {"name": name, "boot_sets": boot_sets, "cloud_init": cloud_init}
    )
    return ImportedTemplate(spec, adopted)


def _group_data(services: Services) -> dict[str, GroupEntry]:
    """Every group's cloud-init data; none where the cluster has no cloud-init server (an
    OpenCHAMI v0.2 cluster, whose gateway answers 404 there): boot settings alone are
    imported."""
    try:
        return services.group_data.list_groups()
    except NotFoundError:
        return {}


def _boot(record: Boot) -> dict[str, Any]:
    out: dict[str, Any] = {"kernel": record.kernel}
    if record.initrd:
        out["initrd"] = record.initrd
    params = strip_owner(record.params)
    if params:
        out["kernel_parameters"] = params
    return out


def _key(record: Boot) -> tuple[str, str, str]:
    return (record.kernel, record.initrd, strip_owner(record.params))


def _content(group: GroupEntry) -> tuple[str, str]:
    return (json.dumps(group.meta_data, sort_keys=True), group.user_data)


def _cloud_init(group: GroupEntry, owner: Owner | None) -> dict[str, Any]:
    # The template's own group: its description without the owner marker (or the default).
    description = (group_text(group.description) or "") if owner else group.description
    out: dict[str, Any] = {"meta_data": group.meta_data, "description": description}
    text = group.user_data
    if text:
        out["user_data"] = text
    return out
