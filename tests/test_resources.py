"""Each resource's check/diff/create/read/update/delete against the simulator."""

from __future__ import annotations

import copy
import hashlib
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ochami_provider import BootSessionProvider, BootTemplateProvider
from ochami_provider.errors import InvalidInputError
from ochami_provider.lifecycle import SessionLifecycle, TemplateLifecycle
from ochami_provider.models.session import SessionInputs
from ochami_provider.sim import Fleet, SimServer
from tests.conftest import nodes, session_props, template_props

SPEC_KEYS = ("name", "description", "boot_sets", "cloud_init")


def _created(sim: SimServer, **overrides: Any) -> tuple[BootTemplateProvider, dict[str, Any]]:
    provider = BootTemplateProvider()
    inputs = provider.check({}, template_props(sim.url, **overrides)).inputs
    result = provider.create(inputs)
    assert result.outs is not None
    return provider, result.outs


def test_create_writes_bss_and_cloud_init_for_group_members(fleet: Fleet, sim: SimServer) -> None:
    _, outs = _created(sim)
    compute = fleet.groups["compute"]["members"]["ids"]
    assert sorted(fleet.bootparams) == sorted(compute)
    record = fleet.bootparams[compute[0]]
    # The last parameters name the template, the boot set and the template's version: the
    # node's command line shows what it booted.
    assert record["params"] == (
        "console=ttyS0,115200 quiet ochami.template=compute"
        f" ochami.boot_set=compute ochami.version={outs['version']}"
    )
    assert record["kernel"].endswith("/compute/vmlinuz")
    group = fleet.cloud_init_groups["compute"]
    assert group["meta-data"] == {"site": "test"}
    assert group["file"]["content"].startswith("#cloud-config")
    assert outs["hosts"] == {"compute": "x1000c0s[2-7]b0n[0-1]"}
    assert nodes(outs["hosts"]["compute"]) == sorted(compute)
    assert outs["node_count"] == 12
    assert len(outs["version"]) == 16


def test_create_refuses_cloud_init_group_it_does_not_own_and_writes_nothing(
    fleet: Fleet, sim: SimServer
) -> None:
    fleet.cloud_init_groups["compute"] = {"name": "compute", "file": {"content": "#cloud-config\n"}}
    provider = BootTemplateProvider()
    inputs = provider.check({}, template_props(sim.url)).inputs
    with pytest.raises(InvalidInputError, match="already has data for this group"):
        provider.create(inputs)
    assert fleet.bootparams == {}


def test_a_template_without_cloud_init_leaves_its_groups_cloud_init_data_alone(
    fleet: Fleet, sim: SimServer
) -> None:
    """Found by the property tests: such a template recorded its groups as owned cloud-init
    groups, so destroying it deleted data it never wrote (an admin's, say)."""
    admins = {"name": "compute", "file": {"content": "#cloud-config\n"}}
    fleet.cloud_init_groups["compute"] = dict(admins)
    provider, outs = _created(sim, cloud_init=None)
    assert outs["cloud_init_groups"] == []
    provider.delete("compute", outs)
    assert fleet.bootparams == {} and fleet.cloud_init_groups == {"compute": admins}


def test_unknown_group_is_an_error_naming_the_boot_set(fleet: Fleet, sim: SimServer) -> None:
    props = template_props(sim.url)
    props["boot_sets"]["compute"]["node_groups"] = ["gpu"]
    provider = BootTemplateProvider()
    with pytest.raises(InvalidInputError) as caught:
        provider.create(provider.check({}, props).inputs)
    assert caught.value.field == "boot_sets.compute.node_groups"
    assert caught.value.value == "gpu"
    assert fleet.bootparams == {} and fleet.cloud_init_groups == {}


def test_roles_and_arch_selectnodes(fleet: Fleet, sim: SimServer) -> None:
    props = template_props(sim.url)
    props["boot_sets"] = {
        "arm": {"kernel": "http://h/arm/vmlinuz", "node_roles_groups": ["Compute"], "arch": "ARM"},
        "x86": {"kernel": "http://h/x86/vmlinuz", "node_roles_groups": ["Compute"], "arch": "X86"},
    }
    props["cloud_init"] = None
    props["connection"] = {"uri": sim.url, "verifyArtifacts": False}
    provider = BootTemplateProvider()
    outs = provider.create(provider.check({}, props).inputs).outs
    names = list(fleet.nodes)
    assert outs is not None
    assert nodes(outs["hosts"]["arm"]) == sorted(names[4:8])
    assert nodes(outs["hosts"]["x86"]) == sorted(names[8:16])


def test_diff_reports_changes_and_replaces_only_on_rename(sim: SimServer) -> None:
    provider, outs = _created(sim)
    changed = provider.check(outs, template_props(sim.url)).inputs
    changed["boot_sets"]["compute"]["kernel_parameters"] = "console=ttyS1"
    diff = provider.diff("compute", outs, changed)
    assert diff.changes is True and diff.replaces == []
    same = provider.check(outs, template_props(sim.url)).inputs
    assert (
        provider.diff("compute", outs, {**same, **{k: None for k in ("version",)}}).changes is False
    )
    renamed = provider.check(outs, template_props(sim.url, name="compute2")).inputs
    assert provider.diff("compute", outs, renamed).replaces == ["name"]


