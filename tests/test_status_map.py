"""`ochami-boot status --html / --map`: the machine as a map by template version, power and
session progress: its layout by xname, the progress read from the engine's record and a running
session's journal, the terminal and page renderings, and the command against the simulator."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest

from benchmarks.status_map import rolling, wait_for_batch
from ochami_provider.cli import main
from ochami_provider.map_page import render as render_page
from ochami_provider.map_text import render as render_text
from ochami_provider.models.session import SessionRecord
from ochami_provider.node_map import PALETTE, build, facts_of, layout
from ochami_provider.node_status import NodeStatus
from ochami_provider.session_progress import BatchNote, Recorded, from_tf_state, progress
from ochami_provider.sim import Fleet, SimServer

V1, V2 = "1111111111111111", "2222222222222222"


def _status(node: str, **given: Any) -> NodeStatus:
    values: dict[str, Any] = {
        "template": "compute",
        "stack": "cluster-a",
        "boot_set": "compute",
        "version": V2,
        "session": "roll",
        "kernel": "vmlinuz",
        "power": "on",
        "last_bootscript_fetch": None,
    }
    return NodeStatus(node=node, **{**values, **given})


def _record(name: str, version: str, **results: Any) -> Recorded:
    record = SessionRecord.model_validate(
        {
            "created": "2026-12-01T10:00:00+00:00",
            "started_at": "2026-12-01T10:00:00+00:00" if name == "boot" else "2026-12-02T10:00",
            "operation": "reboot",
            "status": "completed",
            "template_name": "compute",
            "template_version": version,
            "run_id": f"run-{name}",
            "results": results,
        }
    )
    return Recorded(name, "cluster-a", record)


def _cells(page: str) -> int:
    """The nodes' squares on a page (the legend's swatches have no place)."""
    return len(re.findall(r'<rect class="k\d+" x=', page))


def _ex_names(cabinets: int) -> list[str]:
    """HPE EX's layout: 8 chassis of 8 slots, 2 BMCs, 2 nodes each: 256 per cabinet."""
    return [
        f"x{1000 + x}c{c}s{s}b{b}n{n}"
        for x in range(cabinets)
        for c in range(8)
        for s in range(8)
        for b in range(2)
        for n in range(2)
    ]


# Layout -----------------------------------------------------------------------------------
def test_cabinets_hold_a_row_per_chassis_and_the_same_columns_with_gaps_between_slots() -> None:
    names = ["x1000c0s0b0n0", "x1000c0s0b0n1", "x1000c1s1b0n0", "x1001c3s0b0n1", "nid0001"]
    found = build([_status(n) for n in names], {})
    blocks = layout(c for b in found.blocks for r in b.rows for c in r.cells if c)
    assert [b.label for b in blocks] == ["x1000", "x1001", "other nodes"]
    x1000, x1001, others = blocks
    # Columns: every (slot, BMC, node) any chassis has, so s1b0n0 sits in column 2 everywhere.
    assert [[c.node if c else None for c in row.cells] for row in x1000.rows] == [
        ["x1000c0s0b0n0", "x1000c0s0b0n1", None],
        [None, None, "x1000c1s1b0n0"],
    ]
    assert [r.label for r in x1001.rows] == ["c3"]
    assert x1000.slot_ends == frozenset({1})  # a gap after s0's last column
    assert [c.node for c in others.rows[0].cells if c] == ["nid0001"]


def test_a_keys_colour_stays_when_a_new_version_appears() -> None:
    first = build([_status("x1000c0s0b0n0", version=V2)], {})
    assert [k.colour for k in first.keys] == [0]
    before = {k.label: k.colour for k in first.keys}
    # A label sorting before it: on its own it would take colour 0.
    second = build(
        [_status("x1000c0s0b0n0", version=V2), _status("x1000c0s0b0n1", version=V1)],
        {},
        colours=before,
    )
    colours = {k.version: k.colour for k in second.keys}
    assert colours == {V2: 0, V1: 1}


# Progress ---------------------------------------------------------------------------------
def test_recorded_results_give_each_node_its_mark_and_error() -> None:
    nodes = [f"x1000c0s{s}b0n0" for s in range(5)]
    recorded = {
        "roll": _record(
            "roll",
            V2,
            phases={
                "booted": [nodes[0]],
                "off": [nodes[1]],
                "failed": [nodes[2]],
                "skipped": [nodes[3]],
            },
            failed={nodes[2]: "Operation Hard-Restart not supported"},
            skipped={"disabled in SMD": [nodes[3]]},
            pending=[nodes[4]],
        )
    }
    facts = facts_of([_status(n) for n in nodes])
    found, views = progress(facts, recorded, {})
    assert [found[n].mark for n in nodes] == ["booted", "done", "failed", "skipped", "pending"]
    assert found[nodes[2]].error == "Operation Hard-Restart not supported"
    assert found[nodes[3]].detail == "disabled in SMD"
    assert views[0].marks == {"booted": 1, "done": 1, "failed": 1, "skipped": 1, "pending": 1}


