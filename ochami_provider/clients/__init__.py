"""HTTP clients, one module per OpenCHAMI service, over a shared transport.

The records they read and write are in `ochami_provider.models.records`.
"""

from .bss import BssClient
from .cloud_init import CloudInitClient
from .pcs import PcsClient
from .services import Services
from .smd import SmdClient
from .transport import RetryPolicy, ServiceTransport

__all__ = [
    "BssClient",
    "CloudInitClient",
    "PcsClient",
    "RetryPolicy",
    "ServiceTransport",
    "Services",
    "SmdClient",
]
