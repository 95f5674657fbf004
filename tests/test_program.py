"""The resource classes as a Pulumi program sees them, under Pulumi's test mocks."""

from __future__ import annotations

import base64
import json
import runpy
from pathlib import Path
from typing import Any

import dill
import pulumi
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from ochami_provider import BootSession, BootTemplate, BootTemplateProvider
from ochami_provider.sim import SimServer
from tests.conftest import template_props

ROOT = Path(__file__).resolve().parent.parent


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: dict[str, dict[str, Any]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = dict(args.inputs)
        if args.typ.endswith("BootTemplate"):
            outputs["spec"] = {k: outputs.get(k) for k in ("name", "boot_sets", "cloud_init")}
            outputs["version"] = "v1"
        self.resources[args.name] = {"type": args.typ, "inputs": args.inputs}
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


@pytest.fixture
def mocks() -> _Mocks:
    m = _Mocks()
    pulumi.runtime.set_mocks(m, preview=False)
    return m


@pulumi.runtime.test
def test_session_takes_the_template_spec_output(mocks: _Mocks) -> pulumi.Output[Any]:
    template = BootTemplate(
        "compute",
        boot_sets={"compute": {"kernel": "http://h/k", "node_groups": ["compute"]}},
    )
    session = BootSession("reboot", template=template, operation="reboot", max_retries=2)

    def verify(_: Any) -> None:
        assert mocks.resources["compute"]["type"] == "pulumi-python:dynamic/ochami:BootTemplate"
        inputs = mocks.resources["reboot"]["inputs"]
        assert inputs["template"]["boot_sets"]["compute"]["kernel"] == "http://h/k"
        assert inputs["retry"] == {"max_retries": 2}
        assert inputs["operation"] == "reboot"

    return session.urn.apply(verify)


def test_pickled_provider_carries_no_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCHAMI_ACCESS_TOKEN", "tok-do-not-pickle")
    monkeypatch.setenv("OCHAMI_URI", "http://secret-host.example")
    pickled = base64.b64decode(serialize_provider(BootTemplateProvider()))
    assert b"tok-do-not-pickle" not in pickled and b"secret-host" not in pickled


def test_a_provider_reuses_its_clients_and_pickles_without_them(sim: SimServer) -> None:
    """One set of clients per connection for the provider process: a preview of many
    resources reuses their connections. Pickled again, the provider carries none of them."""
    provider = BootTemplateProvider()
    connector = provider.core.connector
    first = connector.services({"uri": sim.url})
    assert connector.services({"uri": sim.url}) is first
    assert connector.services({"uri": sim.url, "timeout": 5}) is not first
    provider.check({}, template_props(sim.url))
    again = dill.loads(base64.b64decode(serialize_provider(provider)))
    assert again.core.connector._open == {}
    assert again.core.connector.services({"uri": sim.url}) is not first


def test_the_program_passes_each_session_setting_of_the_stack_file_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`max_retries` and `shutdown_on_delete` are arguments like the others (issue 25: the
    program passed `max_retries` twice once it was no longer an option of its own)."""
    mocks = _Mocks()
    pulumi.runtime.set_mocks(mocks, project="ochami-boot", stack="test", preview=False)
    boot_sets = {"compute": {"kernel": "http://h/k", "node_groups": ["compute"]}}
    session = {"template": "t", "operation": "reboot", "max_retries": 3, "graceful": True}
    session |= {"shutdown_on_delete": True, "batch_size": "25%", "limit": ["compute"]}
    pulumi.runtime.set_all_config(
        {
            "ochami-boot:templates": json.dumps({"t": {"boot_sets": boot_sets}}),
            "ochami-boot:sessions": json.dumps({"s": session}),
        }
    )

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        declared = runpy.run_path(str(ROOT / "__main__.py"))
        urn: pulumi.Output[Any] = declared["session"].urn
        return urn.apply(lambda _: verify())

    def verify() -> None:
        inputs = mocks.resources["s"]["inputs"]
        assert inputs["retry"] == {"max_retries": 3}
        assert (inputs["graceful"], inputs["shutdown_on_delete"]) == (True, True)
        assert (inputs["batch_size"], inputs["limit"]) == ("25%", ["compute"])
        assert inputs["timeout_seconds"] == 1800.0  # the model's default

    try:
        program()
    finally:
        pulumi.runtime.set_all_config({})
