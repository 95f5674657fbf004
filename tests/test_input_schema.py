"""One schema: the models' fields are every front end's inputs, with the models' defaults and
descriptions (issue 25). Each test fails when a front end and the model disagree."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from tf.schema import Attribute

from ochami_provider.models.inputs import (
    BOOT_SET_FIELDS,
    CLOUD_INIT_FIELDS,
    SESSION_FIELDS,
    SESSION_OUTPUTS,
    TEMPLATE_FIELDS,
    TEMPLATE_OUTPUTS,
    SchemaField,
    documented,
    session_spec_data,
)
from ochami_provider.models.session import BootSessionSpec, SessionInputs
from ochami_provider.models.template import BootTemplateSpec
from ochami_provider.pulumi_adapter.boot_session import BootSession, session_props
from ochami_provider.pulumi_adapter.boot_template import BootTemplate
from ochami_provider.stack_config import stack_problems
from ochami_provider.terraform_adapter.boot_session import BootSessionResource
from ochami_provider.terraform_adapter.boot_template import BootTemplateResource
from ochami_provider.terraform_adapter.values import TF_TYPES

TEMPLATE = {"name": "t", "boot_sets": {"b": {"kernel": "http://h/k", "node_list": ["x0c0s0b0n0"]}}}
# A value other than the model's default for every optional session field.
NOT_DEFAULT: dict[str, Any] = {
    "limit": ["x0c0s0b0n0"],
    "graceful": True,
    "timeout_seconds": 60.0,
    "poll_interval_seconds": 1.0,
    "task_deadline_minutes": 9,
    "max_retries": 3,
    "booted_when": "cmdline",
    "probe_command": "pdsh -w $OCHAMI_NODES cat /proc/cmdline",
    "boot_timeout_seconds": 120.0,
    "boot_settle_seconds": 45.0,
    "template_writes": {"100": ["x0c0s0b0n0"]},
    "include_disabled": True,
    "pre_command": "drain",
    "post_command": "resume",
    "hook_timeout_seconds": 30.0,
    "batch_size": "10%",
    "max_failed": 2,
    "rerun_on_template_change": False,
    "shutdown_on_delete": True,
}
_ALL = (
    *SESSION_FIELDS,
    *TEMPLATE_FIELDS,
    *BOOT_SET_FIELDS,
    *CLOUD_INIT_FIELDS,
    *SESSION_OUTPUTS,
    *TEMPLATE_OUTPUTS,
)


@pytest.mark.parametrize("field", _ALL, ids=lambda f: ".".join(f.path))
def test_every_user_facing_field_is_described(field: SchemaField) -> None:
    assert len(field.description) > 10, f"{field.spec_path} has no description"


def test_the_not_default_values_cover_every_optional_session_field() -> None:
    optional = {f.name for f in SESSION_FIELDS if not f.required}
    assert set(NOT_DEFAULT) == optional
    for field in SESSION_FIELDS:
        if not field.required:
            assert NOT_DEFAULT[field.name] != field.default, field.name


def _attributes(schema: Any) -> dict[str, Attribute]:
    return {a.name: a for a in schema.attributes}


def _assert_attribute(attribute: Attribute, field: SchemaField, *, computed: bool) -> None:
    assert type(attribute.type) is type(TF_TYPES[field.kind]), field.name
    assert bool(attribute.sensitive) == field.sensitive, field.name
    if computed:
        assert attribute.computed and attribute.description == field.description, field.name
    else:
        assert bool(attribute.required) == field.required, field.name
        assert attribute.description == documented(field), field.name


def test_the_terraform_session_schema_is_the_models() -> None:
    attributes = _attributes(BootSessionResource.get_schema())
    inputs = {f.name: f for f in SESSION_FIELDS}
    outputs = {f.name: f for f in SESSION_OUTPUTS}
    assert set(attributes) == {"id", "deployment", "template", *inputs, *outputs}
    for name, field in inputs.items():
        _assert_attribute(attributes[name], field, computed=False)
    for name, field in outputs.items():
        _assert_attribute(attributes[name], field, computed=True)
    assert "Default: `1`." in str(attributes["max_retries"].description)
    assert "One of `boot`, `reboot`" in str(attributes["operation"].description)


def test_the_terraform_template_schema_is_the_models() -> None:
    attributes = _attributes(BootTemplateResource.get_schema())
    inputs = {f.name: f for f in TEMPLATE_FIELDS if f.name != "cloud_init"}
    inputs |= {f"cloud_init_{f.name}": f for f in CLOUD_INIT_FIELDS}
    outputs = {f.name: f for f in TEMPLATE_OUTPUTS}
    assert set(attributes) == {"id", "deployment", *inputs, *outputs}
    for name, field in inputs.items():
        if name != "boot_sets":
            _assert_attribute(attributes[name], field, computed=False)
    for name, field in outputs.items():
        _assert_attribute(attributes[name], field, computed=True)
    assert attributes["cloud_init_user_data"].sensitive
    for field in BOOT_SET_FIELDS:
        assert field.name in str(attributes["boot_sets"].description)


def _keyword_defaults(cls: type) -> dict[str, Any]:
    parameters = inspect.signature(cls.__init__).parameters  # type: ignore[misc]
    return {
        name: p.default
        for name, p in parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


def test_the_pulumi_session_takes_every_field_and_repeats_no_default() -> None:
    keywords = _keyword_defaults(BootSession)
    own = {"template", "connection", "fail_up_on_error", "opts"}
    # `template_writes` comes from the template resource's `written` output.
    assert set(keywords) - own == {f.name for f in SESSION_FIELDS} - {"template_writes"}
    for field in SESSION_FIELDS:
        if not field.required and field.name in keywords:
            assert keywords[field.name] is None, f"{field.name} repeats a default"


def test_the_pulumi_template_repeats_no_default() -> None:
    keywords = _keyword_defaults(BootTemplate)
    for field in TEMPLATE_FIELDS:
        if not field.required:
            assert keywords[field.name] is None, f"{field.name} repeats a default"


def _pulumi_spec(flat: dict[str, Any]) -> BootSessionSpec:
    props = {**session_props({"operation": "reboot", **flat}), "name": "s", "template": TEMPLATE}
    props["template_writes"] = flat.get("template_writes", {})
    return SessionInputs.from_props(props).spec


def _terraform_spec(flat: dict[str, Any]) -> BootSessionSpec:
    state = {"name": "s", "operation": "reboot", "template": TEMPLATE, **flat}
    resource = BootSessionResource.__new__(BootSessionResource)
    resource.provider = type("P", (), {"recorded_deployment": lambda self, s: "d"})()
    return SessionInputs.from_props(resource.props(state)).spec


def test_unset_inputs_are_the_models_defaults_in_both_front_ends() -> None:
    expected = BootSessionSpec(name="s", operation="reboot", template=TEMPLATE)  # type: ignore[arg-type]
    assert _pulumi_spec({}) == expected
    assert _terraform_spec({}) == expected


@pytest.mark.parametrize("name", sorted(set(NOT_DEFAULT) - {"shutdown_on_delete"}))
def test_each_input_reaches_the_spec_the_same_way_from_both_front_ends(name: str) -> None:
    flat = {name: NOT_DEFAULT[name]}
    if name == "booted_when":
        flat["probe_command"] = NOT_DEFAULT["probe_command"]
    # Terraform's map holds a hostlist per write time.
    terraform = {name: {"100": "x0c0s0b0n0"}} if name == "template_writes" else flat
    pulumi_spec, terraform_spec = _pulumi_spec(flat), _terraform_spec(terraform)
    assert pulumi_spec == terraform_spec
    field = next(f for f in SESSION_FIELDS if f.name == name)
    value: Any = pulumi_spec
    for part in field.path:
        value = getattr(value, part)
    assert value != field.default


def test_the_stack_file_takes_every_field_in_the_flat_spelling() -> None:
    sessions = {"s": {"template": "t", "operation": "reboot", **NOT_DEFAULT}}
    assert stack_problems({"t": {"boot_sets": TEMPLATE["boot_sets"]}}, None, sessions) == []
    sessions["s"]["max_retries"] = 11
    (problem,) = stack_problems({"t": {"boot_sets": TEMPLATE["boot_sets"]}}, None, sessions)
    assert problem.field == "ochami-boot:sessions.s.max_retries"


def test_the_flat_spelling_nests_only_the_retry_policy() -> None:
    data = session_spec_data({"max_retries": 4, "graceful": None, "shutdown_on_delete": True})
    assert data == {"retry": {"max_retries": 4}}
    assert BootTemplateSpec.model_fields["boot_sets"].description


def test_the_provider_block_is_the_connection_settings_model() -> None:
    from ochami_provider.config import CONFIG_KEYS, ProviderConfig
    from ochami_provider.models.inputs import fields_of
    from ochami_provider.terraform_adapter._provider import OchamiProvider

    attributes = _attributes(OchamiProvider().get_provider_schema(None))  # type: ignore[arg-type]
    fields = fields_of(ProviderConfig)
    assert len(attributes) == len(fields) + 1 and "deployment" in attributes
    for field in fields:
        key = CONFIG_KEYS[field.name]
        (attribute,) = (a for a in attributes.values() if f"`ochami:{key}`" in str(a.description))
        assert str(attribute.description).startswith(documented(field)), field.name
        assert bool(attribute.sensitive) == field.sensitive, field.name
        assert type(attribute.type) is type(TF_TYPES[field.kind]), field.name
    assert attributes["token"].sensitive and attributes["timeout"].description
    # The stack key's alias is the model's: `ochami:smdUri` for smd_uri.
    assert CONFIG_KEYS["smd_uri"] == ProviderConfig.model_fields["smd_uri"].alias == "smdUri"


def test_help_on_the_pulumi_session_describes_every_argument() -> None:
    doc = str(BootSession.__init__.__doc__)
    for name in _keyword_defaults(BootSession):
        if name != "opts" and name != "connection":
            assert f"    {name}: " in doc, name
