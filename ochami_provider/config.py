"""Where the provider finds OpenCHAMI: stack config, resource inputs, then the environment.

Key names follow the `ochami` CLI users already know: a cluster name, one base URI with the
services under their default paths (each overridable), and the token read from
`<CLUSTER>_ACCESS_TOKEN` when it is not in stack config.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

Service = Literal["smd", "bss", "cloud-init", "pcs"]

# Default base paths under the cluster URI, as the ochami CLI and the OpenCHAMI deployment recipes
# lay them out behind the API gateway. PCS has no fixed path there, so it is configurable too.
DEFAULT_PATHS: dict[Service, str] = {
    "smd": "/hsm/v2",
    "bss": "/boot/v1",
    "cloud-init": "/cloud-init",
    "pcs": "/power-control/v1",
}

# Stack-config key (namespace `ochami:`) for each field.
CONFIG_KEYS: dict[str, str] = {
    "cluster": "cluster",
    "uri": "uri",
    "smd_uri": "smdUri",
    "bss_uri": "bssUri",
    "cloud_init_uri": "cloudInitUri",
    "pcs_uri": "pcsUri",
    "token": "token",
    "ca_bundle": "caBundle",
    "insecure": "insecure",
    "timeout_seconds": "timeout",
    "verify_artifacts": "verifyArtifacts",
    "verify_targets": "verifyTargets",
    "s3_endpoint_url": "s3EndpointUrl",
    "session_limit_required": "sessionLimitRequired",
}
CONFIG_NAMESPACE = "ochami"


class ProviderConfig(BaseModel):
    """Connection settings for one cluster. The token is a SecretStr: it never prints."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    cluster: str | None = None
    uri: str | None = None
    smd_uri: str | None = Field(default=None, alias="smdUri")
    bss_uri: str | None = Field(default=None, alias="bssUri")
    cloud_init_uri: str | None = Field(default=None, alias="cloudInitUri")
    pcs_uri: str | None = Field(default=None, alias="pcsUri")
    token: SecretStr | None = None
    ca_bundle: str | None = Field(default=None, alias="caBundle")
    insecure: bool = False
    timeout_seconds: float = Field(default=30.0, gt=0, alias="timeout")
    verify_artifacts: bool = Field(default=True, alias="verifyArtifacts")
    # `check` (so `pulumi preview`) reads SMD and BSS: unknown or empty groups, unknown nodes,
    # and nodes another template boots are refused before anything is written.
    verify_targets: bool = Field(default=True, alias="verifyTargets")
    s3_endpoint_url: str | None = Field(default=None, alias="s3EndpointUrl")
    # Sessions that may power nodes off or reboot them (boot, reboot, shutdown) must name their
    # nodes in `limit` (`*` for all): the guard against a wide reboot by mistake (BOS's
    # session_limit_required).
    session_limit_required: bool = Field(default=False, alias="sessionLimitRequired")

    @field_validator("uri", "smd_uri", "bss_uri", "cloud_init_uri", "pcs_uri", "s3_endpoint_url")
    @classmethod
    def _http_uri(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http:// or https:// URI, got {value!r}")
        return value.rstrip("/") if value else value

    def service_uri(self, service: Service) -> str:
        explicit = {
            "smd": self.smd_uri,
            "bss": self.bss_uri,
            "cloud-init": self.cloud_init_uri,
            "pcs": self.pcs_uri,
        }[service]
        if explicit:
            return explicit
        if not self.uri:
            own_key = CONFIG_KEYS[_uri_field(service)]
            raise ValueError(
                f"no URI for {service}: set `ochami:uri` (or `ochami:{own_key}`) in stack"
                " config, OCHAMI_URI in the environment, or `connection.uri` on the resource"
            )
        return self.uri + DEFAULT_PATHS[service]

    def token_value(self) -> str | None:
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


def _uri_field(service: Service) -> str:
    return {"smd": "smd_uri", "bss": "bss_uri", "cloud-init": "cloud_init_uri", "pcs": "pcs_uri"}[
        service
    ]


def _field_name(key: str) -> str:
    for field, alias in CONFIG_KEYS.items():
        if key in (field, alias):
            return field
    raise ValueError(f"connection: unknown setting {key!r}; known: {sorted(CONFIG_KEYS.values())}")


SERVICE_URI_ENV = {
    "smd_uri": "OCHAMI_SMD_URI",
    "bss_uri": "OCHAMI_BSS_URI",
    "cloud_init_uri": "OCHAMI_CLOUD_INIT_URI",
    "pcs_uri": "OCHAMI_PCS_URI",
}


def token_env_var(cluster: str) -> str:
    """The ochami CLI's variable: cluster name upper-cased, dashes and spaces to underscores."""
    return cluster.replace("-", "_").replace(" ", "_").upper() + "_ACCESS_TOKEN"


def from_sources(
    config_get: Callable[[str], Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> ProviderConfig:
    """Stack config first (`ochami:<key>`), then the environment for what it leaves unset."""
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
    if "token" not in data:
        names = [token_env_var(data["cluster"])] if data.get("cluster") else []
        names.append("OCHAMI_ACCESS_TOKEN")
        for name in names:
            if env.get(name):
                data["token"] = env[name]
                break
    for flag in ("insecure", "verify_artifacts", "verify_targets", "session_limit_required"):
        if isinstance(data.get(flag), str):
            data[flag] = data[flag].strip().lower() in ("1", "true", "yes")
    return ProviderConfig.model_validate({k: v for k, v in data.items() if v is not None})
