"""Real Linux VMs as the fleet's nodes: the harness plays each node's firmware.

Powering a node on (through the simulator's PCS) does what its iPXE would: ask BSS for the node's
boot script by the node's MAC, download the kernel and initrd the script names, and start QEMU
with them and the script's command line. If a download fails it follows the script's retry path
(`sleep`, then ask again), as iPXE does. Powering off stops the VM; a restart does both.

Each VM's network is QEMU's user mode with `restrict=on`: the guest reaches nothing but one
address (the cloud-init data source), which `guestfwd` hands to a forwarder on the host's
loopback. The forwarder adds `X-Forwarded-For` with the node's IP as SMD records it, as the
reverse proxy in front of the cloud-init server does in a real deployment, so the server tells
the VMs apart.
"""

from __future__ import annotations

import http.server
import os
import shutil
import signal
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from ochami_provider.sim import Fleet
from ochami_provider.sim.fleet import Node
from ochami_provider.sim.ipxe import BootScript
from tests.openchami import real_pcs
from tests.openchami.stack import OpenchamiStack, services_cache

from .image import (
    CLOUD_INIT_BASE_URL,
    CLOUD_INIT_GUEST_ADDRESS,
    UP,
    build_initramfs,
    kernel_image,
)


@contextmanager
def lab_on_real_services(fleet: Fleet, workdir: Path) -> Iterator[tuple[OpenchamiStack, Lab]]:
    """The real SMD, BSS, boot-service and cloud-init server with VMs as the fleet's nodes;
    the cloud-init server names group data by the address the VMs reach it at, as a site sets
    it. The VMs ask BSS for their boot script, or boot-service when the fleet is OpenCHAMI
    v0.2 (`fleet.generation`). Power goes through the real PCS where it is built
    (`lab_power`): PCS -> Redfish -> sushy's BMCs, whose power changes start and stop the VMs."""
    with OpenchamiStack(fleet, cloud_init_base_url=CLOUD_INIT_BASE_URL, power=lab_power()) as stack:
        lab = Lab(
            fleet,
            bss_url=stack.bss_url + "/boot/v1",
            boot_service_url=stack.boot_service_url,
            cloud_init_url=stack.cloud_init_url,
            workdir=workdir,
            bss_ca_bundle=stack.ca_bundle,
        )
        with lab:
            yield stack, lab


def lab_power() -> Literal["sim", "real"]:
    """The real PCS when scripts/openchami-setup.sh built it and this is root; the simulator's
    with OCHAMI_LAB_PCS=sim (or when it is not built)."""
    if os.environ.get("OCHAMI_LAB_PCS") == "sim":
        return "sim"
    return "real" if real_pcs.available(services_cache()) else "sim"


def lab_cache() -> Path:
    return Path(os.environ.get("OCHAMI_LAB_CACHE", Path.home() / ".cache/ochami-provider/lab"))


def ready() -> bool:
    """Whether scripts/lab-setup.sh has run: QEMU, busybox, cpio and the unpacked kernel."""
    tools = all(shutil.which(t) for t in ("qemu-system-x86_64", "busybox", "cpio"))
    return tools and any((lab_cache() / "kernel" / "boot").glob("vmlinuz-*"))


@dataclass
class Vm:
    node: Node
    directory: Path
    generation: int = 0
    process: subprocess.Popen[bytes] | None = None
    powered_at: float = 0.0
    started_at: float = 0.0
    up_at: float = 0.0
    fetches: int = 0
    events: list[str] = field(default_factory=list)

    @property
    def console_path(self) -> Path:
        return self.directory / "console.log"

    def console(self) -> str:
        try:
            return self.console_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


class _Forwarder(http.server.ThreadingHTTPServer):
    """One VM's way to the cloud-init server: GETs passed on with the node's IP."""

    def __init__(self, node_ip: str, upstream: str) -> None:
        self.node_ip, self.upstream, self.requests = node_ip, upstream.rstrip("/"), 0
        super().__init__(("127.0.0.1", 0), _ForwardingHandler)


class _ForwardingHandler(http.server.BaseHTTPRequestHandler):
    server: _Forwarder

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.requests += 1
        headers = {"X-Forwarded-For": self.server.node_ip}
        try:
            answer = httpx.get(self.server.upstream + self.path, headers=headers, timeout=10)
            status, body = answer.status_code, answer.content
        except httpx.HTTPError as error:
            status, body = 502, str(error).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


