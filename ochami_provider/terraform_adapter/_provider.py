"""The provider block and what the resources share: settings, problems as diagnostics, values.

The block takes the `ochami:*` stack config keys in Terraform's spelling (`uri`, `smd_uri`,
`token`, ...); what it leaves unset comes from the environment as the `ochami` CLI reads it.
`deployment` names this configuration in the owner markers, as `<project>/<stack>` names a
Pulumi stack: by default `tf/<directory>-<8 hex digits of its absolute path>`, so that two
configurations in directories of the same name are two owners. Each resource records the
deployment it was created with (a computed attribute), and keeps it: a configuration moved to
another directory, its state with it, still owns its nodes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from tf import types
from tf.iface import Config, DataSource, Resource, State
from tf.schema import Attribute, Schema
from tf.types import Unknown
from tf.utils import Diagnostics

from ..config import CONFIG_KEYS, CONFIG_NAMESPACE, ProviderConfig, from_sources
from ..errors import InvalidInputError, OchamiError
from ..lifecycle import Connector, SessionLifecycle, TemplateLifecycle, holds
from ..models.inputs import Kind, SchemaField, documented, fields_of
from ..models.problems import Problem, problems_from
from .functions import FUNCTIONS

PROVIDER_ADDRESS = "registry.opentofu.org/openchami/ochami"
# Provider block attributes: the stack config keys, snake_case (`smdUri` is `smd_uri`), each
# one ProviderConfig field.
_FIELDS: dict[str, SchemaField] = {
    re.sub(r"(?<!^)(?=[A-Z])", "_", CONFIG_KEYS[f.name]).lower(): f
    for f in fields_of(ProviderConfig)
}
_BLOCK: dict[str, str] = {name: field.name for name, field in _FIELDS.items()}
# A ProviderConfig field, or its stack-config spelling (pydantic's errors use either).
_BY_FIELD = {
    **{field: name for name, field in _BLOCK.items()},
    **{CONFIG_KEYS[field]: name for name, field in _BLOCK.items()},
}


def default_deployment(cwd: Path | None = None) -> str:
    """This configuration as owner markers name it by default: its directory's name and a
    digest of its absolute path (and the workspace)."""
    here = (cwd or Path.cwd()).resolve()
    digest = hashlib.sha256(str(here).encode()).hexdigest()[:8]
    return _in_workspace(f"tf/{here.name or 'root'}-{digest}")


def legacy_deployment(cwd: Path | None = None) -> str:
    """The default before resources recorded their deployment (the directory's name alone): what
    the records of a resource recorded then carry."""
    return _in_workspace(f"tf/{(cwd or Path.cwd()).resolve().name or 'root'}")


def _in_workspace(name: str) -> str:
    workspace = os.environ.get("TF_WORKSPACE")
    return f"{name}/{workspace}" if workspace and workspace != "default" else name


# Each resource records the deployment its records carry.
DEPLOYMENT_ATTRIBUTE = Attribute(
    "deployment",
    types.String(),
    computed=True,
    description="the owner its records carry: the provider block's `deployment`, or the"
    " default when this resource was created",
)


def settings_from(config: Mapping[str, Any]) -> ProviderConfig:
    """The block's values over the environment; ValidationError names the ProviderConfig field."""
    given = {
        f"{CONFIG_NAMESPACE}:{CONFIG_KEYS[field]}": config.get(name)
        for name, field in _BLOCK.items()
        if config.get(name) not in (None, Unknown)
    }
    return from_sources(given.get)


def _block_attribute(field: str) -> str:
    """A ProviderConfig field as the provider block spells it."""
    head = field.split(".")[0]
    return _BY_FIELD.get(head, head)


def is_unknown(value: Any) -> bool:
    """True while a plan still waits for a value (or a part of one) not known yet."""
    return holds(value, lambda v: v is Unknown)


class Json(types.NormalizedJson):  # type: ignore[misc]
    """JSON text as `jsonencode` writes it (sorted keys, no spaces): a value read back from
    the services then differs from the configuration's only where its content does."""

    def encode(self, value: Any) -> Any:
        if value is None or value is Unknown:
            return value
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# The Terraform type of each kind of model field: a count or a percentage is a string ("10%"
# or "4"), and what is neither a scalar, a list of strings nor nodes by time is JSON text.
TF_TYPES: dict[Kind, types.TfType] = {
    "bool": types.Bool(),
    "number": types.Number(),
    "string": types.String(),
    "strings": types.List(types.String()),
    "count_or_percent": types.String(),
    "node_map": types.Map(types.String()),
    "object": Json(),
}


def decoded(value: Any) -> Any:
    """A JSON attribute's value: validation gets the configuration's text, plan and apply the
    framework's decoded value. Text that is not JSON stays text, for the model to refuse."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def report(diags: Diagnostics, problems: Iterable[Problem], where: Callable[[str], str]) -> None:
    """Each problem as an error (a warning, if it does not block) at the attribute `where`
    maps its field to."""
    for problem in problems:
        if problem.blocks:
            diags.add_error(str(problem), path=[where(problem.field)])
        else:
            diags.add_warning(str(problem), path=[where(problem.field)])


def report_error(diags: Diagnostics, error: OchamiError, where: Callable[[str], str]) -> None:
    if isinstance(error, InvalidInputError):
        report(diags, error.problems, where)
    else:
        diags.add_error(str(error).splitlines()[0], detail=str(error))


class Outcome:
    """Whether the block under `diagnosed` failed; its error is a diagnostic already."""

    failed = False


@contextmanager
def diagnosed(diags: Diagnostics, where: Callable[[str], str]) -> Iterator[Outcome]:
    """The one place the core's errors become Terraform diagnostics: an OchamiError raised in
    the block is reported (a bad input at the attribute `where` names) and `failed` set; any
    other error is a bug, and goes up to the framework as one."""
    outcome = Outcome()
    try:
        yield outcome
    except OchamiError as error:
        outcome.failed = True
        report_error(diags, error, where)


class OchamiProvider:
    """The `ochami` provider: one connector and one lifecycle per resource type for the life of
    the plugin process (one plan or apply), so node claims span the whole configuration."""

    def __init__(self) -> None:
        self.connector = Connector()
        # The provider block's `deployment`, once configured; None: each resource keeps its own.
        self.explicit_deployment: str | None = None
        self.templates = TemplateLifecycle(self.connector)
        self.sessions = SessionLifecycle(self.connector)

    def get_model_prefix(self) -> str:
        return "ochami_"

    def full_name(self) -> str:
        return PROVIDER_ADDRESS

    def get_provider_schema(self, diags: Diagnostics) -> Schema:
        attributes = [
            Attribute(
                name,
                TF_TYPES[field.kind],
                optional=True,
                sensitive=field.sensitive,
                description=f"{documented(field)} Stack config:"
                f" `{CONFIG_NAMESPACE}:{CONFIG_KEYS[field.name]}`.",
            )
            for name, field in _FIELDS.items()
        ]
        attributes.append(
            Attribute(
                "deployment",
                types.String(),
                optional=True,
                description="this configuration in owner markers (default"
                " tf/<directory>-<digest of its path>, kept by each resource once created)",
            )
        )
        return Schema(attributes=attributes)

    def validate_config(self, diags: Diagnostics, config: Config) -> None:
        if is_unknown(config):
            return
        try:
            settings_from(config)
        except ValidationError as error:
            report(diags, problems_from(error), _block_attribute)

    def configure_provider(self, diags: Diagnostics, config: Config) -> None:
        try:
            self.connector.base = settings_from(config)
        except ValidationError as error:
            report(diags, problems_from(error), _block_attribute)
        if config.get("deployment") not in (None, Unknown):
            self.explicit_deployment = str(config["deployment"])

    def recorded_deployment(self, state: State | None) -> str:
        """The deployment a resource's records carry: the one its state records (stable when
        the configuration moves); for a resource recorded before deployments were, what the
        provider used then (the block's, or the directory's name alone); for a new one, what it
        will be created with."""
        recorded = None if state is None else state.get("deployment")
        if recorded not in (None, Unknown):
            return str(recorded)
        if self.explicit_deployment is not None:
            return self.explicit_deployment
        exists = state is not None and state.get("id") not in (None, Unknown)
        return legacy_deployment() if exists else default_deployment()

    def planned_deployment(self, current: State | None) -> str:
        """The deployment a resource's records will carry: the provider block's when it names
        one (a change rewrites the markers), else the one it has (or a new one's default)."""
        return self.explicit_deployment or self.recorded_deployment(current)

    def get_resources(self) -> list[type[Resource]]:
        from .boot_session import BootSessionResource
        from .boot_template import BootTemplateResource

        return [BootTemplateResource, BootSessionResource]

    def get_data_sources(self) -> list[type[DataSource]]:
        from .nodes import NodesDataSource

        return [NodesDataSource]

    def get_functions(self) -> list[Any]:
        return list(FUNCTIONS)

    def new_function(self, klass: Any) -> Any:
        return klass()

    def new_resource(self, klass: type[Resource]) -> Resource:
        return klass(self)

    def new_data_source(self, klass: type[DataSource]) -> DataSource:
        return klass(self)
