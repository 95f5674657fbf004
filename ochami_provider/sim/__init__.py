"""An embedded OpenCHAMI (SMD, BSS, cloud-init, PCS) on loopback with an in-memory fleet."""

from .app import build_app
from .fleet import Fleet, node_xname
from .server import SimServer

__all__ = ["Fleet", "SimServer", "build_app", "node_xname"]