def test_a_template_recorded_before_node_partitions_keeps_its_version_and_no_diff(
    sim: SimServer,
) -> None:
    """Upgrading to a release with `node_partitions` must not change recorded templates: no
    diff (an update would rewrite every node's marker) and the version hashed as before."""
    provider, outs = _created(sim)
    olds = copy.deepcopy(outs)
    for boot_set in olds["boot_sets"].values():
        del boot_set["node_partitions"]
    news = provider.check(olds, template_props(sim.url)).inputs
    assert provider.diff("compute", olds, news).changes is False
    before_partitions = {k: olds[k] for k in SPEC_KEYS}
    canonical = json.dumps(before_partitions, sort_keys=True, separators=(",", ":"))
    assert outs["version"] == hashlib.sha256(canonical.encode()).hexdigest()[:16]
    with_partition = copy.deepcopy(news)
    with_partition["boot_sets"]["compute"]["node_partitions"] = ["p1"]
    assert provider.diff("compute", olds, with_partition).changes is True


def test_read_detects_a_manual_bss_edit(fleet: Fleet, sim: SimServer) -> None:
    provider, outs = _created(sim)
    victim = nodes(outs["hosts"]["compute"])[3]
    fleet.bootparams[victim]["params"] = "console=ttyS0 init=/bin/sh"
    result = provider.read("compute", outs)
    assert result.inputs is not None and result.outs is not None
    assert (
        result.inputs["boot_sets"]["compute"]["kernel_parameters"] == "console=ttyS0 init=/bin/sh"
    )
    assert any("kernel_parameters" in d and "on 1 node" in d for d in result.outs["drift"])
    # The next `up` sees the drift as a change against the program's inputs.
    program = provider.check(result.outs, template_props(sim.url)).inputs
    assert provider.diff("compute", {**result.outs, **result.inputs}, program).changes is True


def test_a_hand_edit_of_the_record_a_nodes_ipxe_finds_is_drift(
    fleet: Fleet, sim: SimServer
) -> None:
    """`ochami bss boot params set --macs ...` edits what the node boots (its iPXE asks by
    MAC) and leaves the record by name alone: refresh shows it, the next update puts it back."""
    provider, outs = _created(sim)
    victim = nodes(outs["hosts"]["compute"])[5]
    mac = fleet.nodes[victim].mac.lower()
    fleet.bootparams_by_mac[mac] = {**fleet.bootparams_by_mac[mac], "params": "init=/bin/sh"}
    result = provider.read("compute", outs)
    assert result.inputs is not None and result.outs is not None
    assert result.inputs["boot_sets"]["compute"]["kernel_parameters"] == "init=/bin/sh"
    assert any(f"on 1 node(s): {victim}" in d for d in result.outs["drift"])
    program = provider.check(result.outs, template_props(sim.url)).inputs
    provider.update("compute", {**result.outs, **result.inputs}, program)
    assert fleet.bootparams_by_mac[mac] == fleet.bootparams[victim]
    script = fleet.boot_script(mac=mac) or ""
    assert "ochami.template=compute" in script and "init=/bin/sh" not in script


def test_read_detects_edited_cloud_init(fleet: Fleet, sim: SimServer) -> None:
    provider, outs = _created(sim)
    fleet.cloud_init_groups["compute"]["file"]["content"] = "#cloud-config\nruncmd: [reboot]\n"
    result = provider.read("compute", outs)
    assert result.inputs is not None
    assert result.inputs["cloud_init"]["user_data"] == "#cloud-config\nruncmd: [reboot]\n"


def test_read_without_drift_reports_none(sim: SimServer) -> None:
    provider, outs = _created(sim)
    result = provider.read("compute", outs)
    assert result.outs is not None and result.inputs is not None
    assert result.outs["drift"] == []
    assert {k: result.inputs[k] for k in SPEC_KEYS} == {k: outs[k] for k in SPEC_KEYS}


def test_update_rewrites_changed_nodes_and_removes_leavers(fleet: Fleet, sim: SimServer) -> None:
    provider, outs = _created(sim)
    names = list(fleet.nodes)
    fleet.add_group("compute", names[8:16])  # four nodes left the group
    props = template_props(sim.url)
    props["boot_sets"]["compute"]["kernel_parameters"] = "console=ttyS1"
    props["cloud_init"]["meta_data"] = {"site": "changed"}
    before = len(fleet.requests)
    new_outs = provider.update("compute", outs, provider.check(outs, props).inputs).outs
    assert new_outs is not None
    assert sorted(fleet.bootparams) == sorted(names[8:16])
    assert {r["params"] for r in fleet.bootparams.values()} == {
        "console=ttyS1 ochami.template=compute ochami.boot_set=compute"
        f" ochami.version={new_outs['version']}"
    }
    assert fleet.cloud_init_groups["compute"]["meta-data"] == {"site": "changed"}
    writes = [r for r in fleet.requests[before:] if r[1] not in ("GET",)]
    # Each BSS write twice: by name, then by the nodes' MACs (what their iPXE asks for).
    assert [(s, m) for s, m, _ in writes] == [
        ("bss", "PUT"),
        ("bss", "PUT"),
        ("bss", "DELETE"),
        ("bss", "DELETE"),
        ("cloud-init", "PUT"),
    ]
    assert sorted(fleet.bootparams_by_mac) == sorted(fleet.nodes[n].mac for n in names[8:16])
    assert fleet.bootparams_by_mac == {
        m: fleet.bootparams[n] for n in names[8:16] for m in [fleet.nodes[n].mac]
    }
    assert any("hosts" in c and "4 node" in c for c in new_outs["changes"])


