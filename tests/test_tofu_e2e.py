"""The Terraform-protocol provider through the real engines: OpenTofu (scripts/tofu.sh builds
it from the Go module proxy) and Terraform where it is installed, against the simulator and
the real SMD, BSS and cloud-init server.

init, plan (writes nothing), apply, plan again (no changes), a hand edit of BSS then plan (the
drift shows), import, destroy; the token in neither state nor output; a bad input refused at
plan, naming the attribute, with nothing written; the node-ownership guard between a Pulumi
stack and a Tofu configuration on one cluster.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ochami_provider.clients import Services
from ochami_provider.models.records import BootParams
from ochami_provider.sim import Fleet, SimServer
from tests.backends import needs_real
from tests.engines import run_engine
from tests.openchami.stack import OpenchamiStack

ROOT = Path(__file__).resolve().parent.parent
TOFU_CACHE = Path(
    os.environ.get("OCHAMI_TOFU_CACHE", Path.home() / ".cache" / "ochami-provider" / "opentofu")
)
TOKEN = "tf-e2e-token-do-not-leak"


def _tofu() -> str | None:
    cached = TOFU_CACHE / "bin" / "tofu"
    return shutil.which("tofu") or (str(cached) if cached.exists() else None)


ENGINES = {"tofu": _tofu(), "terraform": shutil.which("terraform")}
if os.environ.get("OCHAMI_TOFU") == "required" and ENGINES["tofu"] is None:
    raise RuntimeError("OCHAMI_TOFU=required but OpenTofu is not built (scripts/tofu.sh)")


@pytest.fixture(params=sorted(ENGINES))
def engine(request: pytest.FixtureRequest) -> str:
    found = ENGINES[request.param]
    if found is None:
        pytest.skip(f"{request.param} is not installed here")
    return found


@dataclass
class Config:
    """A Terraform configuration in its own directory, with the provider from a local mirror."""

    path: Path
    engine: str
    env: dict[str, str]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_engine([self.engine, *args, "-no-color"], self.path, self.env, check=check)

    def plan_exit(self) -> tuple[int, str]:
        """`plan -detailed-exitcode`: 0 no changes, 2 changes, 1 an error."""
        result = self.run("plan", "-detailed-exitcode", "-input=false", check=False)
        return result.returncode, result.stdout + result.stderr

    def write(self, provider: dict[str, Any], kernel_parameters: str, **extra: str) -> None:
        """main.tf; the provider block's `deployment` is tf/e2e unless `provider` says
        otherwise (None: the default)."""
        provider = {"deployment": "tf/e2e", **provider}
        settings = "\n".join(
            f"  {k} = {json.dumps(v)}" for k, v in provider.items() if v is not None
        )
        boot_set = {
            "kernel": extra.get("kernel", "http://images.example/vmlinuz"),
            "kernel_parameters": kernel_parameters,
            "node_groups": ["compute"],
        }
        (self.path / "main.tf").write_text(
            MAIN_TF.replace("@PROVIDER@", settings).replace(
                "@BOOT_SETS@", json.dumps({"compute": boot_set})
            )
        )

    def state(self) -> str:
        return (self.path / "terraform.tfstate").read_text()


MAIN_TF = """
terraform {
  required_providers {
    ochami = { source = "openchami/ochami" }
  }
}

variable "token" {
  type      = string
  sensitive = true
}

provider "ochami" {
@PROVIDER@
  token            = var.token
  verify_artifacts = false
}

resource "ochami_boot_template" "compute" {
  name                 = "compute-image"
  boot_sets            = jsonencode(@BOOT_SETS@)
  cloud_init_meta_data = jsonencode({ cluster = "e2e" })
  cloud_init_user_data = "#cloud-config\\nruncmd: [[echo, hi]]\\n"
}

