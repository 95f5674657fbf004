"""Simulated PCS: power transitions that settle with time, and power status."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .fleet import PCS_OPERATIONS, XNAME
from .http import fleet_of, problem, read_json


async def pcs_transitions(request: Request) -> Response:
    fleet = fleet_of(request)
    if request.method == "GET":
        return JSONResponse(
            {"transitions": [fleet.advance(t).wire(False) for t in fleet.transitions.values()]}
        )
    try:
        body = await read_json(request) or {}
    except ValueError as error:
        return problem(400, f"Decoding error: {error}")
    operation = PCS_OPERATIONS.get(str(body.get("operation", "")).lower())
    if operation is None:
        return problem(400, f"invalid Operation type {body.get('operation', '')}")
    # The real PCS (9d78bc5) takes an empty `location`: a transition of no tasks.
    locations = body.get("location") or []
    deadline = body.get("taskDeadlineMinutes") or 5
    deputies = {loc["xname"]: loc["deputyKey"] for loc in locations if loc.get("deputyKey")}
    tid = fleet.start_transition(operation, [loc["xname"] for loc in locations], deadline, deputies)
    return JSONResponse({"transitionID": tid, "operation": operation})


async def pcs_transition(request: Request) -> Response:
    fleet = fleet_of(request)
    record = fleet.transitions.get(request.path_params["tid"])
    if record is None:
        return problem(404, "transition does not exist")
    if request.method == "DELETE":
        if not fleet.abort(record):
            return problem(400, "Transition is already finished and cannot be aborted.")
        return JSONResponse({"abortStatus": "Accepted - abort initiated"}, status_code=202)
    return JSONResponse(fleet.advance(record).wire())


async def pcs_power_status(request: Request) -> Response:
    fleet = fleet_of(request)
    if request.method == "POST":
        xnames = (await read_json(request) or {}).get("xname") or []
    else:
        xnames = request.query_params.getlist("xname")
    wanted = xnames or list(fleet.nodes)
    # As the real PCS: one malformed xname fails the whole request; one it does not know
    # has an empty power state.
    malformed = [x for x in wanted if not XNAME.fullmatch(str(x))]
    if malformed:
        return problem(400, f"invalid xnames detected: {', '.join(map(str, malformed))}")
    status = []
    for xname in wanted:
        node = fleet.nodes.get(xname)
        status.append(
            {
                "xname": xname,
                "powerState": node.power if node else "",
                "managementState": "available" if node else "",
                "error": "" if node else "Component not found in component map.",
                "supportedPowerTransitions": list(PCS_OPERATIONS.values()) if node else None,
                "lastUpdated": "",
            }
        )
    return JSONResponse({"status": status})


ROUTES = [
    route
    # A gateway's prefixes, and PCS's own routes (`/transitions`, `/v1/transitions`).
    for base in ("/power-control", "/power-control/v1", "", "/v1")
    for route in (
        Route(base + "/transitions", pcs_transitions, methods=["GET", "POST"]),
        Route(base + "/transitions/{tid}", pcs_transition, methods=["GET", "DELETE"]),
        Route(base + "/power-status", pcs_power_status, methods=["GET", "POST"]),
    )
]