def test_update_with_nothing_changed_writes_nothing(fleet: Fleet, sim: SimServer) -> None:
    provider, outs = _created(sim)
    before = len(fleet.requests)
    provider.update("compute", outs, provider.check(outs, template_props(sim.url)).inputs)
    assert all(method == "GET" for _, method, _ in fleet.requests[before:])


def test_delete_removes_everything_it_wrote(fleet: Fleet, sim: SimServer) -> None:
    fleet.bootparams["x9999c0s0b0n0"] = {"kernel": "k", "initrd": "", "params": ""}
    provider, outs = _created(sim)
    provider.delete("compute", outs)
    assert list(fleet.bootparams) == ["x9999c0s0b0n0"]  # not ours: untouched
    assert fleet.cloud_init_groups == {}


def test_session_reboots_every_node_and_records_results(fleet: Fleet, sim: SimServer) -> None:
    _, template = _created(sim)
    result = BootSessionProvider().create(session_props(sim, template))
    outs = result.outs
    assert outs is not None
    assert outs["status"] == "completed" and outs["error_message"] == ""
    assert outs["power_operation"] == "Hard-Restart"
    assert nodes(outs["results"]["succeeded"]) == nodes(template["hosts"]["compute"])
    assert outs["completed_at"] >= outs["created"]
    assert all(fleet.nodes[x].power == "on" for x in nodes(template["hosts"]["compute"]))
    assert outs["template_version"] == template["version"]
    assert result.id.startswith("reboot-compute-")


def test_failed_nodes_are_retried_alone_on_the_next_up(fleet: Fleet, sim: SimServer) -> None:
    _, template = _created(sim)
    bad = nodes(template["hosts"]["compute"])[2]
    fleet.power_failures[bad] = 3  # fails the first run and its one retry
    provider = BootSessionProvider()
    props = session_props(sim, template)
    outs = provider.create(props).outs
    assert outs is not None
    assert outs["status"] == "failed" and outs["retry_count"] == 1
    assert list(outs["results"]["failed"]) == [bad]
    # PCS's own words, in the node's error and in the summary by error.
    assert "giving up after 4 attempt(s)" in outs["results"]["failed"][bad]
    assert "connection refused" in outs["results"]["failed"][bad]
    assert list(outs["results"]["error_summary"]) == [outs["results"]["failed"][bad]]
    assert bad in outs["error_message"]

    diff = provider.diff("id", outs, props)
    assert diff.changes is True and diff.replaces == []
    before = len(fleet.transitions)
    retried = provider.update("id", outs, props).outs
    assert retried is not None
    new_transitions = list(fleet.transitions.values())[before:]
    assert {t.xname for tr in new_transitions for t in tr.tasks} == {bad}
    assert retried["status"] == "completed"
    assert nodes(retried["results"]["succeeded"]) == nodes(template["hosts"]["compute"])
    # Four power attempts in all: the first, its in-run retry, the re-run and its retry.
    assert retried["retry_count"] == 3


def test_a_rolling_reboot_stops_at_its_failure_budget_and_the_next_up_continues(
    fleet: Fleet, sim: SimServer
) -> None:
    _, template = _created(sim)
    compute = nodes(template["hosts"]["compute"])
    bad = compute[5]  # in the second of three batches
    fleet.power_failures[bad] = 2  # its first try and its one retry
    provider = BootSessionProvider()
    props = session_props(sim, template, batch_size=4, max_failed=0)
    outs = provider.create(props).outs
    assert outs is not None and outs["status"] == "failed"
    touched = [[t.xname for t in tr.tasks] for tr in fleet.transitions.values()]
    assert touched == [compute[:4], compute[4:8], [bad]]
    results = outs["results"]
    assert results["batches"] == {"total": 3, "done": 2}
    assert nodes(results["pending"]) == compute[8:]
    assert [nodes(v) for v in results["skipped"].values()] == [compute[8:]]
    assert outs["error_message"].startswith("stopped after batch 2 of 3: 1 node(s) failed")
    # The next `up`: the failed node and the nodes not reached, in batches again.
    before = len(fleet.transitions)
    retried = provider.update("id", outs, props).outs
    assert retried is not None and retried["status"] == "completed"
    touched = [[t.xname for t in tr.tasks] for tr in list(fleet.transitions.values())[before:]]
    assert touched == [[bad, *compute[8:11]], [compute[11]]]
    assert nodes(retried["results"]["succeeded"]) == compute
    assert {k: nodes(v) for k, v in retried["results"]["phases"].items()} == {"booted": compute}
    assert retried["results"]["skipped"] == {}


