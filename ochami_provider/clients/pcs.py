"""PCS (Power Control Service): power transitions.

Starting a transition is not idempotent, so it is sent once and never retried blindly; polling
is retried.
"""

from __future__ import annotations

from pydantic import BaseModel

from ..models.records import PowerStatus, Transition
from .transport import ServiceTransport


class _PowerStatuses(BaseModel):
    status: list[PowerStatus] | None = None


class PcsClient:
    def __init__(self, transport: ServiceTransport) -> None:
        self.transport = transport

    def start_transition(
        self,
        operation: str,
        xnames: list[str],
        deadline_minutes: int | None = None,
        deputy_keys: dict[str, str] | None = None,
    ) -> str:
        """Start a transition; `deputy_keys` lets PCS act on nodes this session reserved."""
        keys = deputy_keys or {}
        body: dict[str, object] = {
            "operation": operation,
            "location": [
                {"xname": x, "deputyKey": keys[x]} if x in keys else {"xname": x} for x in xnames
            ],
        }
        if deadline_minutes is not None:
            body["taskDeadlineMinutes"] = deadline_minutes
        response = self.transport.request("POST", "/transitions", json=body, ok=(200, 201, 202))
        return str(response.json()["transitionID"])

    def get_transition(self, transition_id: str) -> Transition:
        # Read from its bytes in one pass: a poll of 100,000 tasks, every poll interval.
        return Transition.model_validate_json(
            self.transport.request("GET", f"/transitions/{transition_id}").content
        )

    def abort_transition(self, transition_id: str) -> None:
        self.transport.request("DELETE", f"/transitions/{transition_id}", ok=(200, 202, 204))

    def power_states(self, xnames: list[str]) -> dict[str, str]:
        """Each node's power state ("on", "off", "undefined"), in one request."""
        if not xnames:
            return {}
        # POST carries any number of xnames where a GET query string would not.
        response = self.transport.request(
            "POST", "/power-status", json={"xname": xnames}, idempotent=True
        )
        found = _PowerStatuses.model_validate_json(response.content).status or []
        return {s.xname: s.power_state for s in found}
