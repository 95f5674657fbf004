"""One shape for "something is wrong with an input", whoever finds it: model validation, a check
that asks the services, or planning. Each front end turns a Problem into its own diagnostic
(a Pulumi CheckFailure, a Terraform diagnostic with an attribute path, a CLI line) in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

_SHOWN_CHARS = 120


def _may_be_secret(field: str) -> bool:
    return field.startswith("cloud_init.") or ".cloud_init." in field


def describe_value(field: str, value: Any) -> str:
    """The value as an error may show it: quoted, shortened, and never when it may be secret."""
    if _may_be_secret(field):
        # Cloud-init data can be a secret (secret_cloud_init): describe it, never quote it.
        return f"a {type(value).__name__}; cloud-init values are not shown"
    text = repr(value)
    return "got " + (text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "...")


@dataclass(frozen=True)
class Problem:
    """Where (the field path as the user wrote it), what is wrong, and how the value is shown
    (`got '<value>'`, a description where it may be secret, or None when the message quotes it).
    One that does not `block` the change is said as a warning."""

    field: str
    message: str
    value: str | None = None
    blocks: bool = True

    @classmethod
    def of(cls, field: str, message: str, value: Any) -> Problem:
        return cls(field, message, describe_value(field, value))

    @property
    def reason(self) -> str:
        return self.message if self.value is None else f"{self.message} ({self.value})"

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(input)"


def problems_from(error: ValidationError, prefix: str = "") -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False):
        field = _path(tuple(item["loc"]))
        if prefix and field == "(input)":
            field = prefix
        elif prefix:
            # An item of a list is `prefix[1].x`, a field `prefix.x`.
            field = f"{prefix}{field}" if field.startswith("[") else f"{prefix}.{field}"
        kind = item["type"]
        message = str(item["msg"]).removeprefix("Value error, ")
        if kind == "extra_forbidden":
            message = "unknown field"
        # Our own validators quote the value already ("'x' is not ..."); pydantic's do not.
        quoted = "got " in message or "is not" in message
        if _may_be_secret(field) or not (kind == "missing" or quoted):
            problems.append(Problem.of(field, message, item.get("input")))
        else:
            problems.append(Problem(field, message))
    return problems


def field_problems(model: type[BaseModel], data: Any, prefix: str = "") -> list[Problem]:
    """Every problem pydantic finds in `data`, or [] when it is valid."""
    try:
        model.model_validate(data)
    except ValidationError as error:
        return problems_from(error, prefix)
    return []
