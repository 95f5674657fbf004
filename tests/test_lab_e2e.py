"""Boot truth on real Linux VMs: the real `pulumi` CLI, the real SMD, BSS and cloud-init server,
and two QEMU VMs that network-boot what BSS hands them (tests/lab). Power goes through the
simulator's PCS, which drives the VMs as a BMC would.

What each VM booted is read from its serial console: the kernel command line (with the
template's owner marker) and the cloud-init data the server handed that VM.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ochami_provider.clients import Services
from ochami_provider.sim import Fleet
from tests.backends import needs_real
from tests.lab.harness import Lab, lab_on_real_services, ready
from tests.lab.image import CLOUD_INIT_DATA_SOURCE, CMDLINE
from tests.openchami.stack import OpenchamiStack
from tests.test_engine_e2e import ENGINE, ROOT, STACK, Project, _edit_stack

if os.environ.get("OCHAMI_LAB") == "required" and not ready():
    raise RuntimeError("OCHAMI_LAB=required but the lab is not set up (scripts/lab-setup.sh)")

pytestmark = [
    needs_real,
    pytest.mark.skipif(not ENGINE, reason="Pulumi engine not on PATH (scripts/engine.sh)"),
    pytest.mark.skipif(not ready(), reason="lab not set up (scripts/lab-setup.sh)"),
]

OWNER = f"ochami.template=compute-image@ochami-boot/{STACK}"
USER_DATA = "#cloud-config\nruncmd: [[echo, booted-by-ochami-boot]]\n"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[OpenchamiStack, Lab]]:
    fleet = Fleet.generate(2, power_delay=0.5)
    # Nodes reach the cloud-init server at the guest address the lab forwards.
    with lab_on_real_services(fleet, tmp_path_factory.mktemp("lab")) as (stack, vms):
        yield stack, vms


def _config(lab: Lab, kernel: str, **session: Any) -> dict[str, Any]:
    return {
        "ochami-boot:templates": {
            "compute-image": {
                "boot_sets": {
                    "compute": {
                        "kernel": lab.artifact_url(kernel),
                        "initrd": lab.artifact_url("initramfs.img"),
                        "kernel_parameters": f"console=ttyS0 quiet {CLOUD_INIT_DATA_SOURCE}",
                        "node_groups": ["compute"],
                    }
                },
                "cloud_init": {"meta_data": {"site": "lab"}, "user_data": USER_DATA},
            }
        },
        "ochami-boot:sessions": {
            "boot-compute": {
                "template": "compute-image",
                "operation": "reboot",
                "poll_interval_seconds": 0.5,
                "boot_timeout_seconds": 120,
                **session,
            }
        },
    }


def _project(tmp_path: Path, stack: OpenchamiStack, **settings: str) -> Project:
    """A stack of the project pointed at the lab's services (`settings`: more `ochami:` keys)."""
    assert stack.token is not None
    connection = {f"ochami:{k}": v for k, v in stack.connection().items()}
    connection["ochami:caBundle"] = str(stack.ca_bundle)
    connection.update({f"ochami:{k}": v for k, v in settings.items()})
    project = Project(tmp_path, stack.pcs_url, connection)
    project.write_config("unused")  # the connection; the lab's own config replaces the rest
    project.run("stack", "init", STACK)
    project.run("config", "set", "--secret", "ochami:token", stack.token)
    return project


def _a_boot_touches_none(project: Project, vms: Lab, nodes: list[str]) -> dict[str, Any]:
    """The session made a `boot` and run again: every VM runs the template's version, so
    none is powered (each keeps its QEMU process). Its results."""
    booted = {n: vms.vms[n].process for n in nodes}
    _edit_stack(
        project,
        lambda c: c["ochami-boot:sessions"]["boot-compute"].update(operation="boot"),
    )
    project.run("up", "--yes")
    assert project.outputs()["session:boot-compute:status"] == "completed"
    results: dict[str, Any] = project.outputs()["session:boot-compute:results"]
    assert results["steps"] == {"left alone": 2}, results
    states = {n: (vms.running(n), vms.vms[n].events) for n in nodes}
    assert all(vms.vms[n].process is booted[n] and vms.running(n) for n in nodes), states
    return results


