"""The end-to-end scenario of test_engine_e2e once more, through the real `pulumi` CLI against the
real SMD, BSS and cloud-init server (HTTPS to SMD with a CA bundle, JWT authentication); power
goes to the simulator's PCS, which holds the same fleet, and in the last test to the real PCS
driving emulated BMCs.

What the simulator lets a test count (requests), this one checks by reading the services back.
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ochami_provider.clients import Services
from ochami_provider.models.owner import Owner, group_owner
from ochami_provider.models.records import BootParams
from tests.backends import needs_real, needs_real_pcs
from tests.openchami.stack import OpenchamiStack
from tests.test_engine_e2e import ENGINE, STACK, Project, _edit_stack, _rename_template, owned

pytestmark = [
    needs_real,
    pytest.mark.skipif(not ENGINE, reason="Pulumi engine not on PATH (scripts/engine.sh)"),
]


def _project(path: Path, stack: OpenchamiStack) -> Project:
    assert stack.token is not None
    connection = {f"ochami:{k}": v for k, v in stack.connection().items()}
    connection["ochami:caBundle"] = str(stack.ca_bundle)
    project = Project(path, stack.pcs_url, connection)
    project.write_config("console=ttyS0 quiet")
    project.run("stack", "init", STACK)
    project.run("config", "set", "--secret", "ochami:token", stack.token)
    return project


@pytest.fixture
def real_project(tmp_path: Path, real_stack: OpenchamiStack) -> Iterator[Project]:
    project = _project(tmp_path, real_stack)
    yield project
    project.run("destroy", "--yes", check=False)


@pytest.fixture
def real_pcs_project(tmp_path: Path, real_pcs_stack: OpenchamiStack) -> Iterator[Project]:
    project = _project(tmp_path, real_pcs_stack)
    yield project
    project.run("destroy", "--yes", check=False)


def _params(services: Services, hosts: list[str]) -> dict[str, str]:
    return {h: owned(r.params) for h, r in services.bss.get(hosts).items()}


def test_up_preview_refresh_destroy_against_the_real_services(
    real_project: Project, real_stack: OpenchamiStack
) -> None:
    compute = real_stack.fleet.groups["compute"]["members"]["ids"]
    with Services.from_config(real_stack.config()) as services:
        up = real_project.run("up", "--yes")
        assert _params(services, compute) == {
            h: "console=ttyS0 quiet ochami.template=compute-image@ochami-boot/e2e" for h in compute
        }
        group = services.cloud_init.get_group("compute")
        assert group is not None and "runcmd" in group.file.content
        assert real_project.outputs()["session:boot-compute:status"] == "completed"
        assert all(real_stack.fleet.nodes[h].power == "on" for h in compute)
        # The session completed because each node asked the real BSS for its boot script after
        # the power-on (the test stack's stand-in firmware asks by MAC, as iPXE does).
        assert set(compute) <= set(services.bss.last_fetches())

        # preview shows the field-level change and writes nothing.
        real_project.write_config("console=ttyS0 quiet splash")
        preview = real_project.run("preview", "--diff")
        assert '"console=ttyS0 quiet" => "console=ttyS0 quiet splash"' in preview.stdout
        assert set(_params(services, compute).values()) == {
            "console=ttyS0 quiet ochami.template=compute-image@ochami-boot/e2e"
        }

        real_project.run("up", "--yes")
        assert set(_params(services, compute).values()) == {
            "console=ttyS0 quiet splash ochami.template=compute-image@ochami-boot/e2e"
        }

        # A manual edit in BSS: refresh sees it, the next up puts the template back.
        victim = sorted(compute)[0]
        services.bss.put(BootParams(hosts=[victim], kernel="http://x/k", params="init=/bin/sh"))
        real_project.run("refresh", "--yes")
        drifted = real_project.run("preview", "--diff")
        assert '"init=/bin/sh" => "console=ttyS0 quiet splash"' in drifted.stdout
        real_project.run("up", "--yes")
        assert _params(services, [victim]) == {
            victim: "console=ttyS0 quiet splash ochami.template=compute-image@ochami-boot/e2e"
        }

        assert real_stack.token not in real_project.state_text()
        assert real_stack.token not in up.stdout + up.stderr

        real_project.run("destroy", "--yes")
        assert services.bss.get(compute) == {}
        assert services.cloud_init.get_group("compute") is None


def test_a_rename_is_one_up_against_the_real_services(
    real_project: Project, real_stack: OpenchamiStack
) -> None:
    """The real BSS and cloud-init server keep the owner markers as written: the renamed
    template takes the nodes and the group over, and the old one's delete leaves them."""
    compute = real_stack.fleet.groups["compute"]["members"]["ids"]
    with Services.from_config(real_stack.config()) as services:
        real_project.run("up", "--yes")
        _edit_stack(real_project, _rename_template)
        real_project.run("up", "--yes")
        assert set(_params(services, compute).values()) == {
            "console=ttyS0 quiet ochami.template=compute-image-v2@ochami-boot/e2e"
        }
        group = services.cloud_init.get_group("compute")
        assert group is not None
        assert group_owner(group.description) == Owner("compute-image-v2", "ochami-boot/e2e")
        real_project.run("destroy", "--yes")
        assert services.bss.get(compute) == {}
        assert services.cloud_init.get_group("compute") is None


