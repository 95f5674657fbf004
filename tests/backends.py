"""The two places a test can point the clients at: the embedded simulator or the real services.

A contract test takes the `backend` fixture and runs once against each, so any difference in wire
format between the simulator and OpenCHAMI shows up as a failing test. The real services start
once per test session (a few seconds) and are shared, so contract tests clean up what they write.

scripts/test.sh builds the services and sets OCHAMI_REAL=required; there a missing build is an
error, elsewhere the real half of each test is skipped.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

from ochami_provider.clients import Services
from ochami_provider.config import ProviderConfig
from ochami_provider.models import BootSessionSpec
from ochami_provider.models.owner import Stake
from ochami_provider.models.power import PowerProgress
from ochami_provider.models.session import SessionState
from ochami_provider.ports import Power
from ochami_provider.session_runner import run_session
from ochami_provider.sim import Fleet, SimServer
from ochami_provider.template_writer import remove_template
from tests.openchami import real_pcs
from tests.openchami.stack import OpenchamiStack, built, services_cache

REAL_REQUIRED = os.environ.get("OCHAMI_REAL") == "required"
if REAL_REQUIRED and not built():
    raise RuntimeError(
        f"OCHAMI_REAL=required but the OpenCHAMI services are not built in {services_cache()} "
        "(scripts/openchami-setup.sh)"
    )
needs_real = pytest.mark.skipif(
    not built(), reason="OpenCHAMI services not built (scripts/openchami-setup.sh)"
)


def contract_fleet() -> Fleet:
    """16 nodes: 0-3 in `login` (Application, ARM), 4-15 in `compute`; 0-7 ARM; 12-15 in
    partition `p1`."""
    fleet = Fleet.generate(
        16, groups={"login": range(4), "compute": range(4, 16)}, power_delay=0.01
    )
    fleet.add_partition("p1", list(fleet.nodes)[12:16])
    for i, node in enumerate(fleet.nodes.values()):
        node.arch = "ARM" if i < 8 else "X86"
        node.role = "Application" if i < 4 else "Compute"
    return fleet


@dataclass
class Backend:
    kind: str
    fleet: Fleet
    config: Callable[..., ProviderConfig]
    token: str | None
    wrong_token: str

    @property
    def nodes(self) -> list[str]:
        return list(self.fleet.nodes)

    def services(self, **overrides: Any) -> Services:
        return Services.from_config(self.config(**overrides))


def real_power() -> Literal["sim", "real"]:
    """What powers the shared real stack: the real PCS where it is built and this is root,
    unless OCHAMI_REAL_PCS=sim asks for the simulator's (quicker to debug a BSS test)."""
    if os.environ.get("OCHAMI_REAL_PCS") != "sim" and real_pcs.available(services_cache()):
        return "real"
    return "sim"


@pytest.fixture(scope="session")
def real_stack() -> Iterator[OpenchamiStack]:
    if not built():
        pytest.skip("OpenCHAMI services not built (scripts/openchami-setup.sh)")
    with OpenchamiStack(power_fleet(), power=real_power()) as stack:
        yield stack


def sim_backend(fleet: Fleet, url: str, token: str = "sim-token") -> Backend:
    fleet.token = token

    def config(**overrides: Any) -> ProviderConfig:
        return ProviderConfig.model_validate({"uri": url, "token": token, **overrides})

    return Backend("sim", fleet, config, token, "not-the-sim-token")


def real_backend(stack: OpenchamiStack) -> Backend:
    return Backend(
        "real",
        stack.fleet,
        stack.config,
        stack.token,
        stack.issuer.token(signed_by_stranger=True),
    )


def _sim_or_real(
    request: pytest.FixtureRequest, fleet: Callable[[], Fleet], real_stack_fixture: str
) -> Iterator[Backend]:
    if request.param == "sim":
        simulated = fleet()
        with SimServer(simulated) as sim:
            yield sim_backend(simulated, sim.url)
    else:
        yield real_backend(request.getfixturevalue(real_stack_fixture))


@pytest.fixture(params=["sim", pytest.param("real", marks=needs_real)])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    yield from _sim_or_real(request, contract_fleet, "real_stack")


# The real PCS (power-control, built from source) driving emulated BMCs, in a stack of its own.
needs_real_pcs = pytest.mark.skipif(
    not (built() and real_pcs.available(services_cache())),
    reason="the real PCS is not built, sushy-tools is not installed, or not root"
    " (scripts/openchami-setup.sh)",
)
if REAL_REQUIRED and built() and not real_pcs.available(services_cache()):
    raise RuntimeError(
        f"OCHAMI_REAL=required but the real PCS is not built in {services_cache()}, sushy-tools"
        " is not installed there, or this is not root (scripts/openchami-setup.sh)"
    )


def power_fleet() -> Fleet:
    """The contract fleet with nodes 8-11 on at the start (their BMCs say so), the rest off."""
    fleet = contract_fleet()
    for node in list(fleet.nodes.values())[8:12]:
        node.power = "on"
    return fleet


