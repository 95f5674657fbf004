"""History in the state: each template's writes and each session's runs, bounded, and
`ochami-boot history` answering from a stack export or a Tofu state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from ochami_provider import BootSessionProvider, BootTemplateProvider
from ochami_provider.cli import main
from ochami_provider.errors import InvalidInputError
from ochami_provider.history import (
    from_pulumi_export,
    from_tf_state,
    node_at,
    parse_time,
    versions,
)
from ochami_provider.models.history import (
    SAME,
    SessionHistory,
    SessionRun,
    TemplateHistory,
    TemplateWrite,
    author,
)
from ochami_provider.models.session import SessionRecord
from ochami_provider.models.template import TemplateState
from ochami_provider.sim import Fleet, SimServer
from tests.conftest import nodes, session_props, template_props

SECRET = "4dabf18193072939515e22adb298388d"


def _apply(provider: BootTemplateProvider, olds: dict[str, Any], props: dict[str, Any]) -> Any:
    inputs = provider.check(olds, props).inputs
    outs = provider.update("t", olds, inputs).outs if olds else provider.create(inputs).outs
    assert outs is not None
    return {**inputs, **outs}


def _export(*resources: dict[str, Any]) -> dict[str, Any]:
    """A stack export as `pulumi stack export --show-secrets` prints it."""
    return {
        "version": 3,
        "deployment": {
            "resources": [
                {
                    "urn": f"urn:pulumi:s::p::pulumi-python:dynamic:Resource::{r['name']}",
                    "outputs": r,
                }
                for r in resources
            ]
        },
    }


def test_each_write_is_kept_with_its_spec_nodes_author_and_changes_bounded_by_the_setting(
    fleet: Fleet, sim: SimServer
) -> None:
    provider = BootTemplateProvider()
    props = template_props(sim.url, connection={"uri": sim.url, "historyLength": 2})
    first = _apply(provider, {}, props)
    assert [w["version"] for w in first["history"]] == [first["version"]]
    entry = first["history"][0]
    assert entry["by"] == author() and entry["hosts"] == first["hosts"]
    assert entry["spec"] == first["spec"]
    params = ["console=ttyS1", "console=ttyS2"]
    outs = first
    for param in params:
        props["boot_sets"]["compute"]["kernel_parameters"] = param
        outs = _apply(provider, outs, props)
    # Three writes, two kept: the newest last, each naming what changed.
    history = outs["history"]
    assert len(history) == 2 and history[-1]["version"] == outs["version"]
    assert [w["spec"]["boot_sets"]["compute"]["kernel_parameters"] for w in history] == params
    assert any(
        "console=ttyS1" in line and "console=ttyS2" in line for line in history[1]["changes"]
    )
    # An older state (no history) loads, and its next write starts one.
    bare = {k: v for k, v in outs.items() if k != "history"}
    props["boot_sets"]["compute"]["kernel_parameters"] = "console=ttyS3"
    assert [w["version"] for w in _apply(provider, bare, props)["history"]] != []


def test_a_ten_thousand_node_template_keeps_its_history_small() -> None:
    fleet = Fleet.generate(10_000, groups={"compute": range(10_000)}, power_delay=0.0)
    with SimServer(fleet) as sim:
        provider = BootTemplateProvider()
        props = template_props(sim.url)
        props["connection"]["verifyArtifacts"] = False
        outs = _apply(provider, {}, props)
        props["boot_sets"]["compute"]["kernel_parameters"] = "console=ttyS1"
        outs = _apply(provider, outs, props)
    assert len(outs["history"]) == 2
    assert len(json.dumps(outs["history"])) < 4000, len(json.dumps(outs["history"]))


def test_each_session_run_is_kept_with_what_it_powered_and_its_outcome(
    fleet: Fleet, sim: SimServer
) -> None:
    template = _apply(BootTemplateProvider(), {}, template_props(sim.url))
    compute = nodes(template["hosts"]["compute"])
    bad = compute[2]
    fleet.power_failures[bad] = 2  # the first run and its retry
    for node in compute:
        fleet.nodes[node].power = "on"
    provider = BootSessionProvider()
    props = session_props(sim, template)
    outs = provider.create(props).outs
    assert outs is not None and outs["status"] == "failed"
    retried = provider.update("id", outs, props).outs
    assert retried is not None and retried["status"] == "completed"
    first, second = retried["history"]
    assert first["status"] == "failed" and nodes(first["failed"]) == [bad]
    assert nodes(first["acted"]["Hard-Restart"]) == compute
    assert list(first["errors"].values()) == [1] and "giving up" in next(iter(first["errors"]))
    assert second["status"] == "completed" and second["acted"] == {"Hard-Restart": bad}
    assert {r["template_version"] for r in (first, second)} == {template["version"]}
    assert "acted" not in retried  # the run's, kept in its history entry alone


def _recorded_stack(fleet: Fleet, sim: SimServer) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A template written twice (a session between the writes) as a stack export records it."""
    provider = BootTemplateProvider()
    props = template_props(sim.url)
    first = _apply(provider, {}, props)
    for node in nodes(first["hosts"]["compute"]):
        fleet.nodes[node].power = "on"
    session = BootSessionProvider().create(session_props(sim, first)).outs
    assert session is not None
    props["boot_sets"]["compute"]["kernel_parameters"] = "console=ttyS1"
    second = _apply(provider, first, props)
    # The three happened within a second: dated as days apart, as they would be.
    for entry, day in zip(second["history"], ("20", "24"), strict=True):
        entry["at"] = f"2026-11-{day}T10:00:00+00:00"
    session["history"][0]["started_at"] = "2026-11-21T10:00:00+00:00"
    return _export(second, {**session, "name": "reboot-compute"}), [first, second]


