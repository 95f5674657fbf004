"""`booted_when: cmdline` (issue 22, item 4): a node counts as booted once a probe command shows
its running kernel command line carrying the template's owner and version markers. Pure
parsing, then whole sessions against the simulator, whose nodes answer a pdsh stand-in with
the command line their network boot gave them."""

from __future__ import annotations

import shlex
import sys
from typing import Any

from ochami_provider import BootSessionProvider, BootTemplateProvider
from ochami_provider.boot_probe import Expected, booted, parse, probe
from ochami_provider.sim import Fleet, SimServer
from tests.conftest import nodes, template_props

PDSH_OUTPUT = """\
x1000c0s2b0n0: BOOT_IMAGE=http://h/k console=ttyS0 ochami.template=compute@p/s ochami.version=abc
x1000c0s2b0n1: BOOT_IMAGE=http://h/vmlinuz ochami.template=compute@p/s ochami.version=old
pdsh@admin: x1000c0s3b0n0: ssh exited with exit code 255
nid000042: console=ttyS0
x1000c0s3b0n1 no colon here
"""


def test_the_probes_output_is_read_as_pdsh_prints_it() -> None:
    found = parse(PDSH_OUTPUT)
    assert sorted(found) == ["x1000c0s2b0n0", "x1000c0s2b0n1"]  # no pdsh complaint, no nid
    expected = dict.fromkeys(found, Expected("compute@p/s", "abc"))
    assert booted(found, expected) == {"x1000c0s2b0n0"}  # the other runs an older version
    assert booted(found, {}) == set()  # a node nobody expects is never counted


def _pdsh(sim: SimServer) -> str:
    module = f"{shlex.quote(sys.executable)} -m ochami_provider.sim.pdsh --sim {sim.url}"
    return f'{module} -w "$OCHAMI_NODES" cat /proc/cmdline'


def _session(sim: SimServer, **extra: Any) -> dict[str, Any]:
    props = template_props(sim.url)
    props["connection"]["verifyArtifacts"] = False
    template = BootTemplateProvider().create(BootTemplateProvider().check({}, props).inputs).outs
    assert template is not None
    session = {
        "name": "reboot-compute",
        "template": {k: template[k] for k in ("name", "description", "boot_sets", "cloud_init")},
        "operation": "reboot",
        "poll_interval_seconds": 0.05,
        "booted_when": "cmdline",
        "connection": {"uri": sim.url},
        **extra,
    }
    checked = BootSessionProvider().check({}, session)
    assert not checked.failures, checked.failures
    outs = BootSessionProvider().create(checked.inputs).outs
    assert outs is not None
    return outs


def test_a_reboot_session_counts_the_nodes_that_run_the_templates_version(
    fleet: Fleet, sim: SimServer
) -> None:
    outs = _session(sim, probe_command=_pdsh(sim))
    assert outs["status"] == "completed", outs["error_message"]
    version = outs["template_version"]
    compute = sorted(fleet.groups["compute"]["members"]["ids"])
    assert nodes(outs["results"]["succeeded"]) == compute
    assert all(f"ochami.version={version}" in fleet.nodes[n].cmdline for n in compute)


def test_a_node_that_never_runs_the_template_fails_naming_the_version(
    fleet: Fleet, sim: SimServer
) -> None:
    silent = sorted(fleet.groups["compute"]["members"]["ids"])[0]
    fleet.no_netboot.add(silent)
    outs = _session(sim, probe_command=_pdsh(sim), boot_timeout_seconds=1)
    assert outs["status"] == "failed"
    assert list(outs["results"]["failed"]) == [silent]
    error = outs["results"]["failed"][silent]
    assert "probe_command never showed it running this template's kernel command line" in error
    assert f"ochami.version={outs['template_version']}" in error


def test_a_probe_that_shows_another_version_proves_nothing(fleet: Fleet, sim: SimServer) -> None:
    lying = "printf 'x1000c0s2b0n0: ochami.template=compute ochami.version=0000000000000000\\n'"
    outs = _session(sim, probe_command=lying, boot_timeout_seconds=1, limit=["x1000c0s2b0n0"])
    assert outs["status"] == "failed"
    assert list(outs["results"]["failed"]) == ["x1000c0s2b0n0"]


def test_a_probe_that_cannot_run_says_why() -> None:
    """Nothing parsed and a failure: the command's own words, for the log."""
    found, problem = probe("echo no such module >&2; exit 1", "s", "reboot", ["x0c0s0b0n0"], 5)
    assert found == {} and problem is not None
    assert "exited with status 1, no node answered: no such module" in problem
    assert probe("true", "s", "reboot", ["x0c0s0b0n0"], 5) == ({}, None)


def test_cmdline_without_a_probe_command_is_refused_at_check_naming_the_field(
    sim: SimServer,
) -> None:
    props = {
        "name": "s",
        "template": {
            "name": "t",
            "boot_sets": {"b": {"kernel": "http://h/k", "node_list": ["x1000c0s2b0n0"]}},
        },
        "operation": "reboot",
        "booted_when": "cmdline",
        "connection": {"uri": sim.url},
    }
    failures = BootSessionProvider().check({}, props).failures
    assert [f.property for f in failures] == ["probe_command"]
    assert "needed with booted_when 'cmdline'" in failures[0].reason


def test_a_node_whose_first_power_on_failed_is_retried_and_proved(
    fleet: Fleet, sim: SimServer
) -> None:
    bad = sorted(fleet.groups["compute"]["members"]["ids"])[0]
    fleet.power_failures[bad] = 1
    outs = _session(sim, probe_command=_pdsh(sim))
    assert outs["status"] == "completed", outs["error_message"]
    assert outs["retry_count"] == 1
    assert f"ochami.version={outs['template_version']}" in fleet.nodes[bad].cmdline
