"""The Terraform adapter's conversions, in process and without a `tofu` binary: Terraform
values to the core's props and back, what plans a replacement, and a schema that follows the
models (issue 25, items 1 and 5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tf.schema import Attribute
from tf.types import Unknown

from ochami_provider.models.session import BootSessionSpec, SessionRecord
from ochami_provider.models.template import BootTemplateSpec, TemplateState
from ochami_provider.terraform_adapter._provider import OchamiProvider
from ochami_provider.terraform_adapter.boot_session import BootSessionResource
from ochami_provider.terraform_adapter.boot_template import BootTemplateResource

SPEC = {
    "name": "compute-image",
    "description": "",
    "boot_sets": {"compute": {"kernel": "http://i/vmlinuz", "node_groups": ["compute"]}},
}


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> OchamiProvider:
    monkeypatch.chdir(tmp_path)  # the default deployment names the working directory
    return OchamiProvider()


def _attributes(
    resource: type[BootSessionResource] | type[BootTemplateResource],
) -> dict[str, Attribute]:
    return {a.name: a for a in resource.get_schema().attributes}


def test_each_schema_has_an_attribute_for_every_field_and_output_of_its_model() -> None:
    session = _attributes(BootSessionResource)
    fields = {"max_retries" if f == "retry" else f for f in BootSessionSpec.model_fields}
    assert fields | {"shutdown_on_delete"} <= {n for n, a in session.items() if not a.computed}
    assert set(SessionRecord.output_keys()) <= {n for n, a in session.items() if a.computed}
    template = _attributes(BootTemplateResource)
    inputs = {n for n, a in template.items() if not a.computed}
    assert set(BootTemplateSpec.model_fields) - {"cloud_init"} <= inputs
    assert {n for n in inputs if n.startswith("cloud_init_")} == {
        "cloud_init_meta_data",
        "cloud_init_user_data",
        "cloud_init_description",
    }
    assert set(TemplateState.output_keys()) <= {n for n, a in template.items() if a.computed}
    # What can quote the user-data is sensitive, in state output and CLI alike.
    assert {n for n, a in template.items() if a.sensitive} >= {
        "cloud_init_user_data",
        "spec",
        "history",
    }


def test_a_sessions_terraform_values_become_the_cores_props(provider: OchamiProvider) -> None:
    resource = BootSessionResource(provider)
    props = resource.props(
        {
            "name": "boot",
            "operation": "reboot",
            "template": json.dumps(SPEC),
            "limit": ["compute"],
            "max_retries": 2.0,  # Terraform numbers arrive as floats
            "task_deadline_minutes": 5.0,
            "status": Unknown,  # an output not known at plan: not a prop
            "history": None,
        }
    )
    assert props["template"] == SPEC and props["retry"] == {"max_retries": 2}
    assert props["task_deadline_minutes"] == 5 and isinstance(props["task_deadline_minutes"], int)
    assert props["shutdown_on_delete"] is False and "status" not in props
    assert props["deployment"].startswith("tf/")


def test_what_reruns_a_session_plans_a_replacement_and_nothing_else_does(
    provider: OchamiProvider,
) -> None:
    resource = BootSessionResource(provider)
    current = {"name": "boot", "operation": "boot", "template": json.dumps(SPEC)}
    assert resource.replaces(current, {**current, "operation": "reboot"}) == ["operation"]
    assert resource.replaces(current, {**current, "poll_interval_seconds": 0.5}) == []
    # Not known yet at plan: an operation replaces it; a template is an update (a rerun of
    # the nodes whose boot changed), known or not.
    assert resource.replaces(current, {**current, "operation": Unknown}) == ["operation"]
    assert resource.replaces(current, {**current, "template": Unknown}) == []


def test_a_templates_values_become_props_and_its_state_its_outputs(
    provider: OchamiProvider,
) -> None:
    resource = BootTemplateResource(provider)
    props = resource.props(
        {
            "name": "compute-image",
            "boot_sets": json.dumps(SPEC["boot_sets"]),
            "cloud_init_meta_data": json.dumps({"cluster": "a"}),
            "cloud_init_user_data": "#cloud-config\n",
        }
    )
    assert props["boot_sets"] == SPEC["boot_sets"] and props["description"] == ""
    assert props["cloud_init"] == {
        "meta_data": {"cluster": "a"},
        "description": "",
        "user_data": "#cloud-config\n",
    }
    assert resource.props({"name": "x", "boot_sets": "{}"})["cloud_init"] is None
    state = TemplateState.model_validate(
        {"spec": SPEC, "version": "0123456789abcdef", "changes": ["boot_sets.compute: added"]}
    )
    outputs = resource.outputs({"name": "compute-image"}, state)
    assert outputs["id"] == "compute-image" and outputs["version"] == "0123456789abcdef"
    assert outputs["changes"] == ["boot_sets.compute: added"] and outputs["history"] == []
