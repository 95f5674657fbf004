"""`ochami-boot status`: every node's template, power and last boot-script fetch, read in a
fixed number of requests, printed as hostlist rows or as JSON per node."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from ochami_provider.cli import main
from ochami_provider.clients import Services
from ochami_provider.config import ProviderConfig
from ochami_provider.models.owner import Owner, Stake
from ochami_provider.models.template import BootTemplateSpec
from ochami_provider.node_status import gather, rows
from ochami_provider.sim import Fleet, SimServer
from ochami_provider.template_writer import write_template

STAKE = Stake(Owner("compute", "ochami-boot/dev"))


def _spec(group: str = "compute") -> BootTemplateSpec:
    return BootTemplateSpec.model_validate(
        {
            "name": "compute",
            "boot_sets": {"b": {"kernel": "http://images.example/vmlinuz", "node_groups": [group]}},
        }
    )


def _booted_fleet(count: int, booted: int) -> Fleet:
    """`count` nodes, the first `booted` of them in group `compute` (the template's); all off
    until `_apply` powers some on."""
    return Fleet.generate(count, groups={"compute": range(booted)}, power_delay=0.0)


def _apply(sim: SimServer, fleet: Fleet, booted: int) -> None:
    with Services.from_config(ProviderConfig(uri=sim.url)) as services:
        write_template(services, _spec(), STAKE)
        nodes = fleet.groups["compute"]["members"]["ids"][:booted]
        # What a session's configuration step does before it powers its nodes.
        write_template(services, _spec(), STAKE, only_nodes=nodes, session="boot-compute")
        tid = services.pcs.start_transition("On", nodes)
        services.pcs.get_transition(tid)  # advances: the nodes power on and ask BSS


def test_status_names_each_nodes_template_power_and_fetch_in_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fleet = _booted_fleet(8, 6)
    with SimServer(fleet) as sim:
        _apply(sim, fleet, 4)
        # By hand, under both keys (what the node's iPXE finds is the record by MAC).
        edited = sorted(fleet.bootparams)[-1]
        fleet.bootparams[edited]["params"] = "console=ttyS0"
        fleet.bootparams_by_mac[fleet.nodes[edited].mac]["params"] = "console=ttyS0"
        assert main(["status", "--uri", sim.url, "--json"]) == 0
    nodes = {n["node"]: n for n in json.loads(capsys.readouterr().out)}
    assert sorted(nodes) == sorted(fleet.nodes)
    on = [n for n in nodes.values() if n["power"] == "on"]
    assert len(on) == 4
    assert all(n["template"] == "compute" and n["stack"] == "ochami-boot/dev" for n in on)
    assert all(n["boot_set"] == "b" and n["version"] == _spec().version() for n in on)
    assert all(n["session"] == "boot-compute" for n in on)
    assert {n["session"] for n in nodes.values() if n["power"] == "off"} == {None}
    assert all(n["last_bootscript_fetch"] for n in on)
    hand = nodes[sorted(fleet.bootparams)[-1]]
    assert hand["template"] == "" and hand["power"] == "off" and hand["version"] is None
    assert hand["last_bootscript_fetch"] is None
    missing = [n for n in nodes.values() if n["template"] is None]
    assert len(missing) == 2 and all(n["kernel"] is None for n in missing)


def test_status_rows_fold_agreeing_nodes_into_hostlist_ranges(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fleet = _booted_fleet(16, 16)
    with SimServer(fleet) as sim:
        _apply(sim, fleet, 16)
        assert main(["status", "--uri", sim.url, "--template", "compute"]) == 0
        printed = capsys.readouterr().out.splitlines()
        assert printed[0].split()[:10] == [
            *("NODES", "COUNT", "TEMPLATE", "BOOT", "SET", "VERSION", "LAST", "SESSION"),
            *("KERNEL", "POWER"),
        ]
        assert len(printed) == 2
        row = printed[1].split()
        assert row[:8] == [
            "x1000c0s[0-7]b0n[0-1]",
            "16",
            "compute@ochami-boot/dev",
            "b",
            _spec().version(),
            "boot-compute",
            "http://images.example/vmlinuz",
            "on",
        ]
        assert main(["status", "--uri", sim.url, "--node", "x1000c0s[0-1]b0n0", "--json"]) == 0
        picked = json.loads(capsys.readouterr().out)
        assert [n["node"] for n in picked] == ["x1000c0s0b0n0", "x1000c0s1b0n0"]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--node", "x1000c0s[0-1"], "--node: 'x1000c0s[0-1' is not a hostlist of node xnames"),
        (["--node", "node[1-2]"], "--node: 'node[1-2]' is not a hostlist of node xnames"),
        (["--uri", "ftp://x"], "uri"),
        # Issue 21: an empty --node showed the whole machine.
        (["--node", ""], "--node: '' names no node"),
    ],
)
def test_command_line_mistakes_exit_2_naming_the_option(
    capsys: pytest.CaptureFixture[str], args: list[str], said: str
) -> None:
    fleet = _booted_fleet(2, 0)
    with SimServer(fleet) as sim:
        uri = [] if "--uri" in args else ["--uri", sim.url]
        assert main(["status", *uri, *args]) == 2
        assert fleet.requests == []
    assert said in capsys.readouterr().err


def test_a_failing_service_exits_1_with_its_name(capsys: pytest.CaptureFixture[str]) -> None:
    fleet = _booted_fleet(2, 0)
    with SimServer(fleet) as sim:
        fleet.faults.add(service="bss", status=503, times=None)
        assert main(["status", "--uri", sim.url]) == 1
    err = capsys.readouterr().err
    assert "bss" in err and "503" in err and "Traceback" not in err


def test_status_reads_a_fixed_number_of_requests_at_10000_nodes() -> None:
    """Two SMD reads (nodes, their interfaces), two BSS reads, one PCS read: the same at
    10,000 nodes as at 10."""
    counts = {}
    for size in (10, 10_000):
        fleet = _booted_fleet(size, size)
        with SimServer(fleet) as sim:
            _apply(sim, fleet, size)
            fleet.requests.clear()
            with Services.from_config(ProviderConfig(uri=sim.url)) as services:
                found = gather(services)
            assert len(found) == size and len(rows(found)) == 1
            counts[size] = Counter(service for service, _, _ in fleet.requests)
    assert counts[10] == counts[10_000] == Counter({"smd": 2, "bss": 2, "pcs": 1})


def test_status_of_nodes_smd_does_not_know_exits_2_naming_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 21: unknown xnames were dropped without a word (exit 0)."""
    fleet = _booted_fleet(4, 2)
    with SimServer(fleet) as sim:
        named = "x1000c0s0b0n0,x9000c0s[0-1]b0n0"
        assert main(["status", "--uri", sim.url, "--node", named]) == 2
        assert (
            main(["status", "--uri", sim.url, "--group", "compute", "--node", "x1000c0s1b0n1"]) == 2
        )
    out, err = capsys.readouterr()
    assert out == ""
    assert "--node: 2 of 3 are not nodes SMD knows (got 'x9000c0s[0-1]b0n0')" in err
    assert "--node: 1 of 1 are not members of SMD group 'compute' (got 'x1000c0s1b0n1')" in err
