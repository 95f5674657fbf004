"""Which deployment (owner) a Terraform resource's records carry (issue 21, item 5)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tf.types import Unknown

from ochami_provider.terraform_adapter._provider import (
    OchamiProvider,
    default_deployment,
    legacy_deployment,
)


def test_the_default_names_the_directory_and_a_digest_of_its_path(tmp_path: Path) -> None:
    x, y = tmp_path / "x" / "boot", tmp_path / "y" / "boot"
    assert default_deployment(x).startswith("tf/boot-") and default_deployment(
        x
    ) != default_deployment(y)
    assert default_deployment(x) == default_deployment(x)
    assert legacy_deployment(x) == legacy_deployment(y) == "tf/boot"


def test_a_resource_keeps_the_deployment_it_records_and_an_old_one_the_old_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    provider = OchamiProvider()
    here = default_deployment()
    assert provider.planned_deployment(None) == here  # a new resource
    assert (
        provider.planned_deployment({"id": "t", "deployment": "tf/boot-1234abcd"})
        == "tf/boot-1234abcd"
    )
    # Recorded before resources recorded their deployment: what that version used.
    legacy = {"id": "t", "deployment": None}
    assert provider.recorded_deployment(legacy) == legacy_deployment() == f"tf/{tmp_path.name}"
    assert provider.recorded_deployment({"id": Unknown}) == here
    # The provider block's wins for what will be written; what is recorded stays as it is.
    provider.explicit_deployment = "tf/site-a"
    recorded = {"id": "t", "deployment": "tf/boot-1234abcd"}
    assert provider.planned_deployment(recorded) == "tf/site-a"
    assert provider.recorded_deployment(recorded) == "tf/boot-1234abcd"
    assert provider.recorded_deployment(legacy) == "tf/site-a"
