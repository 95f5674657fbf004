"""Power in the core's words, whichever service carries it out (PCS; Redfish to each BMC is
coming): the neutral types of the power port (`ochami_provider/ports.py`). Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# What a session asks of a node's power. `off` is a graceful shutdown (the OS is asked to
# halt), `restart` a forced one (the BMC resets the node), `graceful-restart` asks the OS.
PowerAction = Literal["on", "off", "restart", "graceful-restart"]

# Actions after which a node is on and boots from the network.
POWERS_ON: tuple[PowerAction, ...] = ("on", "restart", "graceful-restart")

# Where one node's part of a power run stands.
NodePowerStatus = Literal["running", "succeeded", "failed"]


@dataclass(frozen=True)
class NodePower:
    """One node's part of a power run; `error` in the backend's own words when it failed."""

    status: NodePowerStatus
    error: str = ""


@dataclass(frozen=True)
class PowerProgress:
    """A power run as its backend reports it now."""

    finished: bool
    # The run's state in the backend's word (PCS: `in-progress`, `completed`, `aborted`).
    state: str
    nodes: dict[str, NodePower] = field(default_factory=dict)
    total: int = 0

    def count(self, status: NodePowerStatus) -> int:
        return sum(n.status == status for n in self.nodes.values())

    @property
    def running(self) -> int:
        """Nodes not settled, including those the backend has not reported yet."""
        return self.total - self.count("succeeded") - self.count("failed")
