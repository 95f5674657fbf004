"""The real OpenCHAMI PCS (power-control) with emulated BMCs, beside the rest of the stack.

PCS binds :28007 on every interface (hard-coded in `cmd/power-control/service.go`), so it runs
in a network namespace of its own, as root, whose only interface is loopback. There it finds,
on the same loopback ports as outside, SMD, the token issuer and the lab's power notifier
through Unix-socket pipes (`forward.py`), PostgreSQL through its Unix socket, and the BMCs:
one sushy-tools emulator (its fake driver, HTTPS, basic auth) on 443, every BMC xname in the
namespace's /etc/hosts pointing at it. Outside, PCS answers on a free loopback port.

sushy tells a notifier here of every power change (`external_notifier`), which updates the
fleet and runs its firmware on power-on, so a node powered by the real PCS asks the real BSS
for its boot script as it does with the simulator's PCS. Facts: ../shared/facts/real-pcs.md.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ochami_provider.sim import Fleet
from ochami_provider.sim.fleet import Node
from ochami_provider.sim.server import ThreadedServer

PCS_PORT = 28007  # power-control's own, not configurable
BMC_USER, BMC_PASSWORD = "root", "bmc-password"
PCS_DB = ("pcsdb", "pcsuser", "pcs-local-password")
# The reset types sushy's systems offer, as SMD's inventory must list them for PCS.
RESET_TYPES = ["On", "ForceOff", "GracefulShutdown", "GracefulRestart", "ForceRestart", "Nmi"]
# How often PCS reads every node's power (its default is 30 s): the floor of a power step.
SAMPLE_INTERVAL = 2
FORWARDER = Path(__file__).with_name("forward.py")


@dataclass
class Namespace:
    """A network namespace with only loopback, and its own /etc/hosts."""

    name: str
    hosts: dict[str, str] = field(default_factory=dict)

    def create(self) -> None:
        subprocess.run(["ip", "netns", "add", self.name], check=True, capture_output=True)
        self.run(["ip", "link", "set", "lo", "up"])
        etc = Path("/etc/netns") / self.name
        etc.mkdir(parents=True, exist_ok=True)
        lines = ["127.0.0.1 localhost", *(f"{ip} {name}" for name, ip in self.hosts.items())]
        (etc / "hosts").write_text("\n".join(lines) + "\n")

    def argv(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    def run(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        done = subprocess.run(self.argv(argv), env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} in {self.name} failed:\n{done.stdout}{done.stderr}")

    def delete(self) -> None:
        subprocess.run(["ip", "netns", "delete", self.name], capture_output=True)
        etc = Path("/etc/netns") / self.name
        (etc / "hosts").unlink(missing_ok=True)
        if etc.is_dir():
            etc.rmdir()


def available(cache: Path) -> bool:
    """Whether the setup script built PCS and installed sushy-tools, and this process may
    make a network namespace."""
    return (
        (cache / "bin" / "power-control").is_file()
        and (cache / "sushy" / "bin" / "sushy-emulator").is_file()
        and os.geteuid() == 0
    )


def sushy_available(cache: Path) -> bool:
    """Whether the setup script installed sushy-tools (power over Redfish needs no root)."""
    return (cache / "sushy" / "bin" / "sushy-emulator").is_file()


def sushy_config(
    nodes: Iterable[Node],
    workdir: Path,
    cert: Path,
    key: Path,
    notify_url: str,
    *,
    port: int = 443,
    name: str = "sushy",
) -> Path:
    """sushy's config: one fake system per node, named and identified by its xname (PCS
    reads `/redfish/v1/Systems/<xname>`, as SMD's inventory says)."""
    systems = [
        {
            "uuid": node.xname,
            "name": node.xname,
            "power_state": "On" if node.power == "on" else "Off",
            "external_notifier": True,
            "nics": [{"mac": node.mac, "ip": node.ip}],
        }
        for node in nodes
    ]
    settings = {
        "SUSHY_EMULATOR_LISTEN_IP": "127.0.0.1",
        "SUSHY_EMULATOR_LISTEN_PORT": port,
        "SUSHY_EMULATOR_SSL_CERT": str(cert),
        "SUSHY_EMULATOR_SSL_KEY": str(key),
        "SUSHY_EMULATOR_AUTH_FILE": str(workdir / "sushy.htpasswd"),
        "SUSHY_EMULATOR_FAKE_DRIVER": True,
        "SUSHY_EMULATOR_FAKE_SYSTEMS": systems,
        "SUSHY_EMULATOR_STATE_DIR": str(workdir / f"{name}-state"),
        "EXTERNAL_NOTIFICATION_URL": notify_url,
    }
    path = workdir / f"{name}.conf"
    path.write_text("".join(f"{k} = {v!r}\n" for k, v in settings.items()))
    return path


