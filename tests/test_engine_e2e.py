"""End to end through the real `pulumi` CLI and Python language host, against the simulator.

scripts/test.sh puts the engine on PATH and sets OCHAMI_E2E=required, so there these tests
fail rather than skip when the engine is missing.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import hostlist
import pytest
import yaml

from ochami_provider.sim import Fleet, SimServer
from tests.engines import run_engine

ROOT = Path(__file__).resolve().parent.parent
ENGINE = all(shutil.which(b) for b in ("pulumi", "pulumi-language-python"))
if not ENGINE and os.environ.get("OCHAMI_E2E") == "required":
    raise RuntimeError("OCHAMI_E2E=required but the Pulumi engine is not on PATH")
pytestmark = pytest.mark.skipif(not ENGINE, reason="Pulumi engine not on PATH (scripts/engine.sh)")

TOKEN = "tok-e2e-9f2c41d7"
STACK = "e2e"


MARKED_AFTER_OWNER = ("ochami.boot_set=", "ochami.version=", "ochami.session=")


def owned(params: str) -> str:
    """Parameters without the boot-set, version and session markers, which follow the
    owner's."""
    return " ".join(w for w in params.split() if not w.startswith(MARKED_AFTER_OWNER))


class Project:
    """A copy of the Pulumi project with its own state backend, pointed at a simulator."""

    def __init__(
        self,
        path: Path,
        sim_url: str,
        connection: dict[str, str] | None = None,
        backend: tuple[str, dict[str, str]] | None = None,
    ) -> None:
        """`backend`: a shared backend's URL and the environment its client reads; by default
        the project's own file backend."""
        self.path = path
        self.sim_url = sim_url
        # Stack config for the provider's connection: the simulator's one URI, or one per service.
        self.connection = connection or {"ochami:uri": sim_url}
        self.state = path / "state"
        self.env = {
            **os.environ,
            "PULUMI_HOME": str(path / "home"),
            "PULUMI_CONFIG_PASSPHRASE": "e2e-passphrase",
            "PULUMI_SKIP_UPDATE_CHECK": "1",
            "PULUMI_BACKEND_URL": f"file://{self.state}",
        }
        if backend is not None:
            url, backend_env = backend
            self.env.update(backend_env, PULUMI_BACKEND_URL=url)
        for name in ("Pulumi.yaml", "__main__.py"):
            shutil.copy(ROOT / name, path / name)
        # Pulumi.yaml names the project's virtualenv: the copy uses the same one.
        (path / ".venv").symlink_to(ROOT / ".venv")
        (path / "stacks").mkdir()
        self.state.mkdir()

    def write_config(self, kernel_parameters: str) -> None:
        config = {
            **self.connection,
            "ochami:verifyArtifacts": "false",
            "ochami-boot:templates": {
                "compute-image": {
                    "boot_sets": {
                        "compute": {
                            "kernel": "http://images.example/vmlinuz",
                            "kernel_parameters": kernel_parameters,
                            "node_groups": ["compute"],
                        }
                    },
                    "cloud_init": {"user_data": "#cloud-config\nruncmd: [[echo, hi]]\n"},
                }
            },
            "ochami-boot:sessions": {
                "boot-compute": {
                    "template": "compute-image",
                    "operation": "boot",
                    "poll_interval_seconds": 0.1,
                }
            },
        }
        path = self.path / "stacks" / f"Pulumi.{STACK}.yaml"
        existing = yaml.safe_load(path.read_text()) if path.exists() else {"config": {}}
        existing["config"].update(config)
        path.write_text(yaml.safe_dump(existing))

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_engine(["pulumi", *args, "--non-interactive"], self.path, self.env, check=check)

    def outputs(self) -> dict[str, Any]:
        return dict(json.loads(self.run("stack", "output", "--json").stdout))

    def resource_outputs(self, name: str) -> dict[str, Any] | None:
        """Outputs the state holds for the resource `name`, None when it holds none."""
        deployment = json.loads(self.run("stack", "export").stdout)["deployment"]
        for resource in deployment.get("resources") or []:
            if resource["urn"].endswith(f"::{name}"):
                return dict(resource.get("outputs") or {})
        return None

    def state_text(self) -> str:
        return "".join(p.read_text() for p in self.state.rglob("*.json"))


@pytest.fixture
def fleet() -> Fleet:
    return Fleet.generate(8, groups={"compute": range(8)}, power_delay=0.01)


@pytest.fixture
def project(tmp_path: Path, fleet: Fleet) -> Iterator[Project]:
    fleet.token = TOKEN
    with SimServer(fleet) as sim:
        project = Project(tmp_path, sim.url)
        project.write_config("console=ttyS0 quiet")
        project.run("stack", "init", STACK)
        project.run("config", "set", "--secret", "ochami:token", TOKEN)
        yield project


def test_up_preview_refresh_destroy(project: Project, fleet: Fleet) -> None:
    up = project.run("up", "--yes")
    assert {owned(r["params"]) for r in fleet.bootparams.values()} == {
        "console=ttyS0 quiet ochami.template=compute-image@ochami-boot/e2e"
    }
    assert len(fleet.bootparams) == 8 and "compute" in fleet.cloud_init_groups
    assert project.outputs()["session:boot-compute:status"] == "completed"
    assert all(node.power == "on" for node in fleet.nodes.values())

    # preview: a field-level diff, and nothing written.
    project.write_config("console=ttyS0 quiet splash")
    writes = fleet.count(writes_only=True)
    preview = project.run("preview", "--diff")
    assert 'kernel_parameters: "console=ttyS0 quiet" => "console=ttyS0 quiet splash"' in (
        preview.stdout
    )
    assert fleet.count(writes_only=True) == writes

    # up applies it (and re-runs the session whose template changed).
    first_version = project.outputs()["template:compute-image:version"]
    project.run("up", "--yes")
    assert {owned(r["params"]) for r in fleet.bootparams.values()} == {
        "console=ttyS0 quiet splash ochami.template=compute-image@ochami-boot/e2e"
    }

    # The stack remembers both versions, and gives the first back to declare again.
    versions = json.loads(_history(project, "--template", "compute-image", "--json"))
    assert [v["version"] for v in versions][1] == first_version
    assert any(
        "kernel_parameters: 'console=ttyS0 quiet' -> 'console=ttyS0 quiet splash'" in c
        for c in versions[0]["changes"]
    )
    shown = _history(project, "--show", f"compute-image@{first_version}")
    assert "kernel_parameters: console=ttyS0 quiet" in shown and "splash" not in shown
    node = sorted(fleet.nodes)[0]
    at = versions[0]["at"]
    said = json.loads(_history(project, "--node", node, "--at", at, "--json"))
    assert (said["template"], said["version"]) == ("compute-image", versions[0]["version"])
    assert said["session"] == "boot-compute" and said["run"]["status"] == "completed"

    # refresh sees a manual BSS edit; the next up puts the template back.
    victim = sorted(fleet.bootparams)[0]
    fleet.bootparams[victim]["params"] = "init=/bin/sh"
    project.run("refresh", "--yes")
    drifted = project.run("preview", "--diff")
    assert '"init=/bin/sh" => "console=ttyS0 quiet splash"' in drifted.stdout
    project.run("up", "--yes")
    assert (
        owned(fleet.bootparams[victim]["params"])
        == "console=ttyS0 quiet splash ochami.template=compute-image@ochami-boot/e2e"
    )

    # destroy removes what was written, and leaves power alone.
    project.run("destroy", "--yes")
    assert fleet.bootparams == {} and fleet.cloud_init_groups == {}
    assert all(node.power == "on" for node in fleet.nodes.values())
    assert "boot-compute" in up.stdout


