"""The `ochami` CLI's config file, read as the CLI reads it (issue 22, item 5): the system file
then the user's, merged by cluster name; URIs relative to `cluster.uri`; `enable-auth`; the
generation a cluster runs; and its place after stack config and the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from ochami_provider import ochami_file
from ochami_provider.cli import main
from ochami_provider.clients import Services
from ochami_provider.config import from_sources
from ochami_provider.errors import InvalidInputError
from ochami_provider.sim import Fleet, SimServer

# The migration guide's file, as `ochami config cluster set --system --default demo ...` writes
# it on OpenCHAMI v0.2.0.
V02 = """
clusters:
    - cluster:
        boot-service:
            uri: /boot-service
        enable-auth: true
        uri: https://demo.openchami.cluster:8443
      name: demo
default-cluster: demo
"""
METADATA = "        metadata-service:\n            uri: /metadata-service\n"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home directory, and a system file in the test's own place."""
    monkeypatch.setattr(ochami_file, "SYSTEM_FILE", tmp_path / "etc" / "config.yaml")
    (tmp_path / "etc").mkdir()
    (tmp_path / "home" / ".config" / "ochami").mkdir(parents=True)
    return tmp_path / "home"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _user_file(home: Path) -> Path:
    return home / ".config" / "ochami" / "config.yaml"


def test_the_migration_guides_file_chooses_boot_service_and_metadata_service(
    home: Path,
) -> None:
    _write(ochami_file.SYSTEM_FILE, V02)
    config = from_sources(None, {"HOME": str(home)})
    assert config.cluster == "demo"
    assert config.uri == "https://demo.openchami.cluster:8443"
    assert config.boot_service_uri == "https://demo.openchami.cluster:8443/boot-service"
    assert config.boot_backend == "boot-service"
    assert config.group_data_backend == "cloud-init"  # no metadata-service block
    assert config.pcs_uri == "https://demo.openchami.cluster:8443"  # the CLI's PCS path: /
    with Services.from_config(config) as services:
        assert services.boot.backend == "boot-service"
        assert services.cluster == config.boot_service_uri
    _write(
        ochami_file.SYSTEM_FILE,
        V02.replace("        enable-auth", METADATA + "        enable-auth"),
    )
    with_metadata = from_sources(None, {"HOME": str(home)})
    assert with_metadata.group_data_backend == "metadata-service"
    with Services.from_config(with_metadata) as services:
        assert services.group_data.backend == "metadata-service"
        assert services.metadata_service.transport.base_url == (
            "https://demo.openchami.cluster:8443/metadata-service"
        )


def test_the_users_file_merges_over_the_systems_by_cluster_name(home: Path) -> None:
    _write(
        ochami_file.SYSTEM_FILE,
        "clusters:\n"
        "  - name: alps\n"
        "    cluster: {uri: 'https://alps.example:8443', smd: {uri: /smd-custom}}\n"
        "  - name: eiger\n"
        "    cluster: {uri: 'https://eiger.example'}\n"
        "default-cluster: eiger\n",
    )
    _write(
        _user_file(home),
        "clusters:\n"
        "  - name: alps\n"
        "    cluster:\n"
        "      bss: {uri: 'http://bss.alps.example:27778/boot/v1/'}\n"
        "      pcs: {uri: /pcs}\n"
        "default-cluster: alps\n",
    )
    config = from_sources(None, {"HOME": str(home), "ALPS_ACCESS_TOKEN": "tok-alps"})
    assert config.cluster == "alps"  # the user's default-cluster
    assert config.service_uri("smd") == "https://alps.example:8443/smd-custom"  # relative: joined
    assert config.service_uri("bss") == "http://bss.alps.example:27778/boot/v1"  # absolute
    assert config.service_uri("pcs") == "https://alps.example:8443/pcs"
    assert config.service_uri("cloud-init") == "https://alps.example:8443/cloud-init"
    assert config.token_value() == "tok-alps"  # the CLI's <CLUSTER>_ACCESS_TOKEN
    eiger = from_sources({"ochami:cluster": "eiger"}.get, {"HOME": str(home)})
    assert eiger.uri == "https://eiger.example" and eiger.smd_uri is None


