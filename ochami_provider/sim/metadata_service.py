"""Simulated metadata-service (OpenCHAMI v0.2's successor to the cloud-init server): Groups
under /metadata-service/groups, with fabrica's handlers (`fabrica.py`) and the Group's own
validation as its published code has it (OpenCHAMI/metadata-service
`apis/cloud-init.openchami.io/v1/group_types.go`, commit 15cd7f6d9d2d): a template is
required; every `{{ var }}` and `{% for x in var %}` it names must exist in the service's
sample meta-data (under `ds`) or in the group's own `metaData`; `metaData` holds strings only;
each template's version (`v-` and the first 4 bytes of its SHA-256) goes into
`status.templateHistory`, the last 10 kept.

Not checked against the real service, which cannot be built here. Where the real one renders
the template (pongo2) and parses the result as YAML, this one parses it with each tag replaced
by a plain word: a template whose YAML breaks only once rendered passes here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime
from typing import Any

import yaml
from starlette.requests import Request
from starlette.routing import Route

from .fabrica import Item, handlers
from .http import fleet_of

_VARIABLE = re.compile(r"{{\s*([a-zA-Z0-9_.]+)\s*}}")
_LOOP = re.compile(r"{%\s*for\s+[a-zA-Z0-9_]+\s+in\s+([a-zA-Z0-9_.]+)\s*%}")
_TAG = re.compile(r"{{.*?}}|{%.*?%}")
HISTORY_KEPT = 10


def _keys(*names: str, **nested: Any) -> dict[str, Any]:
    return {**dict.fromkeys(names, ""), **nested}


# The key structure of the service's sample meta-data (its `sampleMetadata`): what a template
# may name besides the group's own `metaData`. The values do not matter here.
_RACK = _keys(rack1=_keys("syslog_forwarder"))
SAMPLE = _keys(
    ds=_keys(
        "cluster_name", "base_url", "cloud_provider", "region", "availability_zone",
        "hostname", "instance_id", "nid", "role", "mac", "ip", "domain", "os_version",
        "ssh_keys", "tags",
        vendor_data=_keys(
            "version", "cloud_init_base_url", "cluster_name", "nid", "role", "mac",
            groups=_RACK,
        ),
        meta_data=_keys(
            "instance-id", "local-hostname", "hostname", "cluster-name",
            instance_data=_keys(v1=_keys("public_keys", vendor_data=_keys(groups=_RACK))),
        ),
    )
)  # fmt: skip


def template_version(template: str) -> str:
    return "v-" + hashlib.sha256(template.encode()).digest()[:4].hex()


def _named(template: str) -> list[str]:
    names: set[str] = set()
    for pattern in (_VARIABLE, _LOOP):
        for name in pattern.findall(template):
            names.add(name)
            if "." in name:
                names.add(name.split(".")[0])
    return sorted(names)


def _present(data: Mapping[str, Any], name: str) -> bool:
    current: Any = data
    for part in name.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return False
        current = current[part]
    return True


def _problem(item: Item) -> str | None:
    spec = item["spec"]
    template = spec.get("template")
    meta = spec.get("metaData") or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        # Go's JSON decoder refuses a non-string into map[string]string.
        return "metaData: json: cannot unmarshal into Go struct field GroupSpec.spec.metaData"
    if not template:
        return _track(item, "template is required")
    merged = {**SAMPLE, **meta}
    named = _named(template)
    item["status"]["requiredVariables"] = named
    missing = [name for name in named if not _present(merged, name)]
    if missing:
        return _track(item, f"missing required variables: [{' '.join(missing)}]")
    try:
        yaml.safe_load(_TAG.sub("x", template))
    except yaml.YAMLError as error:
        return _track(item, f"template YAML invalid after rendering: {error}")
    return _track(item, "")


def _track(item: Item, problem: str) -> str | None:
    """The template's version in the status, as the service's trackTemplateVersion keeps it."""
    status = item["status"]
    version = template_version(str(item["spec"].get("template") or ""))
    entry = {
        "version": version,
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "valid": not problem,
        **({"errorMessage": problem} if problem else {}),
    }
    history = [e for e in status.get("templateHistory") or [] if e["version"] != version]
    status["templateHistory"] = [*history, entry][-HISTORY_KEPT:]
    status["currentTemplateVersion"] = version
    status["valid"] = not problem
    status["errorMessage"] = problem
    return problem or None


def _store(request: Request) -> MutableMapping[str, Item]:
    return fleet_of(request).metadata_groups


_collection, _one = handlers("Group", "group", _store, _problem)

ROUTES = [
    Route("/metadata-service/groups", _collection, methods=["GET", "POST"]),
    Route("/metadata-service/groups/{uid}", _one, methods=["GET", "PUT", "DELETE"]),
]