def test_history_answers_which_version_a_node_had_at_a_time(
    fleet: Fleet, sim: SimServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    export, (first, second) = _recorded_stack(fleet, sim)
    node = nodes(first["hosts"]["compute"])[0]
    recorded = from_pulumi_export(export, "stack s")
    found = node_at(recorded, node, parse_time("2026-11-22T00:00"))
    assert (found.template, found.boot_set) == ("compute", "compute")
    assert found.write is not None and found.write.version == first["version"]
    assert found.session == "reboot-compute" and found.run is not None
    assert found.run.status == "completed" and found.run.acted_on(node)
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export))
    at = "2026-11-24T10:00"
    assert main(["history", "--export", str(path), "--node", node, "--at", at, "--json"]) == 0
    said = json.loads(capsys.readouterr().out)
    assert (said["template"], said["version"]) == ("compute", second["version"])
    assert main(["history", "--export", str(path), "--template", "compute"]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[0] == "template compute: 2 write(s), newest first"
    assert text[1].split()[1] == second["version"] and "console=ttyS1" in "\n".join(text[2:])
    # Before the first write: no template then, and no session.
    assert main(["history", "--export", str(path), "--node", node, "--at", "2000-01-01"]) == 0
    assert "no recorded template gave it a boot entry then" in capsys.readouterr().out


def test_show_gives_a_version_back_as_stack_yaml_and_as_hcl(
    fleet: Fleet, sim: SimServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    export, (first, _) = _recorded_stack(fleet, sim)
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export))
    version = first["version"][:8]  # a unique prefix will do
    assert main(["history", "--export", str(path), "--show", f"compute@{version}"]) == 0
    yaml = capsys.readouterr().out
    assert "ochami-boot:templates:" in yaml and "console=ttyS0,115200 quiet" in yaml
    assert f"# compute at version {first['version']}," in yaml  # the whole version
    assert main(["history", "--export", str(path), "--show", f"compute@{version}", "--hcl"]) == 0
    hcl = capsys.readouterr().out
    assert hcl.startswith('resource "ochami_boot_template" "compute" {')
    assert "boot_sets = jsonencode(" in hcl and "console=ttyS0,115200 quiet" in hcl


@pytest.mark.parametrize(
    ("args", "field", "said"),
    [
        (["--template", "nope"], "template", "templates with history: compute"),
        (["--show", "compute@ffff"], "version", "is not among its recorded versions"),
        (["--node", "x9999c0s0b0n0", "--at", "2026-01-01"], "node", "recorded node"),
        (["--node", "x1000c0s0b0n0", "--at", "yesterday"], "at", "not an ISO 8601 time"),
    ],
)
def test_an_unknown_template_version_node_or_time_is_named(
    fleet: Fleet,
    sim: SimServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    args: list[str],
    field: str,
    said: str,
) -> None:
    export, _ = _recorded_stack(fleet, sim)
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export))
    assert main(["history", "--export", str(path), *args]) == 2
    error = capsys.readouterr().err
    assert said in error and field in error


def test_a_tofu_state_and_its_show_json_are_read_alike(fleet: Fleet, sim: SimServer) -> None:
    _, (first, second) = _recorded_stack(fleet, sim)
    values = {"name": "compute", "history": json.dumps(second["history"])}
    state = {
        "version": 4,
        "resources": [
            {
                "mode": "managed",
                "type": "ochami_boot_template",
                "instances": [{"attributes": values}],
            }
        ],
    }
    shown = {
        "values": {
            "root_module": {
                "child_modules": [
                    {
                        "resources": [
                            {"mode": "managed", "type": "ochami_boot_template", "values": values}
                        ]
                    }
                ]
            }
        }
    }
    for document in (state, shown):
        recorded = from_tf_state(document, "state")
        assert [w.version for w in recorded.templates["compute"]] == [
            first["version"],
            second["version"],
        ]


def test_a_diy_backends_checkpoint_of_an_earlier_update_reads_as_its_export() -> None:
    """Pulumi v3.274.1 copies the checkpoint of every update to `.pulumi/history/` on each diy
    backend (file, s3, postgres): an older state than the bounded history keeps."""
    write = {"version": "0123456789abcdef", "at": "2026-11-01T10:00:00+00:00", "by": "a@h"}
    export = _export({"name": "compute", "history": [write]})
    checkpoint = {"version": 3, "checkpoint": {"stack": "s", "latest": export["deployment"]}}
    recorded = from_pulumi_export(checkpoint, "checkpoint")
    assert [w.version for w in versions(recorded, "compute")] == [write["version"]]


