"""The refreshes of one engine run share one listing per service (issue 25, item 8): the
requests of a refresh do not grow with the number of templates, a write makes the next
refresh read afresh, and drift is still found."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ochami_provider import BootTemplateProvider
from ochami_provider.models.records import BootParams
from ochami_provider.sim import Fleet, SimServer
from tests.conftest import template_props


def _templates(sim: SimServer, count: int) -> tuple[BootTemplateProvider, list[dict[str, Any]]]:
    """`count` templates, each its own group of two nodes, created by one provider."""
    provider = BootTemplateProvider()
    created = []
    for i in range(count):
        props = template_props(sim.url, name=f"t{i}")
        props["boot_sets"]["compute"]["node_groups"] = [f"g{i}"]
        created.append(provider.create(provider.check({}, props).inputs).outs)
    return provider, created


def _fleet(groups: int) -> Fleet:
    return Fleet.generate(
        2 * groups,
        groups={f"g{i}": range(2 * i, 2 * i + 2) for i in range(groups)},
        artifacts=["/vmlinuz", "/initrd.img"],
        power_delay=0.0,
    )


def _refresh_requests(count: int) -> Counter[str]:
    fleet = _fleet(count)
    with SimServer(fleet) as sim:
        _, created = _templates(sim, count)
        refreshing = BootTemplateProvider()  # a new engine run: nothing shared yet
        fleet.requests.clear()
        for outs in created:
            read = refreshing.read(outs["name"], outs)
            assert read.outs["drift"] == [], read.outs["drift"]
        return Counter(f"{service} {method}" for service, method, _ in fleet.requests)


def test_refreshing_ten_templates_asks_each_service_as_often_as_refreshing_two() -> None:
    two, ten = _refresh_requests(2), _refresh_requests(10)
    assert two == ten, (two, ten)
    # SMD's groups and interfaces, BSS's records, cloud-init's groups: one listing each.
    assert ten == Counter({"smd GET": 2, "bss GET": 1, "cloud-init GET": 1})


def test_a_write_makes_the_next_refresh_read_afresh_and_drift_is_still_found() -> None:
    fleet = _fleet(2)
    with SimServer(fleet) as sim:
        provider, (first, second) = _templates(sim, 2)
        assert provider.read("t0", first).outs["drift"] == []
        # This run writes: the listings are forgotten, and the refresh after sees the write.
        news = template_props(sim.url, name="t0", description="edited")
        news["boot_sets"]["compute"].update(node_groups=["g0"], kernel_parameters="console=tty0")
        updated = provider.update("t0", first, provider.check(first, news).inputs).outs
        fleet.requests.clear()
        again = provider.read("t0", updated)
        assert again.outs["drift"] == [] and fleet.count("bss") == 1
        # Someone else's edit, seen by the next run's refresh (a new provider process).
        node = sorted(fleet.nodes)[2]
        fleet.bootparams[node] = BootParams(
            hosts=[node], kernel="http://h/hand", params="console=tty0"
        ).wire()
        drift = BootTemplateProvider().read("t1", second).outs["drift"]
        assert drift and any(node in line for line in drift), drift