def test_token_reaches_the_services_but_never_the_state_or_output(
    project: Project, fleet: Fleet
) -> None:
    up = project.run("up", "--yes")
    assert len(fleet.bootparams) == 8  # so the token was sent: the simulator requires it
    assert TOKEN not in project.state_text()
    assert TOKEN not in up.stdout + up.stderr
    exported = project.run("stack", "export").stdout
    assert TOKEN not in exported


def test_wrong_token_fails_up_with_a_clear_error(project: Project, fleet: Fleet) -> None:
    project.run("config", "set", "--secret", "ochami:token", "not-the-token")
    result = project.run("up", "--yes", check=False)
    assert result.returncode != 0
    assert "HTTP 401" in result.stdout and "token is unauthorized" in result.stdout
    assert "not-the-token" not in result.stdout + result.stderr  # not even a wrong one
    assert fleet.bootparams == {}


def copying_stack(uri: str, boot_set_overrides: dict[str, Any]) -> str:
    """The stack file of cluster B: its own OpenCHAMI, no templates of its own, the e2e
    stack's compute-image copied as gpu-image with `boot_set_overrides`."""
    copy = {"name": "gpu-image", "overrides": {"boot_sets": boot_set_overrides}}
    config = {
        "ochami:uri": uri,
        "ochami:verifyArtifacts": "false",
        "ochami-boot:copyFrom": {
            "stack": f"organization/ochami-boot/{STACK}",
            "templates": {"compute-image": copy},
        },
    }
    return str(yaml.safe_dump({"config": config}))


def test_stack_reference_copies_a_template_with_overrides(project: Project, fleet: Fleet) -> None:
    project.run("up", "--yes")
    other = Fleet.generate(4, groups={"gpu": range(4)}, power_delay=0.01)
    with SimServer(other) as sim_b:
        # Cluster B: same backend and project, its own OpenCHAMI, no templates of its own.
        stack_b = project.path / "stacks" / "Pulumi.e2e-b.yaml"
        stack_b.write_text(
            copying_stack(
                sim_b.url,
                {"compute": {"kernel_parameters": "console=ttyS1", "node_groups": ["gpu"]}},
            )
        )
        project.run("stack", "init", "e2e-b")
        project.run("up", "--yes", "--stack", "e2e-b")
        shown = project.run("stack", "output", "--json", "--stack", "e2e-b").stdout
        revealed = project.run("stack", "output", "--json", "--show-secrets", "--stack", "e2e-b")
    assert {owned(r["params"]) for r in other.bootparams.values()} == {
        "console=ttyS1 ochami.template=gpu-image@ochami-boot/e2e-b"
    }
    assert {r["kernel"] for r in other.bootparams.values()} == {"http://images.example/vmlinuz"}
    assert sorted(other.bootparams) == sorted(other.nodes)
    assert other.cloud_init_groups["gpu"]["file"]["content"].startswith("#cloud-config")
    # A copy is kept secret: whether its source kept it so is known only after the template's
    # secret outputs are fixed.
    assert json.loads(shown)["template:gpu-image:spec"] == "[secret]"
    assert json.loads(revealed.stdout)["template:gpu-image:spec"]["name"] == "gpu-image"
    # Cluster A is untouched by cluster B's up.
    assert {owned(r["params"]) for r in fleet.bootparams.values()} == {
        "console=ttyS0 quiet ochami.template=compute-image@ochami-boot/e2e"
    }


def test_adopt_takes_over_existing_boot_and_cloud_init_data(project: Project, fleet: Fleet) -> None:
    """Data an admin wrote by hand with the ochami CLI is adopted, not refused or rewritten."""
    for xname in fleet.nodes:
        fleet.bootparams[xname] = {
            "kernel": "http://images.example/vmlinuz",
            "initrd": "",
            "params": "console=ttyS0 quiet",
        }
    fleet.cloud_init_groups["compute"] = {
        "name": "compute",
        "description": "compute nodes, by hand",
        "file": {"content": "#cloud-config\nruncmd: [[echo, hi]]\n", "encoding": "plain"},
    }
    path = project.path / "stacks" / f"Pulumi.{STACK}.yaml"
    config = yaml.safe_load(path.read_text())
    config["config"]["ochami-boot:templates"]["compute-image"]["adopt"] = True
    config["config"]["ochami-boot:sessions"] = {}
    path.write_text(yaml.safe_dump(config))
    before = {s: fleet.count(s, writes_only=True) for s in ("bss", "cloud-init")}
    # The preview says what adopting means for destroy.
    assert "adopts the cloud-init data group compute holds now" in project.run("preview").stdout
    project.run("up", "--yes")
    # Already as declared: one PUT each, adding the owner marker (to the group's description).
    assert fleet.count("cloud-init", writes_only=True) == before["cloud-init"] + 1
    # BSS: one PUT by name, and one by MAC (the hand-made records were by name only).
    assert fleet.count("bss", writes_only=True) == before["bss"] + 2
    assert fleet.cloud_init_groups["compute"]["file"]["content"].endswith("[[echo, hi]]\n")
    assert {owned(r["params"]) for r in fleet.bootparams.values()} == {
        "console=ttyS0 quiet ochami.template=compute-image@ochami-boot/e2e"
    }
    # Adopted means owned: a later change is applied. Destroy removes the boot parameters and
    # puts the cloud-init data back as the admin had it (it used to delete it without a word).
    project.write_config("console=ttyS0")
    project.run("up", "--yes")
    assert {owned(r["params"]) for r in fleet.bootparams.values()} == {
        "console=ttyS0 ochami.template=compute-image@ochami-boot/e2e"
    }
    fleet.cloud_init_groups["compute"]["file"]["content"] = (
        "#cloud-config\nruncmd: [[echo, changed]]\n"
    )
    project.run("destroy", "--yes")
    assert fleet.bootparams == {}
    assert fleet.cloud_init_groups["compute"]["file"]["content"] == (
        "#cloud-config\nruncmd: [[echo, hi]]\n"
    )
    assert fleet.cloud_init_groups["compute"]["description"] == "compute nodes, by hand"


