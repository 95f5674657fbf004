"""The Redfish power backend's contract: each test runs against the simulator's BMCs and
against sushy-tools BMCs (one emulator per BMC, fake driver, HTTPS with the stack's CA, basic
auth) whose addresses the real SMD holds, through the power port as a session uses it. These
are the PCS contract's checks (test_pcs_contract.py) where Redfish has the same promise.

sushy's fake driver applies a change 1-11 s after the request, and only once the system is
read: the backend's confirmation reads are what bring a restarted node back on.

Nodes are shared by the tests on the real stack: 0 (off), 1-2 (off), 3 (off), 5-6 (off),
8 (on), 11 (on), 12-13 (off), 14 (off).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ochami_provider.clients import Services
from ochami_provider.errors import InvalidInputError, SessionConflictError
from ochami_provider.models import BootSessionSpec
from ochami_provider.models.owner import Owner, Stake
from ochami_provider.models.power import PowerProgress
from ochami_provider.ports import Power
from ochami_provider.reservations import NodeReservation
from ochami_provider.session_runner import run_session
from ochami_provider.template_writer import remove_template
from tests.backends import Backend, finished, reboot_two

STAKE = Stake(Owner("redfish-contract", "ochami-boot/contract"))
# sushy applies a change up to 11 s later; the reads come a second apart.
STEP_SECONDS = 60


def _finished(power: Power, run: str) -> PowerProgress:
    return finished(power, run, STEP_SECONDS, every=0.2)


def _statuses(progress: PowerProgress) -> dict[str, str]:
    return {n: p.status for n, p in progress.nodes.items()}


def test_power_states_are_read_from_each_bmc(redfish_backend: Backend) -> None:
    off, on, stranger = redfish_backend.nodes[0], redfish_backend.nodes[8], "x9999c0s0b0n0"
    with redfish_backend.services() as services:
        assert services.power.label == "Redfish"
        states = services.power.power_states([off, on, stranger, "not-an-xname"])
    assert states == {off: "off", on: "on", stranger: "unknown", "not-an-xname": "unknown"}


def test_on_restart_and_off_each_confirmed_by_the_bmc(redfish_backend: Backend) -> None:
    nodes = redfish_backend.nodes[1:3]
    fleet = redfish_backend.fleet
    with redfish_backend.services() as services:
        power = services.power
        for action, after in (("on", "on"), ("restart", "on"), ("off", "off")):
            progress = _finished(power, power.start(action, nodes))  # type: ignore[arg-type]
            assert progress.state == "completed"
            assert _statuses(progress) == dict.fromkeys(nodes, "succeeded"), progress
            assert power.power_states(nodes) == dict.fromkeys(nodes, after)
            assert all(fleet.nodes[n].power == after for n in nodes)


def test_a_node_smd_holds_no_endpoint_for_fails_alone(redfish_backend: Backend) -> None:
    node, stranger = redfish_backend.nodes[3], "x9999c0s0b0n0"
    with redfish_backend.services() as services:
        progress = _finished(services.power, services.power.start("on", [stranger, node]))
        assert progress.nodes[stranger].status == "failed"
        assert "SMD holds no Redfish endpoint" in progress.nodes[stranger].error
        assert progress.nodes[node].status == "succeeded"
        _finished(services.power, services.power.start("off", [node]))


def test_wrong_credentials_fail_each_node_in_the_bmcs_words(
    redfish_backend: Backend, tmp_path: Path
) -> None:
    node = redfish_backend.nodes[3]
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("username: root\npassword: not-the-password\n")
    with redfish_backend.services(bmcCredentials=str(wrong)) as services:
        assert services.power.power_states([node]) == {node: "unknown"}
        progress = _finished(services.power, services.power.start("on", [node]))
    assert progress.nodes[node].status == "failed"
    assert "HTTP 401" in progress.nodes[node].error
    assert "/Actions/ComputerSystem.Reset" in progress.nodes[node].error
    assert redfish_backend.fleet.nodes[node].power == "off"


def test_missing_credentials_are_said_before_any_bmc_is_asked_or_anything_written(
    redfish_backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A preview needs no BMC credentials (it powers nothing); a session is refused before it
    writes a boot entry, and so is a power read."""
    monkeypatch.delenv("OCHAMI_BMC_USERNAME", raising=False)
    monkeypatch.delenv("OCHAMI_BMC_CREDENTIALS", raising=False)
    config = redfish_backend.config().model_copy(update={"bmc_credentials": None})
    node = redfish_backend.nodes[0]
    kernel = "http://images.example/vmlinuz"
    template = {"name": "no-creds", "boot_sets": {"b": {"kernel": kernel, "node_list": [node]}}}
    spec = BootSessionSpec.model_validate(
        {"name": "no-creds", "template": template, "operation": "boot"}
    )
    with Services.from_config(config) as services:
        before = services.boot.read([node])
        with pytest.raises(InvalidInputError, match="bmcCredentials") as refused:
            run_session(services, spec, STAKE)
        assert "OCHAMI_BMC_USERNAME" in str(refused.value)
        assert services.boot.read([node]) == before
        with pytest.raises(InvalidInputError, match="bmcCredentials"):
            services.power.power_states([node])


