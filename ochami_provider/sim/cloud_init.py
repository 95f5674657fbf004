"""Simulated cloud-init server: group data under /cloud-init/admin/groups, answering as the
OpenCHAMI server does (plain-text errors, HTTP 500 for a missing group)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .http import fleet_of, read_json


async def ci_groups(request: Request) -> Response:
    fleet = fleet_of(request)
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
    fleet = fleet_of(request)
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


async def _ci_body(request: Request) -> dict[str, Any] | Response:
    """A group body as the cloud-init server parses it: 422 in plain text when unusable."""
    try:
        body = await read_json(request)
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


ROUTES = [
    Route("/cloud-init/admin/groups", ci_groups, methods=["GET", "POST"]),
    Route("/cloud-init/admin/groups/", ci_groups, methods=["GET", "POST"]),
    Route("/cloud-init/admin/groups/{name}", ci_group, methods=["GET", "PUT", "DELETE"]),
]
