"""S3-hosted kernels and initrds are verified with boto3, here against moto."""

from __future__ import annotations

import boto3

from ochami_provider import BootTemplateProvider
from ochami_provider.artifacts import artifact_problem
from ochami_provider.sim import Fleet, SimServer
from tests.conftest import template_props


def test_present_object_passes(bucket: str) -> None:
    assert artifact_problem(f"s3://{bucket}/rocky9/vmlinuz") is None


def test_absent_object_and_bucket_are_named(bucket: str) -> None:
    assert artifact_problem(f"s3://{bucket}/rocky9/missing") == (
        "S3 has no object 'rocky9/missing' in bucket 'boot-images'"
    )
    assert "bucket 'no-such-bucket'" in (artifact_problem("s3://no-such-bucket/k") or "")


def test_check_rejects_a_template_whose_s3_initrd_is_missing(
    bucket: str, fleet: Fleet, sim: SimServer
) -> None:
    props = template_props(sim.url)
    props["boot_sets"]["compute"]["kernel"] = f"s3://{bucket}/rocky9/vmlinuz"
    props["boot_sets"]["compute"]["initrd"] = f"s3://{bucket}/rocky9/initrd-typo.img"
    failures = BootTemplateProvider().check({}, props).failures
    assert [f.property for f in failures] == ["boot_sets.compute.initrd"]
    assert "initrd-typo.img" in failures[0].reason
    assert fleet.requests == []


def test_check_only_probes_artifacts_that_changed(bucket: str, sim: SimServer) -> None:
    props = template_props(sim.url)
    props["boot_sets"]["compute"]["kernel"] = f"s3://{bucket}/rocky9/vmlinuz"
    props["boot_sets"]["compute"]["initrd"] = f"s3://{bucket}/rocky9/initramfs.img"
    provider = BootTemplateProvider()
    olds = provider.check({}, props).inputs
    boto3.client("s3").delete_object(Bucket=bucket, Key="rocky9/vmlinuz")
    # Unchanged URL: not probed again, so an unrelated preview does not fail.
    assert provider.check(olds, props).failures == []
    assert provider.check({}, props).failures[0].property == "boot_sets.compute.kernel"
