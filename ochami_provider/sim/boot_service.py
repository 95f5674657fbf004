"""Simulated boot-service (OpenCHAMI v0.2, v0.3.2): BootConfigurations under
/boot-service/bootconfigurations (the gateway's path; the service itself serves them at its
root), as its generated handlers answer: server-made UIDs, a create that takes
`metadata.labels`, a PUT that replaces the spec and only merges a top-level `labels`, 404 for
an unknown UID, and errors as `{"error": ..., "code": ...}`. See docs/real-services.md.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .http import fleet_of, read_json

# pkg/validation: an exact xname, a trailing wildcard at one level, or `default`.
_XNAME = re.compile(r"x\d+c\d+s\d+b\d+n\d+")
_XNAME_WILDCARD = re.compile(r"x\d+c\d+s\d+b\d+n\*|x\d+c\d+s\d+b\*|x\d+c\d+s\*|x\d+c\*|x\*")
_MAC = re.compile(r"[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "code": status}, status_code=status)


def _problem(spec: dict[str, Any]) -> str | None:
    """What the service's Validate refuses, in its words."""
    if not spec.get("kernel"):
        return "kernel field is required"
    for host in spec.get("hosts") or []:
        if not (host == "default" or _XNAME.fullmatch(host) or _XNAME_WILDCARD.fullmatch(host)):
            return f"invalid host XName format: {host}"
    for mac in spec.get("macs") or []:
        if not _MAC.fullmatch(mac):
            return f"invalid MAC address format: {mac}"
    priority = spec.get("priority") or 0
    if not isinstance(priority, int) or not 0 <= priority <= 100:
        return "priority must be between 0 and 100"
    return None


def _now() -> str:
    return datetime.now(UTC).isoformat()


async def _body(request: Request) -> dict[str, Any] | Response:
    try:
        body = await read_json(request)
    except ValueError as error:
        return _error(400, f"invalid request body: {error}")
    if not isinstance(body, dict):
        return _error(400, "invalid request body: not an object")
    return body


async def configurations(request: Request) -> Response:
    fleet = fleet_of(request)
    if request.method == "GET":
        with fleet.lock:
            return JSONResponse(list(fleet.boot_configurations.values()))
    body = await _body(request)
    if isinstance(body, Response):
        return body
    spec = dict(body.get("spec") or {})
    problem = _problem(spec)
    if problem:
        return _error(400, f"validation failed: {problem}")
    metadata = dict(body.get("metadata") or {})
    labels = {**(metadata.get("labels") or {}), **(body.get("labels") or {})}
    uid = f"bootconfiguration-{secrets.token_hex(4)}"
    now = _now()
    item = {
        "apiVersion": "v1",
        "kind": "BootConfiguration",
        "metadata": {
            "name": metadata.get("name", ""),
            "uid": uid,
            "labels": labels,
            "createdAt": now,
            "updatedAt": now,
        },
        "spec": spec,
        "status": {},
    }
    with fleet.lock:
        fleet.boot_configurations[uid] = item
    return JSONResponse(item, status_code=201)


async def configuration(request: Request) -> Response:
    fleet = fleet_of(request)
    uid = request.path_params["uid"]
    with fleet.lock:
        item = fleet.boot_configurations.get(uid)
    if item is None:
        return _error(
            404,
            f"BootConfiguration not found: failed to load BootConfiguration {uid}: resource not"
            " found",
        )
    if request.method == "GET":
        return JSONResponse(item)
    if request.method == "DELETE":
        with fleet.lock:
            fleet.boot_configurations.pop(uid, None)
        return JSONResponse({"message": "BootConfiguration deleted successfully", "uid": uid})
    body = await _body(request)
    if isinstance(body, Response):
        return body
    spec = dict(body.get("spec") or {})
    problem = _problem(spec)
    if problem:
        return _error(400, f"validation failed: {problem}")
    name = (body.get("metadata") or {}).get("name")
    with fleet.lock:
        metadata = item["metadata"]
        if name:
            metadata["name"] = name
        # Merged, never removed; `metadata.labels` in a PUT is not read.
        metadata["labels"] = {**metadata.get("labels", {}), **(body.get("labels") or {})}
        metadata["updatedAt"] = _now()
        item["spec"] = spec
    return JSONResponse(item)


ROUTES = [
    Route("/boot-service/bootconfigurations", configurations, methods=["GET", "POST"]),
    Route(
        "/boot-service/bootconfigurations/{uid}", configuration, methods=["GET", "PUT", "DELETE"]
    ),
]