def test_a_running_sessions_journal_says_booted_in_progress_and_pending() -> None:
    nodes = [f"x1000c0s{s}b0n0" for s in range(4)]
    statuses = [
        _status(nodes[0], last_bootscript_fetch=1_000_010),  # batch 1, fetched since: booted
        _status(nodes[1], last_bootscript_fetch=900_000),  # batch 1, fetched before: not yet
        _status(nodes[2], last_bootscript_fetch=900_000),  # not powered yet
        _status(nodes[3], last_bootscript_fetch=900_000),
    ]
    notes = [BatchNote("run-2", V2, "reboot", 1_000_000, (nodes[0], nodes[1]))]
    # The session that booted them with V1, and the session running, recorded from an earlier
    # run of another version.
    recorded = {"boot": _record("boot", V1, phases={"booted": nodes})}
    found, views = progress(facts_of(statuses), recorded, {("cluster-a", "roll"): notes})
    assert [found[n].mark for n in nodes] == ["booted", "in progress", "pending", "pending"]
    assert found[nodes[0]].detail.startswith("batch 1, powered")
    assert found[nodes[0]].runs is None
    assert found[nodes[2]].runs == ("compute", V1)  # it runs V1 until its batch reboots it
    assert views[0].running and views[0].batches_done == 1 and views[0].template == "compute"
    drawn = build(statuses, found, views)
    by_version = {k.version: k.count for k in drawn.keys}
    assert by_version == {V2: 1, V1: 3}


def test_a_journal_of_the_run_the_engine_recorded_is_not_a_running_session() -> None:
    node = "x1000c0s0b0n0"
    recorded = {"roll": _record("roll", V2, phases={"booted": [node]})}
    notes = [BatchNote("run-roll", V2, "reboot", 1_000_000, (node,))]
    found, views = progress(facts_of([_status(node)]), recorded, {("cluster-a", "roll"): notes})
    assert found[node].mark == "booted"
    assert not views[0].running


def test_sessions_are_read_from_a_tofu_state_with_their_json_attributes() -> None:
    record = _record("roll", V2, phases={"booted": ["x1000c0s0b0n0"]}).record
    attributes = {
        **record.model_dump(mode="json"),
        "results": json.dumps(record.results.model_dump(mode="json")),
        "history": "[]",
        "name": "roll",
        "deployment": "cluster-a",
    }
    state = {
        "resources": [
            {
                "mode": "managed",
                "type": "ochami_boot_session",
                "instances": [{"attributes": attributes}],
            }
        ]
    }
    found = from_tf_state(state, "terraform.tfstate")
    assert found["roll"].record.results.phases == {"booted": ["x1000c0s0b0n0"]}
    assert found["roll"].deployment == "cluster-a"


# Renderings -------------------------------------------------------------------------------
def test_the_terminal_map_of_1024_ex_nodes_fits_80_columns_a_character_per_node() -> None:
    names = _ex_names(4)
    statuses = [_status(n, version=V1 if i % 3 else V2) for i, n in enumerate(names)]
    text = render_text(build(statuses, {}), width=80)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    chassis_rows = [line for line in lines if re.match(r"^c\d ", line)]
    assert len(chassis_rows) == 16  # 4 cabinets, two side by side, 8 chassis each
    cells = "".join(re.sub(r"\bc\d ", "", line) for line in chassis_rows)
    assert cells.count("A") + cells.count("B") == 1024
    keys = {
        line.split()[1]: line.split()[0] for line in lines if line.startswith("  ") and "@" in line
    }
    assert cells.count(keys[f"compute@{V2}"]) == len(names[::3])


def test_the_terminal_map_paints_each_key_in_its_colour_and_wraps_by_cabinet() -> None:
    statuses = [_status(n) for n in _ex_names(3)]
    text = render_text(build(statuses, {}), width=80, colour=True)
    orange = PALETTE[0]
    rgb = ";".join(str(int(orange[i : i + 2], 16)) for i in (1, 3, 5))
    assert text.count(f"48;2;{rgb}") == 768 + 1  # every node and the legend's letter
    headers = [line for line in text.splitlines() if line.startswith("x")]
    assert [h.split()[0] for h in headers] == ["x1000", "x1002"]  # 2 to a band, then a new band


def test_the_page_is_self_contained_and_lists_failed_nodes_with_their_error() -> None:
    names = _ex_names(1)
    recorded = {
        "roll": _record(
            "roll",
            V2,
            phases={"booted": names[2:], "failed": names[:2]},
            failed={names[0]: "Invalid xname", names[1]: "Invalid xname"},
        )
    }
    statuses = [_status(n, power="off" if n == names[5] else "on") for n in names]
    found, views = progress(facts_of(statuses), recorded, {})
    page = render_page(build(statuses, found, views))
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)
    assert "<script" not in page
    assert _cells(page) == len(names)
    assert page.count('href="#gf" x=') == 2  # the failed glyph, on each failed node
    assert page.count('href="#po" x=') == 1  # the bar of the node that is off
    failed = page[page.index("id=failed") :]
    assert "x1000c0s0b0n[0-1]" in failed and "Invalid xname" in failed


