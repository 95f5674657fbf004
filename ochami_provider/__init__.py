"""ochami_provider: BOS-style boot templates and sessions for OpenCHAMI.

The core (models, planning, the session machine, the template writer, the clients and the
resources' lifecycles) imports no engine. `BootTemplate` and `BootSession` are the Pulumi
front end, loaded on first use so that other front ends never import `pulumi`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .config import ProviderConfig
from .extras import needs

if TYPE_CHECKING:
    from .pulumi_adapter import (
        BootSession,
        BootSessionProvider,
        BootTemplate,
        BootTemplateProvider,
    )

_PULUMI_NAMES = ("BootSession", "BootSessionProvider", "BootTemplate", "BootTemplateProvider")

__all__ = [
    "BootSession",
    "BootSessionProvider",
    "BootTemplate",
    "BootTemplateProvider",
    "ProviderConfig",
]


def __getattr__(name: str) -> Any:
    if name in _PULUMI_NAMES:
        with needs("the Pulumi front end (BootTemplate, BootSession)"):
            adapter = importlib.import_module(".pulumi_adapter", __name__)
        return getattr(adapter, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