resource "ochami_boot_session" "boot" {
  name                  = "boot-compute"
  template              = ochami_boot_template.compute.spec
  template_writes       = ochami_boot_template.compute.written
  operation             = "boot"
  limit                 = ["compute"]
  poll_interval_seconds = 0.1
}

data "ochami_nodes" "compute" {
  group      = "compute"
  depends_on = [ochami_boot_session.boot]
}

output "version" { value = ochami_boot_template.compute.version }
output "rows" { value = data.ochami_nodes.compute.rows }
output "session" { value = ochami_boot_session.boot.status }
"""


def _configuration(tmp_path: Path, engine: str) -> Config:
    tmp_path.mkdir(parents=True, exist_ok=True)
    rc = tmp_path / "cli.tfrc"
    subprocess.run(
        [sys.executable, "-m", "ochami_provider.terraform_adapter", "install"]
        + ["--plugin-dir", str(tmp_path / "plugins"), "--cli-config", str(rc)],
        check=True,
        capture_output=True,
    )
    path = tmp_path / "config"
    path.mkdir()
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "TF_CLI_CONFIG_FILE": str(rc),
        "TF_IN_AUTOMATION": "1",
        "CHECKPOINT_DISABLE": "1",
        "TF_VAR_token": TOKEN,
    }
    return Config(path, engine, env)


@pytest.fixture
def fleet() -> Fleet:
    return Fleet.generate(8, groups={"compute": range(8)}, power_delay=0.01)


@pytest.fixture
def sim(fleet: Fleet) -> Iterator[SimServer]:
    fleet.token = TOKEN
    with SimServer(fleet) as server:
        yield server


def _hand_edit(services: Services, node: str) -> None:
    """What an admin does with `ochami bss boot params set`: a record by name, no marker."""
    services.bss.put(BootParams(hosts=[node], kernel="http://h/hand", params="console=tty0"))


def _lifecycle(config: Config, services: Services, nodes: list[str], token: str) -> None:
    config.run("init", "-input=false")
    code, out = config.plan_exit()
    assert code == 2, out
    assert "version" in out and "(known after apply)" in out
    assert services.bss.get(nodes) == {}, "a plan wrote to BSS"
    config.run("apply", "-auto-approve", "-input=false")
    records = services.bss.get(nodes)
    assert {r.kernel for r in records.values()} == {"http://images.example/vmlinuz"}
    assert all("ochami.template=compute-image@tf/e2e" in r.params for r in records.values())
    outputs = json.loads(config.run("output", "-json").stdout)
    assert outputs["session"]["value"] == "completed"
    assert any("template=compute-image@tf/e2e" in row for row in outputs["rows"]["value"])
    code, out = config.plan_exit()
    assert code == 0, out
    # A hand edit is drift: the plan shows the record being put back.
    _hand_edit(services, nodes[0])
    code, out = config.plan_exit()
    assert code == 2 and "http://h/hand" in out, out
    config.run("apply", "-auto-approve", "-input=false")
    assert services.bss.get(nodes[:1])[nodes[0]].kernel == "http://images.example/vmlinuz"
    # The state remembers both writes: the create, and putting back the hand edit. The
    # state file and `show -json` say the same.
    writes = json.loads(_history(["--tf-state", "terraform.tfstate"], config))
    assert len(writes) == 2 and writes[0]["version"] == writes[1]["version"]
    assert any(nodes[0] in line or "http://h/hand" in line for line in writes[0]["changes"])
    shown = config.run("show", "-json").stdout
    assert json.loads(_history(["--tf-state", "-"], config, stdin=shown)) == writes
    # Import: the template's own records, found by their owner marker.
    config.run("state", "rm", "ochami_boot_template.compute")
    config.run("import", "-input=false", "ochami_boot_template.compute", "compute-image")
    shown = config.run("state", "show", "ochami_boot_template.compute").stdout
    assert '"compute"' in shown and "node_groups" in shown
    assert token not in config.state()
    assert token not in config.run("output", "-json").stdout
    config.run("destroy", "-auto-approve", "-input=false")
    assert services.bss.get(nodes) == {}
    assert services.cloud_init.get_group("compute") is None


def _history(source: list[str], config: Config, stdin: str | None = None) -> str:
    """`ochami-boot history --template compute-image --json` in the configuration's directory."""
    return _ask(config, *source, "--template", "compute-image", "--json", stdin=stdin)


