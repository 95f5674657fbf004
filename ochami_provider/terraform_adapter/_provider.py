"""The provider block and the provider: its settings, its resources and functions (values.py
holds what the resources share, so that they never import this module).

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
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from tf import types
from tf.iface import Config, DataSource, Resource, State
from tf.schema import Attribute, Schema
from tf.types import Unknown
from tf.utils import Diagnostics

from ..config import CONFIG_KEYS, CONFIG_NAMESPACE, ProviderConfig, from_sources
from ..lifecycle import Connector, SessionLifecycle, TemplateLifecycle
from ..models.inputs import SchemaField, documented, fields_of
from ..models.problems import problems_from
from .boot_session import BootSessionResource
from .boot_template import BootTemplateResource
from .functions import FUNCTIONS
from .nodes import NodesDataSource
from .values import TF_TYPES, is_unknown, report

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
        return [BootTemplateResource, BootSessionResource]

    def get_data_sources(self) -> list[type[DataSource]]:
        return [NodesDataSource]

    def get_functions(self) -> list[Any]:
        return list(FUNCTIONS)

    def new_function(self, klass: Any) -> Any:
        return klass()

    def new_resource(self, klass: type[Resource]) -> Resource:
        return klass(self)

    def new_data_source(self, klass: type[DataSource]) -> DataSource:
        return klass(self)
