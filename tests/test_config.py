"""Where connection settings and the token come from, and that the token never shows."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ochami_provider.config import ProviderConfig, from_sources, token_env_var


def test_token_env_var_follows_the_ochami_cli() -> None:
    assert token_env_var("demo-cluster") == "DEMO_CLUSTER_ACCESS_TOKEN"
    assert token_env_var("my site") == "MY_SITE_ACCESS_TOKEN"


def test_stack_config_wins_and_environment_fills_the_rest() -> None:
    stack = {"ochami:cluster": "alps", "ochami:uri": "https://alps.example:8443"}
    env = {
        "ALPS_ACCESS_TOKEN": "tok-alps",
        "OCHAMI_ACCESS_TOKEN": "tok-generic",
        "OCHAMI_URI": "https://other.example",
    }
    config = from_sources(stack.get, env)
    assert config.uri == "https://alps.example:8443"
    assert config.token_value() == "tok-alps"
    assert config.service_uri("smd") == "https://alps.example:8443/hsm/v2"
    assert config.service_uri("bss") == "https://alps.example:8443/boot/v1"
    assert config.service_uri("cloud-init") == "https://alps.example:8443/cloud-init"


def test_per_service_uri_overrides_the_base() -> None:
    config = ProviderConfig(uri="http://h", pcsUri="http://pcs:28007")
    assert config.service_uri("pcs") == "http://pcs:28007"


def test_per_service_uris_from_the_environment_when_stack_config_leaves_them_unset() -> None:
    env = {
        "OCHAMI_SMD_URI": "https://127.0.0.1:9001/hsm/v2",
        "OCHAMI_BSS_URI": "http://127.0.0.1:9002/boot/v1",
        "OCHAMI_CLOUD_INIT_URI": "http://127.0.0.1:9003/cloud-init",
        "OCHAMI_PCS_URI": "http://127.0.0.1:9004/power-control/v1",
    }
    stack = {"ochami:bssUri": "http://bss.example/boot/v1"}
    config = from_sources(stack.get, env)
    assert config.service_uri("smd") == "https://127.0.0.1:9001/hsm/v2"
    assert config.service_uri("bss") == "http://bss.example/boot/v1"
    assert config.service_uri("cloud-init") == "http://127.0.0.1:9003/cloud-init"
    assert config.service_uri("pcs") == "http://127.0.0.1:9004/power-control/v1"


def test_missing_uri_says_how_to_set_it() -> None:
    with pytest.raises(ValueError, match="ochami:uri"):
        ProviderConfig().service_uri("bss")


def test_token_is_never_printed() -> None:
    config = ProviderConfig(uri="http://h", token="s3cr3t-token")
    assert "s3cr3t-token" not in repr(config) and "s3cr3t-token" not in str(config)
    assert "token" not in config.public_dict()


def test_merged_rejects_unknown_settings_by_name() -> None:
    with pytest.raises(ValueError, match="unknown setting 'colour'"):
        ProviderConfig(uri="http://h").merged({"colour": "blue"})


def test_bad_uri_is_named() -> None:
    with pytest.raises(ValidationError, match="localhost:1"):
        ProviderConfig(uri="localhost:1")
