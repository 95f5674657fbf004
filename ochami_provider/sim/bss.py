"""Simulated BSS: boot parameters (as BSS on PostgreSQL stores and lists them) and boot
scripts."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ..models.names import is_node_xname
from .fleet import Fleet
from .http import fleet_of, problem, read_json


async def bss_bootparameters(request: Request) -> Response:
    fleet = fleet_of(request)
    try:
        body = await read_json(request)
    except ValueError as error:
        return problem(400, f"Bad Request: {error}")
    args = body if isinstance(body, dict) else {}
    hosts = list(args.get("hosts") or [])
    macs = [str(m).lower() for m in args.get("macs") or []]
    if request.method == "GET":
        for name in request.query_params.getlist("name"):
            hosts.extend(n for n in name.split(",") if n)
        for mac in request.query_params.getlist("mac"):
            macs.extend(m.lower() for m in mac.split(",") if m)
        if not hosts and not macs:
            return JSONResponse(_bss_groups(fleet) or None)
        found = _bss_groups(fleet, set(hosts), set(macs))
        if not found:
            return problem(404, "Cannot find boot parameters for requested Hosts")
        return JSONResponse(found)
    # Like BSS on PostgreSQL, a request naming hosts acts on the hosts alone.
    store = fleet.bootparams if hosts or not macs else fleet.bootparams_by_mac
    keys = hosts or macs
    if request.method == "DELETE":
        with fleet.lock:
            present = [k for k in keys if k in store]
            if not present:
                # What BSS on PostgreSQL answers when it holds none of the keys.
                return problem(
                    400,
                    "postgres.Delete: error deleting BootGroupAssignment(s): "
                    "no node IDs specified for deleting boot group assignments",
                )
            for key in present:
                del store[key]
        return Response(status_code=200, media_type="application/json")
    # BSS stores any host string it is given (it checks no xname syntax).
    if request.method == "POST" and any(k in store for k in keys):
        return problem(400, "Bad Request: postgres.Add: data already exists")
    if request.method == "PATCH":
        missing = next((k for k in keys if k not in store), None)
        if missing:
            return problem(404, f"Not Found: {missing} does not exist")
    record = {k: args.get(k, "") for k in ("kernel", "initrd", "params")}
    with fleet.lock:
        # BSS answers 200 for a host that is no xname, and stores nothing for it.
        for key in (k for k in keys if store is fleet.bootparams_by_mac or is_node_xname(k)):
            if request.method == "PATCH":
                current = store[key]
                current.update({k: v for k, v in record.items() if v})
            else:
                store[key] = {**record, "cloud-init": args.get("cloud-init", {})}
    return Response(
        status_code=201 if request.method == "POST" else 200, media_type="application/json"
    )


async def bss_bootscript(request: Request) -> Response:
    """The iPXE script BSS builds for a node, found by name or by MAC. Like BSS on PostgreSQL,
    a MAC finds only a record stored by MAC (the node's name comes from SMD's interfaces), a
    name only one stored by name; a node without one gets no script."""
    fleet = fleet_of(request)
    name = request.query_params.get("name", "")
    mac = request.query_params.get("mac", "").lower()
    if not name and not mac:
        return problem(400, "Need a mac=, name=, or nid= parameter")
    script = fleet.boot_script(
        name=name, mac=mac, bss=f"{request.url.scheme}://{request.url.netloc}{request.url.path}"
    )
    if script is None:
        return problem(404, f"{mac or name}: this host not configured for booting.")
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


def _bss_groups(
    fleet: Fleet, hosts: set[str] | None = None, macs: set[str] | None = None
) -> list[dict[str, Any]]:
    """The records (all, or those of these hosts and MACs), as BSS on PostgreSQL lists them:
    one per boot configuration, with its hosts and MACs."""
    grouped: dict[tuple[str, str, str], tuple[list[str], list[str]]] = {}
    everything = hosts is None and macs is None
    stores = ((fleet.bootparams, 0, hosts), (fleet.bootparams_by_mac, 1, macs))
    for store, index, wanted in stores:
        keys = list(store) if everything else sorted(k for k in wanted or () if k in store)
        for key in keys:
            record = store[key]
            config = (record.get("kernel", ""), record.get("initrd", ""), record.get("params", ""))
            grouped.setdefault(config, ([], []))[index].append(key)
    out = []
    for found_hosts, found_macs in grouped.values():
        first = (
            fleet.bootparams[found_hosts[0]]
            if found_hosts
            else fleet.bootparams_by_mac[found_macs[0]]
        )
        out.append(_bss_record(first, hosts=found_hosts, macs=found_macs))
    return out


def _bss_record(
    record: dict[str, Any], *, hosts: list[str] | None = None, macs: list[str] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if hosts:
        out["hosts"] = hosts
    if macs:
        out["macs"] = macs
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