def test_a_run_that_failed_before_resolving_its_nodes_runs_again_in_full(
    fleet: Fleet, sim: SimServer
) -> None:
    """SMD down at the start: no node was resolved, so there are none to "retry"; the next up
    must run the session again, not fail it again with nothing to do."""
    _, template = _created(sim)
    provider = BootSessionProvider()
    props = session_props(sim, template)
    fleet.faults.add("smd", "GET", "/groups", status=503, times=None)
    outs = provider.create(props).outs
    assert outs is not None and outs["status"] == "failed" and outs["node_count"] == 0
    assert "HTTP 503" in outs["error_message"]
    fleet.faults.clear()
    assert provider.diff("id", outs, props).changes is True
    retried = provider.update("id", outs, props).outs
    assert retried is not None and retried["status"] == "completed"
    assert nodes(retried["results"]["succeeded"]) == nodes(template["hosts"]["compute"])


def test_stage_writes_config_and_powers_nothing(fleet: Fleet, sim: SimServer) -> None:
    _, template = _created(sim)
    fleet.bootparams.clear()  # someone wiped BSS: a stage session puts it back
    outs = BootSessionProvider().create(session_props(sim, template, operation="stage")).outs
    assert outs is not None and outs["status"] == "completed"
    assert sorted(fleet.bootparams) == nodes(template["hosts"]["compute"])
    assert fleet.transitions == {}


def test_boot_leaves_nodes_on_the_current_version_and_reboots_the_rest(
    fleet: Fleet, sim: SimServer
) -> None:
    """BOS's `boot`: the first powers every node on; a second finds them on the current
    version and touches none; after the template changes, one reboots every node on."""
    provider, template = _created(sim)
    compute = nodes(template["hosts"]["compute"])

    def boot(name: str, template: dict[str, Any]) -> dict[str, Any]:
        props = session_props(
            sim, template, name=name, operation="boot", template_writes=template["written"]
        )
        outs = BootSessionProvider().create(props).outs
        assert outs is not None and outs["status"] == "completed", outs
        return dict(outs["results"])

    first = boot("boot-1", template)
    assert first["steps"] == {"On": len(compute)}
    assert nodes(first["phases"]["booted"]) == compute
    before = len(fleet.transitions)
    second = boot("boot-2", template)
    assert second["steps"] == {"left alone": len(compute)}
    assert nodes(second["phases"]["current"]) == compute
    assert len(fleet.transitions) == before  # nothing powered
    # The template changes: every node runs something else now.
    time.sleep(1.1)  # BSS records fetches in whole seconds
    props = template_props(sim.url)
    props["boot_sets"]["compute"]["kernel_parameters"] = "console=ttyS1"
    changed = provider.update("compute", template, provider.check(template, props).inputs).outs
    assert changed is not None
    fleet.nodes[compute[0]].power = "off"  # and one node was switched off since
    third = boot("boot-3", changed)
    assert third["steps"] == {"On": 1, "Hard-Restart": len(compute) - 1}
    assert nodes(third["phases"]["booted"]) == compute


def test_limit_narrows_the_session(fleet: Fleet, sim: SimServer) -> None:
    _, template = _created(sim)
    first = nodes(template["hosts"]["compute"])[0]
    outs = (
        BootSessionProvider()
        .create(session_props(sim, template, operation="boot", limit=[first]))
        .outs
    )
    assert outs is not None and outs["results"]["succeeded"] == first
    assert [t.xname for tr in fleet.transitions.values() for t in tr.tasks] == [first]


def test_a_stack_that_requires_a_limit_refuses_sessions_that_name_none(
    fleet: Fleet, sim: SimServer
) -> None:
    """`ochami:sessionLimitRequired`: a session that may reboot or power off nodes must name
    them (BOS's session_limit_required); `*` names every node of the template out loud."""
    _, template = _created(sim)
    guarded = {"uri": sim.url, "sessionLimitRequired": True}
    before = fleet.count(writes_only=True)
    for operation in ("boot", "reboot", "shutdown"):
        props = {
            "name": "wide",
            "template": {k: template[k] for k in SPEC_KEYS},
            "operation": operation,
            "connection": guarded,
        }
        failures = BootSessionProvider().check({}, props).failures
        assert [f.property for f in failures] == ["limit"], failures
        assert "ochami:sessionLimitRequired" in failures[0].reason
        assert "`*` for every node" in failures[0].reason
    assert fleet.count(writes_only=True) == before
    stage = session_props(sim, template, operation="stage", connection=guarded)
    assert stage is not None  # writes configuration only: no limit needed
    every = session_props(sim, template, limit=["*"], connection=guarded)
    outs = BootSessionProvider().create(every).outs
    assert outs is not None and outs["status"] == "completed"
    assert nodes(outs["results"]["succeeded"]) == nodes(template["hosts"]["compute"])