def test_sessions_boot_real_vms_from_the_real_bss(
    tmp_path: Path, lab: tuple[OpenchamiStack, Lab]
) -> None:
    stack, vms = lab
    nodes = sorted(stack.fleet.nodes)
    project = _project(tmp_path, stack)
    _edit_stack(project, lambda c: c.update(_config(vms, "vmlinuz")))
    try:
        with Services.from_config(stack.config()) as services:
            # 1. A template and a reboot session: both VMs boot it.
            project.run("up", "--yes")
            assert project.outputs()["session:boot-compute:status"] == "completed"
            vms.wait_up(nodes)
            fetched = services.bss.last_fetches()
            for node in nodes:
                console = vms.console(node)
                cmdline = next(line for line in console.splitlines() if line.startswith(CMDLINE))
                assert OWNER in cmdline.split() and f"xname={node}" in cmdline
                assert USER_DATA.strip() in console.replace("\r", "")
                # The cloud-init server told the VMs apart: each got its own address back.
                assert f"local_ipv4: {stack.fleet.nodes[node].ip}" in console
                assert node in fetched

            # 1b. A kernel-parameter change reboots both VMs again, proved this time by their
            # own kernel command line (issue 22, item 4): the probe reads what each VM's /init
            # printed, the new version's marker in it; no BSS history is read.
            probe = (
                f"PYTHONPATH={ROOT} {sys.executable} -m tests.lab.probe --lab {vms.workdir}"
                ' -w "$OCHAMI_NODES" cat /proc/cmdline'
            )

            def by_cmdline(c: dict[str, Any]) -> None:
                boot_set = c["ochami-boot:templates"]["compute-image"]["boot_sets"]["compute"]
                boot_set["kernel_parameters"] += " lab.proof=cmdline"
                c["ochami-boot:sessions"]["boot-compute"].update(
                    booted_when="cmdline", probe_command=probe, max_retries=0
                )

            _edit_stack(project, by_cmdline)
            started = time.monotonic()
            project.run("up", "--yes")
            cmdline_seconds = time.monotonic() - started
            assert project.outputs()["session:boot-compute:status"] == "completed"
            results = project.outputs()["session:boot-compute:results"]
            assert results["phases"] == {"booted": f"{nodes[0][:-1]}[0-1]"}, results
            print(f"reboot proved by /proc/cmdline: {cmdline_seconds:.1f} s for {len(nodes)} VMs")

            # 2. A `boot` session on the same template: both VMs are on and booted its current
            # version (they asked BSS after the template wrote them); none is touched.
            results = _a_boot_touches_none(project, vms, nodes)
            assert results["phases"] == {"current": f"{nodes[0][:-1]}[0-1]"}

            # 3. A kernel URL that answers 404 (artifact check off): the VMs do not boot; the
            # session fails for each node, saying why; the template is written in full.
            _edit_stack(
                project,
                lambda c: (
                    c.update(_config(vms, "vmlinuz-missing", boot_settle_seconds=40, max_retries=0))
                    or c.update({"ochami:verifyArtifacts": "false"})
                ),
            )
            failed = project.run("up", "--yes", check=False)
            assert failed.returncode != 0
            outputs = project.outputs()
            assert outputs["session:boot-compute:status"] == "failed"
            errors = outputs["session:boot-compute:results"]["failed"]
            assert sorted(errors) == nodes
            assert all(
                "kernel or initrd the script names did not load" in e for e in errors.values()
            )
            assert not any(vms.running(n) for n in nodes)
            records = services.bss.get(nodes)
            assert {r.kernel for r in records.values()} == {vms.artifact_url("vmlinuz-missing")}
    finally:
        project.run("destroy", "--yes", check=False)


def test_sessions_boot_real_vms_from_the_real_boot_service(
    tmp_path: Path, lab: tuple[OpenchamiStack, Lab]
) -> None:
    """OpenCHAMI v0.2 on the same VMs: the template is a configuration of the real
    boot-service, the VMs' firmware asks its `/bootscript?mac=`, the reboot is proved by each
    VM's own command line; a `boot` after it powers nothing."""
    stack, vms = lab
    nodes = sorted(stack.fleet.nodes)
    project = _project(tmp_path, stack, bootBackend="boot-service")
    probe = (
        f"PYTHONPATH={ROOT} {sys.executable} -m tests.lab.probe --lab {vms.workdir}"
        ' -w "$OCHAMI_NODES" cat /proc/cmdline'
    )
    by_cmdline = {"booted_when": "cmdline", "probe_command": probe, "max_retries": 0}
    _edit_stack(project, lambda c: c.update(_config(vms, "vmlinuz", **by_cmdline)))
    stack.fleet.generation = "v0.2"
    try:
        with Services.from_config(stack.config(bootBackend="boot-service")) as services:
            started = time.monotonic()
            project.run("up", "--yes")
            seconds = time.monotonic() - started
            assert project.outputs()["session:boot-compute:status"] == "completed"
            vms.wait_up(nodes)
            version = project.outputs()["template:compute-image:version"]
            for node in nodes:
                console = vms.console(node)
                cmdline = next(line for line in console.splitlines() if line.startswith(CMDLINE))
                words = cmdline.split()
                assert OWNER in words and f"ochami.version={version}" in words
                # boot-service's own addition: the boot interface.
                mac = stack.fleet.nodes[node].mac.lower().replace(":", "-")
                assert f"BOOTIF=01-{mac}" in words
                print(f"{node}: booted from boot-service in {vms.boot_seconds(node):.1f} s")
            print(f"reboot from boot-service, proved by /proc/cmdline: {seconds:.1f} s (up)")
            assert services.bss.get(nodes) == {}  # nothing of it in BSS
            # The probe, not a fetch history, tells that both run the template already.
            _a_boot_touches_none(project, vms, nodes)
    finally:
        project.run("destroy", "--yes", check=False)
        stack.fleet.generation = "both"
