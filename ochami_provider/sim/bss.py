"""Simulated BSS: boot parameters (as BSS on PostgreSQL stores and lists them) and boot
scripts."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ..models.names import normalize_xname
from .http import fleet_of, problem, read_json


async def bss_bootparameters(request: Request) -> Response:
    fleet = fleet_of(request)
    try:
        body = await read_json(request)
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
    fleet = fleet_of(request)
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


def _is_xname(host: str) -> bool:
    try:
        normalize_xname(host)
    except ValueError:
        return False
    return True


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


ROUTES = [
    Route(
        "/boot/v1/bootparameters",
        bss_bootparameters,
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    ),
    Route("/boot/v1/bootscript", bss_bootscript),
]
