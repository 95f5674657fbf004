"""Simulated BMCs: each node's Redfish `ComputerSystem` (its power state, its reset action),
all served at the simulator's own address, with basic auth when the fleet names a login.
Errors are Redfish error objects, as sushy-tools and real BMCs send them."""

from __future__ import annotations

import base64
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .fleet import REDFISH_RESET_TYPES, Fleet
from .http import fleet_of, read_json

SYSTEMS = "/redfish/v1/Systems"


def reset_target(xname: str) -> str:
    return f"{SYSTEMS}/{xname}/Actions/ComputerSystem.Reset"


def reset_types(fleet: Fleet, xname: str) -> list[str]:
    return [] if xname in fleet.unsupported else list(REDFISH_RESET_TYPES)


def _error(status: int, message: str, code: str = "Base.1.8.GeneralError") -> JSONResponse:
    body = {
        "error": {
            "code": code,
            "message": "A general error has occurred. See ExtendedInfo for more information.",
            "@Message.ExtendedInfo": [{"MessageId": code, "Message": message}],
        }
    }
    return JSONResponse(body, status_code=status)


def _refused(request: Request, fleet: Fleet, xname: str) -> Response | None:
    """The BMC's answer to a request it will not serve: no login, or no such system."""
    if fleet.bmc_login is not None:
        user, password = fleet.bmc_login
        wanted = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        if request.headers.get("authorization") != wanted:
            return Response(status_code=401, headers={"WWW-Authenticate": 'Basic realm="BMC"'})
    if xname not in fleet.nodes:
        return _error(404, f"System {xname} was not found", "Base.1.8.ResourceNotFound")
    return None


def _system(fleet: Fleet, xname: str) -> dict[str, Any]:
    node = fleet.nodes[xname]
    return {
        "@odata.id": f"{SYSTEMS}/{xname}",
        "Id": xname,
        "Name": xname,
        "PowerState": "On" if node.power == "on" else "Off",
        "Actions": {
            "#ComputerSystem.Reset": {
                "target": reset_target(xname),
                "ResetType@Redfish.AllowableValues": reset_types(fleet, xname),
            }
        },
    }


async def system(request: Request) -> Response:
    fleet = fleet_of(request)
    xname = request.path_params["xname"]
    refused = _refused(request, fleet, xname)
    if refused is not None:
        return refused
    with fleet.lock:
        return JSONResponse(_system(fleet, xname))


async def reset(request: Request) -> Response:
    fleet = fleet_of(request)
    xname = request.path_params["xname"]
    refused = _refused(request, fleet, xname)
    if refused is not None:
        return refused
    body = await read_json(request) or {}
    # Off the event loop: a node that comes on asks for its boot script (a real BSS, maybe).
    said = await run_in_threadpool(fleet.reset_system, xname, str(body.get("ResetType", "")))
    if said:
        return _error(400 if "does not support" in said else 500, said)
    return Response(status_code=204)


ROUTES = [
    Route(SYSTEMS + "/{xname}", system),
    Route(SYSTEMS + "/{xname}/Actions/ComputerSystem.Reset", reset, methods=["POST"]),
]
