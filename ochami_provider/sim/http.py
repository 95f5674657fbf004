"""What every simulated service shares: error bodies, request parsing, the fleet a request
acts on, and the two layers around all routes (recording and auth; injected faults)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from .fleet import Fleet

SERVICE_PREFIXES = (
    ("/hsm/v2", "smd"),
    ("/boot/v1", "bss"),
    ("/cloud-init", "cloud-init"),
    ("/power-control", "pcs"),
    ("/boot-service", "boot-service"),
    ("/metadata-service", "metadata-service"),
    ("/artifacts", "artifacts"),
    ("/redfish/v1", "redfish"),
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


async def read_json(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return None
    return json.loads(raw)


def fleet_of(request: Request) -> Fleet:
    fleet: Fleet = request.app.state.fleet
    return fleet


def service_of(path: str) -> tuple[str, str]:
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
        service, below = service_of(scope["path"])
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


class RecordAndAuthorize(BaseHTTPMiddleware):
    def __init__(self, app: Any, fleet: Fleet) -> None:
        super().__init__(app)
        self.fleet = fleet

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        path = request.url.path
        service = service_of(path)[0]
        if service and service != "artifacts":
            self.fleet.record(service, request.method, path)
            # The BMCs take basic auth (`sim/redfish.py`), not the cluster's token.
            protected = service != "redfish" and _protected(request.method, path)
            if self.fleet.token is not None and protected:
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


def _protected(method: str, path: str) -> bool:
    if path.startswith("/cloud-init/") and not path.startswith("/cloud-init/admin/"):
        return False
    return not (method in ("GET", "HEAD") and path.startswith(_PUBLIC_READS))
