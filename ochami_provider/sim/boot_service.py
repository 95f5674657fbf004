"""Simulated boot-service (OpenCHAMI v0.2, v0.3.2): BootConfigurations under
/boot-service/bootconfigurations (the gateway's path; the service itself serves them at its
root), with fabrica's handlers (`fabrica.py`) and boot-service's own validation
(`apis/boot.openchami.io/v1/bootconfiguration_types.go`, `pkg/validation`). Checked against the
real service by tests/test_boot_service_contract.py; see docs/real-services.md.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from .fabrica import Item, error, handlers
from .http import fleet_of

# pkg/validation: an exact xname, a trailing wildcard at one level, or `default`.
_XNAME = re.compile(r"x\d+c\d+s\d+b\d+n\d+")
_XNAME_WILDCARD = re.compile(r"x\d+c\d+s\d+b\d+n\*|x\d+c\d+s\d+b\*|x\d+c\d+s\*|x\d+c\*|x\*")
_MAC = re.compile(r"[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}")


def _problem(item: Item) -> str | None:
    """What the service's Validate refuses, in its words."""
    spec = item["spec"]
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


def _store(request: Request) -> MutableMapping[str, Item]:
    return fleet_of(request).boot_configurations


_collection, _one = handlers("BootConfiguration", "bootconfiguration", _store, _problem)


async def _bootscript(request: Request) -> Response:
    """GET /bootscript?mac=|host=|nid= (boot-service's modern route): a script for any node it
    can name, or 400 when the request names none."""
    query = request.query_params
    mac, host, nid = (query.get(key, "") for key in ("mac", "host", "nid"))
    if not (mac or host or nid):
        return error(
            400,
            "Missing node identifier: At least one node identifier (host, mac, or nid) must be"
            " provided",
        )
    script = fleet_of(request).boot_service_script(mac=mac, host=host, nid=nid)
    return PlainTextResponse(script)


ROUTES = [
    Route("/boot-service/bootconfigurations", _collection, methods=["GET", "POST"]),
    Route("/boot-service/bootconfigurations/{uid}", _one, methods=["GET", "PUT", "DELETE"]),
    Route("/boot-service/bootscript", _bootscript, methods=["GET"]),
]
