"""What changed between a resource's recorded inputs and new ones, and what that means."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel


@dataclass(frozen=True)
class Diff:
    changed: list[str] = field(default_factory=list)
    # Inputs whose change means a new resource (a new run, for a session).
    replaces: list[str] = field(default_factory=list)
    # Something to do although no input changed (a failed session's retry).
    pending_work: bool = False
    # The replacement takes what the old one holds (nodes, groups): remove the old one first.
    delete_before_replace: bool = False
    # What the change will do that its inputs do not show (the nodes a session will act on,
    # and why), for the front end to say at plan time.
    notes: list[str] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return bool(self.changed) or self.pending_work


def changed_keys(
    olds: Mapping[str, Any], news: Mapping[str, Any], keys: Iterable[str]
) -> list[str]:
    return [k for k in keys if olds.get(k) != news.get(k)]


def with_defaults(
    props: Mapping[str, Any],
    model: type[BaseModel],
    spec_data: Callable[[Mapping[str, Any]], dict[str, Any]],
) -> dict[str, Any]:
    """The props with the spec as `model` holds it, defaults filled: a field added by a newer
    version (or a default the engine dropped from the record) is no change, and above all no
    reason to rewrite nodes or run a session again. Props that do not validate are compared as
    they are."""
    try:
        spec = model.model_validate(spec_data(props))
    except ValueError:
        return dict(props)
    return {**props, **spec.model_dump(mode="json")}