class PowerNotifier:
    """Where sushy says each power change: the fleet follows, and a node that comes on runs
    its firmware (it asks BSS for its boot script)."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self._server = ThreadedServer(
            Starlette(routes=[Route("/", self._changed, methods=["PUT"])]), name="power-notifier"
        )

    async def _changed(self, request: Request) -> Response:
        system: dict[str, Any] = await request.json()
        xname, state = str(system.get("name")), str(system.get("power_state"))
        node = self.fleet.nodes.get(xname)
        if node is None:
            return Response(status_code=404)
        now = "on" if state == "On" else "off"
        with self.fleet.lock:
            was, node.power = node.power, now
            if now == "off":
                node.cmdline = ""
        # Off the event loop: the firmware asks BSS, which may take a while (or fail, as a
        # node's firmware may: the node then just does not boot).
        if now == "on" and was != "on":
            await run_in_threadpool(self._quietly, self.fleet.firmware or self.fleet.netboot, xname)
        elif now == "off" and was == "on" and self.fleet.halt is not None:
            await run_in_threadpool(self._quietly, self.fleet.halt, xname)
        return Response(status_code=204)

    @staticmethod
    def _quietly(step: Callable[[str], None], xname: str) -> None:
        try:
            step(xname)
        except Exception as error:  # a node that fails to boot is what the session must see
            print(f"power notifier: {xname}: {error!r}", file=sys.stderr)

    def start(self) -> int:
        return int(self._server.start().rsplit(":", 1)[1])

    def stop(self) -> None:
        self._server.stop()


def first_sweep(url: str, nodes: list[str], headers: dict[str, str], timeout: float) -> None:
    """Wait until PCS knows every node's power: before its first sweep (one sample interval
    after it starts) every transition fails with "Missing xname"."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = httpx.post(
                url + "/power-status", json={"xname": nodes}, headers=headers, timeout=5
            )
            if answer.status_code == 200:
                states = {s["xname"]: s.get("powerState") for s in answer.json()["status"]}
                if all(states.get(n) in ("on", "off") for n in nodes):
                    return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"PCS did not learn every node's power within {timeout:g}s")
        time.sleep(0.5)


def forwarder_argv(rules: list[str]) -> list[str]:
    return [sys.executable, str(FORWARDER), *rules]


def namespace_name() -> str:
    return f"ochami-pcs-{os.getpid()}-{secrets.token_hex(2)}"


def htpasswd(cache: Path, path: Path) -> None:
    """sushy's basic-auth file (bcrypt only), made by sushy's own Python (it has bcrypt).
    sushy checks the hash on every request: at bcrypt's default cost (12, about 0.25 s of
    CPU) PCS's sweep of 16 nodes every 2 s kept one core busy and slowed every test beside
    it; cost 4, bcrypt's least, is about 1 ms. A BMC's own login costs nothing like this."""
    python = cache / "sushy" / "bin" / "python"
    made = subprocess.run(
        [
            str(python),
            "-c",
            "import bcrypt,sys; print(bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt(4))"
            ".decode())",
            BMC_PASSWORD,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    path.write_text(f"{BMC_USER}:{made.stdout.strip()}\n")


def pcs_environment(sample_interval: int = SAMPLE_INTERVAL) -> dict[str, str]:
    return {
        "STORAGE": "POSTGRES",
        "PCS_FAKE_VAULT_REDFISH_USER": BMC_USER,
        "PCS_FAKE_VAULT_REDFISH_PASSWORD": BMC_PASSWORD,
        "PCS_POWER_SAMPLE_INTERVAL": str(sample_interval),
    }