@pytest.fixture(scope="session")
def real_pcs_stack(request: pytest.FixtureRequest) -> Iterator[OpenchamiStack]:
    if not (built() and real_pcs.available(services_cache())):
        pytest.skip("the real PCS is not built (scripts/openchami-setup.sh)")
    if real_power() == "real":
        yield request.getfixturevalue("real_stack")
        return
    with OpenchamiStack(power_fleet(), power="real") as stack:
        yield stack


@pytest.fixture(params=["sim", pytest.param("real", marks=needs_real_pcs)])
def power_backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """PCS as the simulator serves it, and the real PCS."""
    yield from _sim_or_real(request, power_fleet, "real_pcs_stack")


# Power over Redfish: the simulator's BMCs, and one sushy-tools emulator per BMC.
BMC_LOGIN = (real_pcs.BMC_USER, real_pcs.BMC_PASSWORD)


def sim_redfish_backend(fleet: Fleet, url: str, credentials: Path) -> Backend:
    """The simulator, powered over Redfish: its BMCs are served at its own address, over
    HTTP (the one setting a site never needs), with basic auth."""
    fleet.bmc_login = BMC_LOGIN
    credentials.write_text(f"username: {BMC_LOGIN[0]}\npassword: {BMC_LOGIN[1]}\n")
    backend = sim_backend(fleet, url)
    plain = backend.config

    def config(**overrides: Any) -> ProviderConfig:
        redfish = {"powerBackend": "redfish", "bmcScheme": "http"}
        return plain(**{**redfish, "bmcCredentials": str(credentials), **overrides})

    return Backend("sim", fleet, config, backend.token, backend.wrong_token)


needs_sushy = pytest.mark.skipif(
    not (built() and real_pcs.sushy_available(services_cache())),
    reason="sushy-tools is not installed (scripts/openchami-setup.sh)",
)


@pytest.fixture(scope="session")
def real_redfish_stack() -> Iterator[OpenchamiStack]:
    if not (built() and real_pcs.sushy_available(services_cache())):
        pytest.skip("sushy-tools is not installed (scripts/openchami-setup.sh)")
    with OpenchamiStack(power_fleet(), power="redfish") as stack:
        yield stack


@pytest.fixture(params=["sim", pytest.param("real", marks=needs_sushy)])
def redfish_backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    """Power over Redfish to the simulator's BMCs, and to sushy-tools BMCs of the real
    stack (the real SMD holding each one's address)."""
    if request.param == "sim":
        simulated = power_fleet()
        with SimServer(simulated) as sim:
            credentials = tmp_path_factory.mktemp("bmc") / "bmc-credentials.yaml"
            yield sim_redfish_backend(simulated, sim.url, credentials)
    else:
        yield real_backend(request.getfixturevalue("real_redfish_stack"))


def until(condition: Callable[[], bool], within: float, every: float, what: str = "") -> None:
    """Wait for `condition`, failing the test after `within` seconds (saying `what`)."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, what or f"not within {within:g}s"
        time.sleep(every)


def finished(power: Power, run: str, within: float, every: float) -> PowerProgress:
    """Where the power run stood when it ended; the test fails, saying where it stood, if it
    has not ended after `within` seconds."""
    deadline = time.monotonic() + within
    while not (progress := power.progress(run)).finished:
        assert time.monotonic() < deadline, progress
        time.sleep(every)
    return progress


def set_power(services: Services, node: str, want: Literal["on", "off"], timeout: float) -> None:
    """Power `node` to `want` unless it is there already, and wait until the backend says so."""
    if services.power.power_states([node]) == {node: want}:
        return
    started = time.monotonic()
    finished(services.power, services.power.start(want, [node]), timeout, 0.5)
    until(
        lambda: services.power.power_states([node]) == {node: want},
        max(timeout - (time.monotonic() - started), 0.0),
        0.5,
        f"{node} did not come {want} within {timeout:g}s",
    )


def reboot_two(backend: Backend, name: str, stake: Stake, timeout: float) -> SessionState:
    """A `reboot` session over node 11 (on) and node 14 (off) of the power fleet, proven by
    power, its boot entries removed after it (the real stacks are shared): it completes and
    leaves both nodes on; the caller checks the steps, in its backend's words."""
    running, halted = backend.nodes[11], backend.nodes[14]
    template = {
        "name": name,
        "boot_sets": {
            "b": {"kernel": "http://images.example/vmlinuz", "node_list": [running, halted]}
        },
    }
    spec = BootSessionSpec.model_validate(
        {
            "name": f"{name}-reboot",
            "template": template,
            "operation": "reboot",
            "booted_when": "power",
            "poll_interval_seconds": 0.5,
            "timeout_seconds": timeout,
        }
    )
    with backend.services() as services:
        # Other tests on the shared stack may have powered these two: put them back first.
        wanted: dict[str, Literal["on", "off"]] = {running: "on", halted: "off"}
        for node, want in wanted.items():
            set_power(services, node, want, timeout)
        started = time.monotonic()
        try:
            state = run_session(services, spec, stake)
        finally:
            remove_template(services, stake, [running, halted], [])
        print(
            f"reboot session of 2 nodes ({name}, {backend.kind}): {time.monotonic() - started:.1f}s"
        )
        assert state.status == "completed", state.error_message
        assert services.power.power_states([running, halted]) == {running: "on", halted: "on"}
    return state