def test_stack_config_and_the_environment_come_before_the_file(home: Path) -> None:
    _write(
        _user_file(home),
        "clusters:\n"
        "  - name: alps\n"
        "    cluster: {uri: 'https://alps.example', pcs: {uri: /pcs}}\n"
        "default-cluster: alps\n",
    )
    env = {"HOME": str(home), "OCHAMI_PCS_URI": "http://pcs.example:28007"}
    config = from_sources(None, env)
    assert config.service_uri("pcs") == "http://pcs.example:28007"
    # Another address in stack config: the file describes another one, none of its URIs apply.
    moved = from_sources({"ochami:uri": "http://127.0.0.1:8080"}.get, {"HOME": str(home)})
    assert moved.service_uri("pcs") == "http://127.0.0.1:8080/power-control/v1"
    assert moved.cluster == "alps"


def test_enable_auth_false_sends_no_token_and_absent_means_true(home: Path) -> None:
    _write(
        _user_file(home),
        "clusters:\n"
        "  - {name: lab, cluster: {uri: 'http://lab', enable-auth: false}}\n"
        "  - {name: prod, cluster: {uri: 'https://prod'}}\n",
    )
    env = {"HOME": str(home), "LAB_ACCESS_TOKEN": "t1", "PROD_ACCESS_TOKEN": "t2"}
    assert from_sources({"ochami:cluster": "lab"}.get, env).token_value() is None
    assert from_sources({"ochami:cluster": "prod"}.get, env).token_value() == "t2"


def test_a_named_file_is_read_alone_and_its_mistakes_name_it(home: Path, tmp_path: Path) -> None:
    _write(_user_file(home), V02)
    own = tmp_path / "own.yaml"
    _write(own, "clusters:\n  - {name: x, cluster: {uri: 'http://x'}}\ndefault-cluster: x\n")
    assert from_sources(None, {"HOME": str(home), "OCHAMI_CONFIG": str(own)}).uri == "http://x"
    nothing = from_sources(None, {"HOME": str(home), "OCHAMI_CONFIG": "/dev/null"})
    assert nothing.uri is None and nothing.boot_backend == "bss"
    missing = str(tmp_path / "nope.yaml")
    with pytest.raises(InvalidInputError, match="names no file"):
        from_sources({"ochami:configFile": missing}.get, {"HOME": str(home)})
    _write(own, "clusters: [\n")
    with pytest.raises(InvalidInputError) as bad:
        from_sources(None, {"HOME": str(home), "OCHAMI_CONFIG": str(own)})
    assert str(own) in str(bad.value) and "not valid YAML" in str(bad.value)
    _write(own, "clusters:\n  - {name: x, cluster: {uri: 'x.example'}}\ndefault-cluster: x\n")
    with pytest.raises(InvalidInputError, match="proto://host"):
        from_sources(None, {"HOME": str(home), "OCHAMI_CONFIG": str(own)})


def test_a_cluster_the_file_does_not_name_takes_nothing_from_it(home: Path) -> None:
    _write(_user_file(home), V02)
    config = from_sources({"ochami:cluster": "other"}.get, {"HOME": str(home)})
    assert config.uri is None and config.boot_backend == "bss"


def test_ochami_boot_status_finds_the_cluster_through_the_users_ochami_file(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command a site runs with nothing but the `ochami` CLI set up."""
    fleet = Fleet.generate(4, groups={"compute": range(4)})
    with SimServer(fleet) as sim:
        _write(
            _user_file(home),
            "clusters:\n"
            f"  - {{name: sim, cluster: {{uri: '{sim.url}', pcs: {{uri: /power-control/v1}}}}}}\n"
            "default-cluster: sim\n",
        )
        monkeypatch.delenv("OCHAMI_CONFIG")
        monkeypatch.delenv("OCHAMI_URI", raising=False)
        monkeypatch.setenv("HOME", str(home))
        assert main(["status", "--group", "compute"]) == 0
    assert "x1000c0s[0-1]b0n[0-1]" in capsys.readouterr().out
