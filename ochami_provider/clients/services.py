"""The four clients for one cluster, built from one ProviderConfig and closed together."""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType

from ..config import ProviderConfig
from .bss import BssClient
from .cloud_init import CloudInitClient
from .pcs import PcsClient
from .smd import SmdClient
from .transport import ServiceTransport


@dataclass
class Services:
    smd: SmdClient
    bss: BssClient
    cloud_init: CloudInitClient
    pcs: PcsClient

    @classmethod
    def from_config(cls, config: ProviderConfig) -> Services:
        config.require_built_backends()
        return cls(
            smd=SmdClient(ServiceTransport.from_config("smd", config)),
            bss=BssClient(ServiceTransport.from_config("bss", config)),
            cloud_init=CloudInitClient(ServiceTransport.from_config("cloud-init", config)),
            pcs=PcsClient(ServiceTransport.from_config("pcs", config)),
        )

    @property
    def cluster(self) -> str:
        """What tells one cluster from another: the BSS that holds its boot parameters."""
        return self.bss.transport.base_url

    def close(self) -> None:
        for client in (self.smd, self.bss, self.cloud_init, self.pcs):
            client.transport.close()

    def __enter__(self) -> Services:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