def test_nodes_disabled_or_locked_in_smd_are_skipped_and_reported(
    fleet: Fleet, sim: SimServer
) -> None:
    """BOS skips nodes SMD marks disabled (unless include_disabled) and nodes locked by
    someone else; both are reported as skipped with the reason, and never powered."""
    _, template = _created(sim)
    compute = nodes(template["hosts"]["compute"])
    fleet.nodes[compute[0]].enabled = False
    fleet.nodes[compute[1]].locked = True
    outs = BootSessionProvider().create(session_props(sim, template)).outs
    assert outs is not None and outs["status"] == "completed"
    results = outs["results"]
    assert results["skipped"] == {
        "disabled in SMD (include_disabled: true acts on them)": compute[0],
        "locked in SMD (an admin's lock: PCS will not power it)": compute[1],
    }
    assert nodes(results["phases"]["skipped"]) == compute[:2]
    # As `cray bos v2 sessions status` shows it: each phase's share, and the timing.
    share = round(100 * 2 / len(compute), 1)
    assert results["percent"] == {"booted": round(100 - share, 1), "skipped": share}
    started = datetime.fromisoformat(outs["started_at"])
    ended = datetime.fromisoformat(outs["completed_at"])
    assert outs["duration_seconds"] == round((ended - started).total_seconds(), 1)
    assert nodes(results["succeeded"]) == compute[2:]
    powered = {t.xname for tr in fleet.transitions.values() for t in tr.tasks}
    assert powered == set(compute[2:])
    # include_disabled: the disabled node is acted on; the locked one is still left alone.
    again = BootSessionProvider().create(
        session_props(sim, template, name="again", include_disabled=True)
    )
    assert again.outs is not None
    assert list(again.outs["results"]["skipped"].values()) == [compute[1]]


def test_hooks_run_before_the_first_power_action_and_after_the_session(
    fleet: Fleet, sim: SimServer, tmp_path: Path
) -> None:
    """pre_command / post_command (drain in Slurm, resume after) see the session's nodes in
    hostlist notation; a failing pre_command stops the session before any power action."""
    _, template = _created(sim)
    compute = template["hosts"]["compute"]
    said = tmp_path / "hooks.log"
    pre = f'echo "pre $OCHAMI_SESSION $OCHAMI_OPERATION $OCHAMI_NODES $OCHAMI_NODE_COUNT" >> {said}'
    post = f'echo "post $OCHAMI_SESSION_STATUS $OCHAMI_NODES" >> {said}'
    props = session_props(sim, template, pre_command=pre, post_command=post)
    outs = BootSessionProvider().create(props).outs
    assert outs is not None and outs["status"] == "completed"
    count = len(nodes(compute))
    assert said.read_text().splitlines() == [
        f"pre reboot-compute reboot {compute} {count}",
        f"post completed {compute}",
    ]
    # A failing pre_command: the session fails saying why, and nothing is powered.
    before = len(fleet.transitions)
    failing = session_props(
        sim,
        template,
        name="drain-fails",
        pre_command="echo 'scontrol: slurmctld down' >&2; exit 3",
        post_command=f"echo never >> {said}",
    )
    outs = BootSessionProvider().create(failing).outs
    assert outs is not None and outs["status"] == "failed"
    assert (
        "pre_command" in outs["error_message"] and "exited with status 3" in outs["error_message"]
    )
    assert (
        "slurmctld down" in outs["error_message"] and "no node was powered" in outs["error_message"]
    )
    assert len(fleet.transitions) == before
    assert "never" not in said.read_text()
    # A failing post_command (resume) fails the session after its nodes were powered.
    resume_fails = session_props(sim, template, name="resume-fails", post_command="exit 1")
    outs = BootSessionProvider().create(resume_fails).outs
    assert outs is not None and outs["status"] == "failed"
    assert nodes(outs["results"]["succeeded"]) == nodes(compute)
    assert "post_command 'exit 1' exited with status 1" in outs["error_message"]


def test_a_session_recorded_before_a_field_existed_does_not_run_again(sim: SimServer) -> None:
    """An upgrade that adds spec fields with defaults (to the session, or to the template it
    copies) must not make recorded sessions look changed: a changed template reruns a
    session, and a reboot session reruns by rebooting."""
    _, template = _created(sim)
    news = session_props(sim, template)
    olds = copy.deepcopy(news)
    del olds["boot_settle_seconds"], olds["include_disabled"]
    del olds["template"]["boot_sets"]["compute"]["node_roles_groups"]
    del olds["template"]["boot_sets"]["compute"]["node_partitions"]
    diff = BootSessionProvider().diff("reboot-compute", olds, news)
    assert diff.changes is False and diff.replaces == []
    # A real change still reruns it, for the nodes whose boot it changed: an update.
    news["template"]["boot_sets"]["compute"]["kernel_parameters"] = "console=ttyS1"
    diff = BootSessionProvider().diff("reboot-compute", olds, news)
    assert diff.changes is True and diff.replaces == []


def test_limit_matching_nothing_fails_the_session(sim: SimServer) -> None:
    _, template = _created(sim)
    outs = BootSessionProvider().create(session_props(sim, template, limit=["x3000c0s0b0n0"])).outs
    assert outs is not None and outs["status"] == "failed"
    assert "resolve to no node" in outs["error_message"]


