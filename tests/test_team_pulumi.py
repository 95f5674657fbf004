"""Pulumi stacks on a team's shared backends: PostgreSQL (`postgres://`, Pulumi's diy backend
since v3.177) and S3 (versitygw), both on loopback (issue 24, items 3 and 4).

Each test is a site's team: two admins' checkouts of one project on one backend, against a
simulated cluster.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ochami_provider.sim import Fleet, SimServer
from tests.team import (
    KINDS,
    SharedBackend,
    TeamServers,
    holding,
    lose_host,
    needs_servers,
    reservations_lapse,
    team_servers,
)
from tests.test_engine_e2e import (
    ENGINE,
    STACK,
    TOKEN,
    Project,
    _history,
    _set_secret_user_data,
    copying_stack,
    owned,
)

pytestmark = [
    pytest.mark.skipif(not ENGINE, reason="Pulumi engine not on PATH (scripts/engine.sh)"),
    needs_servers,
]
__all__ = ["team_servers"]  # the module's servers fixture, used by name
SECRET_LINE = "echo team-pw-7d3e91b0"


@pytest.fixture(params=KINDS)
def backend(request: pytest.FixtureRequest, team_servers: TeamServers) -> SharedBackend:
    return SharedBackend.create(request.param, team_servers)


@pytest.fixture
def fleet() -> Fleet:
    fleet = Fleet.generate(8, groups={"compute": range(8)}, power_delay=0.01)
    fleet.token = TOKEN
    return fleet


@pytest.fixture
def sim(fleet: Fleet) -> Iterator[SimServer]:
    with SimServer(fleet) as server:
        yield server


def _admin(tmp_path: Path, name: str, sim: SimServer, backend: SharedBackend) -> Project:
    """One admin's checkout of the project, logged in to the shared backend."""
    path = tmp_path / name
    path.mkdir()
    return Project(path, sim.url, backend=(backend.pulumi_url(), backend.env()))


def _teammate(tmp_path: Path, first: Project, sim: SimServer, backend: SharedBackend) -> Project:
    """A second checkout of the same repository: the stack files come with it (they hold the
    stack's encryption salt, as they would in git)."""
    second = _admin(tmp_path, "bob", sim, backend)
    shutil.rmtree(second.path / "stacks")
    shutil.copytree(first.path / "stacks", second.path / "stacks")
    second.run("stack", "select", STACK)
    return second


def _started(tmp_path: Path, sim: SimServer, backend: SharedBackend) -> Project:
    alice = _admin(tmp_path, "alice", sim, backend)
    alice.write_config("console=ttyS0 quiet")
    alice.run("stack", "init", STACK)
    alice.run("config", "set", "--secret", "ochami:token", TOKEN)
    return alice


def test_two_ups_of_one_stack_at_once_the_second_is_refused_and_writes_nothing(
    tmp_path: Path, fleet: Fleet, sim: SimServer, backend: SharedBackend
) -> None:
    alice = _started(tmp_path, sim, backend)
    bob = _teammate(tmp_path, alice, sim, backend)
    bob.write_config("console=ttyS0 bob-was-here")
    # Alice's up holds the stack while her session waits on the nodes' power.
    fleet.power_delay = 3.0
    first = _holding(alice, backend)
    second = bob.run("up", "--yes", check=False)
    assert first.poll() is None, "the first up ended before the second was refused"
    out, _ = first.communicate(timeout=120)
    assert first.returncode == 0, out
    assert second.returncode != 0
    assert "the stack is currently locked by 1 lock(s)" in second.stdout + second.stderr
    assert "pulumi cancel" in second.stdout + second.stderr  # how to clear a stale one
    # Nothing of Bob's reached a node or the state; Alice's up is whole.
    assert {owned(r["params"]) for r in fleet.bootparams.values()} == {
        f"console=ttyS0 quiet ochami.template=compute-image@ochami-boot/{STACK}"
    }
    assert "bob-was-here" not in backend.stored()
    assert bob.outputs()["session:boot-compute:status"] == "completed"
    assert backend.pulumi_locks() == []


