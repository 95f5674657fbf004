"""The `ochami` CLI's configuration file, read as the CLI reads it (OpenCHAMI/ochami,
`internal/config/config.go`), so a site that set up `ochami` needs no second copy of its
cluster's addresses.

Files: `/etc/ochami/config.yaml`, then `~/.config/ochami/config.yaml`, merged in that order
(maps deeply, list items by their `name`); a missing file is skipped. `ochami:configFile` or
`OCHAMI_CONFIG` (this project's names, as the CLI's `-c`) reads that one file alone;
`/dev/null` reads none.

What a cluster's entry gives: its `cluster.uri`; each service's `uri` (an absolute one as it
is, a relative one joined onto `cluster.uri` in place of the service's default path);
`enable-auth` (absent means true; false sends no token); and which OpenCHAMI generation it
runs: a `boot-service` block without a `bss` block means boot-service, a `metadata-service`
block without a `cloud-init` block means metadata-service. The file has no CA setting: the CA
stays `ochami:caBundle` / `OCHAMI_CACERT`.

Pure apart from reading the files: `settings` turns the merged file into ProviderConfig fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from .errors import InvalidInputError
from .openchami_services import SERVICES

SYSTEM_FILE = Path("/etc/ochami/config.yaml")


def files(explicit: str | None, home: str | None) -> list[Path]:
    """The files to read, in order."""
    if explicit:
        return [Path(explicit).expanduser()]
    found = [SYSTEM_FILE]
    if home:
        found.append(Path(home) / ".config" / "ochami" / "config.yaml")
    return found


def load(paths: Sequence[Path], explicit: bool = False) -> dict[str, Any]:
    """The files merged; a missing one is skipped unless it was named explicitly."""
    merged: dict[str, Any] = {}
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if explicit:
                raise InvalidInputError(
                    "ochami:configFile", str(path), "names no file (OCHAMI_CONFIG too)"
                ) from None
            continue
        except (OSError, UnicodeDecodeError) as error:
            raise InvalidInputError(
                "ochami:configFile", str(path), f"cannot be read: {error}"
            ) from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise InvalidInputError(
                "ochami:configFile", str(path), f"is not valid YAML: {error}"
            ) from None
        if data is None:
            continue
        if not isinstance(data, dict):
            raise InvalidInputError(
                "ochami:configFile", str(path), "holds no mapping (the ochami config format)"
            )
        merged = merge(merged, data)
    return merged


def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """`over` on `base`: maps deeply, lists of named items by name (the CLI's MergeMaps with
    the key `name`), anything else replaced."""
    out = dict(base)
    for key, value in over.items():
        old = out.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            out[key] = merge(old, value)
        elif isinstance(old, list) and isinstance(value, list):
            out[key] = _merge_named(old, value)
        else:
            out[key] = value
    return out


def _merge_named(base: list[Any], over: list[Any]) -> list[Any]:
    out = list(base)
    for item in over:
        name = item.get("name") if isinstance(item, Mapping) else None
        at = next(
            (
                i
                for i, old in enumerate(out)
                if isinstance(old, Mapping) and old.get("name") == name
            ),
            None,
        )
        if name is not None and at is not None:
            out[at] = merge(out[at], item)
        else:
            out.append(item)
    return out


def settings(merged: Mapping[str, Any], cluster: str | None, where: str) -> dict[str, Any]:
    """ProviderConfig fields for `cluster` (else the file's `default-cluster`); {} when the file
    names no such cluster. `where` names the files, for errors."""
    name = cluster or merged.get("default-cluster")
    entries = merged.get("clusters") or []
    if not isinstance(entries, list):
        raise InvalidInputError(f"{where}: clusters", entries, "must be a list of clusters")
    entry = next((e for e in entries if isinstance(e, Mapping) and e.get("name") == name), None)
    if not name or entry is None:
        return {}
    block = entry.get("cluster") or {}
    if not isinstance(block, Mapping):
        raise InvalidInputError(f"{where}: clusters[{name}].cluster", block, "must be a mapping")
    found: dict[str, Any] = {"cluster": name}
    base = block.get("uri")
    if base is not None:
        found["uri"] = _absolute(str(base), f"{where}: clusters[{name}].cluster.uri")
    # Each service's block in the entry (named as the CLI names it) gives its URI.
    for service, row in SERVICES.items():
        own = block.get(service)
        uri = own.get("uri") if isinstance(own, Mapping) else None
        if uri is not None and "://" in str(uri):
            found[row.uri_field] = str(uri).rstrip("/")
        elif base is not None and (uri is not None or service == "pcs"):
            # PCS: the CLI's path (the root) where the file names the cluster, not ours.
            found[row.uri_field] = _joined(str(base), str(uri) if uri else row.cli_path)
    if "boot-service" in block and "bss" not in block:
        found["boot_backend"] = "boot-service"
    if "metadata-service" in block and "cloud-init" not in block:
        found["group_data_backend"] = "metadata-service"
    auth = block.get("enable-auth", True)
    if not isinstance(auth, bool):
        raise InvalidInputError(
            f"{where}: clusters[{name}].cluster.enable-auth", auth, "must be true or false"
        )
    found["enable_auth"] = auth
    return found


def _absolute(uri: str, field: str) -> str:
    if not uri.startswith(("http://", "https://")):
        raise InvalidInputError(field, uri, "must be proto://host[:port][/path]")
    return uri.rstrip("/")


def _joined(base: str, path: str) -> str:
    joined = base.rstrip("/") + "/" + path.strip("/")
    return joined.rstrip("/")
