"""PCS (Power Control Service): transitions and power status.

Starting a transition is not idempotent, so it is sent once and never retried blindly; polling
and power-status reads are retried.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .transport import ServiceTransport

PCS_OPERATIONS = ("On", "Off", "Soft-Off", "Soft-Restart", "Hard-Restart", "Init", "Force-Off")


class TransitionTask(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    xname: str
    task_status: str = Field(alias="taskStatus")
    task_status_description: str = Field(default="", alias="taskStatusDescription")
    error: str = ""


class TaskCounts(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    total: int = 0
    new: int = 0
    in_progress: int = Field(default=0, alias="in-progress")
    failed: int = 0
    succeeded: int = 0
    unsupported: int = Field(default=0, alias="un-supported")


class Transition(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    transition_id: str = Field(alias="transitionID")
    operation: str = ""
    transition_status: str = Field(alias="transitionStatus")
    task_counts: TaskCounts = Field(default_factory=TaskCounts, alias="taskCounts")
    tasks: list[TransitionTask] = Field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.transition_status in ("completed", "aborted")


class PowerStatus(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    xname: str
    power_state: str = Field(default="", alias="powerState")
    management_state: str = Field(default="", alias="managementState")
    error: str | None = None


class PcsClient:
    def __init__(self, transport: ServiceTransport) -> None:
        self.t = transport

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
        response = self.t.request("POST", "/transitions", json=body, ok=(200, 201, 202))
        return str(response.json()["transitionID"])

    def get_transition(self, transition_id: str) -> Transition:
        return Transition.model_validate(
            self.t.request("GET", f"/transitions/{transition_id}").json()
        )

    def abort_transition(self, transition_id: str) -> None:
        self.t.request("DELETE", f"/transitions/{transition_id}", ok=(200, 202, 204))

    def power_status(self, xnames: list[str]) -> list[PowerStatus]:
        # POST carries any number of xnames where a GET query string would not.
        body = self.t.request(
            "POST", "/power-status", json={"xname": xnames}, idempotent=True
        ).json()
        return [PowerStatus.model_validate(s) for s in body.get("status") or []]
