"""Service clients against the simulator, and the shared transport's errors and retries."""

from __future__ import annotations

import httpx
import pytest

from ochami_provider.clients import (
    BootParams,
    CloudConfigFile,
    CloudInitGroup,
    RetryPolicy,
    Services,
    ServiceTransport,
)
from ochami_provider.config import ProviderConfig
from ochami_provider.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    ServiceError,
    ServiceUnreachable,
)
from ochami_provider.sim import Fleet, SimServer


def test_smd_groups_members_and_components(fleet: Fleet, services: Services) -> None:
    group = services.smd.get_group("login")
    assert group.label == "login" and group.members.ids == list(fleet.nodes)[:4]
    assert services.smd.get_group_members("compute") == list(fleet.nodes)[4:]
    apps = services.smd.list_components(role="Application")
    assert [c.id for c in apps] == list(fleet.nodes)[:4]
    assert apps[0].arch == "ARM" and apps[0].nid == 1
    with pytest.raises(NotFoundError) as caught:
        services.smd.get_group("gpu")
    assert caught.value.status == 404 and "No such group: gpu" in str(caught.value)
    assert caught.value.service == "smd" and caught.value.url.endswith("/hsm/v2/groups/gpu")


def test_bss_batch_put_get_delete(fleet: Fleet, services: Services) -> None:
    hosts = list(fleet.nodes)[:3]
    services.bss.put(BootParams(hosts=hosts, kernel="http://h/k", params="quiet"))
    assert fleet.count("bss", writes_only=True) == 1
    found = services.bss.get(hosts + ["x2000c0s0b0n0"])
    assert sorted(found) == sorted(hosts)
    assert found[hosts[0]].kernel == "http://h/k" and found[hosts[0]].params == "quiet"
    with pytest.raises(ServiceError, match="Already exists"):
        services.bss.post(BootParams(hosts=hosts[:1], kernel="http://h/k"))
    services.bss.delete(hosts[:2])
    assert list(services.bss.get(hosts)) == [hosts[2]]
    assert services.bss.get(["x2000c0s0b0n0"]) == {}


def test_cloud_init_group_lifecycle(services: Services) -> None:
    group = CloudInitGroup(
        name="compute", meta_data={"a": 1}, file=CloudConfigFile(content="#cloud-config\n")
    )
    assert services.cloud_init.get_group("compute") is None
    services.cloud_init.create_group(group)
    with pytest.raises(ConflictError) as caught:
        services.cloud_init.create_group(group)
    assert "already exists" in caught.value.message
    services.cloud_init.put_group(group.model_copy(update={"meta_data": {"a": 2}}))
    stored = services.cloud_init.get_group("compute")
    assert stored is not None and stored.meta_data == {"a": 2}
    assert list(services.cloud_init.list_groups()) == ["compute"]
    services.cloud_init.delete_group("compute")
    assert services.cloud_init.get_group("compute") is None


def test_pcs_transition_and_power_status(fleet: Fleet, services: Services) -> None:
    nodes = list(fleet.nodes)[:2]
    tid = services.pcs.start_transition("On", nodes, 5)
    import time

    time.sleep(0.03)
    transition = services.pcs.get_transition(tid)
    assert transition.finished and transition.operation == "On"
    assert transition.task_counts.succeeded == 2
    assert {t.xname for t in transition.tasks} == set(nodes)
    states = {s.xname: s.power_state for s in services.pcs.power_status(nodes)}
    assert states == {nodes[0]: "on", nodes[1]: "on"}
    with pytest.raises(ServiceError, match="invalid Operation type Explode"):
        services.pcs.start_transition("Explode", nodes)


def test_missing_or_wrong_token_is_a_clear_authentication_error(
    fleet: Fleet, sim: SimServer
) -> None:
    fleet.token = "right-token"
    anonymous = Services.from_config(ProviderConfig(uri=sim.url))
    with anonymous, pytest.raises(AuthenticationError) as caught:
        anonymous.smd.get_group("compute")
    assert caught.value.status == 401 and "no bearer token" in str(caught.value)
    assert "ochami:token" in str(caught.value)
    wrong = Services.from_config(ProviderConfig(uri=sim.url, token="wrong-token"))
    with wrong, pytest.raises(AuthenticationError) as caught:
        wrong.bss.get(["x1000c0s0b0n0"])
    assert "wrong-token" not in str(caught.value)
    with Services.from_config(ProviderConfig(uri=sim.url, token="right-token")) as good:
        assert good.smd.get_group("compute").label == "compute"


def _transport(handler: object, **kwargs: object) -> ServiceTransport:
    return ServiceTransport(
        "bss",
        "http://bss.test/boot/v1",
        retry=RetryPolicy(attempts=3, base_delay=0.01),
        sleep=kwargs.pop("sleep", lambda _: None),  # type: ignore[arg-type]
        http_transport=httpx.MockTransport(handler),  # type: ignore[arg-type]
    )


def test_idempotent_requests_retry_on_503_and_honour_retry_after() -> None:
    calls: list[str] = []
    slept: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "2"})
        if len(calls) == 2:
            return httpx.Response(503)
        return httpx.Response(200, json=[])

    transport = _transport(handler, sleep=slept.append)
    assert transport.request("PUT", "/bootparameters", json={}).status_code == 200
    assert calls == ["PUT", "PUT", "PUT"]
    assert slept[0] == 2.0 and 0 <= slept[1] <= 0.02


def test_non_idempotent_post_is_sent_once() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return httpx.Response(503, json={"detail": "busy", "status": 503})

    with pytest.raises(ServiceError) as caught:
        _transport(handler).request("POST", "/transitions", json={})
    assert calls == ["POST"]
    assert caught.value.status == 503 and caught.value.message == "busy"


def test_connection_failure_becomes_service_unreachable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(ServiceUnreachable) as caught:
        _transport(handler).request("GET", "/bootparameters")
    assert caught.value.status is None and "connection refused" in str(caught.value)


def test_smd_partition(fleet: Fleet, services: Services) -> None:
    members = list(fleet.nodes)[:2]
    fleet.partitions["p1"] = {"name": "p1", "description": "tenant", "members": {"ids": members}}
    partition = services.smd.get_partition("p1")
    assert partition.description == "tenant" and partition.members.ids == members
    with pytest.raises(NotFoundError, match="No such partition: p2"):
        services.smd.get_partition("p2")
