"""Where the provider finds OpenCHAMI: a resource's `connection`, stack config (or the Terraform
provider block, or `ochami-boot` flags), the environment, then the `ochami` CLI's config file
(`ochami_file`), each filling what the one before left unset.

Key names follow the `ochami` CLI users already know: a cluster name, one base URI with the
services under their default paths (each overridable), and the token read from
`<CLUSTER>_ACCESS_TOKEN` (the CLI's one environment name) when it is not in stack config.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from . import ochami_file
from .models.history import DEFAULT_HISTORY_LENGTH
from .openchami_services import SERVICES, Service

# The services, their default paths under `uri` and their own URI settings: one row each.
DEFAULT_PATHS: dict[Service, str] = {name: row.default_path for name, row in SERVICES.items()}

CONFIG_NAMESPACE = "ochami"


class ProviderConfig(BaseModel):
    """Connection settings for one cluster. The token is a SecretStr: it never prints."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    cluster: str | None = Field(
        default=None,
        description="The cluster's name in the `ochami` config file; its token is read from"
        " `<CLUSTER>_ACCESS_TOKEN`, as the `ochami` CLI reads it.",
    )
    uri: str | None = Field(
        default=None,
        description="The cluster's base URI; each service is at its default path under it"
        " (SMD at `/hsm/v2`, BSS at `/boot/v1`, ...) unless its own URI is set.",
    )
    smd_uri: str | None = Field(default=None, alias="smdUri", description="SMD's own URI.")
    bss_uri: str | None = Field(default=None, alias="bssUri", description="BSS's own URI.")
    cloud_init_uri: str | None = Field(
        default=None, alias="cloudInitUri", description="The cloud-init server's own URI."
    )
    pcs_uri: str | None = Field(default=None, alias="pcsUri", description="PCS's own URI.")
    token: SecretStr | None = Field(
        default=None,
        description="The access token (a JWT); unset: `<CLUSTER>_ACCESS_TOKEN`. Never printed.",
        json_schema_extra={"sensitive": True},
    )
    ca_bundle: str | None = Field(
        default=None, alias="caBundle", description="A CA bundle file for the services' TLS."
    )
    insecure: bool = Field(
        default=False, description="Accept any TLS certificate from the services (tests only)."
    )
    timeout_seconds: float = Field(
        default=30.0, gt=0, alias="timeout", description="Seconds each HTTP request may take."
    )
    verify_artifacts: bool = Field(
        default=True,
        alias="verifyArtifacts",
        description="Check at plan that each kernel and initrd URL answers (HEAD), so a typo"
        " never reaches a node's boot.",
    )
    verify_targets: bool = Field(
        default=True,
        alias="verifyTargets",
        description="Check at plan, in SMD and BSS, that the groups exist and are not empty,"
        " that the nodes exist, and that no other template boots them, before anything is"
        " written.",
    )
    s3_endpoint_url: str | None = Field(
        default=None,
        alias="s3EndpointUrl",
        description="The S3 endpoint of `s3://` artifact URLs (MinIO, Ceph RGW, AWS): where"
        " they are checked, and where `import-bos` reads IMS manifests.",
    )
    session_limit_required: bool = Field(
        default=False,
        alias="sessionLimitRequired",
        description="Sessions that may power nodes off or reboot them (boot, reboot, shutdown)"
        " must name their nodes in `limit` (`*` for all): the guard against a wide reboot by"
        " mistake (BOS `session_limit_required`).",
    )
    boot_backend: Literal["bss", "boot-service"] = Field(
        default="bss",
        alias="bootBackend",
        description="Which service holds what each node boots: OpenCHAMI v0.1's BSS or v0.2's"
        " boot-service.",
    )
    group_data_backend: Literal["cloud-init", "metadata-service"] = Field(
        default="cloud-init",
        alias="groupDataBackend",
        description="Which service holds each group's cloud-init data: v0.1's cloud-init"
        " server or v0.2's metadata-service.",
    )
    power_backend: Literal["pcs", "redfish"] = Field(
        default="pcs",
        alias="powerBackend",
        description="What powers nodes: PCS, or (`redfish`, for sites without PCS) this"
        " provider itself, talking Redfish to each node's BMC at the address SMD holds.",
    )
    bmc_credentials: str | None = Field(
        default=None,
        alias="bmcCredentials",
        description="With `redfish`: a file of BMC user names and passwords; only its path is"
        " kept, so no password reaches state. Unset: OCHAMI_BMC_USERNAME and"
        " OCHAMI_BMC_PASSWORD.",
    )
    bmc_ca_bundle: str | None = Field(
        default=None,
        alias="bmcCaBundle",
        description="The CA that signed the BMCs' certificates.",
    )
    bmc_insecure: bool = Field(
        default=False,
        alias="bmcInsecure",
        description="Accept any BMC certificate (BMCs often have self-signed ones; PCS never"
        " checks them).",
    )
    bmc_scheme: Literal["https", "http"] = Field(
        default="https",
        alias="bmcScheme",
        description="`http` only for BMC emulators served without TLS.",
    )
    bmc_parallelism: int = Field(
        default=64, ge=1, le=1024, alias="bmcParallelism", description="BMCs asked at once."
    )
    history_length: int = Field(
        default=DEFAULT_HISTORY_LENGTH,
        ge=0,
        le=1000,
        alias="historyLength",
        description="How many writes each template, and runs each session, keeps in state"
        " (0: none).",
    )
    boot_service_uri: str | None = Field(
        default=None, alias="bootServiceUri", description="boot-service's own URI (v0.2)."
    )
    metadata_service_uri: str | None = Field(
        default=None,
        alias="metadataServiceUri",
        description="metadata-service's own URI (v0.2).",
    )
    enable_auth: bool = Field(
        default=True,
        alias="enableAuth",
        description="false (the ochami file's `enable-auth: false`): no token is sent,"
        " whatever is set.",
    )
    config_file: str | None = Field(
        default=None,
        alias="configFile",
        description="The one `ochami` config file to read instead of /etc/ochami and"
        " ~/.config/ochami.",
    )

    @field_validator(
        "uri",
        "smd_uri",
        "bss_uri",
        "cloud_init_uri",
        "pcs_uri",
        "s3_endpoint_url",
        "boot_service_uri",
        "metadata_service_uri",
    )
    @classmethod
    def _http_uri(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http:// or https:// URI, got {value!r}")
        return value.rstrip("/") if value else value

    def service_uri(self, service: Service) -> str:
        explicit: str | None = getattr(self, SERVICES[service].uri_field)
        if explicit:
            return explicit
        if not self.uri:
            own_key = CONFIG_KEYS[SERVICES[service].uri_field]
            raise ValueError(
                f"no URI for {service}: set `ochami:uri` (or `ochami:{own_key}`) in stack"
                " config, OCHAMI_URI in the environment, or `connection.uri` on the resource"
            )
        return self.uri + DEFAULT_PATHS[service]

    def token_value(self) -> str | None:
        if not self.enable_auth:
            return None
        return self.token.get_secret_value() if self.token else None

    def merged(self, overrides: Mapping[str, Any]) -> ProviderConfig:
        """This config with the non-empty fields of `overrides` (field or alias names) on top."""
        data = self.model_dump(exclude_none=True)
        for key, value in overrides.items():
            if value is None or key.startswith("__"):
                continue
            data[_field_name(key)] = value
        return ProviderConfig.model_validate(data)

    def public_dict(self) -> dict[str, Any]:
        """Everything but the token, for state and logs."""
        return self.model_dump(by_alias=True, exclude={"token"}, exclude_none=True)


# Stack-config key (namespace `ochami:`) of each field: its alias (camelCase), or its name.
CONFIG_KEYS: dict[str, str] = {
    name: info.alias or name for name, info in ProviderConfig.model_fields.items()
}


def _field_name(key: str) -> str:
    for field, alias in CONFIG_KEYS.items():
        if key in (field, alias):
            return field
    raise ValueError(f"connection: unknown setting {key!r}; known: {sorted(CONFIG_KEYS.values())}")


SERVICE_URI_ENV = {row.uri_field: row.env for row in SERVICES.values() if row.env}


def token_env_var(cluster: str) -> str:
    """The ochami CLI's variable: cluster name upper-cased, dashes and spaces to underscores."""
    return cluster.replace("-", "_").replace(" ", "_").upper() + "_ACCESS_TOKEN"


def from_sources(
    config_get: Callable[[str], Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> ProviderConfig:
    """Stack config first (`ochami:<key>`), then the environment, then the `ochami` config
    file, each for what the ones before leave unset."""
    env = os.environ if env is None else env
    data: dict[str, Any] = {}
    if config_get is not None:
        for field, key in CONFIG_KEYS.items():
            value = config_get(f"{CONFIG_NAMESPACE}:{key}")
            if value is not None and value != "":
                data[field] = value
    data.setdefault("cluster", env.get("OCHAMI_CLUSTER") or None)
    data.setdefault("uri", env.get("OCHAMI_URI") or None)
    # Per-service URIs, for services that sit behind no common gateway.
    for field, var in SERVICE_URI_ENV.items():
        data.setdefault(field, env.get(var) or None)
    data.setdefault("ca_bundle", env.get("OCHAMI_CACERT") or None)
    data.setdefault("config_file", env.get("OCHAMI_CONFIG") or None)
    data.setdefault("bmc_credentials", env.get("OCHAMI_BMC_CREDENTIALS") or None)
    for field, value in _from_ochami_file(data, env).items():
        if data.get(field) is None:
            data[field] = value
    if "token" not in data:
        names = [token_env_var(data["cluster"])] if data.get("cluster") else []
        names.append("OCHAMI_ACCESS_TOKEN")
        for name in names:
            if env.get(name):
                data["token"] = env[name]
                break
    for flag in (
        "insecure",
        "verify_artifacts",
        "verify_targets",
        "session_limit_required",
        "enable_auth",
        "bmc_insecure",
    ):
        if isinstance(data.get(flag), str):
            data[flag] = data[flag].strip().lower() in ("1", "true", "yes")
    return ProviderConfig.model_validate({k: v for k, v in data.items() if v is not None})


_URI_FIELDS = ("uri", *(row.uri_field for row in SERVICES.values()))


def _from_ochami_file(data: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """What the `ochami` config file says of the cluster `data` names (or of its default
    cluster). Where stack config or the environment gives another `uri`, the file describes
    another address, and none of its URIs apply."""
    explicit = data.get("config_file")
    paths = ochami_file.files(explicit, env.get("HOME"))
    merged = ochami_file.load(paths, explicit=bool(explicit))
    if not merged:
        return {}
    where = " + ".join(str(p) for p in paths)
    found = ochami_file.settings(merged, data.get("cluster"), where)
    if data.get("uri") and found.get("uri") != data["uri"]:
        found = {k: v for k, v in found.items() if k not in _URI_FIELDS}
    return found