def _history(project: Project, *args: str) -> str:
    """`ochami-boot history` of the project's stack, as an admin runs it beside `pulumi`."""
    command = [str(ROOT / ".venv" / "bin" / "ochami-boot"), "history", "--stack", STACK]
    done = subprocess.run(
        [*command, "--cwd", str(project.path), *args],
        env=project.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_history_answers_an_admins_three_questions_after_three_versions_and_rolls_back(
    project: Project, fleet: Fleet
) -> None:
    """Issue 24: which version a node ran at a time; when the cluster was configured, by whom,
    what changed; last week's template back, declared again."""
    times: list[str] = []
    for params in ("console=ttyS0 quiet", "console=ttyS0 quiet splash", "console=ttyS0"):
        project.write_config(params)
        project.run("up", "--yes")
        times.append(datetime.now(UTC).isoformat(timespec="seconds"))
        time.sleep(1.1)  # the history's times are to the second
    versions = json.loads(_history(project, "--template", "compute-image", "--json"))
    assert len(versions) == 3 and len({v["version"] for v in versions}) == 3
    assert {v["by"] for v in versions} == {f"{getpass.getuser()}@{socket.gethostname()}"}
    assert any(
        "'console=ttyS0 quiet splash' -> 'console=ttyS0'" in c for c in versions[0]["changes"]
    )
    # What x1000c0s0b0n0 was given after the second up, and the session run that booted it.
    node = sorted(fleet.nodes)[0]
    said = json.loads(_history(project, "--node", node, "--at", times[1], "--json"))
    assert said["version"] == versions[1]["version"] and said["boot_set"] == "compute"
    assert said["run"]["template_version"] in {versions[1]["version"], versions[2]["version"]}
    assert said["run"]["status"] == "completed"
    # Two runs at least: the first version's, and the one the last change reran.
    run_versions = {
        json.loads(_history(project, "--node", node, "--at", t, "--json"))["run"][
            "template_version"
        ]
        for t in (times[0], times[2])
    }
    assert run_versions == {versions[2]["version"], versions[0]["version"]}
    # The first version back: its YAML pasted into the stack file as it is printed.
    shown = _history(project, "--show", f"compute-image@{versions[2]['version'][:8]}")
    path = project.path / "stacks" / f"Pulumi.{STACK}.yaml"
    config = yaml.safe_load(path.read_text())
    config["config"].update(yaml.safe_load(shown)["config"])
    path.write_text(yaml.safe_dump(config))
    project.run("up", "--yes")
    assert project.outputs()["template:compute-image:version"] == versions[2]["version"]
    assert {owned(r["params"]) for r in fleet.bootparams.values()} == {
        "console=ttyS0 quiet ochami.template=compute-image@ochami-boot/e2e"
    }
    runs = json.loads(_history(project, "--node", node, "--at", "2100-01-01", "--json"))
    assert runs["version"] == versions[2]["version"]


def test_entries_the_kept_history_dropped_come_back_from_the_backends_checkpoints(
    project: Project,
) -> None:
    """Pulumi's diy backend copies every update's checkpoint to .pulumi/history; with
    `ochami:historyLength: 1` the state keeps one write, and `--checkpoints` the rest."""
    project.run("config", "set", "ochami:historyLength", "1")
    project.run("up", "--yes")
    project.write_config("console=ttyS0")
    project.run("up", "--yes")
    kept = json.loads(_history(project, "--template", "compute-image", "--json"))
    assert len(kept) == 1
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ochami-boot"), "history", "--stack", STACK]
        + ["--cwd", str(project.path), "--checkpoints", "--template", "compute-image"],
        env=project.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # The older write, and the older session run: from the checkpoints of both updates (and
    # of the refresh each does first).
    said = re.search(r"(\d+) entries older than the kept history, from (\d+) earlier", done.stdout)
    assert said and int(said.group(1)) == 2 and int(said.group(2)) >= 2, done.stdout
    assert "compute-image: 2 write(s)" in done.stdout and kept[0]["version"] in done.stdout


@pytest.mark.parametrize("marked", [True, False], ids=["secret_cloud_init", "secret-only"])
def test_secret_user_data_stays_out_of_state_and_output(
    project: Project, fleet: Fleet, marked: bool
) -> None:
    """Set with `pulumi config set --secret`, with `secret_cloud_init: true` or without it
    (issue 21, item 8: without it, the user-data was stored in plain text in four places of the
    state while the output showed [secret])."""
    secret_line = "echo pw-5e1f0c2a"
    path = project.path / "stacks" / f"Pulumi.{STACK}.yaml"
    if marked:
        _mark_cloud_init_secret(project)
    _set_secret_user_data(project, f"#cloud-config\nruncmd:\n  - {secret_line}\n")
    assert secret_line not in path.read_text()  # encrypted in the stack file too
    up = project.run("up", "--yes")
    assert secret_line in fleet.cloud_init_groups["compute"]["file"]["content"]
    assert secret_line not in project.state_text()
    assert secret_line not in up.stdout + up.stderr
    preview = project.run("preview", "--diff")
    assert secret_line not in preview.stdout + preview.stderr


def _mark_cloud_init_secret(project: Project) -> Path:
    path = project.path / "stacks" / f"Pulumi.{STACK}.yaml"
    config = yaml.safe_load(path.read_text())
    config["config"]["ochami-boot:templates"]["compute-image"]["secret_cloud_init"] = True
    path.write_text(yaml.safe_dump(config))
    return path


def _set_secret_user_data(project: Project, line: str) -> None:
    project.run(
        "config",
        "set",
        "--secret",
        "--path",
        "ochami-boot:templates.compute-image.cloud_init.user_data",
        line,
    )


def test_secret_user_data_stays_out_of_diffs_errors_and_refresh(
    project: Project, fleet: Fleet
) -> None:
    """Every path a secret could leak by: a changed value's diff, a failed write's error, a
    check error about the secret itself, and drift read back by refresh."""
    _mark_cloud_init_secret(project)
    first, second, third = "pw-1a2b3c4d", "pw-5e6f7a8b", "pw-9c0d1e2f"
    secrets = (first, second, third)
    outputs: list[str] = []

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        result = project.run(*args, check=ok)
        outputs.append(result.stdout + result.stderr)
        return result

    _set_secret_user_data(project, f"#cloud-config\nruncmd:\n  - echo {first}\n")
    run("up", "--yes")
    _set_secret_user_data(project, f"#cloud-config\nruncmd:\n  - echo {second}\n")
    assert "cloud_init" in run("preview", "--diff").stdout  # the change shows, its value not
    # A write that fails: the error names the request, not the data it carried.
    fleet.faults.add("cloud-init", "PUT", kind="status", status=500, times=None)
    failed = run("up", "--yes", ok=False)
    assert failed.returncode != 0 and "HTTP 500" in failed.stdout
    fleet.faults.clear()
    # A secret that is not valid YAML: check says where, never what.
    _set_secret_user_data(project, f"#cloud-config\nruncmd: [echo {second}\n")
    invalid = run("up", "--yes", ok=False)
    assert invalid.returncode != 0 and "not valid YAML" in invalid.stdout
    _set_secret_user_data(project, f"#cloud-config\nruncmd:\n  - echo {second}\n")
    run("up", "--yes")
    # Someone edits the group by hand: refresh records the drift, still as a secret.
    fleet.cloud_init_groups["compute"]["file"]["content"] = f"#cloud-config\n# {third}\n"
    run("refresh", "--yes")
    run("preview", "--diff")
    for secret in secrets:
        assert all(secret not in text for text in outputs), secret
        assert secret not in project.state_text(), secret
        assert secret not in project.run("stack", "export").stdout, secret


def _session_config(project: Project, **settings: Any) -> None:
    path = project.path / "stacks" / f"Pulumi.{STACK}.yaml"
    config = yaml.safe_load(path.read_text())
    config["config"]["ochami-boot:sessions"]["boot-compute"].update(settings)
    path.write_text(yaml.safe_dump(config))


def _interrupt_mid_session(
    project: Project, fleet: Fleet, signals: int, transitions: int = 1, settle: float = 0.5
) -> int:
    """Start `pulumi up`, wait until PCS has started `transitions` transitions (and `settle`
    seconds more), press Ctrl-C `signals` times."""
    up = _up_until_transitions(project, fleet, transitions)
    time.sleep(settle)
    for _ in range(signals):
        up.send_signal(signal.SIGINT)
        time.sleep(0.2)
    code = up.wait(timeout=120)
    if signals > 1:
        _unlock_after_hard_stop(project)
    return code


def _up_until_transitions(
    project: Project, fleet: Fleet, transitions: int
) -> subprocess.Popen[bytes]:
    """`pulumi up` started, once PCS has started `transitions` transitions."""
    up = subprocess.Popen(
        ["pulumi", "up", "--yes", "--non-interactive"],
        cwd=project.path,
        env=project.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while len(fleet.transitions) < transitions:
        assert up.poll() is None and time.monotonic() < deadline, "the session never got there"
        time.sleep(0.02)
    return up


def _unlock_after_hard_stop(project: Project, wait: float = 10.0) -> None:
    """A second Ctrl-C terminates the engine, which may exit before it removes its stack lock
    (seen once in CI: the next command said "the stack is currently locked"). What the engine
    tells an admin to do then is `pulumi cancel`, once the lock outlives the process; the
    provider's own recovery (journal, reservations) is what the tests check after it."""
    locks = project.state / ".pulumi" / "locks"
    deadline = time.monotonic() + wait
    while any(locks.rglob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    if any(locks.rglob("*.json")):
        project.run("cancel", "--yes")


def test_one_ctrl_c_stops_the_session_and_records_it_truthfully(
    project: Project, fleet: Fleet
) -> None:
    """One Ctrl-C: the engine's Cancel reaches the provider (it never did: the dynamic
    provider's server had bound its handlers before ours was loaded), the session stops
    waiting and is recorded as cancelled; the next `up` asks PCS how the transition ended and
    verifies its nodes instead of rebooting them (the stuck node's task finished once it was no
    longer stuck)."""
    stuck = next(iter(fleet.nodes))
    fleet.stuck.add(stuck)
    _session_config(project, timeout_seconds=60)
    started = time.monotonic()
    assert _interrupt_mid_session(project, fleet, signals=1) != 0
    assert time.monotonic() - started < 30, "the session waited for its timeout"
    recorded = project.resource_outputs("boot-compute")
    assert recorded is not None and recorded["status"] == "cancelled", recorded
    assert "the engine asked the provider to stop" in recorded["error_message"]
    assert list(Path(os.environ["OCHAMI_BOOT_JOURNAL"]).iterdir())  # what it powered
    fleet.stuck.clear()
    before = len(fleet.transitions)
    project.run("up", "--yes")
    assert project.outputs()["session:boot-compute:status"] == "completed"
    assert len(fleet.transitions) == before
    assert _powered_count(fleet) == {node: 1 for node in fleet.nodes}
    assert fleet.reservations == {}


def test_one_ctrl_c_in_a_rolling_reboot_starts_no_further_batch(
    project: Project, fleet: Fleet
) -> None:
    """Issue 21, item 2, with one Ctrl-C: Pulumi's cancel did not reach the provider, so the
    rolling reboot went on through all its batches. Now it starts none after the Ctrl-C, is
    recorded, and the next `up` reboots only the nodes it did not reach."""
    fleet.power_delay = 1.0
    _session_config(project, operation="reboot", batch_size=2)
    assert _interrupt_mid_session(project, fleet, signals=1, transitions=2, settle=0) != 0
    assert len(fleet.transitions) == 2, "a batch started after the Ctrl-C"
    recorded = project.resource_outputs("boot-compute")
    assert recorded is not None and recorded["status"] == "cancelled", recorded
    fleet.power_delay = 0.01
    project.run("up", "--yes")
    assert project.outputs()["session:boot-compute:status"] == "completed"
    assert _powered_count(fleet) == {node: 1 for node in fleet.nodes}


def test_a_second_ctrl_c_stops_at_once_and_the_next_up_recovers(
    project: Project, fleet: Fleet
) -> None:
    """Two Ctrl-Cs: the engine stops the provider mid-session, and may record nothing (the
    first Ctrl-C's cancel may not have ended the session yet). The provider starts no further
    transition, releases its SMD reservation, and notes what it powered in the session's
    journal; the next `up` (at once: no reservation to wait out) asks PCS how that transition
    ended and verifies its nodes instead of rebooting them again (the stuck node's task
    finished once it was no longer stuck)."""
    stuck = next(iter(fleet.nodes))
    fleet.stuck.add(stuck)
    _session_config(project, timeout_seconds=60)
    assert _interrupt_mid_session(project, fleet, signals=2) != 0
    fleet.stuck.clear()
    recorded = project.resource_outputs("boot-compute")
    assert recorded is None or recorded["status"] == "cancelled", recorded
    assert list((Path(os.environ["OCHAMI_BOOT_JOURNAL"])).iterdir())  # what it powered
    project.run("refresh", "--yes")  # refresh has nothing to repair
    before = len(fleet.transitions)
    project.run("up", "--yes")
    assert project.outputs()["session:boot-compute:status"] == "completed"
    assert len(fleet.transitions) == before
    assert _powered_count(fleet) == {node: 1 for node in fleet.nodes}
    assert fleet.reservations == {}


def _powered_count(fleet: Fleet) -> dict[str, int]:
    return dict(Counter(t.xname for tr in fleet.transitions.values() for t in tr.tasks))


def test_a_second_ctrl_c_in_a_rolling_reboot_starts_no_further_batch_and_reboots_no_node_twice(
    project: Project, fleet: Fleet
) -> None:
    """Issue 21, item 2: two Ctrl-Cs after batch 2 of a rolling reboot started: the provider
    went on about 5 s and started batch 3 (with 1 s transitions it finished all batches), the
    run was not recorded, and the next `up` rebooted every node again."""
    fleet.power_delay = 1.0
    _session_config(project, operation="reboot", batch_size=2)
    assert _interrupt_mid_session(project, fleet, signals=2, transitions=2, settle=0) != 0
    time.sleep(6)  # longer than the engine waits before it kills the provider
    assert len(fleet.transitions) == 2, "a batch started after the second Ctrl-C"
    fleet.power_delay = 0.01
    project.run("up", "--yes")
    assert project.outputs()["session:boot-compute:status"] == "completed"
    assert _powered_count(fleet) == {node: 1 for node in fleet.nodes}
    results = project.resource_outputs("boot-compute")["results"]  # type: ignore[index]
    assert sorted(hostlist.expand_hostlist(results["succeeded"])) == sorted(fleet.nodes)
    # What the engine may keep of the interrupted create (none when the first Ctrl-C's cancel
    # ended the session before the second), and the way to drop it, which loses nothing: the
    # session is recorded.
    pending = json.loads(project.run("stack", "export").stdout)["deployment"]
    assert [op["type"] for op in pending.get("pending_operations") or []] in ([], ["creating"])
    project.run("refresh", "--yes", "--clear-pending-creates")
    exported = json.loads(project.run("stack", "export").stdout)["deployment"]
    assert not exported.get("pending_operations")
    assert project.resource_outputs("boot-compute")["status"] == "completed"  # type: ignore[index]


def test_a_failed_session_fails_up_and_keeps_its_results(project: Project, fleet: Fleet) -> None:
    broken = list(fleet.nodes)[3]
    fleet.power_failures[broken] = 2  # the first try and its one retry
    up = project.run("up", "--yes", check=False)
    assert up.returncode != 0
    assert "session boot-compute failed" in up.stdout and broken in up.stdout, up.stdout
    recorded = project.resource_outputs("boot-compute")
    assert recorded is not None and recorded["status"] == "failed"
    assert list(recorded["results"]["failed"]) == [broken]
    before = len(fleet.transitions)
    project.run("up", "--yes")
    assert project.outputs()["session:boot-compute:status"] == "completed"
    assert [[t.xname for t in r.tasks] for r in list(fleet.transitions.values())[before:]] == [
        [broken]
    ]


def test_refresh_is_repeatable_after_a_record_vanishes_and_up_rewrites_it(
    project: Project, fleet: Fleet
) -> None:
    """A scheduled drift check runs `pulumi refresh` again and again: a node without a BSS
    record (deleted by hand, or added to the group) is named each time, never a traceback."""
    project.run("up", "--yes")
    victim = sorted(fleet.bootparams)[2]
    del fleet.bootparams[victim]
    for _ in range(3):
        refreshed = project.run("refresh", "--yes")
        assert "Traceback" not in refreshed.stdout + refreshed.stderr
        drift = (project.resource_outputs("compute-image") or {})["drift"]
        assert drift == [
            # Its record by MAC (what its iPXE finds) is still there.
            f"boot_sets.compute.record_by_name: 'absent' -> 'present' on 1 node(s): {victim}"
        ]
    preview = project.run("preview", "--diff")
    # Issue 21, item 10: the preview said "update" with no visible change (and, before, a
    # session replacement `up` did not perform); it names the drift it puts back, and the
    # session stays as it is.
    said = preview.stdout + preview.stderr
    assert (
        "template compute-image: puts back what the last refresh found changed"
        f" (boot_sets.compute.record_by_name on 1 node(s): {victim};"
    ) in said, said
    assert "to replace" not in preview.stdout and "1 to update" in preview.stdout
    before = len(fleet.transitions)
    project.run("up", "--yes")
    assert len(fleet.transitions) == before
    assert owned(fleet.bootparams[victim]["params"]).endswith(
        "ochami.template=compute-image@ochami-boot/e2e"
    )
    project.run("refresh", "--yes")
    assert (project.resource_outputs("compute-image") or {})["drift"] == []


def test_a_node_deleted_from_smd_shows_in_refresh_and_up_removes_its_record(
    project: Project, fleet: Fleet
) -> None:
    project.run("up", "--yes")
    gone = sorted(fleet.bootparams)[-1]
    del fleet.nodes[gone]
    fleet.groups["compute"]["members"]["ids"].remove(gone)
    project.run("refresh", "--yes")
    outputs = project.resource_outputs("compute-image") or {}
    assert outputs["drift"] == [f"hosts: 'present' -> 'removed' on 1 node(s): {gone}"]
    project.run("up", "--yes")
    assert gone not in fleet.bootparams and len(fleet.bootparams) == 7
    assert (project.resource_outputs("compute-image") or {})["node_count"] == 7


def test_a_limit_entry_that_matches_no_node_fails_check(project: Project, fleet: Fleet) -> None:
    """A typo in `limit` used to pass, be dropped, and the session said completed. Checked as
    soon as the template is known: at `up` before the session runs, and at every preview."""
    path = project.path / "stacks" / f"Pulumi.{STACK}.yaml"
    config = yaml.safe_load(path.read_text())
    config["config"]["ochami-boot:sessions"]["boot-compute"]["limit"] = ["x1000c9s0b0n0"]
    path.write_text(yaml.safe_dump(config))
    for command in (["up", "--yes"], ["preview"]):
        result = project.run(*command, check=False)
        assert result.returncode != 0, result.stdout
        assert "limit[0]" in result.stdout and "'x1000c9s0b0n0'" in result.stdout
        assert "matches no node of template 'compute-image'" in result.stdout
        assert fleet.transitions == {}  # no session ran
    assert project.resource_outputs("boot-compute") is None


def test_a_limit_name_of_two_kinds_is_named_at_preview_and_acts_as_in_bos(
    project: Project, fleet: Fleet
) -> None:
    """Issue 21, item 11: `compute` is the template's group (8 nodes) and, by an admin's
    choice, a partition of 4: the session acts on the partition, as BOS would, and both the
    preview and `up` say so."""
    partition = sorted(fleet.nodes)[:4]
    fleet.add_partition("compute", partition)
    _session_config(project, limit=["compute"])
    said = "'compute' is a group of 8 node(s) and a partition of 4 node(s) in SMD"
    preview = project.run("preview")
    assert said in preview.stdout + preview.stderr, preview.stdout + preview.stderr
    assert fleet.transitions == {}
    up = project.run("up", "--yes")
    assert said in up.stdout + up.stderr
    assert sorted(_powered_count(fleet)) == partition


def test_a_session_proves_the_boot_by_the_nodes_own_command_line(
    project: Project, fleet: Fleet
) -> None:
    """Issue 22, item 4, through the real engine: `booted_when: cmdline` with a probe command
    (here the simulator's pdsh stand-in) from the stack file; a node that does not boot from
    the network fails the session, named."""
    silent = sorted(fleet.nodes)[0]
    fleet.no_netboot.add(silent)
    pdsh = f"{sys.executable} -m ochami_provider.sim.pdsh --sim {project.sim_url}"
    probe = f'{pdsh} -w "$OCHAMI_NODES" cat /proc/cmdline'
    _session_config(project, booted_when="cmdline", probe_command=probe, boot_timeout_seconds=2)
    assert project.run("up", "--yes", check=False).returncode != 0
    recorded = project.resource_outputs("boot-compute")
    assert recorded is not None and list(recorded["results"]["failed"]) == [silent]
    assert "probe_command never showed it" in recorded["results"]["failed"][silent]
    version = recorded["template_version"]
    assert all(
        f"ochami.version={version}" in fleet.nodes[n].cmdline for n in fleet.nodes if n != silent
    )


def test_up_puts_back_what_a_service_lost_without_an_explicit_refresh(
    project: Project, fleet: Fleet
) -> None:
    """The cloud-init server keeps groups in memory and loses them on restart; a BSS restored
    from an old backup holds old parameters. A plain `pulumi up` used to say "unchanged"."""
    project.run("up", "--yes")
    fleet.cloud_init_groups.clear()
    restored = sorted(fleet.bootparams)[:3]
    for host in restored:
        fleet.bootparams[host]["params"] = (
            "console=ttyS0 ochami.template=compute-image@ochami-boot/e2e"
        )
    preview = project.run("preview", "--diff")
    assert "compute-image" in preview.stdout and "update" in preview.stdout
    project.run("up", "--yes")
    assert "compute" in fleet.cloud_init_groups
    assert all(
        owned(fleet.bootparams[h]["params"])
        == "console=ttyS0 quiet ochami.template=compute-image@ochami-boot/e2e"
        for h in restored
    )


def _edit_stack(project: Project, edit: Any) -> None:
    path = project.path / "stacks" / f"Pulumi.{STACK}.yaml"
    config = yaml.safe_load(path.read_text())
    edit(config["config"])
    path.write_text(yaml.safe_dump(config))


def test_a_stack_that_requires_a_limit_stops_a_session_without_one_at_preview(
    project: Project, fleet: Fleet
) -> None:
    """`ochami:sessionLimitRequired: true` in the stack config: the session over the whole
    template (no `limit`) fails `preview` naming the field; `limit: ["*"]` goes through."""
    _edit_stack(project, lambda c: c.update({"ochami:sessionLimitRequired": "true"}))
    refused = project.run("preview", check=False)
    assert refused.returncode != 0 and "Traceback" not in refused.stdout + refused.stderr
    assert "limit" in refused.stdout and "ochami:sessionLimitRequired" in refused.stdout
    assert fleet.count(writes_only=True) == 0
    _edit_stack(project, lambda c: c["ochami-boot:sessions"]["boot-compute"].update(limit=["*"]))
    project.run("up", "--yes")
    assert project.outputs()["session:boot-compute:status"] == "completed"
    compute = fleet.groups["compute"]["members"]["ids"]
    assert all(fleet.nodes[node].power == "on" for node in compute)


def test_stack_config_mistakes_are_one_error_each_and_no_traceback(
    project: Project, fleet: Fleet
) -> None:
    def mistakes(config: dict[str, Any]) -> None:
        config["ochami-boot:templates"]["no-boot-sets"] = {"description": "forgot them"}
        config["ochami-boot:templates"]["nulled"] = None
        config["ochami-boot:sessions"]["boot-compute"]["template"] = "compute-imag"
        # Issue 21: a typo in the provider's namespace changed nothing, silently.
        config["ochami:verfiyTargets"] = "false"

    _edit_stack(project, mistakes)
    result = project.run("preview", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in output
    assert "ochami-boot:templates.no-boot-sets.boot_sets: Field required" in output
    assert "ochami-boot:templates.nulled: must be a template spec" in output
    assert "ochami-boot:sessions.boot-compute.template: names no template" in output
    assert "ochami:verfiyTargets: is not a setting" in output
    assert "did you mean ochami:verifyTargets?" in output
    assert "'compute-imag'" in output and "4 problem(s) in the stack config" in output
    assert fleet.requests == []


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"service": "smd", "status": 503}, "smd: GET"),
        ({"service": "bss", "kind": "reset"}, "bss: GET"),
    ],
)
def test_a_failing_service_is_named_without_a_traceback(
    project: Project, fleet: Fleet, fault: dict[str, Any], expected: str
) -> None:
    fleet.faults.add(**fault, times=None)
    result = project.run("up", "--yes", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert expected in output and project.sim_url in output
    assert "Traceback" not in output and 'File "' not in output
    assert fleet.bootparams == {}


def test_a_session_conflict_is_named_without_a_traceback(project: Project, fleet: Fleet) -> None:
    project.run("up", "--yes")
    fleet.reserve(sorted(fleet.nodes)[:2], 5)  # another session holds two of its nodes
    _edit_stack(
        project,
        lambda c: c["ochami-boot:sessions"]["boot-compute"].update(operation="reboot"),
    )
    result = project.run("up", "--yes", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "held in SMD by another session" in output and "nothing was written" in output
    assert "Traceback" not in output


def _rename_template(config: dict[str, Any]) -> None:
    templates = config["ochami-boot:templates"]
    templates["compute-image-v2"] = templates.pop("compute-image")
    config["ochami-boot:sessions"]["boot-compute"]["template"] = "compute-image-v2"


def test_renaming_a_template_is_one_up_without_a_gap_in_bss(project: Project, fleet: Fleet) -> None:
    """Renaming used to be refused with one error per node; the way through was two `up`s with
    no BSS record and no cloud-init group in between. The stack's own template that leaves the
    stack config frees its nodes and groups to the new name within the one `up`."""
    project.run("up", "--yes")
    _edit_stack(project, _rename_template)
    preview = project.run("preview", "--diff")
    said = preview.stdout + preview.stderr
    assert "template compute-image-v2 takes over 8 nodes 'x1000c0s[0-3]b0n[0-1]'" in said
    assert "from template 'compute-image' of stack 'ochami-boot/e2e'" in said
    first = len(fleet.requests)
    project.run("up", "--yes")
    during = fleet.requests[first:]
    # No BSS record and no cloud-init group was removed on the way: no gap for a booting node.
    assert [r for r in during if r[1] == "DELETE" and r[0] in ("bss", "cloud-init")] == []
    assert {owned(r["params"]) for r in fleet.bootparams.values()} == {
        "console=ttyS0 quiet ochami.template=compute-image-v2@ochami-boot/e2e"
    }
    assert len(fleet.bootparams) == 8
    assert fleet.cloud_init_groups["compute"]["description"].endswith(
        "[ochami.template=compute-image-v2@ochami-boot/e2e]"
    )
    assert project.resource_outputs("compute-image") is None
    assert project.outputs()["session:boot-compute:status"] == "completed"
    project.run("refresh", "--yes")
    assert (project.resource_outputs("compute-image-v2") or {})["drift"] == []
    project.run("destroy", "--yes")
    assert fleet.bootparams == {} and fleet.cloud_init_groups == {}


def test_another_stacks_template_is_never_taken_by_a_rename(project: Project, fleet: Fleet) -> None:
    """The rename frees only this stack's own nodes: a template of another stack on the same
    cluster, which this stack never declared, keeps them."""
    project.run("up", "--yes")
    for record in fleet.bootparams.values():
        record["params"] = "console=ttyS0 ochami.template=compute-image@ochami-boot/other"
    _edit_stack(project, _rename_template)
    preview = project.run("preview", check=False)
    assert preview.returncode != 0
    assert "already boots template 'compute-image' of stack 'ochami-boot/other'" in preview.stdout
    assert "'x1000c0s[0-3]b0n[0-1]' (8 nodes)" in preview.stdout


def test_records_written_before_markers_named_the_stack_are_rewritten_once(
    project: Project, fleet: Fleet
) -> None:
    """Markers used to name the template only. Such a record is the template's own (same name);
    the first `up` shows the change and writes the stack into every marker."""
    project.run("up", "--yes")
    for record in fleet.bootparams.values():
        record["params"] = "console=ttyS0 quiet ochami.template=compute-image"
    group = fleet.cloud_init_groups["compute"]
    group["description"] = "ochami_provider template compute-image"
    preview = project.run("preview", "--diff")
    assert "boot_sets.compute.owner: 'compute-image' -> 'compute-image@ochami-boot/e2e'" in (
        preview.stdout
    )
    project.run("up", "--yes")
    assert {owned(r["params"]) for r in fleet.bootparams.values()} == {
        "console=ttyS0 quiet ochami.template=compute-image@ochami-boot/e2e"
    }
    assert fleet.cloud_init_groups["compute"]["description"] == (
        "ochami-boot template [ochami.template=compute-image@ochami-boot/e2e]"
    )


def test_a_node_that_powers_on_but_never_asks_for_its_boot_script_fails_the_session(
    project: Project, fleet: Fleet
) -> None:
    """PCS says the node is on; it never reached the network boot. The session used to say
    `completed`; it now waits for every node's boot-script fetch in BSS and names the one
    that did not ask. With `booted_when: power` the same run completes, as before."""
    silent = sorted(fleet.nodes)[5]
    fleet.no_netboot.add(silent)
    _session_config(project, boot_timeout_seconds=1)
    up = project.run("up", "--yes", check=False)
    assert up.returncode != 0
    recorded = project.resource_outputs("boot-compute") or {}
    assert recorded["status"] == "failed"
    assert list(recorded["results"]["failed"]) == [silent]
    assert "did not ask BSS for its boot script within 1s" in recorded["results"]["failed"][silent]
    assert recorded["results"]["succeeded_count"] == 7
    assert recorded["results"]["error_summary"] == {
        recorded["results"]["failed"][silent]: {"count": 1, "nodes": silent}
    }
    # The others' fetches are in BSS's endpoint history; the silent node's is not.
    assert {n for n, _ in fleet.endpoint_access} == set(fleet.nodes) - {silent}
    _session_config(project, booted_when="power")
    project.run("up", "--yes")
    assert project.outputs()["session:boot-compute:status"] == "completed"


def test_an_up_to_date_stack_previews_without_changes(project: Project, fleet: Fleet) -> None:
    """The refresh before every preview records what the services hold; the program's own
    inputs (the stack, its templates, adopt) stay as they were, so nothing shows as changed."""
    project.run("up", "--yes")
    for _ in range(2):
        preview = project.run("preview", "--diff")
        assert "3 unchanged" in preview.stdout, preview.stdout
    # A change shows as itself alone, not with the program's inputs as if new.
    project.write_config("console=ttyS0 quiet splash")
    preview = project.run("preview", "--diff")
    assert '"console=ttyS0 quiet" => "console=ttyS0 quiet splash"' in preview.stdout
    for unchanged in ("deployment", "deployment_templates", "adopt"):
        assert f"+ {unchanged}" not in preview.stdout, preview.stdout


def test_a_rolling_reboot_stops_at_its_failure_budget_and_the_next_up_continues(
    project: Project, fleet: Fleet
) -> None:
    """Batches of two, no failure allowed: a node of the second batch fails its try and its
    retry, so batches three and four never start; the next `up` continues with them."""
    _session_config(project, operation="reboot", batch_size=2, max_failed=0)
    order = sorted(fleet.nodes)
    broken = order[2]
    fleet.power_failures[broken] = 2
    up = project.run("up", "--yes", check=False)
    assert up.returncode != 0
    assert "stopped after batch 2 of 4: 1 node(s) failed" in up.stdout, up.stdout
    touched = [[t.xname for t in tr.tasks] for tr in fleet.transitions.values()]
    assert touched == [order[0:2], order[2:4], [broken]]
    recorded = project.resource_outputs("boot-compute")
    assert recorded is not None and recorded["status"] == "failed"
    results = recorded["results"]
    assert results["batches"] == {"done": 2, "total": 4}
    assert [sorted(hostlist.expand_hostlist(v)) for v in results["skipped"].values()] == [order[4:]]
    before = len(fleet.transitions)
    project.run("up", "--yes")
    assert project.outputs()["session:boot-compute:status"] == "completed"
    touched = [[t.xname for t in tr.tasks] for tr in list(fleet.transitions.values())[before:]]
    assert touched == [[broken, order[4]], order[5:7], [order[7]]]
    results = project.resource_outputs("boot-compute")["results"]  # type: ignore[index]
    assert sorted(hostlist.expand_hostlist(results["succeeded"])) == order
    assert results["skipped"] == {}


def test_a_bos_template_is_imported_previewed_and_applied(project: Project, fleet: Fleet) -> None:
    """README's "Coming from BOS": `ochami-boot import-bos` into the stack file, `pulumi
    preview --diff`, `pulumi up`. The published CPS compute template targets role Compute,
    every node here."""
    _edit_stack(project, lambda c: [c.pop(k) for k in list(c) if k.startswith("ochami-boot:")])
    stack = project.path / "stacks" / f"Pulumi.{STACK}.yaml"
    bos = ROOT / "tests" / "data" / "bos" / "compute-cps.json"
    imported = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ochami-boot"), "import-bos", str(bos), "--offline"]
        + ["--output", str(stack)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr
    assert "compute-cps: cfs.configuration: not carried" in imported.stderr
    image = "s3://boot-images/ef97d3c4-6f10-4d58-b4aa-7b70fcaf41ba"
    root = f"root=craycps-s3:{image}/rootfs::dvs:api-gw-service-nmn.local:300:eth0"
    preview = project.run("preview", "--diff")
    # The engine shortens long strings in a diff: root= shows from its start.
    assert f"root=craycps-s3:{image}" in preview.stdout, preview.stdout
    assert fleet.bootparams == {}  # a preview writes nothing
    project.run("up", "--yes")
    records = {x: fleet.bootparams[x] for x in fleet.nodes}
    assert {r["kernel"] for r in records.values()} == {f"{image}/kernel"}
    # root= last of the template's parameters, before the markers the provider adds.
    assert {
        [w for w in r["params"].split() if not w.startswith("ochami.")][-1]
        for r in records.values()
    } == {root}


def _powered_since(fleet: Fleet, before: int) -> list[str]:
    """The nodes of every PCS transition started after the first `before`."""
    return sorted(t.xname for tr in list(fleet.transitions.values())[before:] for t in tr.tasks)


def _two_boot_sets(config: dict[str, Any]) -> None:
    template = config["ochami-boot:templates"]["compute-image"]
    template["boot_sets"]["compute"]["node_list"] = []
    template["boot_sets"]["login"] = {
        "kernel": "http://images.example/vmlinuz",
        "kernel_parameters": "console=ttyS0 quiet",
        "node_list": ["x1000c0s3b0n0", "x1000c0s3b0n1"],
    }
    template["boot_sets"]["compute"]["node_groups"] = ["compute"]
    session = config["ochami-boot:sessions"]["boot-compute"]
    session.update(operation="reboot", limit=["compute"])


def test_a_template_edit_reboots_only_the_nodes_whose_boot_changed(
    project: Project, fleet: Fleet
) -> None:
    """Issue 21, item 1: any template edit replaced (so reran, so rebooted) every session over
    it. Now a description, another boot set's parameters or a rename reboots nothing, and a
    change to the session's own boot set reboots that boot set's nodes in the session's limit,
    named at preview."""
    fleet.add_group("compute", sorted(fleet.nodes)[:6])
    _edit_stack(project, _two_boot_sets)
    project.run("up", "--yes")
    compute = sorted(fleet.nodes)[:6]
    before = len(fleet.transitions)
    assert _powered_since(fleet, 0) == compute

    def edit_template(change: Any) -> None:
        _edit_stack(project, lambda c: change(c["ochami-boot:templates"]["compute-image"]))

    edit_template(lambda t: t.update(description="edited"))
    assert "1 to update" in project.run("preview").stdout  # the template, not the session
    project.run("up", "--yes")
    edit_template(lambda t: t["boot_sets"]["login"].update(kernel_parameters="console=ttyS1"))
    project.run("up", "--yes")
    assert fleet.bootparams["x1000c0s3b0n0"]["params"].startswith("console=ttyS1 ")
    _edit_stack(project, _rename_template)
    project.run("up", "--yes")
    assert _powered_since(fleet, before) == []

    _edit_stack(
        project,
        lambda c: c["ochami-boot:templates"]["compute-image-v2"]["boot_sets"]["compute"].update(
            kernel_parameters="console=ttyS0 quiet splash"
        ),
    )
    preview = project.run("preview", "--diff")
    said = preview.stdout + preview.stderr
    assert (
        "session boot-compute: reboots 6 nodes 'x1000c0s[0-2]b0n[0-1]' whose kernel"
        " parameters changed"
    ) in said, said
    assert "to replace" not in preview.stdout
    project.run("up", "--yes")
    assert _powered_since(fleet, before) == compute
    recorded = project.resource_outputs("boot-compute")
    assert recorded is not None and recorded["template_name"] == "compute-image-v2"


def test_preview_diff_shows_the_paths_that_changed_and_not_every_input(
    project: Project, fleet: Fleet
) -> None:
    """Issue 21, item 1: a dynamic resource's diff said only that something changed, so
    `preview --diff` printed every input: the session's whole template copy and each of its
    settings for a one-word edit (118 lines at 100 nodes). It now names the paths that changed,
    for the template and for the session over it."""
    project.run("up", "--yes")
    project.write_config("console=ttyS0 quiet splash")
    preview = project.run("preview", "--diff").stdout
    edit = '~ kernel_parameters: "console=ttyS0 quiet" => "console=ttyS0 quiet splash"'
    assert preview.count(edit) == 2, preview  # the template, and the session's copy of it
    for unchanged in ("boot_timeout_seconds", "poll_interval_seconds", "node_groups", "kernel  "):
        assert unchanged not in preview, unchanged


def test_a_failed_post_command_runs_again_alone_on_the_next_up(
    project: Project, fleet: Fleet, tmp_path: Path
) -> None:
    """Issue 21, item 6: a failing post_command (Slurm's resume with slurmctld down) left the
    session failed for good; only a rerun (a reboot) got out. The next `up` runs the hook
    alone and powers nothing."""
    flag, said = tmp_path / "slurmctld-up", tmp_path / "resumed"
    resume = f'test -f {flag} || {{ touch {flag}; exit 1; }}; echo "$OCHAMI_NODES" >> {said}'
    _session_config(project, operation="reboot", post_command=resume)
    failed = project.run("up", "--yes", check=False)
    assert failed.returncode != 0 and "post_command" in failed.stdout, failed.stdout
    before = len(fleet.transitions)
    project.run("up", "--yes")
    assert len(fleet.transitions) == before
    assert said.read_text().split() == ["x1000c0s[0-3]b0n[0-1]"]
    assert project.outputs()["session:boot-compute:status"] == "completed"
    assert "3 unchanged" in project.run("preview").stdout


def _two_templates(first: list[str], second: list[str]) -> Any:
    def edit(config: dict[str, Any]) -> None:
        config.pop("ochami-boot:sessions", None)
        config["ochami-boot:templates"] = {
            name: {
                "boot_sets": {
                    "compute": {
                        "kernel": "http://images.example/vmlinuz",
                        "kernel_parameters": f"console=ttyS0 {name}",
                        "node_list": nodes,
                    }
                }
            }
            for name, nodes in (("tpl-p", first), ("tpl-q", second))
        }

    return edit


def test_two_declared_templates_swap_their_nodes_in_one_up_and_no_node_loses_its_record(
    project: Project, fleet: Fleet
) -> None:
    """Issue 21, item 3: moving nodes between two templates that both stay declared was a
    race: three identical previews returned 0, 1, 0; `up` removed the node's record through
    the giving template and refused the taking one, and a swap was impossible in one `up`."""
    nodes = sorted(fleet.nodes)
    _edit_stack(project, _two_templates(nodes[:4], nodes[4:]))
    project.run("up", "--yes")
    _edit_stack(project, _two_templates(nodes[4:], nodes[:4]))
    for _ in range(3):
        assert project.run("preview", check=False).returncode == 0
    missing: set[str] = set()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            missing.update(n for n in nodes if n not in dict(fleet.bootparams))
            time.sleep(0.002)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        project.run("up", "--yes")
    finally:
        done.set()
        watcher.join()
    assert missing == set()
    owners = {
        n: fleet.bootparams[n]["params"].split("ochami.template=")[1].split("@")[0] for n in nodes
    }
    assert owners == {**{n: "tpl-q" for n in nodes[:4]}, **{n: "tpl-p" for n in nodes[4:]}}
    assert "3 unchanged" in project.run("preview").stdout


def test_an_admins_hand_made_record_for_a_node_taken_out_of_the_group_survives_up(
    project: Project, fleet: Fleet
) -> None:
    """Issue 21, item 4: take a node out of the template's group, write a record for it by
    hand (by name and by MAC, no owner marker), run `up`: both were removed."""
    project.run("up", "--yes")
    nodes = sorted(fleet.nodes)
    leaver, mac = nodes[0], fleet.nodes[nodes[0]].mac
    fleet.add_group("compute", nodes[1:])
    hand_made = {"hosts": [leaver], "kernel": "http://mine/vmlinuz", "params": "console=ttyS1"}
    fleet.bootparams[leaver] = dict(hand_made)
    fleet.bootparams_by_mac[mac] = {**hand_made, "hosts": [], "macs": [mac]}
    project.run("up", "--yes")
    assert fleet.bootparams[leaver] == hand_made
    assert fleet.bootparams_by_mac[mac]["params"] == "console=ttyS1"
    project.run("destroy", "--yes")
    assert sorted(fleet.bootparams) == [leaver]


def test_the_status_map_shows_a_rolling_reboot_from_its_journal_then_from_the_stack(
    project: Project, fleet: Fleet
) -> None:
    """Issue 26: while `pulumi up` runs a rolling reboot the stack records nothing yet; the map
    reads the session's journal (the batches it noted) and the boot-script fetches. Once `up`
    failed at its failure budget, the map reads the stack's record: the failed node with its
    error, the skipped ones, the booted ones."""
    fleet.power_delay = 3.0  # a batch powers for longer than the map takes to draw
    _session_config(project, operation="reboot", batch_size=2, max_failed=0)
    order = sorted(fleet.nodes)
    broken = order[2]
    fleet.power_failures[broken] = 2
    command = [str(ROOT / ".venv/bin/ochami-boot"), "status", "--uri", project.sim_url]
    command += ["--stack", STACK, "--cwd", str(project.path), "--map", "--color", "never"]
    env = {**project.env, "OCHAMI_ACCESS_TOKEN": TOKEN}
    up = _up_until_transitions(project, fleet, 1)
    during = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    assert up.wait(timeout=120) != 0
    after = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    running = [line for line in during.splitlines() if line.startswith("session boot-compute")]
    assert running and ": running, 1 batch started;" in running[0], during
    assert "2 in progress" in running[0] and "6 pending" in running[0], during
    ended = [line for line in after.splitlines() if line.startswith("session boot-compute")]
    assert ended and ": failed, 2 of 4 batches ran;" in ended[0], after
    assert "3 booted" in ended[0] and "1 failed" in ended[0] and "4 skipped" in ended[0], after
    assert f"failed {broken} (1): " in after, after
