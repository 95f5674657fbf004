"""SMD service reservations around a session: the way two sessions (in one stack or in two)
over the same nodes are kept apart. The first holds its nodes; the second is refused before it
writes anything. PCS honours them too: it powers a reserved node only given its deputy key.

A reservation lasts RESERVATION_MINUTES past its last renewal, so one left by an interrupted
`pulumi up` frees its nodes within that time without anyone cleaning up.
"""

from __future__ import annotations

from collections.abc import Callable

from .errors import OchamiError, ServiceError, SessionConflictError
from .models.records import Reservation
from .ports import Inventory

RESERVATION_MINUTES = 2
_RENEW_AFTER_SECONDS = RESERVATION_MINUTES * 60 / 2
_NAMED = 5


class NodeReservation:
    def __init__(
        self,
        inventory: Inventory,
        session: str,
        clock: Callable[[], float],
        log: Callable[[str], None],
    ) -> None:
        self.inventory = inventory
        self.session = session
        self.clock = clock
        self.log = log
        self.held: list[Reservation] = []
        self._renew_at = 0.0

    def acquire(self, nodes: list[str]) -> None:
        if not nodes:
            return
        try:
            self.held = self.inventory.reserve(nodes, RESERVATION_MINUTES)
        except ServiceError as error:
            if error.status != 400:
                raise
            busy = sorted(
                s.id
                for s in self.inventory.lock_status(nodes)
                if s.reserved or s.locked or s.reservation_disabled
            )
            if not busy:
                raise
            shown = ", ".join(busy[:_NAMED]) + (
                f" and {len(busy) - _NAMED} more" if len(busy) > _NAMED else ""
            )
            raise SessionConflictError(
                f"session {self.session!r}: {len(busy)} of its {len(nodes)} node(s) are held in"
                f" SMD by another session or service ({shown}); nothing was written. Run it when"
                f" that one has finished: a reservation lapses {RESERVATION_MINUTES} minutes"
                " after its holder stops renewing it (an interrupted `pulumi up`, say)"
            ) from None
        self._renew_at = self.clock() + _RENEW_AFTER_SECONDS
        self.log(f"session {self.session}: reserved {len(self.held)} node(s) in SMD")

    def keep_alive(self) -> None:
        if self.held and self.clock() >= self._renew_at:
            self.inventory.renew(self.held, RESERVATION_MINUTES)
            self._renew_at = self.clock() + _RENEW_AFTER_SECONDS

    def deputy_keys(self) -> dict[str, str]:
        return {r.id: r.deputy_key for r in self.held}

    def release(self) -> None:
        if not self.held:
            return
        try:
            self.inventory.release(self.held)
        except OchamiError as error:  # it lapses on its own; say so rather than fail the session
            self.log(f"session {self.session}: could not release its SMD reservation: {error}")
        self.held = []