def test_a_node_that_comes_on_and_hangs_is_restarted_by_the_retry(
    fleet: Fleet, sim: SimServer
) -> None:
    """A boot powers on the nodes that are off; one hangs in its firmware and never asks BSS.
    Powering it on again would do nothing (it is on): its retry is a Hard-Restart, after
    which it boots, and no other node is powered twice."""
    _, template = _created(sim)
    compute = nodes(template["hosts"]["compute"])
    hung = compute[3]
    fleet.firmware_hangs[hung] = 1
    before = len(fleet.transitions)
    outs = (
        BootSessionProvider()
        .create(
            session_props(
                sim, template, operation="boot", booted_when="bootscript", boot_timeout_seconds=1
            )
        )
        .outs
    )
    assert outs is not None and outs["status"] == "completed", outs["error_message"]
    assert outs["retry_count"] == 1 and outs["results"]["steps"] == {"On": len(compute)}
    runs = list(fleet.transitions.values())[before:]
    assert [(r.operation, sorted(t.xname for t in r.tasks)) for r in runs] == [
        ("On", sorted(compute)),
        ("Hard-Restart", [hung]),
    ]
    assert fleet.nodes[hung].power == "on" and fleet.firmware_hangs[hung] == 0


def test_session_delete_leaves_power_alone_unless_asked(fleet: Fleet, sim: SimServer) -> None:
    _, template = _created(sim)
    provider = BootSessionProvider()
    outs = provider.create(session_props(sim, template, operation="boot")).outs
    assert outs is not None
    count = len(fleet.transitions)
    provider.delete("id", outs)
    assert len(fleet.transitions) == count
    provider.delete("id", {**outs, "shutdown_on_delete": True})
    last = list(fleet.transitions.values())[-1]
    assert last.operation == "Soft-Off" and len(last.tasks) == 12


def test_a_10000_node_session_records_ranges_counts_and_failures_by_error() -> None:
    """Readable at scale: succeeded nodes as hostlist ranges and a count, failed nodes one by
    one with their error, and an error summary (BOS's error_summary), in a few hundred bytes."""
    fleet = Fleet.generate(10_000, power_delay=0.0)
    stuck = sorted(fleet.nodes)[5000]
    failing = sorted(fleet.nodes)[100:102]
    fleet.unsupported.update(failing)
    fleet.no_netboot.add(stuck)
    for node in fleet.nodes.values():
        node.power = "on"  # a reboot restarts nodes that are on
    with SimServer(fleet) as sim:
        props = template_props(sim.url)
        props["connection"]["verifyArtifacts"] = False
        template = (
            BootTemplateProvider().create(BootTemplateProvider().check({}, props).inputs).outs
        )
        assert template is not None
        inputs = session_props(sim, template, boot_timeout_seconds=0.5)
        outs = BootSessionProvider().create(inputs).outs
    assert outs is not None and outs["status"] == "failed"
    results = outs["results"]
    assert results["succeeded_count"] == 9_997 and results["pending_count"] == 0
    assert sorted(results["failed"]) == sorted([*failing, stuck])
    summary = results["error_summary"]
    assert summary["Operation Hard-Restart not supported by this component"] == {
        "count": 2,
        "nodes": f"{failing[0][:-1]}[0-1]",
    }
    assert [g["count"] for g in summary.values()] == [2, 1]
    assert set(results["phases"]) == {"booted", "failed"}
    assert results["phases"]["booted"] == results["succeeded"]
    assert len(json.dumps(results)) < 1500, len(json.dumps(results))


@pytest.mark.parametrize("size", [100, 10_000])
def test_write_requests_do_not_grow_with_the_fleet(size: int) -> None:
    """Template apply plus a reboot session: the same requests for 100 nodes as for 10,000."""
    fleet = Fleet.generate(size, power_delay=0.0)
    with SimServer(fleet) as sim:
        props = template_props(sim.url)
        props["connection"]["verifyArtifacts"] = False
        template = (
            BootTemplateProvider().create(BootTemplateProvider().check({}, props).inputs).outs
        )
        assert template is not None and template["node_count"] == size
        outs = BootSessionProvider().create(session_props(sim, template)).outs
        assert outs is not None and outs["results"]["succeeded_count"] == size
    by_service: dict[str, int] = {}
    for service, method, _path in fleet.requests:
        if method != "GET":
            by_service[f"{service} {method}"] = by_service.get(f"{service} {method}", 0) + 1
    # smd POST: the lock-status read (locked nodes are skipped), the session's reservation of
    # its nodes, and its release.
    # bss PUT: the boot set's record by name, and by MAC, by the template; the same two again
    # by the session, naming itself in the records (the node's last session)
    # pcs POST: the reboot's power read (nodes off are powered on, not restarted; the On
    # step that follows uses it), and the transition.
    assert by_service == {"bss PUT": 4, "cloud-init POST": 1, "pcs POST": 2, "smd POST": 3}
    reads = sum(1 for _, method, _ in fleet.requests if method == "GET")
    # group, BSS and cloud-init reads in check, create and the session (its check reads the
    # template's group and its nodes' records, by name and by MAC: whose they are), the
    # session's boot-script preflight (the nodes' MACs, one script), plus PCS polls
    assert reads <= 20


def test_read_with_only_inputs_adopts_existing_data(fleet: Fleet, sim: SimServer) -> None:
    """What `pulumi import` does: read from the program's inputs, no outputs recorded yet."""
    provider, outs = _created(sim)
    inputs = provider.check({}, template_props(sim.url)).inputs
    result = provider.read("compute", inputs)
    assert result.outs is not None and result.outs["drift"] == []
    assert result.inputs is not None
    assert result.inputs["cloud_init"]["user_data"] == outs["cloud_init"]["user_data"]


