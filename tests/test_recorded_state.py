"""A state recorded by the release before the ports (issue 22, item 1: commit f402237, its
template and session outputs and what the services held then, in tests/data/state/): today's
code reads it, finds nothing to change and nothing to rerun, and powers nothing."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from ochami_provider import BootSessionProvider, BootTemplateProvider
from ochami_provider.models.group_data import GroupEntry
from ochami_provider.models.session import SessionRecord
from ochami_provider.sim import Fleet, SimServer

RECORDED = Path(__file__).parent / "data" / "state" / "f402237.json"
RECORDED_URL = "http://127.0.0.1:27799"


def _recorded(url: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(RECORDED.read_text().replace(RECORDED_URL, url))
    return loaded


def test_a_state_of_the_release_before_the_ports_loads_without_a_change_or_a_rerun() -> None:
    fleet = Fleet.generate(8, groups={"compute": range(2, 8), "login": range(2)})
    with SimServer(fleet) as sim:
        recorded = _recorded(sim.url)
        services = recorded["fleet"]
        fleet.bootparams.update(services["bootparams"])
        fleet.bootparams_by_mac.update(services["bootparams_by_mac"])
        fleet.cloud_init_groups.update(services["cloud_init_groups"])
        template, session = recorded["template"], recorded["session"]
        templates, sessions = BootTemplateProvider(), BootSessionProvider()

        checked = templates.check(template["outputs"], template["inputs"])
        assert checked.failures == []
        assert not templates.diff(template["id"], template["outputs"], checked.inputs).changes
        read = templates.read(template["id"], template["outputs"])
        assert read.outs is not None
        assert read.outs["drift"] == [] and read.outs["hosts"] == template["outputs"]["hosts"]
        assert read.outs["version"] == template["outputs"]["version"]

        checked = sessions.check(session["outputs"], session["inputs"])
        assert checked.failures == []
        assert not sessions.diff(session["id"], session["outputs"], checked.inputs).changes
        again = sessions.read(session["id"], session["outputs"])
        assert again.outs is not None and again.outs["status"] == "completed"
        # Recorded as `pcs_operation`, before the power port named it `power_operation`: the
        # engine's record keeps it until the session next runs, and it reads as today's.
        assert session["outputs"]["pcs_operation"] == "Hard-Restart"
        record = SessionRecord.from_props(again.outs)
        assert record.power_operation == "Hard-Restart"
        assert "pcs_operation" not in record.to_props()
        assert fleet.count(writes_only=True) == 0 and fleet.transitions == {}


def test_adopted_group_data_recorded_in_the_cloud_init_servers_shape_loads() -> None:
    """Before the group-data port a template's `adopted` groups were recorded as the
    cloud-init server holds them (`meta-data`, a `file` plain or base64); they load as the
    port's entries, the text the nodes see."""
    text = "#cloud-config\nruncmd: [[echo, hand]]\n"
    recorded = {
        "plain": {"name": "plain", "meta-data": {"site": "hand"}, "file": {"content": text}},
        "b64": {
            "name": "b64",
            "description": "made with the ochami CLI",
            "meta-data": {},
            "file": {"content": base64.b64encode(text.encode()).decode(), "encoding": "base64"},
        },
    }
    loaded = {name: GroupEntry.model_validate(data) for name, data in recorded.items()}
    assert loaded["plain"] == GroupEntry(name="plain", meta_data={"site": "hand"}, user_data=text)
    assert loaded["b64"].user_data == text
    assert loaded["b64"].description == "made with the ochami CLI"
