"""The Terraform adapter in process, without a `tofu` binary: Terraform values to the core's
props and back, what plans a replacement, a schema that follows the models, and the provider
functions (issue 25, items 1, 3 and 5)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tf.function import CallContext
from tf.schema import Attribute
from tf.types import Unknown
from tf.utils import Diagnostics

from ochami_provider.models.session import BootSessionSpec, SessionRecord
from ochami_provider.models.template import BootTemplateSpec, TemplateState
from ochami_provider.terraform_adapter._provider import OchamiProvider
from ochami_provider.terraform_adapter.boot_session import BootSessionResource
from ochami_provider.terraform_adapter.boot_template import BootTemplateResource
from ochami_provider.terraform_adapter.functions import (
    HostlistCompress,
    HostlistExpand,
    LimitNodes,
)

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


def _call(function: type[HostlistExpand | HostlistCompress | LimitNodes], *args: Any) -> Any:
    ctx = CallContext(Diagnostics(), function.get_name())
    result = function().call(ctx, list(args))
    errors = [d.summary for d in ctx.diagnostics.diagnostics]
    return errors[0] if errors else result


def test_the_hostlist_functions_expand_and_fold_node_names() -> None:
    assert _call(HostlistExpand, "x1000c0s[0-1]b0n[0-1]") == [
        "x1000c0s0b0n0",
        "x1000c0s0b0n1",
        "x1000c0s1b0n0",
        "x1000c0s1b0n1",
    ]
    assert _call(HostlistCompress, ["x1000c0s1b0n0", "x1000c0s0b0n[0-1]", "x1000c0s1b0n1"]) == (
        "x1000c0s[0-1]b0n[0-1]"
    )
    said = _call(HostlistExpand, "x1000c0s[0-1b0n0")
    assert "hostlist_expand" in said and "hostlist" in said and "x1000c0s[0-1b0n0" in said
    said = _call(HostlistCompress, ["x1000c0s0b0n0", "compute"])
    assert "nodes[1]" in said and "'compute' is not a node xname" in said


def test_limit_nodes_applies_the_bos_grammar_to_a_node_list_offline() -> None:
    nodes = [f"x1000c0s{s}b0n{n}" for s in range(4) for n in range(2)]
    assert _call(LimitNodes, ["*", "!x1000c0s[0-2]b0n[0-1]"], nodes) == [
        "x1000c0s3b0n0",
        "x1000c0s3b0n1",
    ]
    assert _call(LimitNodes, ["x1000c0s[0-1]b0n0,&x1000c0s1b0n[0-1]"], nodes) == ["x1000c0s1b0n0"]
    assert _call(LimitNodes, ["x1000c9s0b0n0"], nodes) == []  # not one of the nodes
    said = _call(LimitNodes, ["compute"], nodes)
    assert "limit[0]" in said and "'compute' is not a node xname" in said
    assert "empty term" in _call(LimitNodes, ["x1000c0s0b0n0,"], nodes)


def test_the_cores_errors_become_diagnostics_in_one_place_and_other_errors_stay_bugs() -> None:
    from ochami_provider.errors import InvalidInputError, OchamiError
    from ochami_provider.terraform_adapter.boot_session import where
    from ochami_provider.terraform_adapter.values import diagnosed

    diags = Diagnostics()
    with diagnosed(diags, where) as fine:
        pass
    assert not fine.failed and diags.diagnostics == []
    with diagnosed(diags, where) as bad:
        raise InvalidInputError("retry.max_retries", 11, "is more than 10")
    assert bad.failed
    (found,) = diags.diagnostics
    assert (found.severity, found.path) == ("error", ["max_retries"])
    assert found.summary == "retry.max_retries: is more than 10 (got 11)"
    with diagnosed(diags, where) as down:
        raise OchamiError("SMD at http://smd/hsm/v2 did not answer\nafter 3 tries")
    assert (
        down.failed and diags.diagnostics[-1].summary == "SMD at http://smd/hsm/v2 did not answer"
    )
    assert "after 3 tries" in diags.diagnostics[-1].detail
    with pytest.raises(KeyError), diagnosed(diags, where):
        raise KeyError("a bug is not a diagnostic")
    assert len(diags.diagnostics) == 2
