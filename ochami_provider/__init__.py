"""ochami_provider: BOS-style boot templates and sessions for OpenCHAMI, as Pulumi resources."""

from .config import ProviderConfig
from .resources import BootSession, BootSessionProvider, BootTemplate, BootTemplateProvider

__all__ = [
    "BootSession",
    "BootSessionProvider",
    "BootTemplate",
    "BootTemplateProvider",
    "ProviderConfig",
]
