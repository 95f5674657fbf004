"""The Redfish power backend against the simulator's BMCs: what the contract tests cannot
provoke on sushy-tools (a BMC that fails, an OS that ignores ACPI, the bound on parallel
requests), its credentials file, and its choice of reset types."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ochami_provider.backends.redfish import RedfishPower, _reset_type
from ochami_provider.bmc_credentials import load
from ochami_provider.clients import Services
from ochami_provider.errors import InvalidInputError
from ochami_provider.models.power import PowerProgress
from ochami_provider.models.records import ComponentEndpoint
from ochami_provider.sim import Fleet, SimServer
from tests.backends import Backend, finished, power_fleet, sim_redfish_backend


@pytest.fixture
def redfish(tmp_path: Path) -> Iterator[Backend]:
    fleet = power_fleet()
    with SimServer(fleet) as sim:
        yield sim_redfish_backend(fleet, sim.url, tmp_path / "bmc.yaml")


def _finished(power: RedfishPower, run: str, timeout: float = 20) -> PowerProgress:
    return finished(power, run, timeout, every=0.05)


def test_a_bmc_that_fails_fails_its_node_alone_in_its_own_words(redfish: Backend) -> None:
    failing, fine = redfish.nodes[0], redfish.nodes[2]
    redfish.fleet.power_failures[failing] = 1
    with redfish.services() as services:
        progress = _finished(services.power, services.power.start("on", [failing, fine]))  # type: ignore[arg-type]
    assert progress.nodes[fine].status == "succeeded"
    error = progress.nodes[failing].error
    assert progress.nodes[failing].status == "failed"
    assert error.startswith(f"POST http://{redfish.fleet.redfish_authority}/redfish/v1/Systems/")
    assert "HTTP 500: The BMC did not respond to the power request" in error
    assert redfish.fleet.nodes[failing].power == "off"


def test_a_graceful_shutdown_the_os_ignores_fails_at_the_deadline(redfish: Backend) -> None:
    node = redfish.nodes[8]  # on
    redfish.fleet.ignores_acpi.add(node)
    now = [0.0]
    with redfish.services() as services:
        power = services.power
        assert isinstance(power, RedfishPower)
        power.clock = lambda: now[0]
        run = power.start("off", [node], deadline_minutes=1)
        for _ in range(50):
            if power.progress(run).nodes[node].status != "running":
                break
            now[0] += 10.0  # ten seconds a look: the deadline passes on the seventh
            time.sleep(0.02)
        progress = power.progress(run)
    assert progress.nodes[node].status == "failed"
    assert progress.nodes[node].error == (
        "GracefulShutdown sent, but the BMC still says PowerState On 1 minute(s) later"
        " (taskDeadlineMinutes)"
    )
    assert redfish.fleet.nodes[node].power == "on"


def test_no_more_bmcs_are_asked_at_once_than_bmc_parallelism(
    redfish: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet: Fleet = redfish.fleet
    busy, most, lock = [0], [0], threading.Lock()
    reset = fleet.reset_system

    def counted(xname: str, reset_type: str) -> str:
        with lock:
            busy[0] += 1
            most[0] = max(most[0], busy[0])
        time.sleep(0.05)
        try:
            return reset(xname, reset_type)
        finally:
            with lock:
                busy[0] -= 1

    monkeypatch.setattr(fleet, "reset_system", counted)
    with redfish.services(bmcParallelism=3) as services:
        progress = _finished(services.power, services.power.start("on", redfish.nodes))  # type: ignore[arg-type]
    assert progress.count("succeeded") == len(redfish.nodes)
    assert most[0] == 3


def test_each_node_is_reset_once_and_read_once_when_its_bmc_acts_at_once(
    redfish: Backend,
) -> None:
    nodes = redfish.nodes[:4]
    with redfish.services() as services:
        before = redfish.fleet.count("redfish")
        _finished(services.power, services.power.start("on", nodes))  # type: ignore[arg-type]
    assert redfish.fleet.count("redfish") - before == 2 * len(nodes)


def test_per_bmc_credentials_override_the_default(redfish: Backend, tmp_path: Path) -> None:
    first, other = redfish.nodes[0], redfish.nodes[2]  # behind two BMCs
    bmc = first.rpartition("n")[0]
    mixed = tmp_path / "mixed.yaml"
    mixed.write_text(
        "username: root\npassword: bmc-password\n"
        f"bmcs:\n  {bmc}: {{username: root, password: wrong}}\n"
    )
    with redfish.services(bmcCredentials=str(mixed)) as services:
        assert services.power.power_states([first, other]) == {first: "unknown", other: "off"}


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        ("username: root\n", "password", "must be a non-empty string"),
        ("- a list\n", "bmcCredentials", "must hold a mapping"),
        ("username: root\npassword: x\nport: 443\n", "port", "unknown key"),
        ("bmcs: {x1000c0s0b0: {username: root}}\n", "bmcs.x1000c0s0b0: password", "non-empty"),
        ("{unclosed", "bmcCredentials", "is not YAML or JSON"),
    ],
)
def test_a_bad_credentials_file_is_refused_naming_the_field(
    tmp_path: Path, text: str, field: str, reason: str
) -> None:
    path = tmp_path / "bmc.yaml"
    path.write_text(text)
    with pytest.raises(InvalidInputError) as refused:
        load(str(path), env={})
    assert field in refused.value.field and reason in str(refused.value)


def test_a_missing_credentials_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="cannot be read") as refused:
        load(str(tmp_path / "absent.yaml"), env={})
    assert refused.value.field == "bmcCredentials"


def test_credentials_come_from_the_environment_without_a_file() -> None:
    found = load(None, env={"OCHAMI_BMC_USERNAME": "root", "OCHAMI_BMC_PASSWORD": "pw"})
    login = found.for_bmc("x1000c0s0b0")
    assert login is not None and login.username == "root"
    assert login.password.get_secret_value() == "pw" and "pw" not in repr(login)


def test_a_password_never_reaches_the_config_kept_in_state(redfish: Backend) -> None:
    config = redfish.config()
    assert config.public_dict()["bmcCredentials"].endswith("bmc.yaml")
    assert "bmc-password" not in str(config.public_dict())


def _endpoint(reset_types: list[str]) -> ComponentEndpoint:
    return ComponentEndpoint.model_validate(
        {
            "ID": "x1000c0s0b0n0",
            "RedfishEndpointFQDN": "x1000c0s0b0",
            "OdataID": "/redfish/v1/Systems/Node0",
            "RedfishSystemInfo": {
                "Actions": {
                    "#ComputerSystem.Reset": {
                        "ResetType@Redfish.AllowableValues": reset_types,
                        "target": "/redfish/v1/Systems/Node0/Actions/ComputerSystem.Reset",
                    }
                }
            },
        }
    )


def test_the_reset_type_is_the_first_the_bmc_allows() -> None:
    assert _reset_type("restart", _endpoint(["On", "ForceOff", "PowerCycle"])) == "PowerCycle"
    assert _reset_type("restart", _endpoint(["On", "ForceRestart", "PowerCycle"])) == "ForceRestart"
    assert _reset_type("graceful-restart", _endpoint(["On", "ForceOff"])) == ""
    # SMD loaded without the list: the standard type is asked for.
    assert _reset_type("off", _endpoint([])) == "GracefulShutdown"
    assert _endpoint([]).reset_target.endswith("/Actions/ComputerSystem.Reset")


def test_a_node_whose_bmc_allows_no_fitting_reset_is_not_sent_one(redfish: Backend) -> None:
    node = redfish.nodes[8]
    with Services.from_config(redfish.config()) as services:
        power = services.power
        assert isinstance(power, RedfishPower)
        real = power.inventory.component_endpoints

        def narrowed(ids: list[str]) -> list[ComponentEndpoint]:
            return [e.model_copy(update={"reset_types": ["On"]}) for e in real(ids)]

        power.inventory.component_endpoints = narrowed  # type: ignore[method-assign]
        before = redfish.fleet.count("redfish")
        progress = _finished(power, power.start("graceful-restart", [node]))
    assert progress.nodes[node].error == (
        "the BMC allows none of GracefulRestart (its reset types, as SMD holds them: On)"
    )
    assert redfish.fleet.count("redfish") == before


def test_ochami_boot_power_reboot_over_redfish_says_the_bmc_words_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ochami_provider.cli import main

    fleet = Fleet.generate(8, power_delay=0.0)
    fleet.nodes["x1000c0s0b0n0"].power = "on"
    fleet.bmc_login = ("root", "bmc-password")
    credentials = tmp_path / "bmc.yaml"
    credentials.write_text("username: root\npassword: bmc-password\n")
    argv = ["--power-backend", "redfish", "--bmc-scheme", "http"]
    argv += ["--bmc-credentials", str(credentials)]
    with SimServer(fleet) as sim:
        code = main(["power", "reboot", "--node", "x1000c0s[0-1]b0n0", "--uri", sim.url, *argv])
        resets = [p for s, m, p in fleet.requests if s == "redfish" and m == "POST"]
    out = capsys.readouterr().out.splitlines()
    assert code == 0, out
    assert out[:2] == ["On: x1000c0s1b0n0 (1 node(s))", "ForceRestart: x1000c0s0b0n0 (1 node(s))"]
    assert out[-1] == "succeeded: x1000c0s[0-1]b0n0 (2)"
    assert sorted(resets) == [
        "/redfish/v1/Systems/x1000c0s0b0n0/Actions/ComputerSystem.Reset",
        "/redfish/v1/Systems/x1000c0s1b0n0/Actions/ComputerSystem.Reset",
    ]
