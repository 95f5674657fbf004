"""The benchmark code itself, at small sizes: it measures what it claims to measure.

The benchmarks proper run with `bash scripts/bench.sh`, outside the test run.
"""

from __future__ import annotations

from benchmarks.history_size import measure as measure_history
from benchmarks.history_size import table as history_table
from benchmarks.measure import per_service
from benchmarks.session_apply import apply_once, table


def test_session_apply_requests_stay_constant_while_the_baseline_grows() -> None:
    small, large = apply_once(20, with_baseline=True), apply_once(80, with_baseline=True)
    # The provider: the same writes for 80 nodes as for 20 (polls depend on time, not size).
    for run in ("template", "session"):
        a, b = getattr(small, run).requests, getattr(large, run).requests
        assert {k: v for k, v in a.items() if k != "pcs GET"} == {
            k: v for k, v in b.items() if k != "pcs GET"
        }
    assert small.baseline is not None and large.baseline is not None
    # The per-node loop: one BSS PUT and one PCS POST per node.
    assert small.baseline.requests["bss PUT"] == 20 and large.baseline.requests["bss PUT"] == 80
    assert large.baseline.requests["pcs POST"] == 80
    # One read of the records, two writes naming the session in them (by name and by MAC),
    # one boot-script preflight for the one boot set, and one endpoint-history read per
    # verification poll, for all nodes: the nodes asked for their scripts by the first poll.
    assert per_service(large.session.requests)["bss"] == 5
    rows = table([small, large])
    assert len(rows) == 2 + 2 * 4 and rows[-1].startswith("| 80 | v0.1, pcs | **baseline")


def test_a_session_over_redfish_sends_one_reset_and_two_reads_per_node() -> None:
    """The reboot of nodes that are off: the survey's read, the On, the read that confirms
    it; the same PCS-free session at 20 and 80 nodes otherwise."""
    for nodes in (20, 80):
        run = apply_once(nodes, with_baseline=False, power="redfish").session
        assert run.requests["redfish POST"] == nodes
        assert run.requests["redfish GET"] == 2 * nodes
        assert "pcs POST" not in run.requests


def test_the_history_size_follows_how_fragmented_node_sets_are_not_how_many_nodes() -> None:
    small, large = measure_history(100, "dense"), measure_history(2000, "dense")
    # One hostlist run per chassis either way: the same order of size at 20 times the nodes.
    assert 0.5 < large.total / small.total < 2
    assert measure_history(2000, "every 7th out").total > 2 * large.total
    assert history_table([small])[-1].startswith("| 100 | dense |")


def test_the_largest_systems_benchmark_reads_as_many_requests_at_any_size() -> None:
    from benchmarks.largest import measure_here, table_lines

    small, larger = measure_here(20, power_delay=0.0), measure_here(400, power_delay=0.0)
    for step in ("template", "refresh", "check", "session", "status"):
        assert getattr(small, step).requests == getattr(larger, step).requests, step
    assert small.status.requests == {"smd": 2, "bss": 2, "pcs": 1}
    assert small.status_lines == larger.status_lines
    lines = table_lines([small, larger])
    assert len(lines) == 2 + 2 * 6 and "| 400 | `ochami-boot status`" in "\n".join(lines)


def test_the_status_map_benchmark_reads_what_status_reads_at_any_size() -> None:
    from benchmarks.status_map import measure_render
    from benchmarks.status_map import table as map_table

    small, larger = measure_render(20), measure_render(600)
    assert small.requests == larger.requests == {"smd": 2, "bss": 2, "pcs": 1}
    assert 10 * small.page_bytes < larger.page_bytes  # grows with the nodes, not more
    assert larger.map_width <= 80
    assert map_table([small, larger])[-1].startswith("| 600 | bss 2, pcs 1, smd 2 |")