def test_adopt_takes_over_an_existing_cloud_init_group(fleet: Fleet, sim: SimServer) -> None:
    fleet.cloud_init_groups["compute"] = {
        "name": "compute",
        "meta-data": {"old": True},
        "file": {"content": "#cloud-config\n"},
    }
    provider = BootTemplateProvider()
    inputs = provider.check({}, {**template_props(sim.url), "adopt": True}).inputs
    outs = provider.create(inputs).outs
    assert outs is not None and outs["cloud_init_groups"] == ["compute"]
    assert fleet.cloud_init_groups["compute"]["meta-data"] == {"site": "test"}
    assert outs["adopted"]["compute"]["meta_data"] == {"old": True}
    # Destroy puts back the admin's data rather than deleting it (before: it was gone).
    provider.delete("compute", outs)
    assert fleet.bootparams == {}
    assert fleet.cloud_init_groups["compute"]["meta-data"] == {"old": True}
    assert fleet.cloud_init_groups["compute"]["file"]["content"] == "#cloud-config\n"


def test_preview_says_what_adopting_a_group_means(fleet: Fleet, sim: SimServer) -> None:
    fleet.cloud_init_groups["compute"] = {"name": "compute", "file": {"content": "#cloud-config\n"}}
    said: list[str] = []
    core = TemplateLifecycle(log=said.append)  # the provider logs to `pulumi up`'s output
    inputs, problems = core.check({}, {**template_props(sim.url), "adopt": True})
    assert inputs is not None and problems == []
    assert said == [
        "template compute adopts the cloud-init data group compute holds now; it is kept,"
        " and destroying the template puts it back"
    ]


def test_node_list_entry_smd_does_not_know_is_refused_before_any_write(
    fleet: Fleet, sim: SimServer
) -> None:
    # BSS would store it without complaint (see test_contract), so the provider checks first.
    props = template_props(sim.url)
    props["boot_sets"]["compute"]["node_list"] = [list(fleet.nodes)[0], "x9999c0s0b0n0"]
    provider = BootTemplateProvider()
    with pytest.raises(InvalidInputError) as caught:
        provider.create(provider.check({}, props).inputs)
    assert caught.value.field == "boot_sets.compute.node_list"
    assert caught.value.value == "x9999c0s0b0n0"
    assert fleet.count(writes_only=True) == 0


def _two_set_template(sim: SimServer) -> dict[str, Any]:
    props = template_props(sim.url)
    props["boot_sets"]["login"] = {
        **props["boot_sets"]["compute"],
        "node_groups": ["login"],
    }
    _, outs = _created(sim, boot_sets=props["boot_sets"])
    return outs


