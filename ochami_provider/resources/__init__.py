"""The Pulumi dynamic resources, one module each."""

from .boot_session import BootSession, BootSessionProvider
from .boot_template import BootTemplate, BootTemplateProvider

__all__ = ["BootSession", "BootSessionProvider", "BootTemplate", "BootTemplateProvider"]
