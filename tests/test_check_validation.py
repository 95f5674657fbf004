"""Every invalid input fails in `check`, naming the field and the value, with no request sent."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ochami_provider import BootSessionProvider, BootTemplateProvider
from ochami_provider.errors import InvalidInputError
from ochami_provider.models.kernel_params import owner_of
from ochami_provider.nodesets import compact
from ochami_provider.sim import Fleet, SimServer
from tests.conftest import session_props, template_props


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
    ("connection.uri", "ftp://h", "connection.uri", "ftp://h"),
    ("connection.timeout", -1, "connection.timeout", "-1"),
    (f"{BS}.node_list", ["x1000c0s0b0n"], f"{BS}.node_list[0]", "x1000c0s0b0n"),
    (f"{BS}.node_list", ["x10000c0s0b0n0"], f"{BS}.node_list[0]", "x10000c0s0b0n0"),
    (f"{BS}.node_list", [""], f"{BS}.node_list[0]", "''"),
    (f"{BS}.kernel", "https://h/", f"{BS}.kernel", "names no file"),
    (
        f"{BS}.kernel_parameters",
        "quiet ochami.template=x",
        f"{BS}.kernel_parameters",
        "sets ochami",
    ),
    (f"{BS}.kernel_parameters", "a" * 1600, f"{BS}.kernel_parameters", "1600 bytes"),
    # Found by the property tests (test_properties.py): a trailing newline in a name was
    # accepted and written into the owner marker; a quoted or re-spelled marker, an invisible
    # space and an unbalanced quote were accepted and changed what the kernel reads.
    ("name", "compute\n", "name", "not a valid name"),
    (
        f"{BS}.kernel_parameters",
        'quiet "ochami.template=x"',
        f"{BS}.kernel_parameters",
        "sets ochami",
    ),
    (f"{BS}.kernel_parameters", "quiet OCHAMI_TEMPLATE=x", f"{BS}.kernel_parameters", "spelling"),
    (f"{BS}.kernel_parameters", "quiet\u00a0splash", f"{BS}.kernel_parameters", "U+00A0"),
    (f"{BS}.kernel_parameters", 'rd.x="a b', f"{BS}.kernel_parameters", "unbalanced"),
    (
        "cloud_init.user_data",
        "#cloud-config\n#" + "x" * 70_000 + "\n",
        "cloud_init.user_data",
        "70016 bytes; the limit is 65536",
    ),
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
    # check reads SMD (the group, the components for the role, the nodes' boot MACs), BSS
    # once (by name and by MAC, as `up` reads it), and the cloud-init group it would create
    # (data already there is refused unless adopted); it writes nothing, and artifact probes
    # go to the artifact store, not to an OpenCHAMI service.
    assert [(s, m) for s, m, _ in fleet.requests] == [
        ("smd", "GET"),
        ("smd", "GET"),
        ("smd", "GET"),
        ("bss", "GET"),
        ("cloud-init", "GET"),
    ]


def test_existing_cloud_init_data_is_refused_at_check_unless_adopted(
    fleet: Fleet, sim: SimServer
) -> None:
    """Found at preview, not first at `up`; and the fix the message names is `adopt: true`."""
    fleet.cloud_init_groups["compute"] = {"name": "compute", "file": {"content": "#cloud-config\n"}}
    failures = BootTemplateProvider().check({}, template_props(sim.url)).failures
    assert [(f.property, "'compute'" in f.reason) for f in failures] == [("cloud_init", True)]
    assert "set `adopt: true`" in failures[0].reason
    adopted = BootTemplateProvider().check({}, template_props(sim.url, adopt=True))
    assert adopted.failures == [] and fleet.count(writes_only=True) == 0


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value


def test_unchanged_inputs_are_checked_without_asking_the_services(
    fleet: Fleet, sim: SimServer
) -> None:
    """A preview of an up-to-date stack writes nothing, so its checks read nothing either;
    a changed template is verified again (refresh reports what the services hold)."""
    provider = BootTemplateProvider()
    created = provider.create(provider.check({}, template_props(sim.url)).inputs).outs
    recorded = _without_nulls(created)  # as the engine records inputs and passes them back
    assert recorded != created
    fleet.requests.clear()
    again = provider.check(recorded, template_props(sim.url))
    assert again.failures == [] and fleet.requests == []
    assert again.inputs["boot_sets"] == created["boot_sets"]
    changed = template_props(sim.url, description="changed")
    assert provider.check(recorded, changed).failures == []
    # The group, the nodes' boot MACs, and BSS (by name and by MAC, as `up` reads it).
    assert [(s, m) for s, m, _ in fleet.requests] == [
        ("smd", "GET"),
        ("smd", "GET"),
        ("bss", "GET"),
    ]
    # An unchanged template whose group is gone is not refused by check; refresh shows it.
    fleet.requests.clear()
    del fleet.groups["compute"]
    assert provider.check(recorded, template_props(sim.url)).failures == []
    assert provider.check(recorded, changed).failures[0].property == f"{BS}.node_groups"


def test_an_unchanged_session_is_checked_without_asking_the_services(
    fleet: Fleet, sim: SimServer
) -> None:
    """Both front ends record the session's owner (`deployment`): an unchanged session is
    recognised as unchanged, and a preview of it reads nothing (issue 25: three requests per
    session, the nodes' MACs among them, in every preview and plan)."""
    templates, sessions = BootTemplateProvider(), BootSessionProvider()
    template = templates.create(templates.check({}, template_props(sim.url)).inputs).outs
    inputs = {**session_props(sim, template, limit=["compute"]), "deployment": "tf/site"}
    recorded = _without_nulls({**inputs, "status": "completed", "run_id": "r1"})
    fleet.requests.clear()
    again = sessions.check(recorded, {k: v for k, v in inputs.items() if k != "status"})
    assert again.failures == [] and fleet.requests == []
    narrower = {**inputs, "limit": ["*"]}
    assert sessions.check(recorded, narrower).failures == []
    assert fleet.requests, "a changed session is checked against the services"
    fleet.requests.clear()
    moved = {**inputs, "deployment": "tf/elsewhere"}
    sessions.check(recorded, moved)
    assert fleet.requests, "another owner is checked again"


def test_missing_http_artifact_fails_check(sim: SimServer) -> None:
    props = template_props(sim.url)
    props["boot_sets"]["compute"]["kernel"] = sim.url + "/artifacts/nope/vmlinuz"
    failures = BootTemplateProvider().check({}, props).failures
    assert failures[0].property == "boot_sets.compute.kernel"
    assert "HTTP 404" in failures[0].reason and "/nope/vmlinuz" in failures[0].reason


def _targets(props: dict[str, Any], **boot_set: Any) -> None:
    props["boot_sets"]["compute"].update(boot_set)


def _foreign_record(fleet: Fleet) -> None:
    fleet.bootparams["x1000c0s5b0n0"] = {
        "kernel": "http://h/k",
        "initrd": "",
        "params": "quiet ochami.template=other-team",
    }


# Bad input only the services can reveal: check reads SMD, BSS and the artifact store (never
# writes). (case, change to props and fleet, field the failure names, text it contains)
SERVICE_CASES: list[tuple[str, Any, str, str]] = [
    (
        "unknown group",
        lambda p, f: _targets(p, node_groups=["nosuch"]),
        f"{BS}.node_groups",
        "'nosuch'",
    ),
    (
        "empty group",
        lambda p, f: (f.add_group("empty", []), _targets(p, node_groups=["empty"])),
        f"{BS}.node_groups",
        "has no members",
    ),
    (
        "node SMD does not know",
        lambda p, f: _targets(p, node_list=["x9000c0s0b0n0"]),
        f"{BS}.node_list",
        "'x9000c0s0b0n0'",
    ),
    (
        "role no node has",
        lambda p, f: (
            p.pop("cloud_init"),
            _targets(p, node_groups=[], node_roles_groups=["Storage"]),
        ),
        BS,
        "resolves to no node",
    ),
    (
        "arch no member has",
        lambda p, f: _targets(p, node_groups=["login"], arch="X86"),
        BS,
        "resolves to no node",
    ),
    (
        "node another template boots",
        lambda p, f: _foreign_record(f),
        BS,
        "'other-team'",
    ),
    (
        "initrd HTTP 404",
        lambda p, f: _targets(p, initrd=p["connection"]["uri"] + "/artifacts/nope/initrd.img"),
        f"{BS}.initrd",
        "HTTP 404",
    ),
    (
        "kernel host unreachable",
        lambda p, f: _targets(p, kernel="http://127.0.0.1:9/vmlinuz"),
        f"{BS}.kernel",
        "127.0.0.1:9",
    ),
]


@pytest.mark.parametrize(
    ("change", "field", "text"), [c[1:] for c in SERVICE_CASES], ids=[c[0] for c in SERVICE_CASES]
)
def test_template_check_asks_the_services(
    fleet: Fleet, sim: SimServer, change: Any, field: str, text: str
) -> None:
    props = template_props(sim.url)
    change(props, fleet)
    result = BootTemplateProvider().check({}, props)
    matching = [f for f in result.failures if f.property == field]
    assert matching, [(f.property, f.reason) for f in result.failures]
    assert text in matching[0].reason
    assert fleet.count(writes_only=True) == 0


def test_s3_object_absent_is_refused_in_check(fleet: Fleet, sim: SimServer, bucket: str) -> None:
    props = template_props(sim.url)
    _targets(props, kernel=f"s3://{bucket}/rocky9/vmlinuz", initrd=f"s3://{bucket}/rocky9/gone.img")
    failures = BootTemplateProvider().check({}, props).failures
    assert [(f.property, "rocky9/gone.img" in f.reason) for f in failures] == [
        (f"{BS}.initrd", True)
    ]
    assert fleet.count(writes_only=True) == 0


def test_two_templates_of_one_stack_over_one_node_fail_check_before_any_write(
    fleet: Fleet, sim: SimServer
) -> None:
    provider = BootTemplateProvider()
    first = template_props(sim.url, name="compute-a")
    assert provider.check({}, first).failures == []
    second = template_props(sim.url, name="compute-b", cloud_init=None)
    _targets(second, node_groups=[], node_list=["x1000c0s0b0n0", "x1000c0s6b0n1"])
    failures = provider.check({}, second).failures
    assert [f.property for f in failures] == [BS]
    assert "'x1000c0s6b0n1'" in failures[0].reason and "'compute-a'" in failures[0].reason
    # Disjoint targets are fine.
    _targets(second, node_list=["x1000c0s0b0n0"])
    assert provider.check({}, second).failures == []
    assert fleet.count(writes_only=True) == 0


def test_a_node_moved_between_templates_in_one_deployment_passes_check(
    fleet: Fleet, sim: SimServer
) -> None:
    """Template a gives up its last node to template b in the same `pulumi up`."""
    provider = BootTemplateProvider()
    a = template_props(sim.url, name="compute-a")
    created = provider.create(provider.check({}, a).inputs).outs
    assert created["node_count"] == 12
    provider.core.claims.clear()  # the next deployment
    moved = "x1000c0s7b0n1"
    _targets(
        a,
        node_groups=[],
        node_list=[n for n in fleet.groups["compute"]["members"]["ids"] if n != moved],
    )
    a["cloud_init"] = None
    assert provider.check(created, a).failures == []
    b = template_props(sim.url, name="compute-b", cloud_init=None)
    _targets(b, node_groups=[], node_list=[moved])
    assert provider.check({}, b).failures == []
    # Checked alone, without a's release in the same deployment, b is refused.
    provider.core.claims.clear()
    failures = provider.check({}, b).failures
    assert (
        failures and "'compute'" not in failures[0].reason and "'compute-a'" in failures[0].reason
    )


def test_a_template_of_another_stack_is_refused_in_check_and_in_create(
    fleet: Fleet, sim: SimServer
) -> None:
    """Another stack's template: visible only through the owner marker BSS holds."""
    provider = BootTemplateProvider()
    provider.create(provider.check({}, template_props(sim.url, name="compute-a")).inputs)
    provider = BootTemplateProvider()  # another stack: another provider process
    other = template_props(sim.url, name="compute-b", cloud_init=None)
    _targets(other, node_groups=[], node_list=["x1000c0s2b0n0"])
    failures = provider.check({}, other).failures
    assert [f.property for f in failures] == [BS]
    assert "already boots template 'compute-a'" in failures[0].reason
    writes = fleet.count(writes_only=True)
    with pytest.raises(InvalidInputError, match="compute-a"):
        provider.create({**other, "name": "compute-b"})
    assert fleet.count(writes_only=True) == writes
    assert owner_of(fleet.bootparams["x1000c0s2b0n0"]["params"]) == "compute-a"


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
    ("operation", "Reboot", "operation", "Reboot"),
    ("operation", "", "operation", "''"),
    ("name", "Reboot Compute", "name", "Reboot Compute"),
    ("poll_interval_seconds", 0, "poll_interval_seconds", "0"),
    ("task_deadline_minutes", 2000, "task_deadline_minutes", "2000"),
    ("retry", {"max_retries": 11}, "retry.max_retries", "11"),
    ("timeout_seconds", "soon", "timeout_seconds", "soon"),
    ("limit", ["bad group!"], "limit[0]", "bad group!"),
    ("limit", ["nosuch"], "limit[0]", "'nosuch'"),
    ("limit", ["compute,,x1000c0s2b0n0"], "limit[0]", "empty term"),
    ("limit", ["!compute"], "limit", "keeps no node of template 'compute'"),
    ("limit", ["compute", "&login"], "limit[1]", "'&login' matches no node"),
    # A node of another template, a typo SMD does not know, a group of none of its nodes: each
    # would be dropped without a word, and the session would do nothing and say completed.
    ("limit", ["x1000c0s0b0n0"], "limit[0]", "matches no node of template 'compute'"),
    ("limit", ["x1000c9s0b0n0"], "limit[0]", "'x1000c9s0b0n0'"),
    ("limit", ["login"], "limit[0]", "it names 4 nodes 'x1000c0s[0-1]b0n[0-1]'"),
    ("limit", ["compute", "x1000c0s1b0n1"], "limit[1]", "'x1000c0s1b0n1'"),
    ("connection", {"uri": "http://h", "timeout": 0}, "connection.timeout", "0"),
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
    assert fleet.count(writes_only=True) == 0


def test_the_corpus_has_at_least_forty_cases() -> None:
    cases = len(TEMPLATE_CASES) + len(SERVICE_CASES) + len(SESSION_CASES) + 1  # + the S3 case
    assert cases >= 40, cases


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


def test_nodes_another_template_boots_come_out_as_one_problem_in_hostlist_notation(
    fleet: Fleet, sim: SimServer
) -> None:
    """12 nodes taken by another stack's template: one line naming them all, not 12 (and not
    one per node and per check, as a 10,000-node group would give 20,000 lines)."""
    provider = BootTemplateProvider()
    provider.create(provider.check({}, template_props(sim.url, name="compute-a")).inputs)
    other = BootTemplateProvider()  # another stack
    failures = other.check({}, template_props(sim.url, name="compute-b", cloud_init=None)).failures
    members = fleet.groups["compute"]["members"]["ids"]
    assert [f.property for f in failures] == [BS]
    assert "already boots template 'compute-a'" in failures[0].reason
    assert f"got '{compact(members)}' (12 nodes)" in failures[0].reason
    assert compact(members) == "x1000c0s[2-7]b0n[0-1]"
    with pytest.raises(InvalidInputError) as caught:
        other.create({**template_props(sim.url, name="compute-b", cloud_init=None)})
    assert [str(p) for p in caught.value.problems] == [f"{BS}: {failures[0].reason}"]
