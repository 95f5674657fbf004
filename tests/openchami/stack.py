"""The real OpenCHAMI services on loopback: SMD and BSS on PostgreSQL, the cloud-init server, with
JWT authentication against a local issuer, and a small fleet loaded into SMD; beside them
OpenCHAMI v0.2's boot-service (file storage, no auth).

Power goes to the embedded simulator's PCS, which holds the same fleet, or with
`power="real"` to the real PCS (power-control, built from its source) driving emulated BMCs
(sushy-tools) in a network namespace of its own (`real_pcs.py`), or with `power="redfish"` to
one sushy-tools BMC per BMC on loopback, whose addresses SMD holds, for the product's own
Redfish backend. Binaries come from scripts/openchami-setup.sh.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import httpx

from ochami_provider.config import ProviderConfig
from ochami_provider.sim import Fleet, SimServer
from ochami_provider.sim.fleet import Node
from ochami_provider.sim.ipxe import kernel_command_line

from . import real_pcs
from .issuer import TokenIssuer
from .ports import closed_port, free_port
from .postgres import Postgres
from .processes import stop_process_group
from .tls import write_loopback_certificates

SMD_DB = ("hmsds", "hmsdsuser", "hmsds-local-password")
BSS_DB = ("bssdb", "bssuser", "bss-local-password")
CLUSTER_NAME = "ochami-provider-test"


def services_cache() -> Path:
    """Where scripts/openchami-setup.sh put the binaries (same default, same override)."""
    override = os.environ.get("OCHAMI_SERVICES_CACHE")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ochami-provider" / "openchami"


def built() -> bool:
    return (services_cache() / ".done").is_file()


@dataclass
class ServiceProcess:
    name: str
    argv: list[str]
    env: Mapping[str, str]
    ready_url: str
    log: Path
    ca_bundle: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    # What counts as ready at `ready_url` (PCS's /liveness answers 204; sushy asks for auth).
    ready_status: tuple[int, ...] = (200,)
    # Instead of `ready_url`: ready when this says so (a forwarder: its log line).
    ready: Callable[[], bool] | None = None

    def start(self, timeout: float = 60.0) -> None:
        out = self.log.open("ab")
        self.process = subprocess.Popen(
            self.argv,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **self.env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}:\n{self.tail()}"
                )
            if self.ready is not None:
                if self.ready():
                    return
            else:
                try:
                    verify = (
                        ssl.create_default_context(cafile=str(self.ca_bundle))
                        if self.ca_bundle
                        else True
                    )
                    answer = httpx.get(self.ready_url, timeout=2, verify=verify)
                    if answer.status_code in self.ready_status:
                        return
                except httpx.TransportError:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} not ready at {self.ready_url}:\n{self.tail()}")
            time.sleep(0.1)

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        stop_process_group(self.process, signal.SIGTERM, timeout=15)


class OpenchamiStack:
    def __init__(
        self,
        fleet: Fleet,
        *,
        auth: bool = True,
        workdir: Path | None = None,
        cloud_init_base_url: str | None = None,
        power: Literal["sim", "real", "redfish"] = "sim",
    ) -> None:
        self.fleet = fleet
        self.auth = auth
        self.power = power
        # power="redfish": each BMC's own sushy, at the address SMD is given for it.
        self.bmc_addresses: dict[str, str] = {}
        self._namespace: real_pcs.Namespace | None = None
        self._notifier: real_pcs.PowerNotifier | None = None
        # Where nodes reach the cloud-init server (its vendor-data names group data by it).
        self.cloud_init_base_url = cloud_init_base_url
        self.cache = services_cache()
        self._own_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="ochami-real-"))
        self.issuer = TokenIssuer()
        self.postgres = Postgres(self.workdir)
        self.pcs = SimServer(fleet)
        self.processes: list[ServiceProcess] = []
        self.smd_url = self.bss_url = self.cloud_init_url = self.pcs_url = ""
        self.boot_service_url = ""
        self.token: str | None = None
        self.ca_bundle, self._server_cert, self._server_key = write_loopback_certificates(
            self.workdir / "tls"
        )

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Self:
        if not built():
            raise RuntimeError(
                f"the OpenCHAMI services are not built in {self.cache}; "
                "run scripts/openchami-setup.sh"
            )
        # A run killed by SIGTERM (a CI's timeout) or ended without the fixture's teardown still
        # stops the services and deletes the namespace: they outlive the process otherwise.
        atexit.register(self._stop_quietly)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _stop_quietly(self) -> None:
        try:
            self.stop()
        except Exception as error:  # at exit: say it, the rest must still stop
            print(f"stopping the OpenCHAMI services at exit: {error}", file=sys.stderr)

    def _start(self) -> None:
        self.issuer.start()
        self.token = self.issuer.token() if self.auth else None
        self.postgres.start()
        for name, user, password in (SMD_DB, BSS_DB):
            self.postgres.create_database(name, user, password)
        self._migrate()
        self.smd_url = self._start_smd()
        self.bss_url = self._start_bss()
        # The fleet's power-on now reaches this BSS, as a node's firmware would.
        self.fleet.firmware = self._netboot
        # The simulator serves the fleet's /proc/cmdline (`sim/pdsh.py`) whatever powers it.
        sim_url = self.pcs.start()
        if self.power in ("sim", "redfish"):
            self.pcs_url = sim_url + "/power-control/v1"
        if self.power == "redfish":
            self._start_bmcs()
        # Before the cloud-init server starts: it reads SMD's interfaces (IP -> node) at start,
        # then once a minute. Before PCS: it reads the nodes and their BMCs from SMD.
        self._load_fleet()
        if self.power == "real":
            self.pcs_url = self._start_real_pcs()
        self.cloud_init_url = self._start_cloud_init()
        self.boot_service_url = self._start_boot_service()

    def stop(self) -> None:
        """Stop everything that was started, each step whatever happened to the one before."""
        atexit.unregister(self._stop_quietly)
        self.fleet.firmware = None
        steps = [p.stop for p in reversed(self.processes)]
        if self._notifier is not None:
            steps.append(self._notifier.stop)
        if self._namespace is not None:
            steps.append(self._namespace.delete)
        steps += [self.pcs.stop, self.postgres.stop, self.issuer.stop]
        errors = []
        for step in steps:
            try:
                step()
            except Exception as error:  # keep stopping the rest; report after
                errors.append(error)
        self.processes.clear()
        if self._own_workdir and not os.environ.get("OCHAMI_KEEP_REAL_LOGS"):
            shutil.rmtree(self.workdir, ignore_errors=True)
        if errors:
            raise RuntimeError(f"stopping the OpenCHAMI services: {errors}")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what callers use --------------------------------------------------------------------
    def config(self, **overrides: Any) -> ProviderConfig:
        values: dict[str, Any] = {
            **self.connection(),
            "token": self.token,
            "caBundle": str(self.ca_bundle),
            **(self.redfish_settings() if self.power == "redfish" else {}),
            **overrides,
        }
        return ProviderConfig.model_validate(values)

    def redfish_settings(self) -> dict[str, Any]:
        """Power over Redfish to this stack's BMCs, as an admin configures it."""
        credentials = self.workdir / "bmc-credentials.yaml"
        if not credentials.exists():
            credentials.write_text(
                f"username: {real_pcs.BMC_USER}\npassword: {real_pcs.BMC_PASSWORD}\n"
            )
            credentials.chmod(0o600)
        return {
            "powerBackend": "redfish",
            "bmcCredentials": str(credentials),
            "bmcCaBundle": str(self.ca_bundle),
        }

    def connection(self) -> dict[str, Any]:
        """The `connection` input of a resource, as a Pulumi program would pass it."""
        return {
            "smdUri": self.smd_url + "/hsm/v2",
            "bssUri": self.bss_url + "/boot/v1",
            "cloudInitUri": self.cloud_init_url + "/cloud-init",
            "pcsUri": self.pcs_url,
            "bootServiceUri": self.boot_service_url,
        }

    def environment(self) -> dict[str, str]:
        """The connection as the `ochami` CLI (and the provider, without stack config) reads it
        from the environment."""
        found = {
            "OCHAMI_SMD_URI": self.smd_url + "/hsm/v2",
            "OCHAMI_BSS_URI": self.bss_url + "/boot/v1",
            "OCHAMI_CLOUD_INIT_URI": self.cloud_init_url + "/cloud-init",
            "OCHAMI_PCS_URI": self.pcs_url,
            "OCHAMI_CACERT": str(self.ca_bundle),
        }
        if self.token:
            found["OCHAMI_ACCESS_TOKEN"] = self.token
        return found

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    # -- the services ------------------------------------------------------------------------
    def _bin(self, name: str) -> str:
        return str(self.cache / "bin" / name)

    def _run_once(self, name: str, argv: list[str], env: Mapping[str, str]) -> None:
        done = subprocess.run(
            argv, env={"PATH": os.environ.get("PATH", ""), **env}, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"{name} failed:\n{done.stdout}\n{done.stderr}")

    def _migrate(self) -> None:
        name, user, password = SMD_DB
        self._run_once(
            "smd-init",
            [self._bin("smd-init"), "-migrationsdir", str(self.cache / "migrations" / "smd")],
            {
                "SMD_DBHOST": self.postgres.host,
                "SMD_DBPORT": str(self.postgres.port),
                "SMD_DBNAME": name,
                "SMD_DBUSER": user,
                "SMD_DBPASS": password,
                "SMD_DBOPTS": "sslmode=disable",
            },
        )
        name, user, password = BSS_DB
        self._run_once(
            "bss-init",
            [
                self._bin("bss-init"),
                "--postgres-host", self.postgres.host,
                "--postgres-port", str(self.postgres.port),
                "--postgres-dbname", name,
                "--postgres-user", user,
                "--postgres-password", password,
                "--postgres-insecure",
                "--postgres-migrations", str(self.cache / "migrations" / "bss"),
            ],
            {},
        )  # fmt: skip

    def _launch(
        self,
        name: str,
        argv: list[str],
        env: Mapping[str, str],
        port: int,
        ready_path: str,
        *,
        tls: bool = False,
    ) -> str:
        url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        process = ServiceProcess(
            name,
            argv,
            env,
            url + ready_path,
            self.workdir / f"{name}.log",
            ca_bundle=self.ca_bundle if tls else None,
        )
        self.processes.append(process)
        process.start()
        return url

    def _start_boot_service(self) -> str:
        """OpenCHAMI v0.2's boot-service, on file storage in the work directory. Without
        TokenSmith here it runs without auth (`--enable-auth` needs TokenSmith's JWKS), and
        without its SMD sync: the fleet's nodes are posted as its Node resources instead
        (`_load_boot_service_nodes`), which is what the sync would make of SMD."""
        port = free_port()
        argv = [
            self._bin("boot-service"), "serve",
            "--host", "127.0.0.1",
            "--port", str(port),
            "--storage-type", "file",
            "--data-dir", str(self.workdir / "boot-service"),
            "--hsm-sync-enabled=false",
            "--enable-legacy-api=false",
            "--enable-metrics=false",
        ]  # fmt: skip
        url = self._launch("boot-service", argv, {}, port, "/health")
        self._load_boot_service_nodes(url)
        return url

    def _load_boot_service_nodes(self, url: str) -> None:
        """One Node resource per node (xname, NID, boot MAC, role, groups): what boot-service
        resolves a `/bootscript?mac=` request to before it scores its configurations."""
        groups: dict[str, list[str]] = {}
        for label, data in self.fleet.groups.items():
            for member in data["members"]["ids"]:
                groups.setdefault(member, []).append(label)
        with httpx.Client(base_url=url, timeout=10) as client:
            for node in self.fleet.nodes.values():
                spec = {
                    "xname": node.xname,
                    "nid": node.nid,
                    "bootMac": node.mac.lower(),
                    "role": node.role,
                    "groups": groups.get(node.xname, []),
                }
                created = client.post(
                    "/nodes", json={"metadata": {"name": node.xname}, "spec": spec}
                )
                created.raise_for_status()

    def _start_smd(self) -> str:
        port = free_port()
        name, user, password = SMD_DB
        argv = [
            self._bin("smd"),
            "--http-listen", f"127.0.0.1:{port}",
            "--dbtype", "postgres",
            "--dbhost", self.postgres.host,
            "--dbport", str(self.postgres.port),
            "--dbname", name,
            "--dbuser", user,
            "--dbopts", "sslmode=disable",
            # SMD serves HTTPS with the key pair it is given (or one it makes up for its
            # hostname); ours names 127.0.0.1 and chains to a CA the client can trust.
            "--tls-cert", str(self._server_cert),
            "--tls-key", str(self._server_key),
            "--enable-discovery=false",
        ]  # fmt: skip
        if self.auth:
            argv += ["--jwks-url", self.issuer.jwks_url]
        env = {"SMD_DBPASS": password}
        return self._launch("smd", argv, env, port, "/hsm/v2/service/ready", tls=True)

    def _start_bss(self) -> str:
        port = free_port()
        name, user, password = BSS_DB
        argv = [
            self._bin("boot-script-service"),
            "--http-listen", f"127.0.0.1:{port}",
            "--hsm", self.smd_url,
            "--postgres",
            "--postgres-host", self.postgres.host,
            "--postgres-port", str(self.postgres.port),
            "--postgres-dbname", name,
            "--postgres-username", user,
            "--postgres-password", password,
            "--insecure",
            "--cloud-init-address", f"127.0.0.1:{port}",
            # Optional peers BSS would otherwise look for on cluster DNS names: keep them on
            # loopback so nothing leaves this machine.
            "--nfd", f"http://127.0.0.1:{closed_port()}",
            "--spire-url", f"http://127.0.0.1:{closed_port()}",
        ]  # fmt: skip
        if self.auth:
            # BSS calls SMD with a token it fetches itself, opaal-style: POST <admin>/token.
            argv += ["--jwks-url", self.issuer.jwks_url]
            argv += ["--oauth2-admin-base-url", self.issuer.url]
            argv += ["--oauth2-public-base-url", self.issuer.url]
        return self._launch("bss", argv, {}, port, "/boot/v1/service/status")

    def _start_cloud_init(self) -> str:
        port = free_port()
        argv = [
            self._bin("cloud-init-server"),
            "--listen", f"127.0.0.1:{port}",
            "--smd-url", self.smd_url,
            "--token-url", self.issuer.url + "/token",
            # v1.2.3 reads --cacert into a pool it then drops (a shadowed variable in
            # NewSMDClient), so its calls to SMD can only skip verification.
            "--insecure",
            "--cluster-name", CLUSTER_NAME,
            "--base-url", self.cloud_init_base_url or f"http://127.0.0.1:{port}/cloud-init",
        ]  # fmt: skip
        if self.auth:
            argv += ["--jwks-url", self.issuer.jwks_url, "--access-token", self.issuer.token()]
        return self._launch("cloud-init", argv, {}, port, "/cloud-init/version")

    def _start_real_pcs(self) -> str:
        """The real PCS and sushy in their namespace (see `real_pcs`); PCS's URL outside."""
        bmcs = sorted({node.bmc for node in self.fleet.nodes.values()})
        namespace = real_pcs.Namespace(real_pcs.namespace_name(), dict.fromkeys(bmcs, "127.0.0.1"))
        namespace.create()
        self._namespace = namespace
        self._notifier = real_pcs.PowerNotifier(self.fleet)
        notify = self._notifier.start()
        smd, issuer = _port(self.smd_url), _port(self.issuer.url)
        pcs, sushy = free_port(), free_port()
        socks = self.workdir / "sock"
        socks.mkdir()
        outside = [f"unix:{socks}/{n}=tcp:{p}" for n, p in (("smd", smd), ("issuer", issuer))]
        outside += [f"unix:{socks}/notify=tcp:{notify}"]
        outside += [f"tcp:{pcs}=unix:{socks}/pcs", f"tcp:{sushy}=unix:{socks}/sushy"]
        self._forward("forward-outside", real_pcs.forwarder_argv(outside))
        inside = [f"tcp:{p}=unix:{socks}/{n}" for n, p in (("smd", smd), ("issuer", issuer))]
        inside += [f"tcp:{notify}=unix:{socks}/notify"]
        inside += [f"unix:{socks}/pcs=tcp:{real_pcs.PCS_PORT}", f"unix:{socks}/sushy=tcp:443"]
        self._forward("forward-inside", namespace.argv(real_pcs.forwarder_argv(inside)))

        real_pcs.htpasswd(self.cache, self.workdir / "sushy.htpasswd")
        config = real_pcs.sushy_config(
            self.fleet.nodes.values(), self.workdir, self._server_cert, self._server_key,
            f"http://127.0.0.1:{notify}/",
        )  # fmt: skip
        sushy_bin = str(self.cache / "sushy" / "bin" / "sushy-emulator")
        self._process(
            "sushy",
            namespace.argv([sushy_bin, "--config", str(config)]),
            {},
            f"https://127.0.0.1:{sushy}/redfish/v1/",
            ready_status=(200, 401),
        )

        name, user, password = real_pcs.PCS_DB
        self.postgres.create_database(name, user, password)
        storage = [
            "--postgres-host", str(self.postgres.dir),
            "--postgres-port", str(self.postgres.port),
            "--postgres-dbname", name,
            "--postgres-user", user,
            "--postgres-password", password,
            "--postgres-insecure",
        ]  # fmt: skip
        pcs_bin = self._bin("power-control")
        migrations = str(self.cache / "migrations" / "pcs")
        self._run_once(
            "power-control init-postgres",
            [pcs_bin, "init-postgres", "--schema-migrations", migrations, *storage],
            {},
        )
        argv = [
            pcs_bin,
            "--sms-server", f"https://127.0.0.1:{smd}",
            "--fake-vault-enabled",
            *storage,
            "--postgres-retry_count", "3",
            "--postgres-retry_wait", "1",
        ]  # fmt: skip
        if self.auth:
            argv += ["--jwks-url", self.issuer.jwks_url]
            argv += ["--oauth2-client-id", "pcs", "--oauth2-client-secret", "pcs-secret"]
            argv += ["--oauth2-token-url", self.issuer.url + "/token"]
            argv += ["--oauth2-scopes", "smd.read,smd.write"]
        url = f"http://127.0.0.1:{pcs}"
        self._process(
            "power-control",
            namespace.argv(argv),
            real_pcs.pcs_environment(),
            url + "/liveness",
            ready_status=(200, 204),
        )
        real_pcs.first_sweep(url, list(self.fleet.nodes), self.headers(), timeout=90)
        return url

    def _start_bmcs(self) -> None:
        """One sushy (fake driver, HTTPS, basic auth) per BMC on a loopback port of its own,
        the power notifier beside them: SMD then holds `127.0.0.1:<port>` as each BMC's FQDN
        (SMD keeps FQDNs unique; PCS and the product both use them verbatim)."""
        self._notifier = real_pcs.PowerNotifier(self.fleet)
        notify = f"http://127.0.0.1:{self._notifier.start()}/"
        real_pcs.htpasswd(self.cache, self.workdir / "sushy.htpasswd")
        sushy_bin = str(self.cache / "sushy" / "bin" / "sushy-emulator")
        for bmc, nodes in _by_bmc(self.fleet.nodes.values()).items():
            port = free_port()
            config = real_pcs.sushy_config(
                nodes, self.workdir, self._server_cert, self._server_key, notify,
                port=port, name=f"sushy-{bmc}",
            )  # fmt: skip
            self._process(
                f"sushy-{bmc}",
                [sushy_bin, "--config", str(config)],
                {},
                f"https://127.0.0.1:{port}/redfish/v1/",
                ready_status=(200, 401),
            )
            self.bmc_addresses[bmc] = f"127.0.0.1:{port}"

    def _forward(self, name: str, argv: list[str]) -> None:
        log = self.workdir / f"{name}.log"
        self._process(name, argv, {}, "", ready=lambda: "forwarding" in _text(log))

    def _process(
        self,
        name: str,
        argv: list[str],
        env: Mapping[str, str],
        ready_url: str,
        *,
        ready_status: tuple[int, ...] = (200,),
        ready: Callable[[], bool] | None = None,
    ) -> None:
        process = ServiceProcess(
            name,
            argv,
            env,
            ready_url,
            self.workdir / f"{name}.log",
            ca_bundle=self.ca_bundle,
            ready_status=ready_status,
            ready=ready,
        )
        self.processes.append(process)
        process.start()

    # -- the fleet ---------------------------------------------------------------------------
    def _netboot(self, xname: str) -> None:
        """A node's firmware once it is on: ask BSS (boot-service, when the fleet is OpenCHAMI
        v0.2) for its boot script by MAC, as iPXE does, and boot what it gives: the node's
        command line is the script's, as a probe of `/proc/cmdline` would read it."""
        node = self.fleet.nodes[xname]
        if self.fleet.generation == "v0.2":
            answer = httpx.get(
                self.boot_service_url + "/bootscript", params={"mac": node.mac}, timeout=10
            )
        else:
            answer = httpx.get(
                self.bss_url + "/boot/v1/bootscript",
                params={"mac": node.mac, "arch": "x86_64"},
                timeout=10,
                verify=ssl.create_default_context(cafile=str(self.ca_bundle)),
            )
        script = answer.text if answer.status_code == 200 else ""
        with self.fleet.lock:
            node.cmdline = kernel_command_line(script)

    def _load_fleet(self) -> None:
        """Components, their interfaces and groups: what discovery would have put in SMD."""
        with httpx.Client(
            base_url=self.smd_url + "/hsm/v2",
            headers=self.headers(),
            verify=ssl.create_default_context(cafile=str(self.ca_bundle)),
        ) as smd:
            # What magellan posts after a BMC scan (SMD's inventory schema v2): the nodes behind
            # each BMC, their component endpoints and interfaces. BSS serves a node's boot script
            # only when SMD has an enabled component endpoint for it.
            for bmc, nodes in _by_bmc(self.fleet.nodes.values()).items():
                address = self.bmc_addresses.get(bmc, bmc)
                smd.post("/Inventory/RedfishEndpoints", json=_inventory(bmc, address, nodes))
            # Then the nodes' own state, role, NID and arch, as the site declares them (the
            # scan numbers NIDs per BMC and sets no role; a forced POST keeps both).
            nodes = list(self.fleet.nodes.values())
            components = [node.component() for node in nodes]
            smd.post(
                "/State/Components", json={"Components": components, "Force": True}
            ).raise_for_status()
            nids = [{"ID": node.xname, "NID": node.nid} for node in nodes]
            smd.patch("/State/Components/BulkNID", json={"Components": nids}).raise_for_status()
            for role in sorted({node.role for node in nodes}):
                members = [node.xname for node in nodes if node.role == role]
                smd.patch(
                    "/State/Components/BulkRole", json={"ComponentIDs": members, "Role": role}
                ).raise_for_status()
            for group in self.fleet.groups.values():
                smd.post("/groups", json=group).raise_for_status()
            for partition in self.fleet.partitions.values():
                smd.post("/partitions", json=partition).raise_for_status()


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/", 1)[0])


