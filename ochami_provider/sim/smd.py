"""Simulated SMD: groups, partitions, node components and service reservations."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import redfish
from .fleet import XNAME, ReservationRefused
from .http import fleet_of, problem, read_json


async def smd_groups(request: Request) -> Response:
    fleet = fleet_of(request)
    if request.method == "POST":
        body = await read_json(request) or {}
        label = str(body.get("label", "")).lower()
        if not label:
            return problem(400, "Bad Request: group label is required")
        if label in fleet.groups:
            return problem(
                409,
                "operation would conflict with an existing group that has the same label "
                "or duplicate ids found in request.",
            )
        fleet.add_group(label, body.get("members", {}).get("ids", []), body.get("description", ""))
        return JSONResponse([{"URI": f"/hsm/v2/groups/{label}"}], status_code=201)
    return JSONResponse(list(fleet.groups.values()))


async def smd_group(request: Request) -> Response:
    fleet = fleet_of(request)
    label = request.path_params["label"].lower()
    if label not in fleet.groups:
        if request.method == "DELETE":
            return problem(404, "no such group.")
        return problem(404, "No such group: " + label)
    if request.method == "DELETE":
        del fleet.groups[label]
        return problem(200, "deleted 1 entry", "OK")
    return JSONResponse(fleet.groups[label])


async def smd_group_members(request: Request) -> Response:
    fleet = fleet_of(request)
    label = request.path_params["label"].lower()
    if label not in fleet.groups:
        return problem(404, "No such group: " + label)
    return JSONResponse(fleet.groups[label]["members"])


async def smd_partitions(request: Request) -> Response:
    return JSONResponse(list(fleet_of(request).partitions.values()))


async def smd_partition(request: Request) -> Response:
    fleet = fleet_of(request)
    name = request.path_params["name"]
    if name not in fleet.partitions:
        return problem(404, "No such partition: " + name)
    return JSONResponse(fleet.partitions[name])


async def smd_components(request: Request) -> Response:
    fleet = fleet_of(request)
    q = request.query_params
    ids = set(q.getlist("id"))
    roles = {r.lower() for r in q.getlist("role")}
    types = set(q.getlist("type"))
    if types and "Node" not in types:
        return JSONResponse({"Components": []})
    out = [
        node.component()
        for node in fleet.nodes.values()
        if (not ids or node.xname in ids) and (not roles or node.role.lower() in roles)
    ]
    return JSONResponse({"Components": out})


async def smd_component_endpoints(request: Request) -> Response:
    """Each node's Redfish endpoint, as discovery loads them: its BMC at the simulator's own
    address (`sim/redfish.py` serves every BMC), its system URI and reset action."""
    fleet = fleet_of(request)
    ids = set(request.query_params.getlist("id"))
    if any(not XNAME.fullmatch(i) for i in ids):
        # As the real SMD: one malformed id fails the whole query.
        return problem(400, "bad query param: Argument was not a valid xname ID")
    types = set(request.query_params.getlist("type"))
    if types and "Node" not in types:
        return JSONResponse({"ComponentEndpoints": []})
    out = [
        {
            "ID": node.xname,
            "Type": "Node",
            "RedfishType": "ComputerSystem",
            "RedfishEndpointID": node.bmc,
            "RedfishEndpointFQDN": fleet.redfish_authority or node.bmc,
            "OdataID": f"{redfish.SYSTEMS}/{node.xname}",
            "ComponentEndpointType": "ComponentEndpointComputerSystem",
            "RedfishSystemInfo": {
                "Name": node.xname,
                "Actions": {
                    "#ComputerSystem.Reset": {
                        "ResetType@Redfish.AllowableValues": redfish.reset_types(fleet, node.xname),
                        "target": redfish.reset_target(node.xname),
                    }
                },
            },
        }
        for node in fleet.nodes.values()
        if not ids or node.xname in ids
    ]
    return JSONResponse({"ComponentEndpoints": out})


async def smd_ethernet_interfaces(request: Request) -> Response:
    """Each node's interface as discovery records it (one per node here), filtered by type,
    component and MAC as SMD filters them."""
    fleet = fleet_of(request)
    q = request.query_params
    types = {t.lower() for t in q.getlist("type")}
    ids = {i.lower() for i in q.getlist("componentid")}
    macs = {m.lower() for m in q.getlist("macaddress")}
    if types and "node" not in types:
        return JSONResponse([])
    out = [
        {
            "ID": node.mac.replace(":", "").lower(),
            "Description": "management",
            "MACAddress": node.mac,
            "ComponentID": node.xname,
            "Type": "Node",
            "IPAddresses": [{"IPAddress": node.ip}],
        }
        for node in fleet.nodes.values()
        if node.mac and (not ids or node.xname in ids) and (not macs or node.mac.lower() in macs)
    ]
    return JSONResponse(out)


async def smd_reservations(request: Request) -> Response:
    fleet = fleet_of(request)
    body = await read_json(request) or {}
    minutes = int(body.get("ReservationDuration") or 0)
    if minutes <= 0:
        return problem(400, "ReservationDuration must be greater than 0")
    if minutes > 15:
        return problem(400, "Invalid Reservation Duration")
    try:
        made = fleet.reserve([str(x).lower() for x in body.get("ComponentIDs") or []], minutes)
    except ReservationRefused as error:
        return problem(400, str(error))
    return JSONResponse({"Success": [r.wire() for r in made], "Failure": []})


async def smd_reservations_renew_or_release(request: Request) -> Response:
    fleet = fleet_of(request)
    body = await read_json(request) or {}
    keys = {str(k["ID"]).lower(): str(k["Key"]).lower() for k in body.get("ReservationKeys") or []}
    if request.url.path.endswith("/renew"):
        minutes = int(body.get("ReservationDuration") or 0)
        if minutes <= 0:
            return problem(400, "ReservationDuration must be greater than 0")
        done = fleet.renew(keys, minutes)
    else:
        done = fleet.release(keys)
    done_set = set(done)
    failed = [{"ID": x, "Reason": "NotFound"} for x in keys if x not in done_set]
    counts = {"Total": len(keys), "Success": len(done), "Failure": len(failed)}
    return JSONResponse({"Counts": counts, "Success": {"ComponentIDs": done}, "Failure": failed})


async def smd_lock_status(request: Request) -> Response:
    fleet = fleet_of(request)
    ids = [str(x).lower() for x in (await read_json(request) or {}).get("ComponentIDs") or []]
    held = fleet.reservation_holders()
    components = [
        {
            "ID": x,
            "Locked": fleet.nodes[x].locked,
            "Reserved": x in held,
            "ReservationDisabled": False,
        }
        for x in ids
        if x in fleet.nodes
    ]
    missing = [x for x in ids if x not in fleet.nodes]
    return JSONResponse({"Components": components, "NotFound": missing})


ROUTES = [
    Route("/hsm/v2/groups", smd_groups, methods=["GET", "POST"]),
    Route("/hsm/v2/groups/{label}", smd_group, methods=["GET", "DELETE"]),
    Route("/hsm/v2/groups/{label}/members", smd_group_members),
    Route("/hsm/v2/partitions", smd_partitions),
    Route("/hsm/v2/partitions/{name}", smd_partition),
    Route("/hsm/v2/State/Components", smd_components),
    Route("/hsm/v2/Inventory/EthernetInterfaces", smd_ethernet_interfaces),
    Route("/hsm/v2/Inventory/ComponentEndpoints", smd_component_endpoints),
    Route("/hsm/v2/locks/service/reservations", smd_reservations, methods=["POST"]),
    Route(
        "/hsm/v2/locks/service/reservations/{action:str}",
        smd_reservations_renew_or_release,
        methods=["POST"],
    ),
    Route("/hsm/v2/locks/status", smd_lock_status, methods=["POST"]),
]
