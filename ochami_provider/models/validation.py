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


def _may_be_secret(field: str) -> bool:
    return field.startswith("cloud_init.") or ".cloud_init." in field


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
        if _may_be_secret(field):
            # Cloud-init data can be a secret (secret_cloud_init): describe it, never quote it.
            message += f" (a {type(item.get('input')).__name__}; cloud-init values are not shown)"
        elif kind not in ("missing",) and "got " not in message and "is not" not in message:
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
