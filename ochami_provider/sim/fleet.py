"""The simulator's in-memory world: nodes, SMD groups, BSS records, cloud-init groups, PCS work.

Power transitions progress with time, evaluated when someone looks (no background thread):
each task settles `power_delay` seconds after it was created.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from ..models.boot_configuration import BootConfiguration, Selection
from ..models.records import PCS_OPERATIONS as PCS_CLIENT_OPERATIONS
from .faults import FaultPlan
from .ipxe import kernel_command_line

# Which OpenCHAMI the simulator is: v0.1 (SMD, BSS, cloud-init, PCS), v0.2 (SMD, boot-service,
# metadata-service, PCS), or both at once, its nodes booting from BSS (the tests' default).
Generation = Literal["v0.1", "v0.2", "both"]

# PCS matches operation names without regard to case.
PCS_OPERATIONS = {op.lower(): op for op in PCS_CLIENT_OPERATIONS}
_POWER_AFTER = {
    "On": "on",
    "Off": "off",
    "Soft-Off": "off",
    "Force-Off": "off",
    "Soft-Restart": "on",
    "Hard-Restart": "on",
    "Init": "on",
}

# What the simulated BMCs allow (`ResetType@Redfish.AllowableValues`), as sushy-tools' do.
REDFISH_RESET_TYPES = ("On", "ForceOff", "GracefulShutdown", "GracefulRestart", "ForceRestart")

# PCS restarts only a node that is on; it refuses the rest at once.
_NEEDS_ON = ("Hard-Restart", "Soft-Restart")
# What PCS takes for a component name (it answers "Invalid xname" to anything else).
XNAME = re.compile(r"x\d+([a-z]+\d+)*", re.IGNORECASE)


@dataclass
class Node:
    xname: str
    nid: int
    role: str = "Compute"
    arch: str = "X86"
    power: str = "off"
    mac: str = ""
    # SMD's Enabled flag, and an admin's lock (`/locks/lock`).
    enabled: bool = True
    locked: bool = False
    # The kernel command line the node runs (/proc/cmdline): what its last network boot's
    # script handed the kernel; empty while it is off or has not booted from the network.
    cmdline: str = ""

    @property
    def ip(self) -> str:
        """The node's management address, as DHCP would hand it out (one per NID)."""
        return f"10.100.{self.nid >> 8 & 255}.{self.nid & 255}"

    @property
    def bmc(self) -> str:
        return self.xname.rpartition("n")[0]

    def component(self) -> dict[str, Any]:
        return {
            "ID": self.xname,
            "Type": "Node",
            "State": "Ready" if self.power == "on" else "Off",
            "Flag": "OK",
            "Enabled": self.enabled,
            "Role": self.role,
            "NID": self.nid,
            "Arch": self.arch,
            "NetType": "Sling",
            "Class": "River",
        }


@dataclass
class PowerTask:
    xname: str
    operation: str
    ready_at: float
    status: str = "in-progress"
    description: str = "Task is in progress"
    error: str = ""

    def wire(self) -> dict[str, Any]:
        body = {
            "xname": self.xname,
            "taskStatus": self.status,
            "taskStatusDescription": self.description,
        }
        if self.error:
            body["error"] = self.error
        return body


