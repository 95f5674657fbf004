"""Overrides applied to a template copied from another cluster's stack."""

from __future__ import annotations

from ochami_provider.models import BootTemplateSpec
from ochami_provider.stack_copy import apply_overrides

SOURCE = {
    "name": "compute-rocky9",
    "description": "Rocky 9",
    "boot_sets": {
        "compute": {
            "kernel": "s3://images/rocky9/vmlinuz",
            "kernel_parameters": "console=ttyS0,115200 quiet",
            "node_groups": ["compute"],
        },
        "login": {"kernel": "s3://images/rocky9/vmlinuz", "node_groups": ["login"]},
    },
    "cloud_init": {"meta_data": {"cluster": "a", "site": "lugano"}, "user_data": None},
}


def test_overrides_merge_replace_and_remove() -> None:
    copied = apply_overrides(
        SOURCE,
        {
            "name": "compute-b",
            "boot_sets": {
                "compute": {"kernel_parameters": "console=ttyS1", "node_groups": ["nodes-b"]},
                "login": None,
            },
            "cloud_init": {"meta_data": {"cluster": "b"}},
        },
    )
    assert copied["name"] == "compute-b"
    assert copied["boot_sets"] == {
        "compute": {
            "kernel": "s3://images/rocky9/vmlinuz",
            "kernel_parameters": "console=ttyS1",
            "node_groups": ["nodes-b"],
        }
    }
    assert copied["cloud_init"]["meta_data"] == {"cluster": "b", "site": "lugano"}
    assert SOURCE["boot_sets"]["compute"]["kernel_parameters"] == "console=ttyS0,115200 quiet"
    BootTemplateSpec.model_validate(copied)  # still a valid template


def test_no_overrides_is_an_identical_copy() -> None:
    assert apply_overrides(SOURCE, {}) == SOURCE