# The command, against the simulator -------------------------------------------------------
def test_the_map_reads_what_status_reads_and_the_nodes_json_reads_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet = Fleet.generate(40, power_delay=0.0)
    with SimServer(fleet) as sim:
        before = len(fleet.requests)
        assert main(["status", "--uri", sim.url, "--json"]) == 0
        status_reads = fleet.requests[before:]
        printed = capsys.readouterr().out
        before = len(fleet.requests)
        page = tmp_path / "status.html"
        assert main(["status", "--uri", sim.url, "--html", str(page), "--map"]) == 0
        map_reads = fleet.requests[before:]
        (tmp_path / "nodes.json").write_text(printed)
        before = len(fleet.requests)
        offline = tmp_path / "offline.html"
        assert (
            main(["status", "--nodes-json", str(tmp_path / "nodes.json"), "--html", str(offline)])
            == 0
        )
        assert fleet.requests[before:] == []
    assert sorted(map_reads) == sorted(status_reads)
    assert _cells(page.read_text()) == 40
    assert _cells(offline.read_text()) == 40
    assert "(no boot entry)" in capsys.readouterr().out


def test_the_map_works_on_openchami_v02_where_fetches_are_not_recorded(tmp_path: Path) -> None:
    fleet = Fleet.generate(8, power_delay=0.0)
    fleet.generation = "v0.2"
    with SimServer(fleet) as sim:
        page = tmp_path / "status.html"
        flags = ["--boot-backend", "boot-service", "--group-data-backend", "metadata-service"]
        assert main(["status", "--uri", sim.url, *flags, "--html", str(page)]) == 0
    text = page.read_text()
    assert _cells(text) == 8
    assert "boot-script fetches not recorded by boot-service" in text


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--stack", "dev"], "--stack: these draw the map"),
        (["--map", "--json"], "--json prints rows"),
        (["--map", "--watch", "0"], "--watch: 0 must be more than 0 seconds"),
        (["--html", "-", "--watch", "5"], "--watch rewrites a file"),
        (["--map", "--nodes-json", "n.json", "--group", "compute"], "--group asks SMD"),
    ],
)
def test_map_flags_that_cannot_go_together_are_refused(
    flags: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--uri", "http://127.0.0.1:9", *flags]) == 2
    assert said in capsys.readouterr().err


def test_two_sources_of_sessions_are_refused_by_the_parser(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["status", "--map", "--export", "a.json", "--tf-state", "b.json"])
    assert exited.value.code == 2
    assert "--tf-state: not allowed with argument --export" in capsys.readouterr().err


def test_a_bad_nodes_json_entry_is_refused_naming_its_place_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    given = tmp_path / "nodes.json"
    given.write_text(json.dumps([{"node": "x1000c0s0b0n0"}, {"node": "x1000c0s0b0n1", "power": 3}]))
    assert main(["status", "--nodes-json", str(given), "--map"]) == 2
    err = capsys.readouterr().err
    assert "[1].power" in err and "3" in err


def test_watch_redraws_while_a_rolling_session_runs_and_stops_once_it_ended(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with rolling(128, power_delay=0.3) as (machine, thread):
        wait_for_batch(machine, 1)
        page = machine.workdir / "watched.html"
        seen: list[str] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                if page.exists():
                    seen.append(page.read_text())
                stop.wait(0.1)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            assert main(machine.status_args("--html", str(page), "--watch", "0.2")) == 0
        finally:
            stop.set()
            sampler.join()
        assert machine.batches_noted() == 0  # the session ended (its journal cleared) first
        final = page.read_text()
    assert 'http-equiv="refresh"' not in final  # the last page stops reloading
    assert any('http-equiv="refresh" content="1"' in text and "running" in text for text in seen)
    assert capsys.readouterr().err.count("roll-v2 running") >= 2


def test_the_map_draws_from_the_ochami_nodes_data_source_in_a_state_or_its_output(
    tmp_path: Path,
) -> None:
    """`--nodes-json` takes what Tofu kept of `data "ochami_nodes"`: a state holding it, or
    `tofu output -json` of its `nodes` (a JSON string of the list)."""
    nodes = [
        {"node": "x1000c0s0b0n0", "template": "compute", "version": V1, "power": "on"},
        {
            "node": "x1000c0s0b0n1",
            "template": "compute",
            "version": V2,
            "power": "off",
            "last_bootscript_fetch": "2026-12-02T10:00:00+00:00",
        },
    ]
    instance = {"attributes": {"group": "compute", "nodes": json.dumps(nodes), "count": 2}}
    state = {"resources": [{"mode": "data", "type": "ochami_nodes", "instances": [instance]}]}
    for name, document in (("state.json", state), ("output.json", json.dumps(nodes))):
        (tmp_path / name).write_text(json.dumps(document))
        page = tmp_path / f"{name}.html"
        assert main(["status", "--nodes-json", str(tmp_path / name), "--html", str(page)]) == 0
        text = page.read_text()
        assert _cells(text) == 2
        assert f"compute@{V1}" in text and f"compute@{V2}" in text
        assert "boot script 2026-12-02 10:00:00Z" in text
        assert text.count('href="#po" x=') == 1