def _ask(config: Config, *args: str, stdin: str | None = None) -> str:
    """`ochami-boot history ARGS` in the configuration's directory: what it printed."""
    ochami_boot = Path(sys.executable).with_name("ochami-boot")
    done = subprocess.run(
        [str(ochami_boot), "history", *args],
        cwd=config.path,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_init_plan_apply_drift_import_destroy_against_the_simulator(
    tmp_path: Path, engine: str, fleet: Fleet, sim: SimServer
) -> None:
    config = _configuration(tmp_path, engine)
    config.write({"uri": sim.url}, "console=ttyS0 quiet")
    with Services.from_config(_sim_settings(sim)) as services:
        _lifecycle(config, services, sorted(fleet.nodes), TOKEN)


def test_history_answers_an_admins_three_questions_after_three_versions_and_rolls_back(
    tmp_path: Path, engine: str, fleet: Fleet, sim: SimServer
) -> None:
    """Issue 24, through the engine: three versions, the session run each time; what a node
    was given after the second; the first back, its `--hcl` block pasted over the resource."""
    config = _configuration(tmp_path, engine)
    times: list[str] = []
    for n, params in enumerate(("console=ttyS0 quiet", "console=ttyS0 quiet splash", "ro")):
        config.write({"uri": sim.url}, params)
        if n == 0:
            config.run("init", "-input=false")
        config.run("apply", "-auto-approve", "-input=false")
        times.append(datetime.now(UTC).isoformat(timespec="seconds"))
        time.sleep(1.1)  # the history's times are to the second
    versions = json.loads(_history(["--tf-state", "terraform.tfstate"], config))
    assert len(versions) == 3 and len({v["version"] for v in versions}) == 3
    assert all(v["by"] and v["changes"] for v in versions)
    node = sorted(fleet.nodes)[0]
    said = json.loads(
        _ask(config, "--tf-state", "terraform.tfstate", "--node", node, "--at", times[1], "--json")
    )
    assert said["version"] == versions[1]["version"] and said["run"]["status"] == "completed"
    # Two runs at least: the first version's, and the one the last change reran.
    run_versions = {
        json.loads(
            _ask(config, "--tf-state", "terraform.tfstate", "--node", node, "--at", t, "--json")
        )["run"]["template_version"]
        for t in (times[0], times[2])
    }
    assert run_versions == {versions[2]["version"], versions[0]["version"]}
    show = f"compute-image@{versions[2]['version']}"
    block = _ask(config, "--tf-state", "terraform.tfstate", "--show", show, "--hcl")
    main = (config.path / "main.tf").read_text()
    start = main.index('resource "ochami_boot_template" "compute" {')
    end = main.index('resource "ochami_boot_session"')
    pasted = block.replace('"compute-image" {', '"compute" {', 1)
    (config.path / "main.tf").write_text(main[:start] + pasted + "\n\n" + main[end:])
    config.run("apply", "-auto-approve", "-input=false")
    outputs = json.loads(config.run("output", "-json").stdout)
    assert outputs["version"]["value"] == versions[2]["version"]
    assert {r["params"].split(" ochami.")[0] for r in fleet.bootparams.values()} == {
        "console=ttyS0 quiet"
    }


FUNCTIONS_TF = """
terraform {
  required_providers {
    ochami = { source = "openchami/ochami" }
  }
}

locals {
  nodes = provider::ochami::hostlist_expand("x1000c0s[0-3]b0n[0-1]")
}

output "kept" {
  value = provider::ochami::limit_nodes(["*", "!x1000c0s[0-2]b0n[0-1]"], local.nodes)
}
output "folded" { value = provider::ochami::hostlist_compress(local.nodes) }
output "count" { value = length(local.nodes) }
"""


def test_the_provider_functions_work_in_a_configuration_and_name_a_bad_argument(
    tmp_path: Path, engine: str
) -> None:
    """Offline: no provider block, no service (OpenTofu 1.7+, Terraform 1.8+)."""
    config = _configuration(tmp_path, engine)
    (config.path / "main.tf").write_text(FUNCTIONS_TF)
    config.run("init", "-input=false")
    config.run("apply", "-auto-approve", "-input=false")
    outputs = json.loads(config.run("output", "-json").stdout)
    assert outputs["kept"]["value"] == ["x1000c0s3b0n0", "x1000c0s3b0n1"]
    assert outputs["folded"]["value"] == "x1000c0s[0-3]b0n[0-1]"
    assert outputs["count"]["value"] == 8
    (config.path / "main.tf").write_text(
        FUNCTIONS_TF.replace('"x1000c0s[0-3]b0n[0-1]"', '"compute["')
    )
    code, out = config.plan_exit()
    assert code == 1 and "is not a hostlist" in out and "compute[" in out, out


EXAMPLES = ROOT / "examples"


def _examples(tmp_path: Path, engine: str, sim: SimServer, *examples: str) -> Config:
    """A configuration of the registry examples (examples/, shown in docs/): the provider
    block pointed at the simulator, with no artifact check (no image server answers the
    examples' URLs), its token read as the example says, from CLUSTER_A_ACCESS_TOKEN."""
    config = _configuration(tmp_path, engine)
    provider = (EXAMPLES / "provider" / "provider.tf").read_text()
    pointed = f'uri = "{sim.url}"\n  verify_artifacts = false'
    provider, count = re.subn(r'\buri\s*=\s*"[^"]*"', pointed, provider)
    assert count == 1, provider
    (config.path / "provider.tf").write_text(provider)
    for example in examples:
        source = EXAMPLES / example
        (config.path / source.relative_to(EXAMPLES).as_posix().replace("/", "--")).write_text(
            source.read_text()
        )
    config.env["CLUSTER_A_ACCESS_TOKEN"] = TOKEN
    return config


EVERY_EXAMPLE = (
    "resources/ochami_boot_template/resource.tf",
    "resources/ochami_boot_session/resource.tf",
    "data-sources/ochami_nodes/data-source.tf",
    "functions/hostlist_expand/function.tf",
    "functions/hostlist_compress/function.tf",
    "functions/limit_nodes/function.tf",
)


def test_every_registry_example_plans_against_the_simulator_and_writes_nothing(
    tmp_path: Path, engine: str, fleet: Fleet, sim: SimServer
) -> None:
    listed = {p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.rglob("*.tf")}
    assert {e for e in listed if not e.startswith("terraform/")} == {
        *EVERY_EXAMPLE,
        "provider/provider.tf",
        "resources/ochami_boot_template/import-by-string-id.tf",
    }
    config = _examples(tmp_path, engine, sim, *EVERY_EXAMPLE)
    config.run("init", "-input=false")
    code, out = config.plan_exit()
    assert code == 2, out
    assert "ochami_boot_template.compute will be created" in out, out
    assert "ochami_boot_session.compute will be created" in out, out
    assert "limited_nodes" in out and "compute_rows" in out, out
    with Services.from_config(_sim_settings(sim)) as services:
        assert services.bss.get(sorted(fleet.nodes)) == {}, "a plan wrote to BSS"


def test_the_import_block_example_takes_a_written_template_and_then_plans_no_change(
    tmp_path: Path, engine: str, fleet: Fleet, sim: SimServer
) -> None:
    """The template is written, its state lost (`state rm`); the example's `import` block
    takes it back at the next apply, which writes nothing, and the plan after shows no
    change."""
    config = _examples(tmp_path, engine, sim, "resources/ochami_boot_template/resource.tf")
    config.run("init", "-input=false")
    config.run("apply", "-auto-approve", "-input=false")
    nodes = sorted(fleet.nodes)
    with Services.from_config(_sim_settings(sim)) as services:
        written = services.bss.get(nodes)
        assert {r.kernel for r in written.values()} == {
            "https://images.example.org/compute/2026.11/vmlinuz"
        }
        config.run("state", "rm", "ochami_boot_template.compute")
        source = EXAMPLES / "resources" / "ochami_boot_template" / "import-by-string-id.tf"
        (config.path / "import.tf").write_text(source.read_text())
        code, out = config.plan_exit()
        assert code == 2 and "1 to import" in out, out
        config.run("apply", "-auto-approve", "-input=false")
        assert services.bss.get(nodes) == written, "the import wrote to BSS"
        code, out = config.plan_exit()
        assert code == 0, out


def test_a_failed_session_is_recorded_and_the_next_apply_retries_only_its_failed_node(
    tmp_path: Path, engine: str, fleet: Fleet, sim: SimServer
) -> None:
    """Terraform would taint a failed create and rerun the session on every node: the
    session is recorded with a warning instead, and the next plan retries the failed one. A
    changed template then plans an update that reruns the session for the nodes whose boot
    changed, named at plan (issue 21: it planned a replacement, a rerun on every node)."""
    config = _configuration(tmp_path, engine)
    config.write({"uri": sim.url}, "console=ttyS0 quiet")
    config.run("init", "-input=false")
    broken = sorted(fleet.nodes)[3]
    fleet.power_failures[broken] = 2  # its first try and its one retry
    applied = config.run("apply", "-auto-approve", "-input=false")
    assert "Warning: session boot-compute failed" in applied.stdout + applied.stderr
    state = json.loads(config.run("show", "-json").stdout)
    session = next(
        r
        for r in state["values"]["root_module"]["resources"]
        if r["address"] == "ochami_boot_session.boot"
    )
    assert session["values"]["status"] == "failed"
    assert list(json.loads(session["values"]["results"])["failed"]) == [broken]
    code, out = config.plan_exit()
    assert code == 2 and "ochami_boot_session.boot will be updated in-place" in out, out
    before = len(fleet.transitions)
    config.run("apply", "-auto-approve", "-input=false")
    retried = [[t.xname for t in tr.tasks] for tr in list(fleet.transitions.values())[before:]]
    assert retried == [[broken]]
    assert config.plan_exit()[0] == 0
    config.write({"uri": sim.url}, "console=ttyS1 quiet")
    code, out = config.plan_exit()
    assert code == 2 and "ochami_boot_session.boot will be updated in-place" in out, out
    assert "must be replaced" not in out
    assert (
        "session boot-compute: boots 8 nodes 'x1000c0s[0-3]b0n[0-1]' whose kernel parameters"
        " changed"
    ) in out, out
    before = len(fleet.transitions)
    config.run("apply", "-auto-approve", "-input=false")
    rerun = sorted(t.xname for tr in list(fleet.transitions.values())[before:] for t in tr.tasks)
    assert rerun == sorted(fleet.nodes)
    assert config.plan_exit()[0] == 0


def test_a_bad_input_is_refused_at_plan_naming_the_attribute(
    tmp_path: Path, engine: str, fleet: Fleet, sim: SimServer
) -> None:
    config = _configuration(tmp_path, engine)
    config.write({"uri": sim.url}, "console=ttyS0", kernel="ftp://images.example/vmlinuz")
    config.run("init", "-input=false")
    before = len(fleet.requests)
    code, out = config.plan_exit()
    assert code == 1
    assert "boot_sets.compute.kernel" in out and "ftp://images.example/vmlinuz" in out, out
    assert 'resource "ochami_boot_template" "compute"' in out  # the attribute's place
    assert not [r for r in fleet.requests[before:] if r[0] not in ("GET", "POST")]
    assert fleet.bootparams == {}


@needs_real
def test_the_same_against_the_real_services(
    tmp_path: Path, engine: str, real_stack: OpenchamiStack
) -> None:
    assert real_stack.token is not None
    config = _configuration(tmp_path, engine)
    connection = real_stack.connection()
    config.write(
        {
            "smd_uri": connection["smdUri"],
            "bss_uri": connection["bssUri"],
            "cloud_init_uri": connection["cloudInitUri"],
            "pcs_uri": connection["pcsUri"],
            "ca_bundle": str(real_stack.ca_bundle),
        },
        "console=ttyS0 quiet",
    )
    config.env["TF_VAR_token"] = real_stack.token
    with Services.from_config(real_stack.config()) as services:
        compute = services.smd.get_group("compute").members.ids
        _lifecycle(config, services, sorted(compute), real_stack.token)


def _sim_settings(sim: SimServer) -> Any:
    from ochami_provider.config import ProviderConfig

    return ProviderConfig(uri=sim.url, token=TOKEN)


def test_a_pulumi_stack_cannot_take_the_nodes_a_tofu_configuration_boots(
    tmp_path: Path, engine: str, fleet: Fleet, sim: SimServer
) -> None:
    """One cluster, two tools: the owner markers keep them apart whichever runs first."""
    from tests.test_engine_e2e import ENGINE, STACK, Project

    if not ENGINE:
        pytest.skip("Pulumi engine not on PATH (scripts/engine.sh)")
    config = _configuration(tmp_path / "tofu", engine)
    config.write({"uri": sim.url}, "console=ttyS0 quiet")
    config.run("init", "-input=false")
    config.run("apply", "-auto-approve", "-input=false")
    (tmp_path / "pulumi").mkdir()
    stack = Project(tmp_path / "pulumi", sim.url)
    stack.write_config("console=ttyS1")
    stack.run("stack", "init", STACK)
    stack.run("config", "set", "--secret", "ochami:token", TOKEN)
    before = dict(fleet.bootparams)
    preview = stack.run("preview", check=False)
    assert preview.returncode != 0
    assert "compute-image@tf/e2e" in preview.stdout + preview.stderr, preview.stdout
    assert fleet.bootparams == before
    code, out = config.plan_exit()
    assert code == 0, out  # the Tofu configuration is untouched


def test_two_configurations_in_directories_of_one_name_are_two_owners_and_a_move_keeps_one(
    tmp_path: Path, engine: str, fleet: Fleet, sim: SimServer
) -> None:
    """Issue 21, item 5: the default deployment was `tf/<basename>`, so configurations in
    /x/boot and /y/boot on one cluster were one owner: the second apply took the first's
    records, and its destroy deleted them. Now the default names the directory's path too,
    the second is refused at plan naming the first, and a moved configuration keeps its own."""
    configs = []
    for parent in ("x", "y"):
        config = _configuration(tmp_path / parent, engine)
        config.path = config.path.rename(config.path.with_name("boot"))
        config.write({"uri": sim.url, "deployment": None}, "console=ttyS0 quiet")
        config.run("init", "-input=false")
        configs.append(config)
    first, second = configs
    first.run("apply", "-auto-approve", "-input=false")
    owners = {
        r["params"].split("ochami.template=")[1].split()[0] for r in fleet.bootparams.values()
    }
    assert len(owners) == 1 and owners.pop().startswith("compute-image@tf/boot-")
    before = {x: dict(r) for x, r in fleet.bootparams.items()}
    code, out = second.plan_exit()
    assert code == 1 and "already boots template 'compute-image' of stack 'tf/boot-" in out, out
    assert fleet.bootparams == before
    second.run("destroy", "-auto-approve", "-input=false")
    assert fleet.bootparams == before
    # Moved, with its state: still the owner of its records, nothing to change.
    moved = tmp_path / "z"
    moved.mkdir()
    first.path = first.path.rename(moved / "boot")
    assert first.plan_exit()[0] == 0
    first.run("destroy", "-auto-approve", "-input=false")
    assert fleet.bootparams == {}


def test_one_ctrl_c_in_a_rolling_reboot_starts_no_further_batch_and_is_recorded(
    tmp_path: Path, engine: str, fleet: Fleet, sim: SimServer
) -> None:
    """Issue 21, item 2, through OpenTofu (and Terraform): its Ctrl-C stops the provider
    (StopProvider); the rolling reboot starts no further batch, the state records the session
    as cancelled, and the next apply reboots only the nodes it did not reach."""
    config = _configuration(tmp_path, engine)
    config.write({"uri": sim.url}, "console=ttyS0 quiet")
    main = config.path / "main.tf"
    main.write_text(
        main.read_text().replace(
            'operation             = "boot"', 'operation = "reboot"\n  batch_size = "2"'
        )
    )
    config.run("init", "-input=false")
    fleet.power_delay = 1.0
    apply = subprocess.Popen(
        [engine, "apply", "-auto-approve", "-input=false", "-no-color"],
        cwd=config.path,
        env=config.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while len(fleet.transitions) < 2:
        assert apply.poll() is None and time.monotonic() < deadline, "no second batch"
        time.sleep(0.02)
    apply.send_signal(signal.SIGINT)
    assert apply.wait(timeout=120) != 0
    assert len(fleet.transitions) == 2, "a batch started after the Ctrl-C"
    resources = json.loads(config.state())["resources"]
    [session] = [r for r in resources if r["type"] == "ochami_boot_session"]
    assert session["instances"][0]["attributes"]["status"] == "cancelled"
    fleet.power_delay = 0.01
    config.run("apply", "-auto-approve", "-input=false")
    powered = Counter(t.xname for tr in fleet.transitions.values() for t in tr.tasks)
    assert powered == {node: 1 for node in fleet.nodes}


# Attributes the session and template resources gained after their state was first
# recorded (issue 21's `deployment` and `run_id`, issue 22's `probe_command`, ...).
_ADDED_SINCE = ("deployment", "run_id", "probe_command", "rerun_on_template_change", "history")


def test_a_state_recorded_by_an_earlier_version_loads_and_its_upgrade_writes_nothing(
    tmp_path: Path, engine: str, fleet: Fleet, sim: SimServer
) -> None:
    """A state from before attributes were added (the schema-1 state of the release before
    issue 21, as its provider wrote it): the engine refused it whole ("an object with 18
    attributes is required (17 given)"). Now the first plan records `deployment` in place, the
    apply writes and powers nothing, and the next plan is empty."""
    config = _configuration(tmp_path, engine)
    config.write({"uri": sim.url}, "console=ttyS0 quiet")
    config.run("init", "-input=false")
    config.run("apply", "-auto-approve", "-input=false")
    state = json.loads(config.state())
    for resource in state["resources"]:
        if resource["mode"] == "managed":
            for instance in resource["instances"]:
                instance["schema_version"] = 1
                attributes = instance["attributes"]
                for name in _ADDED_SINCE:
                    attributes.pop(name, None)
                # Issue 22's power port renamed the session's `pcs_operation`.
                if "power_operation" in attributes:
                    attributes["pcs_operation"] = attributes.pop("power_operation")
    (config.path / "terraform.tfstate").write_text(json.dumps(state))
    writes, transitions = fleet.count(writes_only=True), len(fleet.transitions)
    code, out = config.plan_exit()
    assert code == 2 and "+ deployment" in out and "0 to add, 2 to change, 0 to destroy" in out, out
    config.run("apply", "-auto-approve", "-input=false")
    assert fleet.count(writes_only=True) == writes and len(fleet.transitions) == transitions
    code, out = config.plan_exit()
    assert code == 0, out
    [session] = [
        r for r in json.loads(config.state())["resources"] if r["type"] == "ochami_boot_session"
    ]
    attributes = session["instances"][0]["attributes"]
    assert attributes["power_operation"] == "On" and "pcs_operation" not in attributes


def _on_v02(main_tf: str, pdsh: str) -> str:
    """main.tf for OpenCHAMI v0.2: the session proving boots by the nodes' command line
    (boot-service keeps no fetch history)."""
    return main_tf.replace(
        "  poll_interval_seconds = 0.1\n",
        "  poll_interval_seconds = 0.1\n"
        '  booted_when           = "cmdline"\n'
        f"  probe_command         = {json.dumps(pdsh)}\n",
    )


def test_a_configuration_on_boot_service_plans_applies_imports_and_destroys(
    tmp_path: Path, engine: str
) -> None:
    """The provider block's `boot_backend = "boot-service"` and `group_data_backend =
    "metadata-service"`: the same lifecycle on OpenCHAMI v0.2 (the simulator as v0.2, whose
    nodes boot from boot-service)."""
    fleet = Fleet.generate(8, groups={"compute": range(8)}, power_delay=0.01)
    fleet.generation = "v0.2"
    fleet.token = TOKEN
    with SimServer(fleet) as sim:
        pdsh = (
            f"{shlex.quote(sys.executable)} -m ochami_provider.sim.pdsh --sim {sim.url}"
            ' -w "$OCHAMI_NODES" cat /proc/cmdline'
        )
        config = _configuration(tmp_path, engine)
        v02 = {"boot_backend": "boot-service", "group_data_backend": "metadata-service"}
        config.write({"uri": sim.url, **v02}, "console=ttyS0 quiet")
        main = config.path / "main.tf"
        main.write_text(_on_v02(main.read_text(), pdsh))
        settings = _sim_settings(sim).merged(v02)
        with Services.from_config(settings) as services:
            nodes = sorted(fleet.nodes)
            config.run("init", "-input=false")
            assert config.plan_exit()[0] == 2
            assert fleet.boot_configurations == {}, "a plan wrote to boot-service"
            config.run("apply", "-auto-approve", "-input=false")
            outputs = json.loads(config.run("output", "-json").stdout)
            assert outputs["session"]["value"] == "completed"
            version = outputs["version"]["value"]
            assert all(f"ochami.version={version}" in fleet.nodes[n].cmdline for n in nodes)
            assert services.bss.get(nodes) == {}
            [group] = services.metadata_service.list()
            assert group.name == "compute" and group.spec.meta_data == {"cluster": "e2e"}
            code, out = config.plan_exit()
            assert code == 0, out
            # A hand edit of our configuration (the session's, which holds the nodes it booted)
            # is drift; apply puts the template back.
            ours = next(iter(services.boot_service.list()))
            edited = ours.spec.model_copy(update={"kernel": "http://h/hand"})
            services.boot_service.update(ours.uid, ours.name, {}, edited)
            code, out = config.plan_exit()
            assert code == 2 and "http://h/hand" in out, out
            config.run("apply", "-auto-approve", "-input=false")
            kernels = {b.boot.kernel for b in services.boot.read(nodes).values()}
            assert kernels == {"http://images.example/vmlinuz"}
            config.run("state", "rm", "ochami_boot_template.compute")
            config.run("import", "-input=false", "ochami_boot_template.compute", "compute-image")
            shown = config.run("state", "show", "ochami_boot_template.compute").stdout
            assert "node_list" in shown or "node_groups" in shown
            config.run("destroy", "-auto-approve", "-input=false")
            assert services.boot_service.list() == [] and services.metadata_service.list() == []
