"""The ports the core owns: what it needs of a cluster's services, in its own words. Each
OpenCHAMI service is an adapter behind one (`ochami_provider/backends/`), chosen by name per
cluster (`ochami:bootBackend`); the writer, the session runner and the lifecycles call these,
never a service's client.

The model is reframe's scheduler backends (`reframe/core/schedulers/__init__.py` and
`reframe/core/backends.py`): an abstract interface the framework drives, one module per
backend, registered under the name users configure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from .models.boot import Boot, BootWrite, NodeBoot, StoreStep
from .models.group_data import GroupEntry
from .models.power import PowerAction, PowerProgress
from .models.problems import Problem
from .models.records import (
    Component,
    ComponentEndpoint,
    EthernetInterface,
    Group,
    LockStatus,
    Partition,
    Reservation,
)


class Inventory(Protocol):
    """The cluster's nodes and how they are grouped, addressed, reserved and locked (SMD on
    every OpenCHAMI release). Each listing is one request, whatever the number of nodes."""

    def get_group(self, label: str) -> Group: ...

    def list_groups(self) -> list[Group]: ...

    def get_partition(self, name: str) -> Partition: ...

    def list_partitions(self) -> list[Partition]: ...

    def list_components(
        self,
        *,
        type_: str | None = "Node",
        role: str | None = None,
        ids: list[str] | None = None,
    ) -> list[Component]: ...

    def list_nodes(self, ids: list[str]) -> list[Component]: ...

    def node_interfaces(self) -> list[EthernetInterface]: ...

    def boot_macs(self) -> dict[str, list[str]]:
        """Each node's MACs (lower case): how its firmware asks for a boot script."""
        ...

    def reserve(self, ids: list[str], minutes: int) -> list[Reservation]:
        """All of `ids` or none, for `minutes` past the last renewal."""
        ...

    def renew(self, reservations: list[Reservation], minutes: int) -> None: ...

    def release(self, reservations: list[Reservation]) -> None: ...

    def lock_status(self, ids: list[str]) -> list[LockStatus]: ...

    def component_endpoints(self, ids: list[str]) -> list[ComponentEndpoint]:
        """Where each node's BMC is and how it resets the node, for power over Redfish."""
        ...


class BootStore(Protocol):
    """Where each node's boot is stored and served from (BSS, boot-service)."""

    # The name stack config gives it (`bss`, `boot-service`) and how messages name it.
    backend: str
    label: str
    # Whether it records when each node fetched its boot script (`last_fetches`).
    keeps_fetch_history: bool
    # Whether `render_problem` can tell, before nodes are powered, that a script will fail
    # (boot-service answers every request with a script, an error script when it must).
    renders_ahead: bool

    @property
    def identity(self) -> str:
        """What tells this cluster's store from another's (its base URL)."""
        ...

    def read(
        self, nodes: Sequence[str], wanted: Mapping[str, Boot] | None = None
    ) -> dict[str, NodeBoot]:
        """What each of `nodes` boots (the ones with nothing stored are left out); `wanted`
        (what the template would write) tells which of several entries to show: the one that
        differs from it, so an edit under any key shows as drift. Requests: constant in the
        number of nodes."""
        ...

    def read_all(self) -> dict[str, NodeBoot]:
        """What every node the store holds boots."""
        ...

    def write_steps(
        self, writes: Sequence[BootWrite], before: Mapping[str, NodeBoot]
    ) -> list[StoreStep]:
        """The writes that make each `BootWrite`'s nodes boot its `boot`, each with its undo;
        `before` is what `read` found."""
        ...

    def remove_steps(self, nodes: Sequence[str], before: Mapping[str, NodeBoot]) -> list[StoreStep]:
        """The writes that take `nodes`' entries out, each with its undo."""
        ...

    def last_fetches(self) -> Mapping[str, int] | None:
        """When each node last fetched its boot script (Unix seconds), or None when the store
        records nothing of it (then a session cannot use `booted_when: bootscript`)."""
        ...

    def render_problem(self, node: str, mac: str | None) -> str | None:
        """Why the store cannot render `node`'s boot script now (its own words), else None."""
        ...

    def boot_mac(self, node: str) -> str | None:
        """The MAC `node`'s firmware asks for its boot script by, as the store's last read
        of the inventory found it (no second read of every node's interfaces), else None."""
        ...


class GroupData(Protocol):
    """Where each SMD group's meta-data and user-data (cloud-config) are kept for its member
    nodes (the cloud-init server, metadata-service), as `GroupEntry`s."""

    backend: str
    label: str

    def list_groups(self) -> dict[str, GroupEntry]: ...

    def get_group(self, name: str) -> GroupEntry | None: ...

    def create_group(self, group: GroupEntry) -> None: ...

    def put_group(self, group: GroupEntry) -> None:
        """Replace the group's data, or create it."""
        ...

    def delete_group(self, name: str) -> None: ...

    @staticmethod
    def meta_data_problems(meta_data: dict[str, Any]) -> list[Problem]:
        """What in a template's meta-data the service cannot keep, naming each key."""
        ...


class Power(Protocol):
    """What powers nodes on and off (PCS; Redfish to each BMC). A power run acts on many
    nodes at once and is followed by its id until it finishes."""

    backend: str
    label: str
    # Each action in the backend's own words: what results and logs show was sent.
    names: Mapping[PowerAction, str]

    def ready(self) -> None:
        """Raise an input error naming the setting when this backend cannot act (no BMC
        credentials): a session asks before it writes anything; a preview never asks."""
        ...

    def power_states(self, nodes: Sequence[str]) -> dict[str, str]:
        """Each node's power state: `on`, `off` or `unknown` (the backend cannot tell, or does
        not know the node). Requests: constant in the number of nodes where the backend
        allows it."""
        ...

    def start(
        self,
        action: PowerAction,
        nodes: Sequence[str],
        deadline_minutes: int | None = None,
        deputy_keys: Mapping[str, str] | None = None,
    ) -> str:
        """Start `action` on `nodes` (never retried blindly: it is not idempotent); its run's
        id. `deputy_keys` lets it act on nodes this session reserved in the inventory."""
        ...

    def progress(self, run_id: str) -> PowerProgress:
        """Where the run stands; NotFoundError when the backend no longer knows it."""
        ...

    def abort(self, run_id: str) -> None: ...
