"""Contract: boot-service's BootConfigurations (OpenCHAMI v0.2) as the client sees them, run
against the simulator and the real boot-service (v0.3.2, built by scripts/openchami-setup.sh
from its module or from ../shared/sources). The same assertions on both: a difference in wire
format or in the quirks the adapter will rely on fails here (issue 22, item 2)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ochami_provider.clients.boot_service import BootServiceClient
from ochami_provider.clients.transport import ServiceTransport
from ochami_provider.errors import ServiceError
from ochami_provider.models.boot_configuration import BootConfigurationSpec
from tests.backends import Backend

SPEC = BootConfigurationSpec(
    hosts=["x1000c0s0b0n0", "x1000c0s0b0n1"],
    macs=["02:00:00:00:00:01"],
    kernel="http://images.example/vmlinuz",
    initrd="http://images.example/initrd",
    params="console=ttyS0 ochami.template=compute@p/s",
    priority=10,
)
LABELS = {"ochami-boot/template": "compute", "ochami-boot/deployment": "p-s"}


@pytest.fixture
def client(backend: Backend) -> Iterator[BootServiceClient]:
    transport = ServiceTransport.from_config("boot-service", backend.config())
    client = BootServiceClient(transport)
    yield client
    for item in client.list():
        client.delete(item.uid)
    transport.close()


def test_a_configuration_is_created_read_listed_and_deleted_by_the_uid_the_service_gives(
    client: BootServiceClient,
) -> None:
    made = client.create("compute.compute", LABELS, SPEC)
    assert made.uid.startswith("bootconfiguration-") and made.name == "compute.compute"
    assert made.labels == LABELS and made.spec == SPEC
    assert client.get(made.uid) == made
    assert [c.uid for c in client.list()] == [made.uid]
    assert client.delete(made.uid) is True
    assert client.get(made.uid) is None and client.list() == []
    assert client.delete(made.uid) is False


def test_an_update_replaces_the_spec_and_merges_labels_without_removing_one(
    client: BootServiceClient,
) -> None:
    """The quirk the adapter must live with (v0.3.2): a label cannot be removed by PUT."""
    made = client.create("compute.compute", LABELS, SPEC)
    spec = BootConfigurationSpec(hosts=["x1000c0s0b0n0"], kernel="http://images.example/v2")
    updated = client.update(made.uid, "renamed", {"ochami-boot/template": "other"}, spec)
    assert updated.spec == spec  # macs, initrd, params, priority gone with the old spec
    assert updated.name == "renamed"
    assert updated.labels == {**LABELS, "ochami-boot/template": "other"}
    assert client.get(made.uid) == updated


def test_an_update_of_an_unknown_uid_and_a_bad_spec_are_refused_with_the_services_words(
    client: BootServiceClient,
) -> None:
    with pytest.raises(ServiceError) as missing:
        client.update("bootconfiguration-00000000", "x", {}, SPEC)
    assert missing.value.status == 404 and "not found" in str(missing.value)
    bad = BootConfigurationSpec(hosts=["compute"], kernel="http://images.example/vmlinuz")
    with pytest.raises(ServiceError) as refused:
        client.create("bad", {}, bad)
    assert refused.value.status == 400
    assert "invalid host XName format: compute" in str(refused.value)
    assert client.list() == []  # nothing half-written
