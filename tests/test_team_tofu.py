"""OpenTofu configurations on a team's shared backends: `pg` and `s3` with `use_lockfile`, on
PostgreSQL and versitygw on loopback, with the examples' state encryption (issue 24, items 3
and 4). The configurations are examples/terraform's, as a team would check them out.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ochami_provider.sim import Fleet, SimServer
from ochami_provider.sim.__main__ import DEMO_ARTIFACTS
from tests.team import (
    KINDS,
    SharedBackend,
    TeamServers,
    copy_example,
    holding,
    lose_host,
    needs_servers,
    reservations_lapse,
    team_servers,
    tofu_backend_block,
)
from tests.test_tofu_e2e import ENGINES, TOKEN, Config, _configuration

pytestmark = [
    pytest.mark.skipif(ENGINES["tofu"] is None, reason="OpenTofu is not built (scripts/tofu.sh)"),
    needs_servers,
]
__all__ = ["team_servers"]  # the module's servers fixture, used by name
PASSPHRASE = "team-state-passphrase-3b8f"
USER_DATA_LINE = "[systemctl, enable, --now, slurmd]"  # cluster-a's cloud-init user-data


@pytest.fixture(params=KINDS)
def backend(request: pytest.FixtureRequest, team_servers: TeamServers) -> SharedBackend:
    return SharedBackend.create(request.param, team_servers)


def _cluster(prefix: str = "") -> Fleet:
    fleet = Fleet.generate(
        8,
        groups={f"{prefix}compute": range(2, 8), f"{prefix}login": range(2)},
        artifacts=DEMO_ARTIFACTS,
        power_delay=0.01,
    )
    fleet.token = TOKEN if not prefix else None
    return fleet


@pytest.fixture
def fleet() -> Fleet:
    return _cluster()


@pytest.fixture
def sim(fleet: Fleet) -> Iterator[SimServer]:
    with SimServer(fleet) as server:
        yield server


def _checkout(
    tmp_path: Path, who: str, example: str, sim: SimServer, backend: SharedBackend | None
) -> Config:
    """An admin's copy of an example, its state on `backend` (None: local, unencrypted, as
    Terraform would keep it)."""
    config = _configuration(tmp_path / who, str(ENGINES["tofu"]))
    shutil.rmtree(config.path)
    copy_example(example, config.path)
    config.env.update(TF_VAR_uri=sim.url, TF_VAR_state_passphrase=PASSPHRASE)
    if backend is not None:
        config.env.update(backend.env())
        (config.path / "backend.tf").write_text(tofu_backend_block(backend, example))
    config.run("init", "-input=false")
    return config


def _apply(config: Config, *extra: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return config.run("apply", "-auto-approve", "-input=false", *extra, check=check)


def _edit(config: Config, old: str, new: str) -> None:
    main = config.path / "main.tf"
    text = main.read_text()
    assert old in text
    main.write_text(text.replace(old, new))


def test_two_applies_of_one_configuration_at_once_the_second_is_refused_and_writes_nothing(
    tmp_path: Path, fleet: Fleet, sim: SimServer, backend: SharedBackend
) -> None:
    alice = _checkout(tmp_path, "alice", "cluster-a", sim, backend)
    _apply(alice)
    bob = _checkout(tmp_path, "bob", "cluster-a", sim, backend)
    _edit(bob, "quiet nosplash", "bob-was-here")
    # Alice's next apply holds the state while her rolling reboot waits on the nodes' power.
    _edit(alice, "quiet nosplash", "quiet")
    fleet.power_delay = 3.0
    first = _holding(alice, backend)
    second = _apply(bob, "-lock-timeout=0s", check=False)
    assert first.poll() is None, "the first apply ended before the second was refused"
    out, _ = first.communicate(timeout=180)
    assert first.returncode == 0, out
    assert second.returncode != 0
    refused = second.stdout + second.stderr
    assert "Error acquiring the state lock" in refused and "Lock Info:" in refused, refused
    # Nothing of Bob's reached a node; the state is Alice's whole apply.
    assert fleet.bootparams and not any(
        "bob-was-here" in r["params"] for r in fleet.bootparams.values()
    )
    shown = bob.run("show", "-json").stdout
    assert "bob-was-here" not in shown and "ip=dhcp quiet" in shown
    assert not backend.tofu_locked("cluster-a")


def _holding(config: Config, backend: SharedBackend) -> subprocess.Popen[str]:
    """`tofu apply` started, once it holds the state's lock."""
    apply = [config.engine, "apply", "-auto-approve", "-input=false", "-no-color"]
    return holding(apply, config.path, config.env, lambda: backend.tofu_locked("cluster-a"))


