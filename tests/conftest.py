"""Shared fixtures: a simulator on loopback and clients/providers pointed at it."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import hostlist
import pytest
from moto import mock_aws

from ochami_provider import BootSessionProvider, cancellation
from ochami_provider.clients import Services
from ochami_provider.config import ProviderConfig
from ochami_provider.session_journal import ENVIRONMENT as JOURNAL
from ochami_provider.sim import Fleet, SimServer


def pytest_configure(config: pytest.Config) -> None:
    """SIGTERM (a CI's timeout, `kill`) ends the run as Ctrl-C does: fixtures tear down, so
    the real services, the BMC emulators and PCS's network namespace do not outlive it."""

    def interrupted(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)


# Each test's tiers, as markers (registered in pyproject.toml): `bash scripts/test.sh --fast`
# runs `unit` and `sim`; `.ci/run` runs them all. A file named here is that tier; the others
# are `sim` when they start the simulator (its fixture, its class, a backend parametrized
# "sim") and `unit` otherwise; a contract check against the real services is `real`.
_FILE_TIERS = {
    "test_engine_e2e": ("engine",),
    "test_readme": ("engine", "tofu"),
    "test_lab_e2e": ("lab", "engine", "real"),
    "test_real_e2e": ("real", "engine"),
    "test_tofu_e2e": ("tofu",),
    "test_team_pulumi": ("team", "engine"),
    "test_team_tofu": ("team", "tofu"),
    "test_benchmarks": ("sim",),
    "test_status_map_browser": ("browser",),
}
_CONTRACTS = {
    "test_contract",
    "test_boot_service_contract",
    "test_metadata_service_contract",
    "test_pcs_contract",
    "test_redfish_contract",
}


def _tiers(item: pytest.Item) -> tuple[str, ...]:
    stem = item.path.stem
    callspec = getattr(item, "callspec", None)
    params = set(callspec.id.split("-")) if callspec is not None else set()
    real = "real" in params or "real_stack" in getattr(item, "fixturenames", ())
    tiers = _FILE_TIERS.get(stem)
    if tiers is not None:
        return (*tiers, "real") if real and "real" not in tiers else tiers
    kind = ("contract",) if stem in _CONTRACTS else ()
    if real:
        return (*kind, "real")
    module = getattr(item, "module", None)
    simulated = "sim" in params or "sim" in getattr(item, "fixturenames", ())
    if simulated or hasattr(module, "SimServer"):
        return (*kind, "sim")
    return (*kind, "unit")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for tier in _tiers(item):
            item.add_marker(tier)


@pytest.fixture(autouse=True)
def _no_ochami_config_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test (nor an engine it starts) reads the machine's `ochami` config files: the tests
    of that file name their own."""
    monkeypatch.setenv("OCHAMI_CONFIG", os.devnull)


@pytest.fixture(autouse=True)
def _own_session_journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test its own session journal (and the engines it starts, through the
    environment), and no cancellation left over from another test."""
    monkeypatch.setenv(JOURNAL, str(tmp_path / "session-journal"))
    cancellation.reset()
    yield
    cancellation.reset()


KERNEL = "/boot-images/compute/vmlinuz"
INITRD = "/boot-images/compute/initramfs.img"


@pytest.fixture
def fleet() -> Fleet:
    # 16 nodes: 0-3 in `login`, 4-15 in `compute`; node 0-7 ARM, the rest X86.
    f = Fleet.generate(
        16,
        groups={"login": range(4), "compute": range(4, 16)},
        power_delay=0.01,
        artifacts=(KERNEL, INITRD),
    )
    for i, node in enumerate(f.nodes.values()):
        node.arch = "ARM" if i < 8 else "X86"
        node.role = "Application" if i < 4 else "Compute"
    return f


@pytest.fixture
def sim(fleet: Fleet) -> Iterator[SimServer]:
    with SimServer(fleet) as server:
        yield server


@pytest.fixture
def config(sim: SimServer) -> ProviderConfig:
    return ProviderConfig(uri=sim.url)


@pytest.fixture
def services(config: ProviderConfig) -> Iterator[Services]:
    with Services.from_config(config) as s:
        yield s


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials boto3 accepts, for moto or for an endpoint that never answers."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def bucket(aws_credentials: None) -> Iterator[str]:
    """An S3 bucket (moto) with a kernel and an initrd under rocky9/."""
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="boot-images")
        s3.put_object(Bucket="boot-images", Key="rocky9/vmlinuz", Body=b"kernel")
        s3.put_object(Bucket="boot-images", Key="rocky9/initramfs.img", Body=b"initrd")
        yield "boot-images"


def nodes(ranges: str) -> list[str]:
    """A recorded hostlist (`x1000c0s[0-1]b0n0`), expanded."""
    return sorted(hostlist.expand_hostlist(ranges))


def template_props(sim_url: str, **overrides: Any) -> dict[str, Any]:
    """Inputs as a Pulumi program would send them, pointed at the simulator."""
    props: dict[str, Any] = {
        "name": "compute",
        "description": "compute nodes",
        "boot_sets": {
            "compute": {
                "kernel": sim_url + "/artifacts" + KERNEL,
                "initrd": sim_url + "/artifacts" + INITRD,
                "kernel_parameters": "console=ttyS0,115200 quiet",
                "node_groups": ["compute"],
            }
        },
        "cloud_init": {
            "meta_data": {"site": "test"},
            "user_data": "#cloud-config\nruncmd:\n  - echo booted\n",
        },
        "connection": {"uri": sim_url},
    }
    props.update(overrides)
    return props


def session_props(sim: SimServer, template: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A reboot session's checked inputs over `template` (a created template's outputs)."""
    props = {
        "name": "reboot-compute",
        "template": {k: template[k] for k in ("name", "description", "boot_sets", "cloud_init")},
        "operation": "reboot",
        "poll_interval_seconds": 0.01,
        "connection": {"uri": sim.url},
        **extra,
    }
    return BootSessionProvider().check({}, props).inputs


# The contract tests' backends (simulator and real services), shared with the real e2e test.
from tests.backends import (  # noqa: E402, F401
    backend,
    power_backend,
    real_pcs_stack,
    real_redfish_stack,
    real_stack,
    redfish_backend,
)
