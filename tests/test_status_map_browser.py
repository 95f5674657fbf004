"""The status map in a real browser: Debian's Chromium, driven through its chromedriver, loads
the page of the simulator's machine during a rolling session with the network off, and the
cells' count and colours are read from the DOM as the browser computed them."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from benchmarks.status_map import DEPLOYMENT, Rolling, rolling, wait_for_batch
from ochami_provider.cli import main
from ochami_provider.models.hostlists import expand

CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM = shutil.which("chromium")
if os.environ.get("OCHAMI_BROWSER") == "required" and not (CHROMEDRIVER and CHROMIUM):
    raise RuntimeError("OCHAMI_BROWSER=required but chromium is not installed (browser-setup.sh)")
pytestmark = pytest.mark.skipif(
    not (CHROMEDRIVER and CHROMIUM), reason="chromium (scripts/browser-setup.sh)"
)

# Every cell's tooltip (its first line names the node) and computed fill; every legend key's
# label and swatch fill; the glyphs on the cells; what the page fetched besides itself.
_READ_PAGE = """
const cells = [...document.querySelectorAll('#map .cells rect')].map(r => [
  r.querySelector('title').textContent.split(',')[0], getComputedStyle(r).fill]);
const keys = [...document.querySelectorAll('#keys .key')].map(k => [
  k.textContent.trim(), getComputedStyle(k.querySelector('rect')).fill]);
const failed = document.querySelectorAll('#map use[href="#gf"]').length;
return {cells, keys, failed, fetched: performance.getEntriesByType('resource').length};
"""


# Each legend key's fill in print, and the hatch (the pattern's drawing, its colour left out)
# of the pattern that fill names.
_READ_PRINT = """
return [...document.querySelectorAll('#keys .key rect')].map(r => {
  const fill = getComputedStyle(r).fill;
  const id = (fill.match(/#([^"')]+)/) || [])[1];
  const pattern = id && document.getElementById(id);
  return [fill, pattern ? [...pattern.children].slice(1).map(c => c.outerHTML).join('') : null];
});
"""


@pytest.fixture
def browser() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1100,800"):
        options.add_argument(flag)
    # The network off: no name resolves, and the DevTools' emulation is offline.
    options.add_argument("--host-resolver-rules=MAP * ~NOTFOUND")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_network_conditions(offline=True, latency=0, throughput=0)
    yield driver
    driver.quit()


def _snapshot(machine: Rolling) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """roll-v2's journal and every node's last boot-script fetch, as the services hold them."""
    path = machine.journal / f"{DEPLOYMENT}--roll-v2.json"
    notes = json.loads(path.read_text())
    fetched = {node: at for (node, _), at in machine.fleet.endpoint_access.items()}
    return notes, fetched


def _page(browser: Any, page: Path) -> dict[str, Any]:
    browser.get(page.resolve().as_uri())
    found: dict[str, Any] = browser.execute_script(_READ_PAGE)
    return found


def test_the_map_of_a_rolling_session_in_chromium(browser: Any, tmp_path: Path) -> None:
    with rolling(512, power_delay=1.0) as (machine, thread):
        wait_for_batch(machine, 3)
        page = tmp_path / "status.html"
        # Drawn between two equal snapshots of the journal and the fetches: what it shows is
        # what the services held while it was drawn.
        for _ in range(10):
            before = _snapshot(machine)
            assert main(machine.status_args("--html", str(page))) == 0
            if _snapshot(machine) == before:
                break
        else:
            pytest.fail("the session moved on while every one of ten pages was drawn")
        notes, fetched = before
        during = _page(browser, page)
        browser.save_screenshot(str(tmp_path / "rolling.png"))
        # In print, each key fills with a pattern of its own: its colour and a hatch that no
        # other key's has, so a grey print keeps them apart.
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        printed = browser.execute_script(_READ_PRINT)
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
        thread.join()
        machine.record()
        final_page = tmp_path / "final.html"
        assert main(machine.status_args("--html", str(final_page))) == 0
        after = _page(browser, final_page)
        nodes = sorted(machine.fleet.nodes)
        failing = set(machine.failing)
        v2 = notes[-1]["template_version"]
        v1 = machine.outputs["boot-v1"]["template_version"]

    assert during["fetched"] == 0 and after["fetched"] == 0  # nothing but the file itself
    assert len({fill for fill, _ in printed}) == len(printed) == 3
    assert all(fill.startswith("url(") for fill, _ in printed), printed
    assert len({hatch for _, hatch in printed}) == 3, printed  # three different hatches
    assert (tmp_path / "rolling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # One cell per node, each node once.
    assert sorted(node for node, _ in during["cells"]) == nodes
    colour = {label.split(" ")[0]: fill for label, fill in during["keys"]}
    assert len(set(colour.values())) == len(colour) == 3  # login, compute v1, compute v2
    # The nodes of the noted batches that fetched a boot script since their batch started run
    # v2; the other compute nodes run v1 still.
    booted = {
        node
        for note in notes
        for node in expand(note["nodes"])
        if fetched.get(node, 0) >= note["started"]
    }
    assert booted, "no batch had booted when the page was drawn"
    fills = dict(during["cells"])
    assert {n for n in nodes if fills[n] == colour[f"compute@{v2}"]} == booted
    assert {n for n in nodes if fills[n] == colour[f"compute@{v1}"]} == (
        set(machine.fleet.groups["compute"]["members"]["ids"]) - booted
    )
    # Once it ended: the failed nodes marked, the rest of compute on v2 but the skipped ones.
    assert after["failed"] == len(failing)
    final = {label.split(" ")[0]: fill for label, fill in after["keys"]}
    on_v2 = {n for n, fill in after["cells"] if fill == final[f"compute@{v2}"]}
    compute = set(machine.fleet.groups["compute"]["members"]["ids"])
    assert on_v2 == compute - failing - set(machine.disabled)
