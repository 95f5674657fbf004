"""One cluster's clients, built from one ProviderConfig on first use and closed together, and
the ports' adapters the configuration chooses over them."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING

from ..config import ProviderConfig
from ..openchami_services import Service
from .boot_service import BootServiceClient
from .bss import BssClient
from .cloud_init import CloudInitClient
from .listings import Listings
from .metadata_service import MetadataServiceClient
from .pcs import PcsClient
from .smd import SmdClient
from .transport import ServiceTransport

if TYPE_CHECKING:
    from ..ports import BootStore, GroupData, Inventory, Power


class Services:
    """A client per service, made when first used: a cluster on OpenCHAMI v0.2 needs no BSS
    address, one on v0.1 no boot-service address. The port adapters (`boot`) are the ones
    `ochami:bootBackend` and its kin name (`ochami_provider/backends`)."""

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        self._transports: list[ServiceTransport] = []
        self._closers: list[Callable[[], None]] = []
        # What this run's refreshes share (listings.py).
        self.listings = Listings()

    @classmethod
    def from_config(cls, config: ProviderConfig) -> Services:
        services = cls(config)
        # The clients the chosen backends use, made now: a missing address or an unreadable
        # CA bundle is said here, naming its setting, not at the first request.
        _made = (services.inventory, services.boot, services.group_data, services.power)
        return services

    def _transport(self, service: Service) -> ServiceTransport:
        transport = ServiceTransport.from_config(service, self.config)
        self._transports.append(transport)
        return transport

    @cached_property
    def smd(self) -> SmdClient:
        return SmdClient(self._transport("smd"), self.listings)

    @cached_property
    def bss(self) -> BssClient:
        return BssClient(self._transport("bss"), self.listings)

    @cached_property
    def boot_service(self) -> BootServiceClient:
        return BootServiceClient(self._transport("boot-service"))

    @cached_property
    def cloud_init(self) -> CloudInitClient:
        return CloudInitClient(self._transport("cloud-init"), self.listings)

    @cached_property
    def metadata_service(self) -> MetadataServiceClient:
        return MetadataServiceClient(self._transport("metadata-service"))

    @cached_property
    def group_data(self) -> GroupData:
        """Where each group's cloud-init data is kept."""
        from ..backends import group_data_store

        return group_data_store(self.config.group_data_backend, self)

    @cached_property
    def pcs(self) -> PcsClient:
        return PcsClient(self._transport("pcs"))

    @cached_property
    def power(self) -> Power:
        """What powers the nodes."""
        from ..backends import power_backend

        return power_backend(self.config.power_backend, self)

    @property
    def inventory(self) -> Inventory:
        """The nodes, their groups, partitions, roles, interfaces, reservations and locks: SMD
        on every OpenCHAMI release, whose client speaks the port's terms itself."""
        return self.smd

    @cached_property
    def boot(self) -> BootStore:
        """Where each node's boot is kept."""
        from ..backends import boot_store

        return boot_store(self.config.boot_backend, self)

    @property
    def cluster(self) -> str:
        """What tells one cluster from another: the store that holds its nodes' boot."""
        return self.boot.identity

    def on_close(self, step: Callable[[], None]) -> None:
        """Something of a port adapter's own (a BMC connection pool) to close with the rest."""
        self._closers.append(step)

    def close(self) -> None:
        for transport in self._transports:
            transport.close()
        for step in self._closers:
            step()

    def __enter__(self) -> Services:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