def _edited(props: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of session props whose template has `value` at `path` (a.b.c)."""
    edited = copy.deepcopy(props)
    *parents, leaf = path.split(".")
    target = edited["template"]
    for key in parents:
        target = target[key]
    target[leaf] = value
    return edited


def test_a_template_change_reruns_a_session_only_for_the_nodes_whose_boot_changed(
    fleet: Fleet, sim: SimServer
) -> None:
    """Issue 21: a template edit reran (rebooted) every session over it. Now a description or
    another boot set's change leaves the session alone; its own boot set's change reruns it for
    that boot set's nodes (within its limit) alone, as an update, and says so at preview."""
    template = _two_set_template(sim)
    provider = BootSessionProvider()
    props = session_props(sim, template, limit=["compute"])
    outs = provider.create(props).outs
    assert outs is not None and outs["status"] == "completed"
    compute = nodes(template["hosts"]["compute"])
    assert nodes(outs["results"]["succeeded"]) == compute

    for path, value in (
        ("description", "edited"),
        ("boot_sets.login.kernel_parameters", "console=ttyS1"),
        ("cloud_init.description", "relabelled"),
        ("name", "renamed"),
    ):
        diff = provider.diff("id", outs, _edited(props, path, value))
        assert diff.changes is False, path

    news = _edited(props, "boot_sets.compute.kernel_parameters", "console=ttyS1")
    diff = provider.diff("id", outs, news)
    assert diff.changes is True and diff.replaces == []
    some = compute[:4]
    limited = {**news, "limit": ["compute", "!" + ",!".join(compute[4:])]}
    assert provider.core.due(outs, limited).nodes == some
    before = len(fleet.transitions)
    rerun = provider.update("id", outs, news).outs
    assert rerun is not None and rerun["status"] == "completed"
    touched = {t.xname for tr in list(fleet.transitions.values())[before:] for t in tr.tasks}
    assert touched == set(compute)
    assert rerun["retry_count"] == 0
    assert rerun["template_version"] != outs["template_version"]

    # The site chooses the moment: no template change makes the session due.
    off = {"rerun_on_template_change": False}
    assert provider.diff("id", {**outs, **off}, {**news, **off}).changes is False
    # Nothing is left to do for a shutdown or a stage once done.
    for operation in ("shutdown", "stage"):
        assert not provider.core.due(
            {**outs, "operation": operation}, {**news, "operation": operation}
        )


def test_an_admins_hand_made_record_for_a_node_the_template_let_go_is_kept(
    fleet: Fleet, sim: SimServer
) -> None:
    """Issue 21: a node taken out of the template's group, then given a record by hand (by
    name and by MAC, no owner marker): the update removed both. Only records that still carry
    the template's own marker are its to remove, on update and on destroy."""
    provider, outs = _created(sim)
    names = list(fleet.nodes)
    leaver, mac = names[4], fleet.nodes[names[4]].mac
    fleet.add_group("compute", names[5:16])
    hand_made = {"hosts": [leaver], "kernel": "http://mine/vmlinuz", "params": "console=ttyS1"}
    fleet.bootparams[leaver] = dict(hand_made)
    fleet.bootparams_by_mac[mac] = {**hand_made, "hosts": [], "macs": [mac]}
    props = template_props(sim.url)
    updated = provider.update("compute", outs, provider.check(outs, props).inputs).outs
    assert updated is not None
    assert fleet.bootparams[leaver] == hand_made
    assert fleet.bootparams_by_mac[mac]["params"] == "console=ttyS1"
    provider.delete("compute", updated)
    assert fleet.bootparams[leaver] == hand_made
    assert sorted(fleet.bootparams) == [leaver]


def test_a_failed_post_command_runs_again_alone_on_the_next_up(
    fleet: Fleet, sim: SimServer, tmp_path: Path
) -> None:
    """Issue 21: a post_command that failed left the session failed for good: the next `up`
    retried no node, and the hook (Slurm's resume, say) never ran again. Now the next `up`
    runs the hook alone, powers nothing, and the session completes."""
    _, template = _created(sim)
    flag, said = tmp_path / "slurmctld-up", tmp_path / "resumed"
    resume = f'test -f {flag} || {{ touch {flag}; exit 1; }}; echo "$OCHAMI_NODES" >> {said}'
    provider = BootSessionProvider()
    props = session_props(sim, template, post_command=resume)
    outs = provider.create(props).outs
    assert outs is not None and outs["status"] == "failed"
    assert provider.diff("id", outs, props).changes is True
    before = len(fleet.transitions)
    outs = provider.update("id", outs, props).outs
    assert outs is not None and outs["status"] == "completed" and outs["error_message"] == ""
    assert len(fleet.transitions) == before
    assert said.read_text().split() == [template["hosts"]["compute"]]
    assert provider.diff("id", outs, props).changes is False


def test_a_session_whose_boot_script_bss_cannot_render_powers_nothing(
    fleet: Fleet, sim: SimServer
) -> None:
    """Issue 21, item 7: with `spire_join_token=${SPIRE_JOIN_TOKEN}` and no SPIRE token service,
    BSS answers every boot-script request with 404, no node can boot, and the reboot session
    polled for 20 minutes. Now BSS is asked for one node's script per boot set first."""
    template = _two_set_template(sim)
    fleet.faults.add("bss", "GET", "/bootscript", kind="status", status=404, times=None)
    outs = BootSessionProvider().create(session_props(sim, template)).outs
    assert outs is not None and outs["status"] == "failed"
    assert "BSS cannot render the boot script of" in outs["error_message"]
    assert "no node was powered" in outs["error_message"]
    assert fleet.transitions == {}
    bootscript_asks = [r for r in fleet.requests if r[0] == "bss" and "bootscript" in r[2]]
    assert len(bootscript_asks) == 1  # the first boot set's, which already fails


def test_progress_is_said_when_it_changes_not_on_every_poll(fleet: Fleet, sim: SimServer) -> None:
    _, template = _created(sim)
    fleet.power_delay = 0.3
    said: list[str] = []
    core = SessionLifecycle(log=said.append, warn=said.append)
    record = core.create(SessionInputs.from_props(session_props(sim, template)))
    assert record.status == "completed"
    polls = [line for line in said if "in progress of" in line]
    assert len(polls) >= 2 and len(polls) == len(set(polls)), polls  # no line said twice
    assert "session reboot-compute: BSS renders the boot script of 1 boot set(s)" in said


def test_a_group_gone_from_smd_is_drift_and_destroy_still_removes_the_records(
    fleet: Fleet, sim: SimServer
) -> None:
    """Issue 21: `destroy` (which refreshes first) was refused once a targeted SMD group was
    gone. The refresh names the group as drift, and the delete removes the records."""
    provider, outs = _created(sim)
    del fleet.groups["compute"]
    read = provider.read("compute", outs).outs
    assert read is not None
    assert read["drift"][0] == "boot_sets.compute.node_groups: SMD has no group 'compute' any more"
    provider.delete("compute", read)
    assert fleet.bootparams == {} and fleet.bootparams_by_mac == {}


def test_a_session_over_another_stacks_template_is_refused_at_check(
    fleet: Fleet, sim: SimServer
) -> None:
    """Issue 21: a session whose template came from another configuration (remote state)
    'applied' with a warning and failed every apply after; it is refused at preview."""
    _, template = _created(sim, deployment="tf/site-a")
    props = {**session_props(sim, template), "deployment": "tf/site-b"}
    _, problems = BootSessionProvider().core.check({}, props)
    assert [p.field for p in problems] == ["template"]
    assert "booted by template 'compute' of stack 'tf/site-a'" in problems[0].message
    own = {**session_props(sim, template), "deployment": "tf/site-a"}
    assert BootSessionProvider().core.check({}, own)[1] == []