def _on_boot_service(real_stack: OpenchamiStack) -> Any:
    """The session proves boots by the nodes' own command line: boot-service keeps no fetch
    history. The probe asks the fleet, which boots from the real boot-service."""
    pdsh = f"{shlex.quote(sys.executable)} -m ochami_provider.sim.pdsh --sim {real_stack.pcs.url}"

    def edit(config: dict[str, Any]) -> None:
        config["ochami:bootBackend"] = "boot-service"
        session = config["ochami-boot:sessions"]["boot-compute"]
        session["booted_when"] = "cmdline"
        session["probe_command"] = f'{pdsh} -w "$OCHAMI_NODES" cat /proc/cmdline'

    return edit


def test_a_template_and_a_boot_session_on_the_real_boot_service(
    real_project: Project, real_stack: OpenchamiStack
) -> None:
    """OpenCHAMI v0.2 through the real engine: the template becomes a BootConfiguration of the
    real boot-service, the session's nodes boot it (the stand-in firmware asks
    `/bootscript?mac=`, as iPXE does) and are seen running it; an edit updates the same
    configuration; destroy removes ours."""
    compute = sorted(real_stack.fleet.groups["compute"]["members"]["ids"])
    _edit_stack(real_project, _on_boot_service(real_stack))
    real_stack.fleet.generation = "v0.2"
    config = real_stack.config(bootBackend="boot-service")
    try:
        with Services.from_config(config) as services:
            real_project.run("up", "--yes")
            assert real_project.outputs()["session:boot-compute:status"] == "completed"
            mine = [c for c in services.boot_service.list() if "ochami.template" in c.labels]
            assert [c.spec.hosts for c in mine] == [compute]
            assert mine[0].labels["ochami.session"] == "boot-compute"
            version = mine[0].labels["ochami.version"]
            for node in compute:
                assert f"ochami.version={version}" in real_stack.fleet.nodes[node].cmdline
            assert services.bss.get(compute) == {}  # nothing went to BSS

            real_project.write_config("console=ttyS0 quiet splash")
            _edit_stack(real_project, _on_boot_service(real_stack))
            preview = real_project.run("preview", "--diff")
            assert '"console=ttyS0 quiet" => "console=ttyS0 quiet splash"' in preview.stdout
            real_project.run("up", "--yes")
            # The template's write took the nodes back into its own configuration, then the
            # session (due: their kernel parameters changed) into its: one of ours is left,
            # holding every node, none emptied into a catch-all.
            after = [c for c in services.boot_service.list() if "ochami.template" in c.labels]
            assert [(c.spec.hosts, c.labels["ochami.session"]) for c in after] == [
                (compute, "boot-compute")
            ]
            assert owned(after[0].spec.params) == (
                "console=ttyS0 quiet splash ochami.template=compute-image@ochami-boot/e2e"
            )
            real_project.run("destroy", "--yes")
            assert [c for c in services.boot_service.list() if "ochami.template" in c.labels] == []
    finally:
        real_stack.fleet.generation = "both"


@needs_real_pcs
def test_a_boot_session_through_the_real_pcs(
    real_pcs_project: Project, real_pcs_stack: OpenchamiStack
) -> None:
    """`pulumi up` of a template and a `boot` session whose power goes to the real PCS, which
    drives sushy's BMCs: nodes off are powered On, nodes on (their BMCs said so at the start)
    are rebooted, and each asks the real BSS for its boot script after its power-on."""
    compute = sorted(real_pcs_stack.fleet.groups["compute"]["members"]["ids"])
    with Services.from_config(real_pcs_stack.config()) as services:
        started = time.monotonic()
        up = real_pcs_project.run("up", "--yes")
        took = time.monotonic() - started
        assert real_pcs_project.outputs()["session:boot-compute:status"] == "completed", up.stdout
        assert services.power.power_states(compute) == dict.fromkeys(compute, "on")
        assert set(compute) <= set(services.bss.last_fetches())
        steps = real_pcs_project.resource_outputs("boot-compute")["results"]["steps"]  # type: ignore[index]
        assert steps.get("On", 0) + steps.get("Hard-Restart", 0) == len(compute), steps
        assert "PCS On" in up.stdout or "PCS Hard-Restart" in up.stdout
    print(f"pulumi up, boot of {len(compute)} nodes through the real PCS: {took:.1f}s {steps}")
