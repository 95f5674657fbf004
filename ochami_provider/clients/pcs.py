"""PCS (Power Control Service): power transitions.

Starting a transition is not idempotent, so it is sent once and never retried blindly; polling
is retried.
"""

from __future__ import annotations

from ..models.records import PowerStatus, Transition
from .transport import ServiceTransport


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
        return Transition.model_validate(
            self.transport.request("GET", f"/transitions/{transition_id}").json()
        )

    def abort_transition(self, transition_id: str) -> None:
        self.transport.request("DELETE", f"/transitions/{transition_id}", ok=(200, 202, 204))

    def power_states(self, xnames: list[str]) -> dict[str, str]:
        """Each node's power state ("on", "off", "undefined"), in one request."""
        if not xnames:
            return {}
        # POST carries any number of xnames where a GET query string would not.
        body = self.transport.request(
            "POST", "/power-status", json={"xname": xnames}, idempotent=True
        ).json()
        found = [PowerStatus.model_validate(s) for s in body.get("status") or []]
        return {s.xname: s.power_state for s in found}
