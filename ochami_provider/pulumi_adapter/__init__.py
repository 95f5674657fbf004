"""The Pulumi front end: dynamic resources mapping the engine's calls onto the lifecycles.

The only package of ochami_provider that imports `pulumi`.
"""

from .boot_session import BootSession, BootSessionProvider
from .boot_template import BootTemplate, BootTemplateProvider

__all__ = ["BootSession", "BootSessionProvider", "BootTemplate", "BootTemplateProvider"]