def test_a_node_set_repeated_from_the_entry_before_is_recorded_once_and_read_back_whole() -> None:
    holes = [f"x1000c0s{s}b0n{n}" for s in range(8) for n in range(2) if (s, n) != (3, 1)]
    others = ["x1000c1s0b0n0"]
    writes = [
        TemplateWrite(version=v, at="2026-11-01T10:00:00+00:00", hosts=h)
        for v, h in (("a", {"compute": holes}), ("b", {"compute": holes}), ("c", {"c": others}))
    ]
    runs = [
        SessionRun(operation="reboot", status=s, acted={"soft-restart": holes}, failed=f)
        for s, f in (("failed", others), ("failed", others), ("completed", []))
    ]
    # As the template's and the session's state record them.
    state = TemplateState.model_construct(history=writes)
    template = json.loads(json.dumps(state.model_dump(mode="json", include={"history"})))
    hosts = [w["hosts"] for w in template["history"]]
    assert hosts[0]["compute"] not in ("", SAME) and hosts[1:] == [
        {"compute": SAME},
        {"c": "x1000c1s0b0n0"},
    ]
    session = SessionRecord.model_construct(history=runs).model_dump(
        mode="json", include={"history"}
    )
    assert [r["acted"]["soft-restart"] for r in session["history"]][1:] == [SAME, SAME]
    assert [r["failed"] for r in session["history"]] == ["x1000c1s0b0n0", SAME, ""]

    # Read back, by the state's own model and by `ochami-boot history`'s reader alike.
    def sets(entries: list[TemplateWrite]) -> list[dict[str, set[str]]]:
        return [{k: set(v) for k, v in w.hosts.items()} for w in entries]

    back = TypeAdapter(TemplateHistory).validate_python(template["history"])
    assert sets(back) == sets(writes)
    reread = from_pulumi_export(_export({"name": "t", "history": template["history"]}), "s")
    assert sets(reread.templates["t"]) == sets(writes)
    runs_back = TypeAdapter(SessionHistory).validate_python(session["history"])
    assert [(set(r.acted["soft-restart"]), r.failed) for r in runs_back] == [
        (set(holes), others),
        (set(holes), others),
        (set(holes), []),
    ]


def _write(version: str, at: str) -> dict[str, Any]:
    return {"version": version, "at": at, "by": "a@h", "hosts": {"compute": "x1000c0s0b0n0"}}


def test_checkpoints_give_back_the_entries_the_bounded_history_dropped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A history kept to one entry (ochami:historyLength 1) and three earlier states of the
    stack: what each kept, less what the current state still keeps, in time order."""
    first, second, third = (
        _write("1111111111111111", "2026-11-01T10:00:00+00:00"),
        _write("2222222222222222", "2026-11-08T10:00:00+00:00"),
        _write("3333333333333333", "2026-11-15T10:00:00+00:00"),
    )
    now = tmp_path / "export.json"
    now.write_text(json.dumps(_export({"name": "compute", "history": [third]})))
    directory = tmp_path / "checkpoints"
    directory.mkdir()
    sealed = {SECRET: "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "v1:..."}
    for n, history in enumerate(([first], [second], [third], sealed)):
        deployment = _export({"name": "compute", "history": history})["deployment"]
        state = {"version": 3, "checkpoint": {"stack": "s", "latest": deployment}}
        (directory / f"s-{n}.checkpoint.json").write_text(json.dumps(state))
    (directory / "s-0.history.json").write_text("{}")  # an update's summary: not a state
    assert main(["history", "--export", str(now), "--template", "compute"]) == 0
    assert "1111111111111111" not in capsys.readouterr().out
    command = ["history", "--export", str(now), "--checkpoints", str(directory)]
    assert main([*command, "--template", "compute", "--json"]) == 0
    out, err = capsys.readouterr()
    assert [w["version"] for w in json.loads(out)] == [third["version"], second["version"]] + [
        first["version"]
    ]
    assert "2 entries older than the kept history, from 4 earlier state(s); 1 kept" in err
    at = "2026-11-09T00:00"
    assert main([*command, "--node", "x1000c0s0b0n0", "--at", at, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == second["version"]
    # Without a directory it reads the stack's backend; an export has none.
    assert main(["history", "--export", str(now), "--checkpoints", "--template", "c"]) == 2
    assert "needs --stack" in capsys.readouterr().err


def test_an_export_without_its_secrets_says_so() -> None:
    sealed = {SECRET: "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "v1:..."}
    recorded = from_pulumi_export(_export({"name": "compute", "history": sealed}), "stack s")
    with pytest.raises(InvalidInputError, match="export with --show-secrets: compute"):
        versions(recorded, "compute")
