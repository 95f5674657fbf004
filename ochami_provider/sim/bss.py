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
    """The iPXE script BSS builds for a node, found by name or by MAC (through SMD's interfaces,
    as BSS resolves a MAC to its component). Like BSS on PostgreSQL, a record is found for the
    name it was stored under; a node without one gets no script."""
    fleet = fleet_of(request)
    name = request.query_params.get("name", "")
    mac = request.query_params.get("mac", "").lower()
    if mac:
        node = next((n for n in fleet.nodes.values() if n.mac.lower() == mac), None)
        # BSS on PostgreSQL looks a MAC up among records stored by MAC; the provider stores
        # records by node name, so a MAC finds none (the real one then fails the request).
        return problem(404, f"MAC {mac}{f' ({node.xname})' if node else ''}: no boot parameters")
    if not name:
        return problem(400, "Need a mac=, name=, or nid= parameter")
    record = fleet.bootparams.get(name)
    node = fleet.nodes.get(name)
    if record is None or node is None or not record.get("kernel"):
        return problem(404, f"{name}: this host not configured for booting.")
    params = f"{record['params']} xname={name} nid={node.nid}"
    params += f" ds=nocloud-net;s={request.url.netloc}/"
    if record.get("initrd"):
        params = f"initrd=initrd {params}"
    script = f"#!ipxe\nkernel --name kernel {record['kernel']} {params} || goto boot_retry\n"
    if record.get("initrd"):
        script += f"initrd --name initrd {record['initrd']} || goto boot_retry\n"
    script += "boot || goto boot_retry\n:boot_retry\nsleep 30\n"
    script += f"chain {request.url.scheme}://{request.url.netloc}{request.url.path}"
    script += f"?mac={node.mac}&retry=1\n"
    fleet.fetch_boot_script(name)
    return PlainTextResponse(script + "\n")


async def bss_endpoint_history(request: Request) -> Response:
    """When each node last fetched each endpoint (Unix seconds), filtered by name and endpoint."""
    fleet = fleet_of(request)
    name = request.query_params.get("name", "")
    endpoint = request.query_params.get("endpoint", "")
    with fleet.lock:
        found = [
            {"name": node, "endpoint": kind, "last_epoch": epoch}
            for (node, kind), epoch in fleet.endpoint_access.items()
            if name in ("", node) and endpoint in ("", kind)
        ]
    return JSONResponse(found)


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
    Route("/boot/v1/endpoint-history", bss_endpoint_history),
]