def test_an_abort_ends_the_run_and_names_what_was_sent(redfish_backend: Backend) -> None:
    nodes = redfish_backend.nodes[12:14]
    with redfish_backend.services() as services:
        run = services.power.start("on", nodes)
        services.power.abort(run)
        ended = services.power.progress(run)
        assert ended.finished and ended.state == "aborted"
        for part in ended.nodes.values():
            if part.status == "failed":
                assert part.error.startswith("Transition aborted:"), part
        services.power.abort(run)  # an ended run needs nothing
        _finished(services.power, services.power.start("off", nodes))


def test_a_run_without_deputy_keys_holds_its_nodes_in_smd_as_pcs_does(
    redfish_backend: Backend,
) -> None:
    nodes = redfish_backend.nodes[5:7]
    with redfish_backend.services() as services:
        run = services.power.start("on", nodes)
        assert all(s.reserved for s in services.inventory.lock_status(nodes))
        second = NodeReservation(services.inventory, "second", time.monotonic, lambda _: None)
        with pytest.raises(SessionConflictError, match="held in SMD by another session"):
            second.acquire(nodes)
        # A second run over the same nodes is refused node by node, not sent.
        refused = _finished(services.power, services.power.start("off", nodes))
        assert {p.error for p in refused.nodes.values()} == {
            "Unable to reserve component: SMD says another holds it"
        }
        assert _statuses(_finished(services.power, run)) == dict.fromkeys(nodes, "succeeded")
        assert not any(s.reserved for s in services.inventory.lock_status(nodes))
        second.acquire(nodes)
        second.release()
        _finished(services.power, services.power.start("off", nodes))


def test_a_reboot_session_powers_on_the_off_node_and_restarts_the_on_node(
    redfish_backend: Backend,
) -> None:
    state = reboot_two(redfish_backend, "redfish-contract", STAKE, 4 * STEP_SECONDS)
    assert state.results.steps == {"On": 1, "ForceRestart": 1}


def test_a_boot_session_is_proven_by_the_nodes_boot_script_fetches(
    redfish_backend: Backend,
) -> None:
    """BOS's `boot` over Redfish: the nodes that are off are powered on, and each counts as
    booted once it has asked the boot store for its script (sushy tells the harness, whose
    firmware asks the real BSS)."""
    nodes = [redfish_backend.nodes[0], redfish_backend.nodes[15]]
    template = {
        "name": "redfish-boot",
        "boot_sets": {"b": {"kernel": "http://images.example/vmlinuz", "node_list": nodes}},
    }
    spec = BootSessionSpec.model_validate(
        {
            "name": "redfish-boot",
            "template": template,
            "operation": "boot",
            "booted_when": "bootscript",
            "poll_interval_seconds": 0.5,
            "boot_timeout_seconds": STEP_SECONDS,
            "timeout_seconds": 4 * STEP_SECONDS,
        }
    )
    with redfish_backend.services() as services:
        try:
            state = run_session(services, spec, STAKE)
        finally:
            remove_template(services, STAKE, nodes, [])
            _finished(services.power, services.power.start("off", nodes))
    assert state.status == "completed", state.error_message
    assert state.results.steps == {"On": 2}
    assert sorted(state.results.succeeded) == sorted(nodes)
