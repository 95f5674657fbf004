"""Every invalid input fails in `check`, naming the field and the value, with no request sent."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ochami_provider import BootSessionProvider, BootTemplateProvider
from ochami_provider.sim import Fleet, SimServer
from tests.conftest import template_props


def _set(props: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(props)
    node = out
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return out


_DELETE = object()
BS = "boot_sets.compute"

# (path to change, new value, field the failure must name, text the message must contain)
TEMPLATE_CASES = [
    ("name", "Bad Name!", "name", "Bad Name!"),
    ("name", "", "name", "''"),
    (f"{BS}.kernel", "ftp://host/vmlinuz", f"{BS}.kernel", "ftp://host/vmlinuz"),
    (f"{BS}.kernel", "not a url", f"{BS}.kernel", "not a url"),
    (f"{BS}.kernel", "http:///vmlinuz", f"{BS}.kernel", "names no host"),
    (f"{BS}.kernel", "s3://bucket", f"{BS}.kernel", "names no file"),
    (f"{BS}.kernel", _DELETE, f"{BS}.kernel", "Field required"),
    (f"{BS}.initrd", "file:///initrd", f"{BS}.initrd", "file:///initrd"),
    (f"{BS}.kernel_parameters", "quiet\nsplash", f"{BS}.kernel_parameters", "line break"),
    (f"{BS}.node_groups", [], BS, "at least one target"),
    (f"{BS}.node_groups", ["bad group!"], f"{BS}.node_groups[0]", "bad group!"),
    (f"{BS}.node_list", ["x1000c0s0b0"], f"{BS}.node_list[0]", "x1000c0s0b0"),
    (f"{BS}.node_list", ["x01000c0s0b0n0"], f"{BS}.node_list[0]", "x01000c0s0b0n0"),
    (f"{BS}.node_list", ["node1"], f"{BS}.node_list[0]", "node1"),
    (f"{BS}.node_list", ["x1000c0s0b0n0", "x1000c0s0b0n0"], BS, "twice"),
    (f"{BS}.node_roles_groups", ["Wizard"], f"{BS}.node_roles_groups[0]", "Wizard"),
    (f"{BS}.arch", "PowerPC", f"{BS}.arch", "PowerPC"),
    (f"{BS}.colour", "blue", f"{BS}.colour", "unknown field"),
    ("boot_sets", {}, "boot_sets", "at least 1"),
    ("cloud_init.user_data", "runcmd: [ls]\n", "cloud_init.user_data", "#cloud-config"),
    (
        "cloud_init.user_data",
        "#cloud-config\nruncmd: [ls\n",
        "cloud_init.user_data",
        "not valid YAML",
    ),
    ("cloud_init.user_data", "#cloud-config\n- a list\n", "cloud_init.user_data", "mapping"),
    ("cloud_init.meta_data", "not a dict", "cloud_init.meta_data", "valid dictionary (a str;"),
    ("cloud_init.vendor", "x", "cloud_init.vendor", "unknown field"),
    ("connection.uri", "localhost:8080", "connection.uri", "localhost:8080"),
    ("connection.timeout", -1, "connection.timeout", "-1"),
]


@pytest.mark.parametrize(("path", "value", "field", "text"), TEMPLATE_CASES)
def test_template_check_names_field_and_value(
    fleet: Fleet, sim: SimServer, path: str, value: Any, field: str, text: str
) -> None:
    props = _set(template_props(sim.url), path, value)
    result = BootTemplateProvider().check({}, props)
    assert result.failures, f"{path}={value!r} was accepted"
    matching = [f for f in result.failures if f.property == field]
    assert matching, [(f.property, f.reason) for f in result.failures]
    assert text in matching[0].reason
    assert fleet.requests == []


def test_two_boot_sets_claiming_one_node_fail_check(sim: SimServer) -> None:
    props = template_props(sim.url)
    props["boot_sets"]["a"] = {"kernel": "http://h/k", "node_list": ["x1000c0s0b0n0"]}
    props["boot_sets"]["b"] = {"kernel": "http://h/k", "node_list": ["x1000c0s0b0n0"]}
    failures = BootTemplateProvider().check({}, props).failures
    assert any("x1000c0s0b0n0" in f.reason and "'a'" in f.reason for f in failures)


def test_cloud_init_without_any_group_fails_check(sim: SimServer) -> None:
    props = template_props(sim.url)
    props["boot_sets"]["compute"]["node_groups"] = []
    props["boot_sets"]["compute"]["node_list"] = ["x1000c0s0b0n0"]
    failures = BootTemplateProvider().check({}, props).failures
    assert [f.property for f in failures] == ["(input)"]
    assert "keys group data by SMD group" in failures[0].reason


def test_valid_template_passes_and_is_normalized(fleet: Fleet, sim: SimServer) -> None:
    props = template_props(sim.url)
    props["boot_sets"]["compute"]["node_roles_groups"] = ["compute"]
    props["boot_sets"]["compute"]["kernel_parameters"] = "  console=ttyS0   quiet "
    result = BootTemplateProvider().check({}, props)
    assert result.failures == []
    boot_set = result.inputs["boot_sets"]["compute"]
    assert boot_set["node_roles_groups"] == ["Compute"]
    assert boot_set["kernel_parameters"] == "console=ttyS0 quiet"
    # check reads SMD (the group, the components for the role) and BSS once each; it writes
    # nothing, and artifact probes go to the artifact store, not to an OpenCHAMI service.
    assert [(s, m) for s, m, _ in fleet.requests] == [
        ("smd", "GET"),
        ("smd", "GET"),
        ("bss", "GET"),
    ]


def test_missing_http_artifact_fails_check(sim: SimServer) -> None:
    props = template_props(sim.url)
    props["boot_sets"]["compute"]["kernel"] = sim.url + "/artifacts/nope/vmlinuz"
    failures = BootTemplateProvider().check({}, props).failures
    assert failures[0].property == "boot_sets.compute.kernel"
    assert "HTTP 404" in failures[0].reason and "/nope/vmlinuz" in failures[0].reason


SESSION_CASES = [
    ("operation", "explode", "operation", "explode"),
    ("operation", _DELETE, "operation", "Field required"),
    ("timeout_seconds", -5, "timeout_seconds", "-5"),
    ("timeout_seconds", 0, "timeout_seconds", "0"),
    ("poll_interval_seconds", -1, "poll_interval_seconds", "-1"),
    ("task_deadline_minutes", 0, "task_deadline_minutes", "0"),
    ("retry", {"max_retries": -1}, "retry.max_retries", "-1"),
    ("retry", {"attempts": 3}, "retry.attempts", "unknown field"),
    ("graceful", "sometimes", "graceful", "sometimes"),
    ("template", {"name": "t"}, "template.boot_sets", "Field required"),
    ("priority", 5, "priority", "unknown field"),
]


@pytest.mark.parametrize(("key", "value", "field", "text"), SESSION_CASES)
def test_session_check_names_field_and_value(
    fleet: Fleet, sim: SimServer, key: str, value: Any, field: str, text: str
) -> None:
    template = BootTemplateProvider().check({}, template_props(sim.url)).inputs
    fleet.requests.clear()
    props: dict[str, Any] = {
        "name": "reboot-compute",
        "template": {k: template[k] for k in ("name", "description", "boot_sets", "cloud_init")},
        "operation": "reboot",
        "connection": {"uri": sim.url},
    }
    props = _set(props, key, value)
    result = BootSessionProvider().check({}, props)
    matching = [f for f in result.failures if f.property == field]
    assert matching, [(f.property, f.reason) for f in result.failures]
    assert text in matching[0].reason
    assert fleet.requests == []


@pytest.mark.parametrize("unknown", ["wire sentinel", "Unknown object"])
def test_unknown_values_during_preview_are_not_judged(sim: SimServer, unknown: str) -> None:
    """The engine hands check() values still unknown in a preview; they are not errors yet."""
    from pulumi.output import Unknown
    from pulumi.runtime import rpc

    value = rpc.UNKNOWN if unknown == "wire sentinel" else Unknown()
    props = template_props(sim.url)
    props["boot_sets"]["compute"]["kernel"] = value
    assert BootTemplateProvider().check({}, props).failures == []
    session = {"name": "s", "template": value, "operation": "boot"}
    assert BootSessionProvider().check({}, session).failures == []