def _text(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def _by_bmc(nodes: Iterable[Node]) -> dict[str, list[Node]]:
    found: dict[str, list[Node]] = {}
    for node in sorted(nodes, key=lambda n: n.xname):
        found.setdefault(node.bmc, []).append(node)
    return found


def _inventory(bmc: str, address: str, nodes: list[Node]) -> dict[str, Any]:
    """One BMC's scan result in SMD's inventory schema v2. SMD names the systems it finds
    `<bmc>n<index>`, so the fleet's nodes behind a BMC are numbered from n0 up."""
    return {
        "SchemaVersion": 2,
        "ID": bmc,
        "FQDN": address,
        "Name": bmc,
        "Systems": [
            {
                "uri": f"/redfish/v1/Systems/{node.xname}",
                "uuid": f"00000000-0000-4000-8000-{node.nid:012d}",
                "name": node.xname,
                # The reset types the BMC allows (AllowableValues), as magellan reads them:
                # without them PCS lists no transition for the node.
                "actions": real_pcs.RESET_TYPES,
                "ethernet_interfaces": [
                    {
                        "uri": f"/redfish/v1/Systems/{node.xname}/EthernetInterfaces/1",
                        "mac": node.mac,
                        "ip": node.ip,
                        "name": "eth0",
                        "description": "management",
                    }
                ],
            }
            for node in nodes
        ],
    }
