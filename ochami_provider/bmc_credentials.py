"""The user names and passwords of the BMCs, for power over Redfish: read when a session needs
them, from the file the admin names (`ochami:bmcCredentials`, OCHAMI_BMC_CREDENTIALS) or from
OCHAMI_BMC_USERNAME and OCHAMI_BMC_PASSWORD, and never written to state or logs.

The file (YAML or JSON) gives one pair for every BMC and, under `bmcs`, a pair per BMC xname
for those that differ:

    username: root
    password: initial0
    bmcs:
      x1000c0s3b0: {username: admin, password: other}

Keep it readable by its owner only (`chmod 600`), as PCS keeps its vault's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from .errors import InvalidInputError

SETTING = "bmcCredentials"


@dataclass(frozen=True)
class Login:
    username: str
    password: SecretStr


@dataclass(frozen=True)
class BmcCredentials:
    default: Login | None = None
    by_bmc: Mapping[str, Login] = field(default_factory=dict)

    def for_bmc(self, bmc: str) -> Login | None:
        return self.by_bmc.get(bmc, self.default)


def load(path: str | None, env: Mapping[str, str] | None = None) -> BmcCredentials:
    """The credentials from `path`, else from the environment; none at all is an error, said
    before any BMC is asked."""
    env = os.environ if env is None else env
    if path:
        return _from_file(Path(path).expanduser())
    username, password = env.get("OCHAMI_BMC_USERNAME"), env.get("OCHAMI_BMC_PASSWORD")
    if username and password:
        return BmcCredentials(Login(username, SecretStr(password)))
    raise InvalidInputError(
        SETTING,
        None,
        "power over Redfish needs the BMCs' credentials: name a credentials file in"
        " `ochami:bmcCredentials` (or OCHAMI_BMC_CREDENTIALS), or set OCHAMI_BMC_USERNAME and"
        " OCHAMI_BMC_PASSWORD; nothing was powered",
    )


def _from_file(path: Path) -> BmcCredentials:
    try:
        body = YAML(typ="safe").load(path.read_text())
    except OSError as error:
        raise InvalidInputError(SETTING, str(path), f"cannot be read: {error.strerror}") from None
    except YAMLError as error:
        raise InvalidInputError(SETTING, str(path), f"is not YAML or JSON: {error}") from None
    if not isinstance(body, dict):
        raise InvalidInputError(SETTING, str(path), "must hold a mapping (username, password)")
    default = _login(body, f"{path}") if {"username", "password"} & body.keys() else None
    bmcs = body.get("bmcs") or {}
    if not isinstance(bmcs, dict):
        raise InvalidInputError(f"{path}: bmcs", type(bmcs).__name__, "must map BMC xnames")
    unknown = sorted(set(body) - {"username", "password", "bmcs"})
    if unknown:
        raise InvalidInputError(
            f"{path}: {unknown[0]}", unknown[0], "unknown key; known: username, password, bmcs"
        )
    by_bmc = {str(bmc): _login(entry, f"{path}: bmcs.{bmc}") for bmc, entry in bmcs.items()}
    if default is None and not by_bmc:
        raise InvalidInputError(SETTING, str(path), "names no username and password")
    return BmcCredentials(default, by_bmc)


def _login(entry: Any, where: str) -> Login:
    if not isinstance(entry, dict):
        raise InvalidInputError(where, type(entry).__name__, "must hold username and password")
    for key in ("username", "password"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            # The value is never shown: it may be a password.
            raise InvalidInputError(f"{where}: {key}", "(hidden)", "must be a non-empty string")
    return Login(entry["username"], SecretStr(entry["password"]))
