"""What a stack or a Tofu state remembers: the templates' writes and the sessions' runs
(`models/history.py`), read from a Pulumi stack export or a Tofu state, and the three questions
an admin asks of them: a template's versions, what a node was given at a time, and a version's
spec to declare again. Pure: the command (`history_command.py`) reads the documents."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .errors import InvalidInputError
from .models.history import SessionRun, TemplateWrite, recorded_entries
from .models.template import BootTemplateSpec

# How the Pulumi engine marks a secret value in a stack export (`--show-secrets` adds
# `plaintext`, JSON text; without it, `ciphertext`).
_SECRET_SIG = ("4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270")
_TEMPLATE_TYPE = "ochami_boot_template"
_SESSION_TYPE = "ochami_boot_session"


@dataclass
class Recorded:
    """Each template's writes and each session's runs, oldest first, by name."""

    source: str
    templates: dict[str, list[TemplateWrite]] = field(default_factory=dict)
    sessions: dict[str, list[SessionRun]] = field(default_factory=dict)
    # Resources whose history is encrypted (a stack exported without --show-secrets).
    sealed: list[str] = field(default_factory=list)
    # Entries older than the kept history, taken from earlier states (`with_older`), and how
    # many states were read for them, of which how many had their history encrypted.
    older: int = 0
    earlier_states: int = 0
    earlier_sealed: int = 0


@dataclass(frozen=True)
class NodeAt:
    node: str
    at: datetime
    template: str | None
    write: TemplateWrite | None
    boot_set: str | None
    session: str | None
    run: SessionRun | None


# Reading -----------------------------------------------------------------------------------
def from_pulumi_export(document: Mapping[str, Any], source: str) -> Recorded:
    """From `pulumi stack export [--show-secrets]`, or from a checkpoint file of a diy backend
    (`{"checkpoint": {"latest": ...}}`; one per update under `.pulumi/history/`, secrets
    encrypted): the dynamic resources' outputs."""
    recorded = Recorded(source)
    deployment = document.get("deployment") or (document.get("checkpoint") or {}).get("latest")
    resources = (deployment or {}).get("resources") or []
    for resource in resources:
        outputs = resource.get("outputs") or {}
        if "history" not in outputs:
            continue
        name = str(plain(outputs.get("name")) or resource.get("urn", "").rpartition("::")[2])
        history = plain(outputs["history"])
        if history is SEALED:
            recorded.sealed.append(name)
            continue
        _add(recorded, name, "template_version" not in outputs, history or [])
    return recorded


def from_tf_state(document: Mapping[str, Any], source: str) -> Recorded:
    """From a state file (`terraform.tfstate`, `tofu state pull`) or `tofu show -json`."""
    recorded = Recorded(source)
    for kind, values in tf_resources(document, "managed", (_TEMPLATE_TYPE, _SESSION_TYPE)):
        history = values.get("history")
        if isinstance(history, str):
            history = json.loads(history)
        _add(recorded, str(values.get("name")), kind == _TEMPLATE_TYPE, history or [])
    return recorded