class _Artifacts(http.server.ThreadingHTTPServer):
    """The image server: kernel and initramfs by name; anything else answers 404."""

    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files
        super().__init__(("127.0.0.1", 0), _ArtifactHandler)


class _ArtifactHandler(http.server.BaseHTTPRequestHandler):
    server: _Artifacts

    def _answer(self, with_body: bool) -> None:
        path = self.server.files.get(self.path.lstrip("/"))
        if path is None:
            self.send_error(404)
            return
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(False)

    def log_message(self, format: str, *args: Any) -> None:
        return None


class Lab:
    """VMs for the fleet's nodes, driven by the fleet's power (fleet.firmware / fleet.halt)."""

    def __init__(
        self,
        fleet: Fleet,
        *,
        bss_url: str,
        cloud_init_url: str,
        workdir: Path,
        boot_service_url: str = "",
        bss_ca_bundle: Path | None = None,
        accel: str | None = None,
        memory_mb: int = 256,
    ) -> None:
        self.fleet, self.bss_url, self.cloud_init_url = fleet, bss_url.rstrip("/"), cloud_init_url
        self.boot_service_url = boot_service_url.rstrip("/")
        self.workdir, self.memory_mb = workdir, memory_mb
        self.bss_verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=str(bss_ca_bundle)) if bss_ca_bundle else True
        )
        # KVM where it works; nested KVM triple-faults in the guest on the project's machines.
        self.accel = accel or os.environ.get("OCHAMI_LAB_ACCEL", "tcg")
        self.vms = {x: Vm(n, workdir / x) for x, n in fleet.nodes.items()}
        self._forwarders: dict[str, _Forwarder] = {}
        self._servers: list[http.server.ThreadingHTTPServer] = []
        self._lock = threading.Lock()
        self.artifacts: _Artifacts | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Lab:
        cache = lab_cache()
        self.workdir.mkdir(parents=True, exist_ok=True)
        images = self.workdir / "images"
        images.mkdir(exist_ok=True)
        initramfs = build_initramfs(cache, images)
        self.artifacts = _Artifacts({"vmlinuz": kernel_image(cache), "initramfs.img": initramfs})
        self._serve(self.artifacts)
        for xname, vm in self.vms.items():
            vm.directory.mkdir(parents=True, exist_ok=True)
            forwarder = _Forwarder(vm.node.ip, self.cloud_init_url)
            self._forwarders[xname] = forwarder
            self._serve(forwarder)
        self.fleet.firmware, self.fleet.halt = self.power_on, self.power_off
        return self

    def stop(self) -> None:
        self.fleet.firmware = self.fleet.halt = None
        for xname in self.vms:
            self.power_off(xname)
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def __enter__(self) -> Lab:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _serve(self, server: http.server.ThreadingHTTPServer) -> None:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._servers.append(server)

    # -- what tests and the demo read --------------------------------------------------------
    def artifact_url(self, name: str) -> str:
        assert self.artifacts is not None
        host, port = self.artifacts.server_address[:2]
        return f"http://{host!s}:{port}/{name}"

    def console(self, xname: str) -> str:
        return self.vms[xname].console()

    def running(self, xname: str) -> bool:
        process = self.vms[xname].process
        return process is not None and process.poll() is None

    def wait_up(self, xnames: list[str], timeout: float = 120.0) -> None:
        """Until each VM's console says its /init is done (cloud-init data shown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self.vms[x].up_at or UP in self.console(x) for x in xnames):
                for x in xnames:
                    self._note_up(x)
                return
            time.sleep(0.2)
        states = {x: self.vms[x].events[-3:] for x in xnames}
        raise TimeoutError(f"VMs not up within {timeout:g}s: {states}")

    def cloud_init_requests(self, xname: str) -> int:
        return self._forwarders[xname].requests

    def boot_seconds(self, xname: str) -> float:
        """From power-on to the console's last line of /init."""
        vm = self.vms[xname]
        self._note_up(xname)
        return vm.up_at - vm.powered_at if vm.up_at else float("nan")

    def _note_up(self, xname: str) -> None:
        vm = self.vms[xname]
        if not vm.up_at and UP in vm.console():
            vm.up_at = time.monotonic()

    # -- the node's firmware -----------------------------------------------------------------
    def power_on(self, xname: str) -> None:
        vm = self.vms[xname]
        with self._lock:
            vm.generation += 1
            generation = vm.generation
            vm.console_path.unlink(missing_ok=True)  # a new boot: the last one's lines go
        vm.powered_at, vm.up_at = time.monotonic(), 0.0
        threading.Thread(target=self._netboot, args=(vm, generation), daemon=True).start()

    def power_off(self, xname: str) -> None:
        vm = self.vms[xname]
        with self._lock:
            vm.generation += 1
            process, vm.process = vm.process, None
        if process is not None and process.poll() is None:
            _stop(process)
            vm.events.append("powered off")
        # What it said stays for a reader, out of the way of a probe of what runs now.
        if vm.console_path.exists():
            vm.console_path.replace(vm.directory / "console.off.log")

    def _netboot(self, vm: Vm, generation: int) -> None:
        """iPXE: ask BSS (boot-service on OpenCHAMI v0.2) by MAC; load kernel and initrd;
        boot, or sleep and ask again."""
        v02 = self.fleet.generation == "v0.2"
        base = self.boot_service_url if v02 else self.bss_url
        url = f"{base}/bootscript?mac={vm.node.mac}&arch=x86_64"
        while vm.generation == generation:
            try:
                vm.fetches += 1
                answer = httpx.get(url, timeout=10, verify=True if v02 else self.bss_verify)
                answer.raise_for_status()
                script = BootScript.parse(answer.text)
            except (httpx.HTTPError, ValueError) as error:
                vm.events.append(f"no boot script: {error}")
                time.sleep(5)  # iPXE's DHCP/boot retry: try again until powered off
                continue
            kernel = self._download(script.kernel, vm.directory / "kernel")
            initrd = (
                self._download(script.initrd, vm.directory / "initrd") if script.initrd else None
            )
            if kernel is None or (script.initrd and initrd is None):
                vm.events.append(
                    f"boot failed; retrying in {script.retry_sleep:g}s as the script says"
                )
                self._sleep(vm, generation, script.retry_sleep)
                if script.chain:
                    url = f"{base}/bootscript?{urlsplit(script.chain).query}"
                continue
            self._start_vm(vm, generation, script, kernel, initrd)
            return

    def _download(self, url: str, to: Path) -> Path | None:
        try:
            with httpx.stream("GET", url, timeout=30) as answer:
                if answer.status_code != 200:
                    return None
                with to.open("wb") as out:
                    for chunk in answer.iter_bytes():
                        out.write(chunk)
        except httpx.HTTPError:
            return None
        return to

    def _sleep(self, vm: Vm, generation: int, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while vm.generation == generation and time.monotonic() < deadline:
            time.sleep(0.2)

    def _start_vm(
        self, vm: Vm, generation: int, script: BootScript, kernel: Path, initrd: Path | None
    ) -> None:
        forwarder = self._forwarders[vm.node.xname]
        port = forwarder.server_address[1]
        netdev = (
            "user,id=net0,restrict=on,"
            f"guestfwd=tcp:{CLOUD_INIT_GUEST_ADDRESS}:80-cmd:busybox nc 127.0.0.1 {port}"
        )
        argv = [
            "qemu-system-x86_64",
            "-accel", self.accel,
            "-m", str(self.memory_mb),
            "-smp", "1",
            "-display", "none",
            "-monitor", "none",
            "-no-reboot",
            "-serial", f"file:{vm.console_path}",
            "-kernel", str(kernel),
            "-append", script.cmdline,
            "-netdev", netdev,
            "-device", f"e1000,netdev=net0,mac={vm.node.mac}",
        ]  # fmt: skip
        if initrd is not None:
            argv += ["-initrd", str(initrd)]
        with self._lock:
            if vm.generation != generation:
                return  # powered off while the firmware was downloading
            if vm.process is not None:
                _stop(vm.process)  # one VM per node, whatever the power requests did
            vm.console_path.unlink(missing_ok=True)
            vm.process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=(vm.directory / "qemu.log").open("wb"),
                stderr=subprocess.STDOUT,
            )
        vm.started_at = time.monotonic()
        vm.events.append(f"VM started ({self.accel})")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
