"""The first step of every check: what the inputs' shape says is wrong, before any request."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..models.owner import Ownership
from ..models.problems import Problem, field_problems
from .connection import Connector


def holds(value: Any, test: Callable[[Any], bool]) -> bool:
    """Whether `test` holds for the value or anything nested in its dicts and lists: how each
    front end finds an input its engine does not know yet."""
    if test(value):
        return True
    if isinstance(value, dict):
        return any(holds(v, test) for v in value.values())
    if isinstance(value, list):
        return any(holds(v, test) for v in value)
    return False


def unknown_keys(props: Mapping[str, Any], known: Iterable[str]) -> list[Problem]:
    allowed = set(known)
    return [
        Problem.of(key, "unknown field", props[key]) for key in sorted(props) if key not in allowed
    ]


def input_problems(
    connector: Connector,
    spec_model: type[BaseModel],
    spec_data: Mapping[str, Any],
    props: Mapping[str, Any],
    known_keys: Iterable[str],
) -> list[Problem]:
    """The spec's validation problems, the connection's, the ownership's, and keys no input or
    output has."""
    ownership = {k: props[k] for k in Ownership.KEYS if props.get(k) is not None}
    return (
        field_problems(spec_model, spec_data)
        + connector.problems(props.get("connection"))
        + field_problems(Ownership, ownership)
        + unknown_keys(props, known_keys)
    )


SpecT = TypeVar("SpecT", bound=BaseModel)


def recorded_spec(model: type[SpecT], spec_data: Mapping[str, Any]) -> SpecT | None:
    """The spec recorded at the last write, or None when there is none, or when a refresh
    recorded what no spec may say (drift)."""
    if not spec_data:
        return None
    try:
        return model.model_validate(spec_data)
    except ValidationError:
        return None


def unchanged(
    olds: Mapping[str, Any],
    recorded: BaseModel | None,
    spec: BaseModel,
    connection: Mapping[str, Any] | None,
    deployment: str | None = None,
) -> bool:
    """The inputs are those recorded at the last write (or found by the last refresh): nothing
    of them would be written, so check need not ask the services. The engine drops null values
    from recorded inputs, so the specs are compared as models."""
    return (
        recorded is not None
        and _without_nulls(olds.get("connection")) == _without_nulls(connection)
        and olds.get("deployment") == deployment
        and recorded == spec
    )


def _without_nulls(mapping: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (mapping or {}).items() if v is not None}
