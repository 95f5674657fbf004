"""The first step of every check: what the inputs' shape says is wrong, before any request."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from ..models.problems import Problem, field_problems
from .connection import Connector


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
    """The spec's validation problems, the connection's, and keys no input or output has."""
    return (
        field_problems(spec_model, spec_data)
        + connector.problems(props.get("connection"))
        + unknown_keys(props, known_keys)
    )
