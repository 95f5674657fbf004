"""`ochami-boot power status|on|off|reboot --node HOSTLIST`: one-off power outside a stack, as
`manta power` and `ochami pcs` do it, with a session's reservations and verification."""

from __future__ import annotations

from collections import Counter

import pytest

from ochami_provider.backends.pcs import PcsPower
from ochami_provider.cli import main
from ochami_provider.power_command import plan
from ochami_provider.sim import Fleet, SimServer

NODES = "x1000c0s[0-3]b0n0"


def _fleet() -> Fleet:
    """8 nodes; x1000c0s[0-1]b0n0 on, the rest off."""
    fleet = Fleet.generate(8, power_delay=0.0)
    for xname in ("x1000c0s0b0n0", "x1000c0s1b0n0"):
        fleet.nodes[xname].power = "on"
    return fleet


def _sent(fleet: Fleet) -> Counter[tuple[str, str]]:
    return Counter((t.operation, t.xname) for tr in fleet.transitions.values() for t in tr.tasks)


def test_a_plan_leaves_alone_what_is_already_where_the_command_puts_it() -> None:
    states = {"a": "on", "b": "off", "c": "unknown"}
    assert plan("on", states).steps == [("on", ["b", "c"])] and plan("on", states).left_alone == [
        "a"
    ]
    assert plan("off", states).steps == [("off", ["a"])]
    assert plan("reboot", states).steps == [("on", ["b", "c"]), ("restart", ["a"])]
    assert plan("reboot", states, graceful=True).steps[1] == ("graceful-restart", ["a"])
    assert plan("off", {"b": "off"}).steps == []


def test_reboot_powers_on_the_off_nodes_restarts_the_on_ones_and_says_so_first(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fleet = _fleet()
    with SimServer(fleet) as sim:
        assert main(["power", "reboot", "--node", NODES, "--uri", sim.url]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [
        "On: x1000c0s[2-3]b0n0 (2 node(s))",
        "Hard-Restart: x1000c0s[0-1]b0n0 (2 node(s))",
    ]
    assert out[-1] == "succeeded: x1000c0s[0-3]b0n0 (4)"
    assert _sent(fleet) == Counter(
        {
            ("On", "x1000c0s2b0n0"): 1,
            ("On", "x1000c0s3b0n0"): 1,
            ("Hard-Restart", "x1000c0s0b0n0"): 1,
            ("Hard-Restart", "x1000c0s1b0n0"): 1,
        }
    )
    assert all(fleet.nodes[f"x1000c0s{i}b0n0"].power == "on" for i in range(4))
    assert fleet.reservations == {}  # released


def test_on_touches_no_node_that_is_on_and_dry_run_touches_none(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fleet = _fleet()
    with SimServer(fleet) as sim:
        assert main(["power", "on", "--node", NODES, "--uri", sim.url, "--dry-run"]) == 0
        assert fleet.transitions == {}
        said = capsys.readouterr().out.splitlines()
        assert said == [
            "would On: x1000c0s[2-3]b0n0 (2 node(s))",
            "would left alone: x1000c0s[0-1]b0n0 (2 node(s))",
        ]
        assert main(["power", "on", "--node", NODES, "--uri", sim.url]) == 0
        assert set(_sent(fleet)) == {("On", "x1000c0s2b0n0"), ("On", "x1000c0s3b0n0")}
        assert main(["power", "status", "--node", NODES, "--uri", sim.url]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "on: x1000c0s[0-3]b0n0 (4)"


def test_a_node_that_fails_is_reported_in_pcs_words_and_exits_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fleet = _fleet()
    fleet.power_failures["x1000c0s3b0n0"] = 1
    with SimServer(fleet) as sim:
        assert main(["power", "on", "--node", NODES, "--uri", sim.url]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-2] == "succeeded: x1000c0s2b0n0 (1)"
    assert out[-1].startswith("failed: x1000c0s3b0n0 (1): POST https://x1000c0s3b0/redfish")
    assert "giving up after 4 attempt(s)" in out[-1]


def test_nodes_another_session_holds_are_not_powered(capsys: pytest.CaptureFixture[str]) -> None:
    fleet = _fleet()
    fleet.reserve(["x1000c0s0b0n0", "x1000c0s2b0n0"], 5)  # one on, one off
    with SimServer(fleet) as sim:
        assert main(["power", "off", "--node", NODES, "--uri", sim.url]) == 1
        assert main(["power", "on", "--node", NODES, "--uri", sim.url]) == 1
    assert "held in SMD by another session or service" in capsys.readouterr().err
    assert fleet.transitions == {}


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["power", "reboot", "--node", ""], "--node: '' names no node"),
        (["power", "reboot", "--node", "not-a-node"], "is not a hostlist of node xnames"),
        (["power", "on", "--node", NODES, "--wait-seconds", "0"], "--wait-seconds: 0"),
    ],
)
def test_command_line_mistakes_exit_2(
    args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet = _fleet()
    with SimServer(fleet) as sim:
        assert main([*args, "--uri", sim.url]) == 2
    assert says in capsys.readouterr().err
    assert fleet.transitions == {}


def test_status_shows_each_power_state_in_hostlist_notation(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with SimServer(_fleet()) as sim:
        assert (
            main(["power", "status", "--node", "x1000c0s[0-3]b0n0,x9999c0s0b0n0", "--uri", sim.url])
            == 0
        )
    assert capsys.readouterr().out.splitlines() == [
        "off: x1000c0s[2-3]b0n0 (2)",
        "on: x1000c0s[0-1]b0n0 (2)",
        "unknown: x9999c0s0b0n0 (1)",
    ]
    assert PcsPower.names["on"] == "On"  # the words above are PCS's
