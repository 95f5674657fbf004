"""The simulator's HTTP face: SMD, BSS, cloud-init, PCS, and OpenCHAMI v0.2's boot-service and
metadata-service, one module each, over one fleet.

Paths and bodies follow the services' own definitions (OpenCHAMI/smd, bss, cloud-init,
power-control), including how each reports errors: RFC 7807 problem JSON from SMD, BSS and PCS,
plain text from the cloud-init server.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ..models.hostlists import expand
from . import boot_service, bss, cloud_init, metadata_service, pcs, redfish, smd
from .fleet import Fleet
from .http import FaultInjector, RecordAndAuthorize, fleet_of


# Artifacts: a stand-in for the HTTP server or S3 gateway that hosts boot images.
async def artifact(request: Request) -> Response:
    fleet = fleet_of(request)
    path = "/" + request.path_params["path"]
    if path not in fleet.artifacts:
        return PlainTextResponse("not found", status_code=404)
    return Response(
        b"\x7fELF" if request.method == "GET" else b"",
        status_code=200,
        media_type="application/octet-stream",
    )


async def cmdlines(request: Request) -> Response:
    """What `pdsh -w <nodes> cat /proc/cmdline` prints for the simulated nodes: a line per node
    that is on and runs a kernel it booted from the network (`sim/pdsh.py` asks here)."""
    fleet = fleet_of(request)
    wanted = expand(request.query_params.get("hosts", ""))
    with fleet.lock:
        lines = [
            f"{n}: {fleet.nodes[n].cmdline}\n"
            for n in wanted
            if n in fleet.nodes and fleet.nodes[n].power == "on" and fleet.nodes[n].cmdline
        ]
    return PlainTextResponse("".join(lines))


async def health(request: Request) -> Response:
    fleet = fleet_of(request)
    return JSONResponse({"status": "ok", "nodes": len(fleet.nodes)})


# The services of each OpenCHAMI generation: v0.2's gateway serves neither BSS's
# `/boot/v1` nor the cloud-init server's `/cloud-init` (the migration guide).
_V01 = (*bss.ROUTES, *cloud_init.ROUTES)
_V02 = (*boot_service.ROUTES, *metadata_service.ROUTES)
GENERATION_ROUTES = {"v0.1": _V01, "v0.2": _V02, "both": (*_V01, *_V02)}


def build_app(fleet: Fleet) -> FaultInjector:
    routes = [
        Route("/healthz", health),
        Route("/sim/nodes/cmdline", cmdlines),
        *smd.ROUTES,
        *pcs.ROUTES,
        *redfish.ROUTES,
        *GENERATION_ROUTES[fleet.generation],
        Route("/artifacts/{path:path}", artifact, methods=["GET", "HEAD"]),
    ]
    app = Starlette(routes=routes)
    app.state.fleet = fleet
    app.add_middleware(RecordAndAuthorize, fleet=fleet)
    return FaultInjector(app, fleet)