@dataclass
class TransitionRecord:
    transition_id: str
    operation: str
    created: str
    expires: str
    tasks: list[PowerTask]
    status: str = "in-progress"
    # Reads answered `abort-signaled` since the abort (the real PCS acts on it later).
    abort_reads: int = 0

    def counts(self) -> dict[str, int]:
        counts = {
            "total": len(self.tasks),
            "new": 0,
            "in-progress": 0,
            "failed": 0,
            "succeeded": 0,
            "un-supported": 0,
        }
        for task in self.tasks:
            key = "un-supported" if task.status == "unsupported" else task.status
            counts[key] = counts.get(key, 0) + 1
        return counts

    def wire(self, with_tasks: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {
            "transitionID": self.transition_id,
            "operation": self.operation,
            "createTime": self.created,
            "automaticExpirationTime": self.expires,
            "transitionStatus": self.status,
            "taskCounts": self.counts(),
        }
        if with_tasks:
            body["tasks"] = [t.wire() for t in self.tasks]
        return body


def node_xname(index: int) -> str:
    """Dense, valid node xnames: 2 nodes per BMC slot, 8 slots, 8 chassis per cabinet."""
    cabinet, rest = divmod(index, 128)
    chassis, rest = divmod(rest, 16)
    slot, node = divmod(rest, 2)
    return f"x{1000 + cabinet}c{chassis}s{slot}b0n{node}"


@dataclass
class Reservation:
    """An SMD service reservation: the holder's key, and the deputy key it hands to PCS."""

    xname: str
    reservation_key: str
    deputy_key: str
    created: float
    expires: float

    def wire(self) -> dict[str, Any]:
        return {
            "ID": self.xname,
            "DeputyKey": self.deputy_key,
            "ReservationKey": self.reservation_key,
            "CreationTime": _iso(self.created),
            "ExpirationTime": _iso(self.expires),
        }


def _iso(clock_value: float) -> str:
    # Clock values are monotonic; only their spacing matters to a client.
    return datetime.fromtimestamp(time.time() + clock_value - time.monotonic(), UTC).isoformat()


class ReservationRefused(Exception):
    """SMD's rigid model: one component it cannot reserve refuses the whole request."""


@dataclass
class Fleet:
    nodes: dict[str, Node] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    partitions: dict[str, dict[str, Any]] = field(default_factory=dict)
    # BSS records by node name, and by (lower-case) MAC: BSS keeps the two apart.
    bootparams: dict[str, dict[str, Any]] = field(default_factory=dict)
    bootparams_by_mac: dict[str, dict[str, Any]] = field(default_factory=dict)
    # BSS's endpoint history: (node, endpoint) -> Unix time of the last successful fetch.
    endpoint_access: dict[tuple[str, str], int] = field(default_factory=dict)
    cloud_init_groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    # boot-service (OpenCHAMI v0.2): UID -> BootConfiguration as the service returns it.
    boot_configurations: dict[str, dict[str, Any]] = field(default_factory=dict)
    # metadata-service (OpenCHAMI v0.2): UID -> Group as the service returns it.
    metadata_groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    transitions: dict[str, TransitionRecord] = field(default_factory=dict)
    generation: Generation = "both"
    _selection_cache: tuple[tuple[tuple[str, int], ...], Selection] | None = field(
        default=None, repr=False
    )
    artifacts: set[str] = field(default_factory=set)
    # Nodes whose next N power tasks fail, and nodes PCS cannot power at all.
    power_failures: dict[str, int] = field(default_factory=dict)
    unsupported: set[str] = field(default_factory=set)
    # Nodes whose power tasks never finish (a BMC that stopped answering).
    stuck: set[str] = field(default_factory=set)
    # Nodes that power on but never ask BSS for a boot script (network boot off, wrong boot
    # order, a firmware that hangs).
    no_netboot: set[str] = field(default_factory=set)
    # Nodes whose next N starts hang in firmware before the network boot: a restart mends
    # them, powering on again does not (they are on).
    firmware_hangs: dict[str, int] = field(default_factory=dict)
    # Nodes whose OS ignores ACPI: their BMC accepts a graceful shutdown or restart, and
    # nothing happens (the lab's guest kernel; real-pcs.md §2).
    ignores_acpi: set[str] = field(default_factory=set)
    # What a node's firmware does once it is on: ask BSS for its boot script by MAC, as iPXE
    # does. By default the simulated BSS answers; a test stack points it at a real BSS, the lab
    # at VMs. `halt` is what powering a node off does to it (the lab stops its VM).
    firmware: Callable[[str], None] | None = None
    halt: Callable[[str], None] | None = None
    faults: FaultPlan = field(default_factory=FaultPlan)
    reservations: dict[str, Reservation] = field(default_factory=dict)
    # Seconds in one reservation "minute": tests shorten it to watch reservations expire.
    reservation_minute: float = 60.0
    power_delay: float = 0.05
    # The BMCs' Redfish (`sim/redfish.py`): the address SMD gives for every BMC (the
    # simulator's own host:port, set when it starts), and the basic-auth login they take.
    redfish_authority: str = ""
    bmc_login: tuple[str, str] | None = None
    token: str | None = None
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    clock: Callable[[], float] = time.monotonic
    lock: threading.RLock = field(default_factory=threading.RLock)

    @classmethod
    def generate(
        cls,
        count: int,
        *,
        groups: dict[str, Iterable[int]] | None = None,
        power_delay: float = 0.05,
        artifacts: Iterable[str] = (),
    ) -> Fleet:
        """`count` nodes, all in group `compute` unless `groups` maps labels to node indexes."""
        fleet = cls(power_delay=power_delay, artifacts=set(artifacts))
        for i in range(count):
            xname = node_xname(i)
            fleet.nodes[xname] = Node(
                xname,
                nid=i + 1,
                mac=f"02:00:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}:00",
            )
        names = list(fleet.nodes)
        for label, indexes in (groups or {"compute": range(count)}).items():
            fleet.add_group(label, [names[i] for i in indexes])
        return fleet

    def add_group(self, label: str, members: list[str], description: str = "") -> None:
        with self.lock:
            self.groups[label] = {
                "label": label,
                "description": description,
                "tags": [],
                "members": {"ids": list(members)},
            }

    def add_partition(self, name: str, members: list[str], description: str = "") -> None:
        with self.lock:
            self.partitions[name] = {
                "name": name,
                "description": description,
                "tags": [],
                "members": {"ids": list(members)},
            }

    def record(self, service: str, method: str, path: str) -> None:
        with self.lock:
            self.requests.append((service, method, path))

    def count(self, service: str | None = None, *, writes_only: bool = False) -> int:
        reads = {"GET", "HEAD"}
        with self.lock:
            return sum(
                1
                for svc, method, path in self.requests
                if (service is None or svc == service)
                and not (writes_only and (method in reads or _is_read_post(svc, path)))
            )

    # SMD reservations ------------------------------------------------------------------
    def _live_reservations(self) -> dict[str, Reservation]:
        now = self.clock()
        for xname in [x for x, r in self.reservations.items() if r.expires <= now]:
            del self.reservations[xname]
        return self.reservations

    def reserve(self, xnames: list[str], minutes: int) -> list[Reservation]:
        with self.lock:
            live = self._live_reservations()
            known = [x for x in xnames if x in self.nodes]
            if not known:
                raise ReservationRefused("Component not found")
            if any(x in live for x in known):
                raise ReservationRefused("Component is Reserved")
            now = self.clock()
            made = [
                Reservation(
                    x,
                    f"{x}:rk:{uuid.uuid4()}",
                    f"{x}:dk:{uuid.uuid4()}",
                    now,
                    now + minutes * self.reservation_minute,
                )
                for x in known
            ]
            for reservation in made:
                live[reservation.xname] = reservation
            return made

    def _held(self, keys: dict[str, str]) -> list[Reservation]:
        """The live reservations whose holder presented the right key."""
        live = self._live_reservations()
        return [live[x] for x, key in keys.items() if x in live and live[x].reservation_key == key]

    def renew(self, keys: dict[str, str], minutes: int) -> list[str]:
        with self.lock:
            held = self._held(keys)
            for reservation in held:
                reservation.expires = self.clock() + minutes * self.reservation_minute
            return [r.xname for r in held]

    def release(self, keys: dict[str, str]) -> list[str]:
        with self.lock:
            held = self._held(keys)
            for reservation in held:
                del self.reservations[reservation.xname]
            return [r.xname for r in held]

    def reservation_holders(self) -> dict[str, str]:
        with self.lock:
            return {x: r.deputy_key for x, r in self._live_reservations().items()}

    # PCS ------------------------------------------------------------------------------
    def start_transition(
        self,
        operation: str,
        xnames: list[str],
        deadline_minutes: int,
        deputy_keys: dict[str, str] | None = None,
    ) -> str:
        now = datetime.now(UTC)
        with self.lock:
            tid = str(uuid.uuid4())
            ready = self.clock() + self.power_delay
            tasks = []
            deputies = deputy_keys or {}
            held = self.reservation_holders()
            for xname in xnames:
                task = PowerTask(xname, operation, ready)
                if xname in held and deputies.get(xname) != held[xname]:
                    # PCS reserves what it powers; a node someone else holds is not touched.
                    task.status, task.error = "failed", "Unable to reserve component"
                    task.description = "Failed to achieve transition"
                elif not XNAME.fullmatch(xname):
                    task.status, task.error = "failed", "Invalid xname"
                    task.description = "Failed to achieve transition"
                elif xname not in self.nodes:
                    task.status, task.error = "failed", "Missing xname"
                    task.description = "Failed to achieve transition"
                elif xname in self.unsupported:
                    task.status = "unsupported"
                    task.description = f"Operation {operation} not supported by this component"
                elif operation in _NEEDS_ON and self.nodes[xname].power != "on":
                    # As the real PCS (9d78bc5): a restart is only for a node that is on.
                    task.status, task.error = "failed", "Component is in the wrong power state"
                    task.description = f"Component must be in the On state for {operation}"
                tasks.append(task)
                if task.status == "in-progress" and xname not in deputies:
                    # As the real PCS: it reserves in SMD the nodes it is given no deputy key
                    # for, for the whole transition.
                    at = self.clock()
                    self.reservations[xname] = Reservation(
                        xname, _pcs_key(tid), _pcs_key(tid) + ":deputy", at, at + 86_400.0
                    )
            expires = datetime.fromtimestamp(now.timestamp() + deadline_minutes * 60, UTC)
            self.transitions[tid] = TransitionRecord(
                tid, operation, now.isoformat(), expires.isoformat(), tasks
            )
            return tid

    def advance(self, record: TransitionRecord) -> TransitionRecord:
        now = self.clock()
        booted: list[str] = []
        halted: list[str] = []
        with self.lock:
            if record.status == "abort-signaled":
                record.abort_reads += 1
                if record.abort_reads > 1:
                    self._aborted(record)
                return record
            for task in record.tasks:
                if task.status != "in-progress" or task.ready_at > now or task.xname in self.stuck:
                    continue
                remaining = self.power_failures.get(task.xname, 0)
                if remaining > 0:
                    self.power_failures[task.xname] = remaining - 1
                    # The real PCS's words (9d78bc5) for a BMC that refuses connections.
                    bmc = self.nodes[task.xname].bmc
                    reset = f"https://{bmc}/redfish/v1/Systems/{task.xname}/Actions/ComputerSystem.Reset"
                    task.status = "failed"
                    task.description = f"Failed to apply transition, {task.operation.lower()}"
                    task.error = (
                        f'POST {reset} giving up after 4 attempt(s): Post "{reset}": dial tcp'
                        " 127.0.0.1:443: connect: connection refused"
                    )
                    continue
                node = self.nodes[task.xname]
                was_on = node.power == "on"
                if was_on and task.operation != "On":
                    halted.append(task.xname)  # off, or the first half of a restart
                node.power = _POWER_AFTER[task.operation]
                if was_on and task.operation != "On":
                    node.cmdline = ""  # it went down; it runs what it boots next
                task.status, task.description = "succeeded", "Transition confirmed"
                # Powering on a node that is on changes nothing: it does not boot again.
                starts = node.power == "on" and not (was_on and task.operation == "On")
                if starts and self._netboots(task.xname):
                    booted.append(task.xname)
            if record.status == "in-progress" and all(
                t.status != "in-progress" for t in record.tasks
            ):
                record.status = "completed"
            self._release_settled(record)
        # Outside the lock: the firmware may ask a real BSS over the network, or start a VM.
        for xname in halted:
            if self.halt is not None:
                self.halt(xname)
        for xname in booted:
            (self.firmware or self.netboot)(xname)
        return record

    # Redfish ---------------------------------------------------------------------------
    def reset_system(self, xname: str, reset_type: str) -> str:
        """A BMC's `ComputerSystem.Reset`, applied at once (a real BMC acts within seconds;
        the session confirms it by reading the power state). '' when done, else the BMC's
        refusal; a node that comes on boots from the network, one that goes down halts."""
        with self.lock:
            node = self.nodes[xname]
            remaining = self.power_failures.get(xname, 0)
            if remaining > 0:
                self.power_failures[xname] = remaining - 1
                return "The BMC did not respond to the power request"
            if xname in self.unsupported or reset_type not in REDFISH_RESET_TYPES:
                return f"The action ComputerSystem.Reset does not support ResetType {reset_type}"
            if xname in self.ignores_acpi and reset_type.startswith("Graceful"):
                return ""
            was_on = node.power == "on"
            node.power = "off" if reset_type in ("ForceOff", "GracefulShutdown") else "on"
            halts = was_on and reset_type != "On"
            boots = node.power == "on" and not (was_on and reset_type == "On")
            if halts:
                node.cmdline = ""
            boots = boots and self._netboots(xname)
        if halts and self.halt is not None:
            self.halt(xname)
        if boots:
            (self.firmware or self.netboot)(xname)
        return ""

    def _netboots(self, xname: str) -> bool:
        """Whether a node that starts gets as far as its network boot (under the lock)."""
        hangs = self.firmware_hangs.get(xname, 0)
        if hangs > 0:
            self.firmware_hangs[xname] = hangs - 1
            return False
        return xname not in self.no_netboot

    def netboot(self, xname: str) -> None:
        """The simulated node's firmware: ask the simulated BSS (boot-service, on OpenCHAMI
        v0.2) for a boot script by MAC, and run what it gives."""
        node = self.nodes[xname]
        script: str | None
        if self.generation == "v0.2":
            script = self.boot_service_script(mac=node.mac, asking=node)
        else:
            script = self.boot_script(mac=node.mac, asking=node)
        with self.lock:
            node.cmdline = kernel_command_line(script or "")

    def _selection(self) -> Selection:
        """boot-service's choice over the configurations as they are now, made once per
        change of them (10,000 nodes powered at once ask 10,000 times)."""
        key = tuple((uid, id(item)) for uid, item in self.boot_configurations.items())
        if self._selection_cache is None or self._selection_cache[0] != key:
            configurations = [
                BootConfiguration.from_wire(c) for c in self.boot_configurations.values()
            ]
            self._selection_cache = (key, Selection(configurations))
        return self._selection_cache[1]

    def boot_service_script(
        self, *, mac: str = "", host: str = "", nid: str = "", asking: Node | None = None
    ) -> str:
        """The iPXE script boot-service (v0.3.2, without HSM sync: its Node resources are the
        fleet's nodes) serves: the best-scoring configuration's (`Selection`), its parameters
        ending with the node's BOOTIF; a script that boots nothing for a node it does not know
        or has no configuration for (boot-service answers those with a script too)."""
        with self.lock:
            node = asking or next(
                (
                    n
                    for n in self.nodes.values()
                    if (mac and n.mac.lower() == mac.lower())
                    or (host and n.xname == host)
                    or (nid and str(n.nid) == nid)
                ),
                None,
            )
            if node is None:
                return f"#!ipxe\necho Node resolution failed: {mac or host or nid}\nexit 1\n"
            selection = self._selection()
            groups = frozenset(
                g
                for g, data in self.groups.items()
                if selection.uses_groups and node.xname in data["members"]["ids"]
            )
        match = selection.selected(node.xname, frozenset({node.mac.lower()}), node.nid, groups)
        if match is None:
            return f"#!ipxe\necho Boot service found node {node.xname} but no configuration\n"
        chosen, _ = match
        spec = chosen.spec
        bootif = "01-" + node.mac.lower().replace(":", "-")
        params = (
            spec.params if "BOOTIF=" in spec.params else f"{spec.params} BOOTIF={bootif}".strip()
        )
        script = f"#!ipxe\n# Configuration: {chosen.name}\ndhcp\nset kernel {spec.kernel}\n"
        if spec.initrd:
            script += f"set initrd {spec.initrd}\n"
        script += f"set params {params}\nkernel ${{kernel}} ${{params}}\n"
        if spec.initrd:
            script += "initrd ${initrd}\n"
        return script + "boot\n"

    def boot_script(
        self, *, name: str = "", mac: str = "", bss: str = "", asking: Node | None = None
    ) -> str | None:
        """The iPXE script BSS serves a node asking by name or by MAC, or None when it has no
        record under that key; a served script goes into the endpoint history. `asking` spares
        the search for the node that has the MAC (BSS asks SMD)."""
        with self.lock:
            if mac:
                mac = mac.lower()
                node = asking or next(
                    (n for n in self.nodes.values() if n.mac.lower() == mac), None
                )
                record = self.bootparams_by_mac.get(mac)
            else:
                node, record = self.nodes.get(name), self.bootparams.get(name)
            if node is None or record is None or not record.get("kernel"):
                return None
            self.endpoint_access[(node.xname, "bootscript")] = int(time.time())
        here = bss.split("://")[-1].split("/")[0]
        params = f"{record['params']} xname={node.xname} nid={node.nid}"
        if not any(p.startswith("ds=") for p in params.split()):
            # BSS points cloud-init at itself unless the parameters name a data source.
            params += f" ds=nocloud-net;s={here}/"
        if record.get("initrd"):
            params = f"initrd=initrd {params}"
        script = f"#!ipxe\nkernel --name kernel {record['kernel']} {params} || goto boot_retry\n"
        if record.get("initrd"):
            script += f"initrd --name initrd {record['initrd']} || goto boot_retry\n"
        script += "boot || goto boot_retry\n:boot_retry\nsleep 30\n"
        return script + f"chain {bss or '/boot/v1/bootscript'}?mac={node.mac}&retry=1\n"

    def abort(self, record: TransitionRecord) -> bool:
        """Signal an abort, as the real PCS (9d78bc5) does: the transition says
        `abort-signaled` until its next look (here: one read), then `aborted`, its
        unfinished tasks failed. False for a transition already finished (PCS: HTTP 400);
        one aborted already takes it again."""
        with self.lock:
            if record.status == "completed":
                return False
            if record.status != "aborted":
                record.status = "abort-signaled"
            return True

    def _release_settled(self, record: TransitionRecord) -> None:
        """PCS's own reservations of the nodes it has finished with."""
        for task in record.tasks:
            held = self.reservations.get(task.xname)
            ours = held is not None and held.reservation_key == _pcs_key(record.transition_id)
            if task.status != "in-progress" and ours:
                del self.reservations[task.xname]

    def _aborted(self, record: TransitionRecord) -> None:
        for task in record.tasks:
            if task.status == "in-progress":
                task.description = f"Aborted. Last status - {task.description}"
                task.status, task.error = "failed", "Transition aborted"
        record.status = "aborted"
        self._release_settled(record)


def _pcs_key(transition_id: str) -> str:
    return f"pcs:{transition_id}"


def _is_read_post(service: str, path: str) -> bool:
    return (service, path.rsplit("/", 1)[-1]) in (("pcs", "power-status"), ("smd", "status"))
