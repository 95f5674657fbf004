"""The simulator's HTTP face: SMD, BSS, cloud-init and PCS routes with their real wire formats.

Paths and bodies follow the services' own definitions (OpenCHAMI/smd, bss, cloud-init,
power-control), including how each reports errors: RFC 7807 problem JSON from SMD, BSS and PCS,
plain text from the cloud-init server.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ..models.names import normalize_xname
from .fleet import PCS_OPERATIONS, Fleet, ReservationRefused

SERVICE_PREFIXES = (
    ("/hsm/v2", "smd"),
    ("/boot/v1", "bss"),
    ("/cloud-init", "cloud-init"),
    ("/power-control", "pcs"),
    ("/artifacts", "artifacts"),
)


def problem(status: int, detail: str, title: str | None = None) -> JSONResponse:
    titles = {
        400: "Bad Request",
        401: "Unauthorized",
        404: "Not Found",
        409: "Conflict",
        429: "Too Many Requests",
        500: "Internal Server Error",
        503: "Service Unavailable",
    }
    return JSONResponse(
        {
            "type": "about:blank",
            "title": title or titles.get(status, "Error"),
            "detail": detail,
            "status": status,
        },
        status_code=status,
        media_type="application/problem+json",
    )


async def _json(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return None
    return json.loads(raw)


def build_app(fleet: Fleet) -> FaultInjector:
    # SMD ---------------------------------------------------------------------------------
    async def smd_groups(request: Request) -> Response:
        if request.method == "POST":
            body = await _json(request) or {}
            label = str(body.get("label", "")).lower()
            if not label:
                return problem(400, "Bad Request: group label is required")
            if label in fleet.groups:
                return problem(
                    409,
                    "operation would conflict with an existing group that has the same label "
                    "or duplicate ids found in request.",
                )
            fleet.add_group(
                label, body.get("members", {}).get("ids", []), body.get("description", "")
            )
            return JSONResponse([{"URI": f"/hsm/v2/groups/{label}"}], status_code=201)
        return JSONResponse(list(fleet.groups.values()))

    async def smd_group(request: Request) -> Response:
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
        label = request.path_params["label"].lower()
        if label not in fleet.groups:
            return problem(404, "No such group: " + label)
        return JSONResponse(fleet.groups[label]["members"])

    async def smd_partition(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in fleet.partitions:
            return problem(404, "No such partition: " + name)
        return JSONResponse(fleet.partitions[name])

    async def smd_components(request: Request) -> Response:
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

    async def smd_reservations(request: Request) -> Response:
        body = await _json(request) or {}
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
        body = await _json(request) or {}
        keys = {
            str(k["ID"]).lower(): str(k["Key"]).lower() for k in body.get("ReservationKeys") or []
        }
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
        return JSONResponse(
            {"Counts": counts, "Success": {"ComponentIDs": done}, "Failure": failed}
        )

    async def smd_lock_status(request: Request) -> Response:
        ids = [str(x).lower() for x in (await _json(request) or {}).get("ComponentIDs") or []]
        held = fleet.reservation_holders()
        components = [
            {"ID": x, "Locked": False, "Reserved": x in held, "ReservationDisabled": False}
            for x in ids
            if x in fleet.nodes
        ]
        missing = [x for x in ids if x not in fleet.nodes]
        return JSONResponse({"Components": components, "NotFound": missing})

    # BSS ---------------------------------------------------------------------------------
    async def bss_bootparameters(request: Request) -> Response:
        try:
            body = await _json(request)
        except ValueError as error:
            return problem(400, f"Bad Request: {error}")
        args = body if isinstance(body, dict) else {}
        if request.method == "GET":
            hosts = list(args.get("hosts") or [])
            for name in request.query_params.getlist("name"):
                hosts.extend(n for n in name.split(",") if n)
            if not hosts:
                return JSONResponse(_bss_groups(fleet.bootparams) or None)
            found = [_bss_record(h, fleet.bootparams[h]) for h in hosts if h in fleet.bootparams]
            if not found:
                return problem(404, "Cannot find boot parameters for requested Hosts")
            return JSONResponse(found)
        hosts = list(args.get("hosts") or [])
        if request.method == "DELETE":
            with fleet.lock:
                present = [h for h in hosts if h in fleet.bootparams]
                if not present:
                    # What BSS on PostgreSQL answers when it holds none of the hosts.
                    return problem(
                        400,
                        "postgres.Delete: error deleting BootGroupAssignment(s): "
                        "no node IDs specified for deleting boot group assignments",
                    )
                for host in present:
                    del fleet.bootparams[host]
            return Response(status_code=200, media_type="application/json")
        # BSS stores any host string it is given (it checks no xname syntax).
        if request.method == "POST" and any(h in fleet.bootparams for h in hosts):
            return problem(400, "Bad Request: postgres.Add: data already exists")
        if request.method == "PATCH":
            missing = next((h for h in hosts if h not in fleet.bootparams), None)
            if missing:
                return problem(404, f"Not Found: {missing} does not exist")
        record = {k: args.get(k, "") for k in ("kernel", "initrd", "params")}
        with fleet.lock:
            # BSS answers 200 for a host that is no xname, and stores nothing for it.
            for host in (h for h in hosts if _is_xname(h)):
                if request.method == "PATCH":
                    current = fleet.bootparams[host]
                    current.update({k: v for k, v in record.items() if v})
                else:
                    fleet.bootparams[host] = {**record, "cloud-init": args.get("cloud-init", {})}
        return Response(
            status_code=201 if request.method == "POST" else 200, media_type="application/json"
        )

    async def bss_bootscript(request: Request) -> Response:
        name = request.query_params.get("name", "")
        if not name:
            return problem(400, "Need a mac=, name=, or nid= parameter")
        record = fleet.bootparams.get(name)
        if record is None:
            return problem(404, f"Cannot find boot parameters for {name}")
        script = f"#!ipxe\nkernel --name kernel {record['kernel']} {record['params']}\n"
        if record["initrd"]:
            script += f"initrd --name initrd {record['initrd']}\n"
        return PlainTextResponse(script + "boot\n")

    # cloud-init --------------------------------------------------------------------------
    async def ci_groups(request: Request) -> Response:
        if request.method == "POST":
            body = await _ci_body(request)
            if isinstance(body, Response):
                return body
            name = body["name"]
            with fleet.lock:
                if name in fleet.cloud_init_groups:
                    return PlainTextResponse(
                        f"group '{name}' not added as it already exists", status_code=409
                    )
                fleet.cloud_init_groups[name] = _ci_record(body)
            return Response(status_code=201, headers={"Location": f"/groups/{name}"})
        return JSONResponse(fleet.cloud_init_groups)

    async def ci_group(request: Request) -> Response:
        name = request.path_params["name"]
        if request.method == "GET":
            if name not in fleet.cloud_init_groups:
                # The real server's in-memory store answers a missing group with a 500.
                return PlainTextResponse(f"group ({name}) not found in memstore", status_code=500)
            return JSONResponse(fleet.cloud_init_groups[name])
        if request.method == "DELETE":
            fleet.cloud_init_groups.pop(name, None)
            return Response(status_code=200)
        body = await _ci_body(request)
        if isinstance(body, Response):
            return body
        fleet.cloud_init_groups[name] = _ci_record(body)
        return Response(status_code=201, headers={"Location": f"/groups/{body['name']}"})

    # PCS ---------------------------------------------------------------------------------
    async def pcs_transitions(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse(
                {"transitions": [fleet.advance(t).wire(False) for t in fleet.transitions.values()]}
            )
        try:
            body = await _json(request) or {}
        except ValueError as error:
            return problem(400, f"Decoding error: {error}")
        operation = PCS_OPERATIONS.get(str(body.get("operation", "")).lower())
        if operation is None:
            return problem(400, f"invalid Operation type {body.get('operation', '')}")
        locations = body.get("location") or []
        if not locations:
            return problem(400, "location is required")
        deadline = body.get("taskDeadlineMinutes") or 5
        deputies = {loc["xname"]: loc["deputyKey"] for loc in locations if loc.get("deputyKey")}
        tid = fleet.start_transition(
            operation, [loc["xname"] for loc in locations], deadline, deputies
        )
        return JSONResponse({"transitionID": tid, "operation": operation})

    async def pcs_transition(request: Request) -> Response:
        record = fleet.transitions.get(request.path_params["tid"])
        if record is None:
            return problem(404, "Error retrieving transition: does not exist")
        if request.method == "DELETE":
            fleet.abort(record)
            return JSONResponse({"abortStatus": "Accepted - abort initiated"}, status_code=202)
        return JSONResponse(fleet.advance(record).wire())

    async def pcs_power_status(request: Request) -> Response:
        if request.method == "POST":
            xnames = (await _json(request) or {}).get("xname") or []
        else:
            xnames = request.query_params.getlist("xname")
        wanted = xnames or list(fleet.nodes)
        status = []
        for xname in wanted:
            node = fleet.nodes.get(xname)
            status.append(
                {
                    "xname": xname,
                    "powerState": node.power if node else "undefined",
                    "managementState": "available" if node else "unavailable",
                    "error": "" if node else "Component not found in HSM",
                    "supportedPowerTransitions": list(PCS_OPERATIONS.values()),
                    "lastUpdated": "",
                }
            )
        return JSONResponse({"status": status})

    # Artifacts (a stand-in for the HTTP server or S3 gateway that hosts boot images) ------
    async def artifact(request: Request) -> Response:
        path = "/" + request.path_params["path"]
        if path not in fleet.artifacts:
            return PlainTextResponse("not found", status_code=404)
        return Response(
            b"\x7fELF" if request.method == "GET" else b"",
            status_code=200,
            media_type="application/octet-stream",
        )

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok", "nodes": len(fleet.nodes)})

    pcs_routes = []
    for base in ("/power-control", "/power-control/v1"):
        pcs_routes += [
            Route(base + "/transitions", pcs_transitions, methods=["GET", "POST"]),
            Route(base + "/transitions/{tid}", pcs_transition, methods=["GET", "DELETE"]),
            Route(base + "/power-status", pcs_power_status, methods=["GET", "POST"]),
        ]
    routes = [
        Route("/healthz", health),
        Route("/hsm/v2/groups", smd_groups, methods=["GET", "POST"]),
        Route("/hsm/v2/groups/{label}", smd_group, methods=["GET", "DELETE"]),
        Route("/hsm/v2/groups/{label}/members", smd_group_members),
        Route("/hsm/v2/partitions/{name}", smd_partition),
        Route("/hsm/v2/State/Components", smd_components),
        Route("/hsm/v2/locks/service/reservations", smd_reservations, methods=["POST"]),
        Route(
            "/hsm/v2/locks/service/reservations/{action:str}",
            smd_reservations_renew_or_release,
            methods=["POST"],
        ),
        Route("/hsm/v2/locks/status", smd_lock_status, methods=["POST"]),
        Route(
            "/boot/v1/bootparameters",
            bss_bootparameters,
            methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        ),
        Route("/boot/v1/bootscript", bss_bootscript),
        Route("/cloud-init/admin/groups", ci_groups, methods=["GET", "POST"]),
        Route("/cloud-init/admin/groups/", ci_groups, methods=["GET", "POST"]),
        Route("/cloud-init/admin/groups/{name}", ci_group, methods=["GET", "PUT", "DELETE"]),
        *pcs_routes,
        Route("/artifacts/{path:path}", artifact, methods=["GET", "HEAD"]),
    ]
    app = Starlette(routes=routes)
    app.add_middleware(_RecordAndAuthorize, fleet=fleet)
    return FaultInjector(app, fleet)


def _service_of(path: str) -> tuple[str, str]:
    """(service, path below its prefix) for a request path; ("", path) outside the services."""
    for prefix, service in SERVICE_PREFIXES:
        if path.startswith(prefix):
            return service, path[len(prefix) :]
    return "", path


class FaultInjector:
    """Pure ASGI, outermost: it must be able to drop a connection mid-response, which a
    Starlette middleware cannot. Injected requests are recorded like any other."""

    def __init__(self, app: ASGIApp, fleet: Fleet) -> None:
        self.app = app
        self.fleet = fleet

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        service, below = _service_of(scope["path"])
        fault = self.fleet.faults.take(service, scope["method"], below) if service else None
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.kind == "delay":
            await asyncio.sleep(fault.delay)
            await self.app(scope, receive, send)
            return
        self.fleet.record(service, scope["method"], scope["path"])
        if fault.kind == "reset":
            # Promise a body, send part of it, end: the client sees the connection drop.
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
                }
            )
            await send({"type": "http.response.body", "body": b'{"partial":', "more_body": False})
            return
        detail = f"injected fault: HTTP {fault.status} on {scope['method']} {scope['path']}"
        response = problem(fault.status, detail)
        if fault.retry_after is not None:
            response.headers["Retry-After"] = f"{fault.retry_after:g}"
        await response(scope, receive, send)


class _RecordAndAuthorize(BaseHTTPMiddleware):
    def __init__(self, app: Any, fleet: Fleet) -> None:
        super().__init__(app)
        self.fleet = fleet

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        path = request.url.path
        service = _service_of(path)[0]
        if service and service != "artifacts":
            self.fleet.record(service, request.method, path)
            if self.fleet.token is not None and _protected(request.method, path):
                header = request.headers.get("authorization", "")
                if header != f"Bearer {self.fleet.token}":
                    # go-chi/jwtauth's answers, which SMD, BSS and cloud-init all pass on.
                    reason = "no token found" if not header else "token is unauthorized"
                    return PlainTextResponse(reason, status_code=401)
        return await call_next(request)


# Routes the real services leave open when authentication is on.
_PUBLIC_READS = (
    "/hsm/v2/service/",
    "/hsm/v2/State/Components",
    "/hsm/v2/Inventory/EthernetInterfaces",
    "/boot/v1/bootscript",
    "/boot/v1/service/",
)


def _is_xname(host: str) -> bool:
    try:
        normalize_xname(host)
    except ValueError:
        return False
    return True


def _protected(method: str, path: str) -> bool:
    if path.startswith("/cloud-init/") and not path.startswith("/cloud-init/admin/"):
        return False
    return not (method in ("GET", "HEAD") and path.startswith(_PUBLIC_READS))


def _bss_groups(bootparams: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """All records, as BSS on PostgreSQL lists them: one per boot configuration, with its hosts."""
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for host, record in bootparams.items():
        key = (record.get("kernel", ""), record.get("initrd", ""), record.get("params", ""))
        grouped.setdefault(key, []).append(host)
    out = []
    for hosts in grouped.values():
        entry = _bss_record(hosts[0], bootparams[hosts[0]])
        entry["hosts"] = hosts
        out.append(entry)
    return out


def _bss_record(host: str, record: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"hosts": [host]}
    for key in ("params", "kernel", "initrd"):
        if record.get(key):
            out[key] = record[key]
    out["cloud-init"] = record.get("cloud-init") or {
        "meta-data": None,
        "user-data": None,
        "phone-home": {},
    }
    return out


async def _ci_body(request: Request) -> dict[str, Any] | Response:
    """A group body as the cloud-init server parses it: 422 in plain text when unusable."""
    try:
        body = await _json(request)
    except ValueError as error:
        return PlainTextResponse(str(error), status_code=422)
    if not isinstance(body, dict) or not body.get("name"):
        return PlainTextResponse("name is required", status_code=422)
    return body


def _ci_record(body: dict[str, Any]) -> dict[str, Any]:
    file = body.get("file") or {}
    record: dict[str, Any] = {"name": body["name"]}
    if body.get("description"):
        record["description"] = body["description"]
    if body.get("meta-data"):
        record["meta-data"] = body["meta-data"]
    record["file"] = {
        "content": file.get("content", ""),
        "filename": file.get("filename", ""),
        **({"encoding": file["encoding"]} if file.get("encoding") else {}),
    }
    return record
