"""PCS against the simulator, and the shared transport's errors and retries.

The wire contract of SMD, BSS and cloud-init is pinned in test_contract.py, against both the
simulator and the real services."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import certifi
import httpx
import pytest

from ochami_provider.clients import (
    RetryPolicy,
    Services,
    ServiceTransport,
)
from ochami_provider.config import ProviderConfig
from ochami_provider.errors import (
    InvalidInputError,
    ServiceError,
    ServiceUnreachable,
)
from ochami_provider.sim import Fleet


def test_pcs_transition(fleet: Fleet, services: Services) -> None:
    nodes = list(fleet.nodes)[:2]
    tid = services.pcs.start_transition("On", nodes, 5)
    import time

    time.sleep(0.03)
    transition = services.pcs.get_transition(tid)
    assert transition.finished and transition.operation == "On"
    assert transition.task_counts.succeeded == 2
    assert {t.xname for t in transition.tasks} == set(nodes)
    assert [fleet.nodes[n].power for n in nodes] == ["on", "on"]
    with pytest.raises(ServiceError, match="invalid Operation type Explode"):
        services.pcs.start_transition("Explode", nodes)


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


def test_unreadable_ca_bundle_is_an_error_naming_the_setting(tmp_path: Path) -> None:
    bogus = tmp_path / "not-a-ca.pem"
    bogus.write_text("this is not PEM\n")
    for path in (str(bogus), str(tmp_path / "missing.pem")):
        with pytest.raises(InvalidInputError) as caught:
            Services.from_config(ProviderConfig(uri="https://h.example", caBundle=path))
        assert caught.value.field == "caBundle" and caught.value.value == path


def test_every_client_shares_onetls_context_per_trust_setting(tmp_path: Any) -> None:
    """Loading a CA bundle costs ~25 ms; four clients per provider call must not pay it each."""
    from ochami_provider.clients.transport import tls_context

    assert tls_context(True) is tls_context(True)
    assert tls_context(False) is False
    bundle = tmp_path / "ca.pem"
    bundle.write_text(Path(certifi.where()).read_text())
    assert tls_context(str(bundle)) is tls_context(str(bundle))
    assert tls_context(str(bundle)) is not tls_context(True)
