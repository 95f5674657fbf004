"""What a site does today: a shell loop over nodes calling the `ochami` CLI once per node.

Modelled in its best light: no process start-up and one kept-alive HTTP connection for every
call (each real CLI invocation starts a process and opens its own connection, which costs
more). BSS boot parameters set per node, the group's cloud-init data set once, one PCS
transition per node, each polled until done.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from ochami_provider.models.records import CloudConfigFile, CloudInitGroup

POLL_SECONDS = 0.1


def per_node_loop(
    base_url: str,
    nodes: list[str],
    *,
    kernel: str,
    params: str,
    user_data: str,
    token: str | None = None,
) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:

        def call(method: str, path: str, body: object = None) -> Any:
            response = client.request(method, path, json=body)
            response.raise_for_status()
            return response.json() if response.content else None

        for node in nodes:
            body = {"hosts": [node], "kernel": kernel, "params": params}
            call("PUT", "/boot/v1/bootparameters", body)
        group = CloudInitGroup(name="compute", file=CloudConfigFile(content=user_data))
        call("PUT", "/cloud-init/admin/groups/compute", group.wire())
        pending = [
            call(
                "POST",
                "/power-control/v1/transitions",
                {"operation": "hard-restart", "location": [{"xname": node}]},
            )["transitionID"]
            for node in nodes
        ]
        while pending:
            time.sleep(POLL_SECONDS)
            pending = [
                tid
                for tid in pending
                if call("GET", f"/power-control/v1/transitions/{tid}")["transitionStatus"]
                not in ("completed", "aborted")
            ]
