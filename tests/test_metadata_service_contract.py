"""Contract: metadata-service's Groups (OpenCHAMI v0.2) as the client sees them, against the
simulator only: the real service cannot be built here (its module is not served and no source
tree could be had), so the simulator follows its published code (issue 22, item 3; see
docs/real-services.md). What the adapter will rely on: UIDs, strings-only meta-data, the
server's template validation, the version history, and fabrica's PUT."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ochami_provider.clients.metadata_service import MetadataServiceClient
from ochami_provider.clients.transport import ServiceTransport
from ochami_provider.config import ProviderConfig
from ochami_provider.errors import ServiceError
from ochami_provider.models.metadata_group import MetadataGroupSpec
from ochami_provider.sim import Fleet, SimServer
from ochami_provider.sim.metadata_service import HISTORY_KEPT, template_version

TEMPLATE = "#cloud-config\nhostname: {{ ds.hostname }}\nruncmd:\n  - echo {{ site }}\n"
SPEC = MetadataGroupSpec(template=TEMPLATE, meta_data={"site": "alps"}, description="compute")


@pytest.fixture
def client() -> Iterator[MetadataServiceClient]:
    with SimServer(Fleet.generate(2)) as sim:
        config = ProviderConfig(uri=sim.url)
        transport = ServiceTransport.from_config("metadata-service", config)
        yield MetadataServiceClient(transport)
        transport.close()


def test_a_group_is_created_read_updated_and_deleted_by_its_uid(
    client: MetadataServiceClient,
) -> None:
    made = client.create("compute", {"ochami-boot/template": "t"}, SPEC)
    assert made.uid.startswith("group-") and made.spec == SPEC
    assert made.template_version == template_version(TEMPLATE)
    assert client.get(made.uid) == made and [g.uid for g in client.list()] == [made.uid]
    changed = MetadataGroupSpec(template="#cloud-config\nruncmd: [[echo, hi]]\n")
    updated = client.update(made.uid, "compute", {"ochami-boot/version": "2"}, changed)
    assert updated.spec == changed
    assert updated.labels == {"ochami-boot/template": "t", "ochami-boot/version": "2"}
    assert [v.version for v in updated.template_history] == [
        template_version(TEMPLATE),
        template_version(changed.template),
    ]
    assert client.delete(made.uid) and client.get(made.uid) is None
    assert not client.delete(made.uid)


def test_a_template_naming_meta_data_that_exists_nowhere_is_refused_and_nothing_is_kept(
    client: MetadataServiceClient,
) -> None:
    missing = MetadataGroupSpec(template="#cloud-config\nruncmd: [[echo, '{{ rack }}']]\n")
    with pytest.raises(ServiceError) as refused:
        client.create("compute", {}, missing)
    assert refused.value.status == 400 and "missing required variables: [rack]" in str(
        refused.value
    )
    with pytest.raises(ServiceError, match="template is required"):
        client.create("compute", {}, MetadataGroupSpec(template=""))
    assert client.list() == []


def test_meta_data_holds_strings_only(client: MetadataServiceClient) -> None:
    body = {
        "metadata": {"name": "g"},
        "spec": {"template": "#cloud-config\n", "metaData": {"n": 1}},
    }
    with pytest.raises(ServiceError) as refused:
        client.transport.request("POST", "/groups", json=body, ok=(201,))
    assert refused.value.status == 400 and "metaData" in str(refused.value)


def test_the_history_keeps_the_last_ten_template_versions(client: MetadataServiceClient) -> None:
    made = client.create("g", {}, MetadataGroupSpec(template="#cloud-config\n# 0\n"))
    for i in range(1, 13):
        made = client.update(
            made.uid, "g", {}, MetadataGroupSpec(template=f"#cloud-config\n# {i}\n")
        )
    versions = [v.version for v in made.template_history]
    assert len(versions) == HISTORY_KEPT
    assert versions[-1] == template_version("#cloud-config\n# 12\n")
    assert template_version("#cloud-config\n# 2\n") not in versions
