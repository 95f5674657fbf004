"""What a node boots, in the core's words, whichever service stores it (BSS on OpenCHAMI v0.1,
boot-service on v0.2): the neutral types of the boot store port (`ochami_provider/ports.py`).

The owner markers (`ochami.template=…`, `ochami.version=…`) stay in the kernel command line on
every backend: they are what `/proc/cmdline` shows on the node, so they are the product's
contract with the node, not a storage detail. Pure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .kernel_params import without_session
from .owner import Owner, marked_owner


@dataclass(frozen=True)
class Boot:
    """A kernel, its initrd and the kernel command line the node gets (markers included)."""

    kernel: str
    initrd: str
    params: str

    @property
    def owner(self) -> Owner | None:
        return marked_owner(self.params)

    def same_boot(self, other: Boot | None) -> bool:
        """Whether both boot the same, whichever session wrote either last."""
        return other is not None and (self.kernel, self.initrd, without_session(self.params)) == (
            other.kernel,
            other.initrd,
            without_session(other.params),
        )


@dataclass(frozen=True)
class NodeBoot:
    """What one node boots, as its boot store holds it now."""

    boot: Boot
    # The ways the node asks for its boot that do not give it `boot` yet (BSS: by name, by
    # MAC): each shows in a plan as `<way>: absent -> present` and is written.
    missing: tuple[str, ...] = ()
    # What the store holds it under (BSS: the name and the MACs; boot-service: the UID of the
    # configuration), for the adapter that removes or restores it.
    held: tuple[str, ...] = ()
    # Set when the store would go on serving this node another entry than the one this
    # product writes (boot-service: a configuration that outscores ours): why, in words.
    outranked_by: str | None = None


@dataclass(frozen=True)
class BootWrite:
    """Make `nodes` of a boot set boot `boot`."""

    boot_set: str
    boot: Boot
    nodes: tuple[str, ...]


@dataclass
class StoreStep:
    """One write a boot store plans, with what puts back what it replaced."""

    # What it did, as the log says it: "BSS: wrote boot parameters for 3 node(s)".
    done: str
    run: Callable[[], None]
    undo: Callable[[], None] | None = None
    # Several requests: a failure may leave part of it written, so its undo runs then too.
    lands_in_part: bool = False
