"""The backends behind each port, registered under the names stack config gives them
(`ochami:bootBackend`): to add one, write its adapter module and add its row here (and a
simulator module under `sim/`). The pattern is reframe's backend registry
(`reframe/core/backends.py`): configuration names a backend, the registry finds its class."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .boot_service import BootServiceStore
from .bss import BssStore
from .cloud_init import CloudInitStore
from .metadata_service import MetadataServiceStore
from .pcs import PcsPower
from .redfish import RedfishPower

if TYPE_CHECKING:
    from ..clients.services import Services
    from ..ports import BootStore, GroupData, Power

BOOT_STORES: dict[str, type[BssStore] | type[BootServiceStore]] = {
    BssStore.backend: BssStore,
    BootServiceStore.backend: BootServiceStore,
}


GROUP_DATA_STORES: dict[str, type[CloudInitStore] | type[MetadataServiceStore]] = {
    CloudInitStore.backend: CloudInitStore,
    MetadataServiceStore.backend: MetadataServiceStore,
}


POWER_BACKENDS: dict[str, type[PcsPower] | type[RedfishPower]] = {
    PcsPower.backend: PcsPower,
    RedfishPower.backend: RedfishPower,
}


def power_backend(name: str, services: Services) -> Power:
    """The power backend `name` over this cluster's clients."""
    return POWER_BACKENDS[name].over(services)


def group_data_store(name: str, services: Services) -> GroupData:
    """The group-data store `name` over this cluster's clients."""
    return GROUP_DATA_STORES[name].over(services)


def boot_store(name: str, services: Services) -> BootStore:
    """The boot store `name` over this cluster's clients (ProviderConfig validated the name)."""
    return BOOT_STORES[name].over(services)


def keeps_fetch_history(name: str) -> bool:
    """Whether the boot store `name` records when each node fetched its boot script."""
    return BOOT_STORES[name].keeps_fetch_history