def _holding(project: Project, backend: SharedBackend) -> subprocess.Popen[str]:
    """`pulumi up` started, once it holds the stack's lock."""
    up = ["pulumi", "up", "--yes", "--non-interactive"]
    return holding(up, project.path, project.env, lambda: bool(backend.pulumi_locks()))


def test_a_lock_left_by_a_killed_up_refuses_the_next_until_pulumi_cancel_clears_it(
    tmp_path: Path, fleet: Fleet, sim: SimServer, backend: SharedBackend
) -> None:
    alice = _started(tmp_path, sim, backend)
    fleet.power_delay = 3.0
    fleet.reservation_minute = 2.0  # the killed run's SMD reservations lapse in 4 s, not 120
    lost = _holding(alice, backend)
    while not fleet.transitions:  # killed mid-session, as when its host goes down
        assert lost.poll() is None
        time.sleep(0.05)
    lose_host(lost, alice.path)
    fleet.power_delay = 0.01
    assert backend.pulumi_locks(), "the killed up took its lock with it"
    bob = _teammate(tmp_path, alice, sim, backend)
    refused = bob.run("up", "--yes", check=False)
    assert refused.returncode != 0 and "currently locked" in refused.stdout + refused.stderr
    bob.run("cancel", "--yes")
    assert backend.pulumi_locks() == []
    reservations_lapse(fleet)
    bob.run("up", "--yes")
    assert bob.outputs()["session:boot-compute:status"] == "completed"
    assert {owned(r["params"]) for r in fleet.bootparams.values()} == {
        f"console=ttyS0 quiet ochami.template=compute-image@ochami-boot/{STACK}"
    }


def test_a_teammate_copies_the_stack_across_the_backend_asks_its_history_and_no_secret_is_stored(
    tmp_path: Path, fleet: Fleet, sim: SimServer, backend: SharedBackend
) -> None:
    alice = _started(tmp_path, sim, backend)
    alice.run("up", "--yes")
    alice.write_config("console=ttyS0")
    _set_secret_user_data(alice, f"#cloud-config\nruncmd:\n  - {SECRET_LINE}\n")
    alice.run("up", "--yes")
    # Bob, in his own checkout, copies cluster A's template to cluster B through a
    # StackReference that the shared backend resolves.
    bob = _teammate(tmp_path, alice, sim, backend)
    other = Fleet.generate(4, groups={"gpu": range(4)}, power_delay=0.01)
    with SimServer(other) as sim_b:
        (bob.path / "stacks" / "Pulumi.cluster-b.yaml").write_text(
            copying_stack(sim_b.url, {"compute": {"node_groups": ["gpu"]}})
        )
        bob.run("stack", "init", "cluster-b")
        bob.run("up", "--yes", "--stack", "cluster-b")
    assert {owned(r["params"]) for r in other.bootparams.values()} == {
        "console=ttyS0 ochami.template=gpu-image@ochami-boot/cluster-b"
    }
    assert SECRET_LINE in other.cloud_init_groups["gpu"]["file"]["content"]
    # Bob asks the history of Alice's stack: both of her versions, newest first.
    versions = json.loads(_history(bob, "--template", "compute-image", "--json"))
    assert len(versions) == 2 and versions[0]["version"] != versions[1]["version"]
    node = sorted(fleet.nodes)[0]
    at = json.loads(_history(bob, "--node", node, "--at", "2100-01-01T00:00", "--json"))
    assert (at["template"], at["version"]) == ("compute-image", versions[0]["version"])
    assert at["session"] == "boot-compute" and at["run"]["status"] == "completed"
    # What the backend stores: the history is there, sealed; no secret is in the clear.
    stored = backend.stored()
    assert "pulumi-python:dynamic/ochami:BootTemplate" in stored and "console=ttyS0" in stored
    assert '"history"' in stored and "4dabf18193072939515e22adb298388d" in stored
    assert SECRET_LINE not in stored
    assert TOKEN not in stored
