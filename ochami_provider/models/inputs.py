"""Each resource's inputs as every front end spells them, read off the models.

The models are the schema: their `Field(description=...)`, defaults and types. The Pulumi
classes, the Terraform schema, the stack-config check and the generated docs take the inputs
from here, so a default or a description changed in a model changes in every front end at once
(tests/test_input_schema.py holds them to it). A nested policy is flattened to its fields
(`retry.max_retries` is `max_retries`), the one place that translation is written.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from .session import BootSessionSpec, SessionInputs, SessionRecord
from .template import BootSet, BootTemplateSpec, CloudInitSpec, TemplateInputs, TemplateState

# What a value is, in words every front end maps to its own types.
Kind = Literal["bool", "number", "string", "strings", "count_or_percent", "node_map", "object"]


@dataclass(frozen=True)
class SchemaField:
    """One input as the front ends spell it, and where in the model it lives."""

    name: str
    path: tuple[str, ...]
    kind: Kind
    required: bool
    default: Any
    description: str
    choices: tuple[str, ...] = ()
    # A value that may carry a secret (the user-data, and what quotes it): hidden in plans.
    sensitive: bool = False

    @property
    def spec_path(self) -> str:
        return ".".join(self.path)


def _without_none(annotation: Any) -> Any:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    is_union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    return args[0] if is_union and len(args) == 1 else annotation


def _bare(annotation: Any) -> Any:
    annotation = _without_none(annotation)
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return _without_none(annotation)


def kind_of(annotation: Any) -> Kind:
    """The kind of a model field's annotation."""
    bare = _bare(annotation)
    origin = typing.get_origin(bare)
    if bare is bool:
        return "bool"
    if bare in (int, float):
        return "number"
    if bare in (str, SecretStr) or origin is Literal:
        return "string"
    if origin in (typing.Union, types.UnionType) and set(typing.get_args(bare)) == {int, str}:
        return "count_or_percent"
    if origin is list and _bare(typing.get_args(bare)[0]) is str:
        return "strings"
    if origin is dict and typing.get_origin(_bare(typing.get_args(bare)[1])) is list:
        return "node_map"
    return "object"


def choices_of(annotation: Any) -> tuple[str, ...]:
    bare = _bare(annotation)
    return tuple(typing.get_args(bare)) if typing.get_origin(bare) is Literal else ()


def default_of(info: FieldInfo) -> Any:
    if info.default_factory is not None:
        return info.default_factory()  # type: ignore[call-arg]
    return None if info.default is PydanticUndefined else info.default


def _field(name: str, path: tuple[str, ...], info: FieldInfo) -> SchemaField:
    return SchemaField(
        name=name,
        path=path,
        kind=kind_of(info.annotation),
        required=info.is_required(),
        default=default_of(info),
        description=info.description or "",
        choices=choices_of(info.annotation),
        sensitive=isinstance(info.json_schema_extra, dict)
        and info.json_schema_extra.get("sensitive") is True,
    )


def _is_policy(info: FieldInfo, model: type[BaseModel]) -> bool:
    """A nested model every spec has (its default is the model's own defaults)."""
    return info.default_factory is model


def fields_of(model: type[BaseModel], *, skip: tuple[str, ...] = ()) -> tuple[SchemaField, ...]:
    """A model's fields, each nested policy (a model-valued field with a default) flattened."""
    out: list[SchemaField] = []
    for name, info in model.model_fields.items():
        if name in skip:
            continue
        bare = _bare(info.annotation)
        if isinstance(bare, type) and issubclass(bare, BaseModel) and _is_policy(info, bare):
            out += [replace(f, path=(name, *f.path)) for f in fields_of(bare)]
        else:
            out.append(_field(name, (name,), info))
    return tuple(out)


# A session's inputs besides its template: the spec's fields, then the resource's own.
SESSION_FIELDS: tuple[SchemaField, ...] = (
    *fields_of(BootSessionSpec, skip=("template",)),
    _field(
        "shutdown_on_delete",
        ("shutdown_on_delete",),
        SessionInputs.model_fields["shutdown_on_delete"],
    ),
)
SESSION_TEMPLATE = _field("template", ("template",), BootSessionSpec.model_fields["template"])
# A template's inputs: name, description, boot sets and cloud-init (nested, as each front end
# shapes it), and `adopt`.
TEMPLATE_FIELDS: tuple[SchemaField, ...] = (
    *fields_of(BootTemplateSpec),
    _field("adopt", ("adopt",), TemplateInputs.model_fields["adopt"]),
)
BOOT_SET_FIELDS = fields_of(BootSet)
CLOUD_INIT_FIELDS = fields_of(CloudInitSpec)


def outputs_of(model: type[BaseModel], keys: tuple[str, ...]) -> tuple[SchemaField, ...]:
    return tuple(_field(key, (key,), model.model_fields[key]) for key in keys)


# What each resource records, as its outputs.
SESSION_OUTPUTS = outputs_of(SessionRecord, SessionRecord.output_keys())
TEMPLATE_OUTPUTS = outputs_of(TemplateState, TemplateState.output_keys())


def by_name(fields: tuple[SchemaField, ...]) -> dict[str, SchemaField]:
    return {f.name: f for f in fields}


def nested(values: Iterable[tuple[SchemaField, Any]]) -> dict[str, Any]:
    """Flat values placed where the model nests them (`max_retries` -> `retry.max_retries`)."""
    data: dict[str, Any] = {}
    for field, value in values:
        target = data
        for part in field.path[:-1]:
            target = target.setdefault(part, {})
        target[field.path[-1]] = value
    return data


def session_spec_data(flat: Mapping[str, Any]) -> dict[str, Any]:
    """The spec's fields from the flat spelling, the values that are unset (None) left out
    for the model's defaults."""
    return nested(
        (field, flat[field.name])
        for field in SESSION_FIELDS
        if field.path[0] not in SessionInputs.model_fields and flat.get(field.name) is not None
    )


def flat_name(spec_field: str) -> str:
    """A spec field path (as pydantic's errors give it) in the flat spelling."""
    for field in SESSION_FIELDS:
        if spec_field == field.spec_path or spec_field.startswith(field.spec_path + "["):
            return field.name + spec_field[len(field.spec_path) :]
    return spec_field


def with_defaults(fields: tuple[SchemaField, ...], given: Mapping[str, Any]) -> dict[str, Any]:
    """Each optional input as given, the model's default where it is None."""
    return {
        f.name: given[f.name] if given.get(f.name) is not None else f.default
        for f in fields
        if not f.required
    }


def documented(field: SchemaField) -> str:
    """The field's description with its choices and its default, as the docs and the
    engines' schemas show it."""
    text = field.description
    if field.choices:
        text += " One of " + ", ".join(f"`{c}`" for c in field.choices) + "."
    if not field.required and field.default not in (None, [], {}, ""):
        shown = str(field.default).lower() if isinstance(field.default, bool) else field.default
        text += f" Default: `{shown}`."
    return text


def keyword_docs(fields: tuple[SchemaField, ...]) -> str:
    """An `Args:` section for a front end's docstring, one entry per field."""
    return "Args:\n" + "\n".join(f"    {f.name}: {documented(f)}" for f in fields)