def test_a_lock_left_by_a_killed_apply_is_freed_by_pg_and_by_force_unlock_on_s3(
    tmp_path: Path, fleet: Fleet, sim: SimServer, backend: SharedBackend
) -> None:
    alice = _checkout(tmp_path, "alice", "cluster-a", sim, backend)
    _apply(alice)
    _edit(alice, "quiet nosplash", "quiet")
    fleet.power_delay = 3.0
    fleet.reservation_minute = 2.0  # the killed run's SMD reservations lapse in 4 s, not 120
    lost = _holding(alice, backend)
    while not fleet.transitions:  # killed mid-session
        assert lost.poll() is None
        time.sleep(0.05)
    lose_host(lost, alice.path)
    fleet.power_delay = 0.01
    if backend.kind == "postgres":
        # An advisory lock lives as long as the connection that took it.
        deadline = time.monotonic() + 30
        while backend.tofu_locked("cluster-a"):
            assert time.monotonic() < deadline, "pg kept the killed apply's lock"
            time.sleep(0.1)
    else:
        assert backend.tofu_locked("cluster-a"), "the killed apply took its lock file with it"
        refused = _apply(alice, "-lock-timeout=0s", check=False)
        found = re.search(r"Lock Info:\s+ID:\s+(\S+)", refused.stdout + refused.stderr)
        assert refused.returncode != 0 and found, refused.stdout + refused.stderr
        alice.run("force-unlock", "-force", found.group(1))
    reservations_lapse(fleet)
    _apply(alice)
    assert {r["params"].split(" ochami.")[0] for r in fleet.bootparams.values()} == {
        "console=ttyS0,115200 ip=dhcp quiet",
        "console=ttyS0,115200 ip=dhcp",
    }


def _history(config: Config, *args: str) -> object:
    """`ochami-boot history --tf-state -` on `tofu show -json`: it reads any backend the
    configuration's own `tofu` reads, decrypted."""
    shown = config.run("show", "-json").stdout
    done = subprocess.run(
        [str(Path(sys.executable).with_name("ochami-boot")), "history", "--tf-state", "-"]
        + [*args, "--json"],
        input=shown,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_cluster_b_copies_cluster_a_across_the_backend_history_reads_it_and_the_state_is_sealed(
    tmp_path: Path, fleet: Fleet, sim: SimServer, backend: SharedBackend
) -> None:
    alice = _checkout(tmp_path, "alice", "cluster-a", sim, backend)
    _apply(alice)
    _edit(alice, "quiet nosplash", "quiet")
    _apply(alice)
    # Cluster B, in another checkout, reads cluster-a's state from the shared backend.
    other = _cluster("b-")
    with SimServer(other) as sim_b:
        bob = _checkout(tmp_path, "bob", "cluster-b", sim_b, backend)
        source = {"backend": backend.tofu_kind, "config": backend.tofu_settings("cluster-a")}
        (bob.path / "terraform.tfvars.json").write_text(json.dumps({"cluster_a_state": source}))
        _apply(bob)
    # Cluster A's boot sets (its kernels, its login parameters), with B's overrides.
    params = {r["params"].split(" ochami.")[0] for r in other.bootparams.values()}
    assert params == {"console=ttyS1,115200 ip=dhcp", "console=ttyS0,115200 ip=dhcp"}
    assert {r["kernel"] for r in other.bootparams.values()} == {
        f"{sim.url}/artifacts/boot-images/{role}/vmlinuz" for role in ("compute", "login")
    }
    assert USER_DATA_LINE.split(", ")[-1].rstrip("]") in str(other.cloud_init_groups)
    # Alice's history, from the shared backend: both versions, newest first.
    versions = _history(alice, "--template", "compute-rocky9")
    assert isinstance(versions, list) and len(versions) == 2
    node = sorted(fleet.nodes)[-1]  # in `compute`, which the session reboots
    at = _history(alice, "--node", node, "--at", "2100-01-01T00:00")
    assert isinstance(at, dict) and at["version"] == versions[0]["version"]
    assert at["run"]["status"] == "completed"
    # What the backend stores is ciphertext: no user-data, token or even kernel parameter.
    stored = backend.stored()
    assert "encrypted_data" in stored
    for clear in ("slurmd", TOKEN, "nosplash", "compute-rocky9"):
        assert clear not in stored, clear
    # What Terraform users get (no state encryption): the same configuration stores the
    # user-data in the clear; `sensitive` only hides it in the CLI.
    with SimServer(_cluster()) as sim_plain:
        plain = _checkout(tmp_path, "terraform-user", "cluster-a", sim_plain, backend)
        (plain.path / "encryption.tf").unlink()
        (plain.path / "backend.tf").write_text(tofu_backend_block(backend, "plain"))
        plain.run("init", "-input=false", "-reconfigure")
        _apply(plain)
    assert "slurmd" in backend.stored()
