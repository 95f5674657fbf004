"""`data "ochami_nodes"`: which template, boot set and version each node boots, its power and
its last boot-script fetch (what `ochami-boot status` prints), read in a fixed number of
requests whatever the fleet's size."""

from __future__ import annotations

import json
from dataclasses import asdict

import hostlist
from tf import types
from tf.iface import Config, ReadDataContext, State
from tf.schema import Attribute, Schema
from tf.utils import Diagnostics

from ..models.names import normalize_xname
from ..node_status import gather, rows
from .values import Json, ProviderContext, diagnosed


class NodesDataSource:
    def __init__(self, provider: ProviderContext) -> None:
        self.provider = provider

    @classmethod
    def get_name(cls) -> str:
        return "nodes"

    @classmethod
    def get_schema(cls) -> Schema:
        return Schema(
            version=1,
            description="Per-node boot status: template, boot set, version, session, kernel,"
            " power, last boot-script fetch.",
            attributes=[
                Attribute("node", types.String(), optional=True, description="a hostlist"),
                Attribute("group", types.String(), optional=True),
                Attribute("template", types.String(), optional=True),
                Attribute(
                    "nodes",
                    Json(),
                    computed=True,
                    description="one object per node (jsondecode it)",
                ),
                Attribute(
                    "rows",
                    types.List(types.String()),
                    computed=True,
                    description="runs of nodes that agree, in hostlist notation",
                ),
                Attribute("count", types.Number(), computed=True),
            ],
        )

    def validate(self, diags: Diagnostics, type_name: str, config: Config) -> None:
        node = config.get("node")
        if isinstance(node, str):
            try:
                [normalize_xname(n) for n in hostlist.expand_hostlist(node)]
            except (hostlist.BadHostlist, ValueError) as error:
                diags.add_error(
                    f"node: {node!r} is not a hostlist of node xnames: {error}", path=["node"]
                )

    def read(self, ctx: ReadDataContext, config: Config) -> State | None:
        node = config.get("node")
        wanted = [normalize_xname(n) for n in hostlist.expand_hostlist(node)] if node else None
        with diagnosed(ctx.diagnostics, lambda _: "node") as gathered:
            services = self.provider.connector.services(None)
            found = gather(
                services, nodes=wanted, group=config.get("group"), template=config.get("template")
            )
        if gathered.failed:
            return None
        return {
            **config,
            # The framework hands a data source's state over as it is: JSON text here.
            "nodes": json.dumps([s.as_json() for s in found], sort_keys=True),
            "rows": [" ".join(f"{k}={v}" for k, v in asdict(row).items()) for row in rows(found)],
            "count": len(found),
        }