def tf_resources(
    document: Mapping[str, Any], mode: str, kinds: tuple[str, ...]
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(type, attributes) of each resource of `kinds` in `mode` (`managed`, `data`) of a state
    file or of `tofu show -json` (root and child modules)."""
    if "resources" in document:  # a state file
        for resource in document["resources"]:
            if resource.get("mode") == mode and resource.get("type") in kinds:
                for instance in resource.get("instances") or []:
                    yield resource["type"], instance.get("attributes") or {}
        return
    modules = [((document.get("values") or {}).get("root_module")) or {}]
    while modules:
        module = modules.pop()
        modules += module.get("child_modules") or []
        for resource in module.get("resources") or []:
            if resource.get("mode") == mode and resource.get("type") in kinds:
                yield resource["type"], resource.get("values") or {}


# A secret output a stack export keeps encrypted (exported without --show-secrets).
SEALED = object()


def plain(value: Any) -> Any:
    """A stack export's output as the program gave it: a secret's plaintext decoded, SEALED
    for one kept encrypted."""
    if isinstance(value, dict) and value.get(_SECRET_SIG[0]) == _SECRET_SIG[1]:
        if "plaintext" not in value:
            return SEALED
        return json.loads(value["plaintext"])
    return value


def _add(recorded: Recorded, name: str, template: bool, history: list[Any]) -> None:
    if template:
        recorded.templates[name] = [
            TemplateWrite.model_validate(e) for e in recorded_entries(history)
        ]
    else:
        recorded.sessions[name] = [SessionRun.model_validate(e) for e in recorded_entries(history)]


def with_older(recorded: Recorded, earlier: list[Recorded]) -> Recorded:
    """`recorded` with the entries of earlier states (a diy backend's checkpoints) that its
    bounded history no longer keeps, in time order. An entry is the same in two states when
    its version (a run: its start and operation) and time are."""
    templates = {name: list(writes) for name, writes in recorded.templates.items()}
    sessions = {name: list(runs) for name, runs in recorded.sessions.items()}
    older = 0
    for state in earlier:
        for name, writes in state.templates.items():
            kept = templates.setdefault(name, [])
            seen = {(w.version, w.at) for w in kept}
            fresh = [w for w in writes if (w.version, w.at) not in seen]
            older += len(fresh)
            templates[name] = sorted([*fresh, *kept], key=lambda w: w.at)
        for name, runs in state.sessions.items():
            kept_runs = sessions.setdefault(name, [])
            started = {(r.started_at, r.operation) for r in kept_runs}
            new = [r for r in runs if (r.started_at, r.operation) not in started]
            older += len(new)
            sessions[name] = sorted([*new, *kept_runs], key=lambda r: r.started_at or "")
    return Recorded(
        recorded.source,
        templates,
        sessions,
        recorded.sealed,
        older=recorded.older + older,
        earlier_states=recorded.earlier_states + len(earlier),
        earlier_sealed=recorded.earlier_sealed + sum(1 for s in earlier if s.sealed),
    )


# Asking -------------------------------------------------------------------------------------
def versions(recorded: Recorded, template: str) -> list[TemplateWrite]:
    """The template's writes, newest first."""
    return list(reversed(_writes(recorded, template)))


def node_at(recorded: Recorded, node: str, at: datetime) -> NodeAt:
    """The template, version and boot set `node` was given at `at` (each template's last write
    before then; the newest that names the node), and the last session run that acted on it
    before then."""
    if not any(
        node in nodes
        for writes in recorded.templates.values()
        for w in writes
        for nodes in w.hosts.values()
    ) and not any(r.acted_on(node) for runs in recorded.sessions.values() for r in runs):
        raise InvalidInputError(
            "node", node, f"no template or session in {recorded.source} recorded node " + repr(node)
        )
    given = max(
        (
            (name, writes_then[-1])
            for name, writes in recorded.templates.items()
            if (writes_then := [w for w in writes if parse_time(w.at) <= at])
            and writes_then[-1].boot_set_of(node) is not None
        ),
        key=lambda found: parse_time(found[1].at),
        default=None,
    )
    ran = max(
        (
            (name, run)
            for name, runs in recorded.sessions.items()
            for run in runs
            if run.started_at and parse_time(run.started_at) <= at and run.acted_on(node)
        ),
        key=lambda found: parse_time(str(found[1].started_at)),
        default=None,
    )
    return NodeAt(
        node,
        at,
        given[0] if given else None,
        given[1] if given else None,
        given[1].boot_set_of(node) if given else None,
        ran[0] if ran else None,
        ran[1] if ran else None,
    )


def version_spec(recorded: Recorded, template: str, version: str) -> tuple[str, dict[str, Any]]:
    """The whole version `version` names (it may be a unique prefix) and the spec of
    `template` at it, defaults left out."""
    writes = _writes(recorded, template)
    found = {w.version: w for w in writes if w.version.startswith(version) and w.spec}
    if len(found) != 1:
        known = ", ".join(dict.fromkeys(w.version for w in reversed(writes)))
        said = "matches several versions" if found else "is not among its recorded versions"
        raise InvalidInputError(
            "version", version, f"{version!r} {said} of template {template!r}; recorded: {known}"
        )
    [(whole, write)] = found.items()
    spec = BootTemplateSpec.model_validate(write.spec)
    return whole, spec.model_dump(mode="json", exclude_defaults=True)


def _writes(recorded: Recorded, template: str) -> list[TemplateWrite]:
    if template not in recorded.templates:
        known = ", ".join(sorted(recorded.templates)) or "none"
        sealed = (
            f" (encrypted, export with --show-secrets: {', '.join(recorded.sealed)})"
            if recorded.sealed
            else ""
        )
        raise InvalidInputError(
            "template",
            template,
            f"no template {template!r} in {recorded.source}; templates with history: {known}"
            f"{sealed}",
        )
    return recorded.templates[template]


def parse_time(text: str) -> datetime:
    """An ISO 8601 time; without a zone, UTC (as the history records it)."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(
            "at",
            text,
            f"{text!r} is not an ISO 8601 time (2026-11-24T10:00, UTC unless a zone"
            " is given: 2026-11-24T10:00+01:00)",
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
