"""HTTP clients, one module per OpenCHAMI service, over a shared transport."""

from .bss import BootParams, BssClient
from .cloud_init import CloudConfigFile, CloudInitClient, CloudInitGroup
from .pcs import PcsClient, PowerStatus, Transition, TransitionTask
from .services import Services
from .smd import Component, Group, SmdClient
from .transport import RetryPolicy, ServiceTransport

__all__ = [
    "BootParams",
    "BssClient",
    "CloudConfigFile",
    "CloudInitClient",
    "CloudInitGroup",
    "Component",
    "Group",
    "PcsClient",
    "PowerStatus",
    "RetryPolicy",
    "ServiceTransport",
    "Services",
    "SmdClient",
    "Transition",
    "TransitionTask",
]
