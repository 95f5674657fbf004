"""Turn pydantic errors into (field path, message) pairs that name the field and the value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(input)"


def _shorten(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def problems_from(error: ValidationError, prefix: str = "") -> list[FieldProblem]:
    problems = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        field = _path(loc)
        if prefix:
            field = f"{prefix}.{field}" if field != "(input)" else prefix
        kind = item["type"]
        message = str(item["msg"]).removeprefix("Value error, ")
        if kind == "extra_forbidden":
            message = "unknown field"
        if kind not in ("missing",) and "got " not in message and "is not" not in message:
            message += f" (got {_shorten(item.get('input'))})"
        problems.append(FieldProblem(field, message))
    return problems


def field_problems(model: type[BaseModel], data: Any, prefix: str = "") -> list[FieldProblem]:
    """Every problem pydantic finds in `data`, or [] when it is valid."""
    try:
        model.model_validate(data)
    except ValidationError as error:
        return problems_from(error, prefix)
    return []
