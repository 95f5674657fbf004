"""The boot store on OpenCHAMI v0.1: BSS boot-parameter records (bss v1.32).

BSS's ways, kept here: a node's record is stored under two keys, its name (what `?name=` and
this product's reads find) and each boot MAC (what a node's iPXE asks for: `?mac=`); one record
holds one kernel, initrd and params for all its hosts; a write of a record is two requests (by
name, by MAC); a DELETE naming no host BSS holds is refused (absorbed by `BssClient.delete`);
the endpoint history says when each node last fetched its boot script.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from ..clients.bss import BssClient
from ..errors import ServiceError
from ..models.boot import Boot, BootWrite, NodeBoot, StoreStep
from ..models.records import BootParams, BootRecords
from ..ports import Inventory

if TYPE_CHECKING:
    from ..clients.services import Services

# The ways a node asks BSS, as plans name a missing one.
BY_NAME = "record_by_name"
BY_MAC = "records_by_mac"


class BssStore:
    backend = "bss"
    label = "BSS"
    keeps_fetch_history = True
    renders_ahead = True

    @classmethod
    def over(cls, services: Services) -> BssStore:
        return cls(services.bss, services.inventory)

    def __init__(self, bss: BssClient, inventory: Inventory) -> None:
        self.bss = bss
        self.inventory = inventory
        # The boot MACs the last read found: the plan and its writes see one inventory (and
        # the writes cost no second SMD read).
        self._macs: dict[str, list[str]] | None = None

    @property
    def identity(self) -> str:
        return self.bss.transport.base_url

    def read(
        self, nodes: Sequence[str], wanted: Mapping[str, Boot] | None = None
    ) -> dict[str, NodeBoot]:
        """One SMD read (the nodes' boot MACs) and one BSS read (names and MACs together)."""
        if not nodes:
            return {}
        known = self._macs = self.inventory.boot_macs()
        macs_by_host = {h: known[h] for h in nodes if h in known}
        records = self.bss.read(list(nodes), [m for h in nodes for m in macs_by_host.get(h, [])])
        return node_boots(boot_view(records, macs_by_host, nodes, wanted), macs_by_host)

    def read_all(self) -> dict[str, NodeBoot]:
        """Every record BSS lists; a node whose record by MAC differs from its record by name
        shows the MAC one, which is what its iPXE gets."""
        records = BootRecords.of(self.bss.get_all())
        macs_by_host = self.inventory.boot_macs()
        # Hosts that share a record share its Boot (boot_view compares each once).
        boots = {id(r): _boot(r) for r in records.by_host.values()}
        by_name = {h: boots[id(r)] for h, r in records.by_host.items()}
        owners = {h for h, macs in macs_by_host.items() if any(m in records.by_mac for m in macs)}
        nodes = sorted(set(records.by_host) | owners)
        return node_boots(boot_view(records, macs_by_host, nodes, by_name), macs_by_host)

    def write_steps(
        self, writes: Sequence[BootWrite], before: Mapping[str, NodeBoot]
    ) -> list[StoreStep]:
        """One record per boot set for the nodes that differ, under their names and their MACs
        (two requests: its undo runs even if the second one failed)."""
        if not writes:
            return []
        known = self._macs if self._macs is not None else self.inventory.boot_macs()
        steps = []
        for write in writes:
            macs = [m for h in write.nodes for m in known.get(h, [])]
            record = _record(write.boot, list(write.nodes), macs)
            previous = [before[h] for h in write.nodes if h in before]
            fresh = [h for h in write.nodes if h not in before or h not in before[h].held]
            kept = {m for b in previous for m in b.held}
            by_mac = f" (and by {len(macs)} MAC(s))" if macs else ""
            steps.append(
                StoreStep(
                    f"BSS: wrote boot parameters for {len(write.nodes)} node(s){by_mac}",
                    run=_put(self.bss, record),
                    undo=self._restore(
                        [(h, before[h]) for h in write.nodes if h in before],
                        fresh,
                        [m for m in macs if m not in kept],
                    ),
                    lands_in_part=True,
                )
            )
        return steps

    def remove_steps(self, nodes: Sequence[str], before: Mapping[str, NodeBoot]) -> list[StoreStep]:
        if not nodes:
            return []
        held = [(h, before[h]) for h in nodes if h in before]
        macs = [m for h, b in held for m in b.held if m != h]

        def delete() -> None:
            self.bss.delete(list(nodes), macs)

        return [
            StoreStep(
                f"BSS: removed boot parameters of {len(nodes)} node(s)",
                run=delete,
                undo=self._restore(held, [], []),
            )
        ]

    def last_fetches(self) -> Mapping[str, int] | None:
        return self.bss.last_fetches()

    def boot_mac(self, node: str) -> str | None:
        if self._macs is None:
            self._macs = self.inventory.boot_macs()
        return next(iter(self._macs.get(node, [])), None)

    def render_problem(self, node: str, mac: str | None) -> str | None:
        try:
            self.bss.boot_script(mac=mac, name=node)
        except ServiceError as error:
            return error.message or str(error)
        return None

    def _restore(
        self, previous: list[tuple[str, NodeBoot]], fresh: list[str], fresh_macs: list[str]
    ) -> Callable[[], None]:
        def restore() -> None:
            self.bss.delete(fresh, fresh_macs)
            for record in batch_by_content(_held_record(h, b) for h, b in previous):
                self.bss.put(record)

        return restore


def _put(bss: BssClient, record: BootParams) -> Callable[[], None]:
    def put() -> None:
        bss.put(record)

    return put


def _boot(record: BootParams) -> Boot:
    return Boot(record.kernel, record.initrd, record.params)


def _record(boot: Boot, hosts: list[str], macs: list[str]) -> BootParams:
    return BootParams(
        hosts=hosts, macs=macs, kernel=boot.kernel, initrd=boot.initrd, params=boot.params
    )


def _held_record(host: str, node: NodeBoot) -> BootParams:
    """The record `node` was read as, under the keys it was held under."""
    return _record(
        node.boot, [host] if host in node.held else [], [k for k in node.held if k != host]
    )


def node_boots(
    view: Mapping[str, BootParams], macs_by_host: Mapping[str, list[str]]
) -> dict[str, NodeBoot]:
    """The neutral view of each host's record: the keys it lacks (`boot_view` keeps in its
    `hosts` and `macs` only the keys that hold the boot shown)."""
    found = {}
    # One Boot per boot configuration: 100,000 hosts share a few.
    boots: dict[tuple[str, str, str], Boot] = {}
    for host, record in view.items():
        missing = [BY_NAME] if not record.hosts else []
        macs = macs_by_host.get(host, ())
        if macs != record.macs and set(macs) - set(record.macs):
            missing.append(BY_MAC)
        config = record.boot_config
        boot = boots.get(config) or boots.setdefault(config, _boot(record))
        found[host] = NodeBoot(boot, tuple(missing), (*record.hosts, *record.macs))
    return found


def boot_view(
    records: BootRecords,
    macs_by_host: Mapping[str, list[str]],
    hosts: Iterable[str],
    wanted: Mapping[str, Boot] | None = None,
) -> dict[str, BootParams]:
    """What each host boots, from its records by name and by MAC, keyed by host.

    A host's view is its first record (by name, then by each MAC) whose boot configuration
    differs from `wanted` (what the template would write), else its record by name: an edit
    under either key is drift, and a node's iPXE asks by MAC, so what it boots may be the MAC
    record alone. The view's `macs` are the host's MACs whose record holds the view's boot
    configuration; a MAC missing from it has no record, or another one."""
    wanted = wanted or {}
    view: dict[str, BootParams] = {}
    # Keys that share a record share one object (BootRecords.of), and hosts one wanted Boot:
    # each record is compared with each wanted boot once, not once per host.
    differs: dict[tuple[int, int], bool] = {}

    def differ(record: BootParams, want: Boot | None) -> bool:
        key = (id(record), id(want))
        if key not in differs:
            differs[key] = not _boot(record).same_boot(want)
        return differs[key]

    by_host, by_mac_key = records.by_host, records.by_mac
    for host in hosts:
        by_name = by_host.get(host)
        by_mac = [(m, by_mac_key[m]) for m in macs_by_host.get(host, ()) if m in by_mac_key]
        candidates = [] if by_name is None else [by_name]
        candidates += [r for _, r in by_mac]
        if not candidates:
            continue
        want = wanted.get(host)
        chosen = next((r for r in candidates if differ(r, want)), candidates[0])
        # The same record object (the usual case) holds the same boot: no tuple compared.
        config = chosen.boot_config
        held = (
            [host]
            if by_name is not None and (by_name is chosen or by_name.boot_config == config)
            else []
        )
        same = [m for m, r in by_mac if r is chosen or r.boot_config == config]
        view[host] = chosen.model_copy(update={"hosts": held, "macs": same})
    return view


def batch_by_content(records: Iterable[BootParams]) -> list[BootParams]:
    """Merge per-host records with the same kernel, initrd and params into one batch each
    (hosts and MACs alike)."""
    batches: dict[tuple[str, str, str], tuple[list[str], list[str]]] = {}
    for record in records:
        hosts, macs = batches.setdefault(record.boot_config, ([], []))
        hosts.extend(record.hosts)
        macs.extend(record.macs)
    return [
        BootParams(hosts=hosts, macs=macs, kernel=kernel, initrd=initrd, params=params)
        for (kernel, initrd, params), (hosts, macs) in batches.items()
    ]
