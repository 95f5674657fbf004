"""Typed errors. Every message names the service, URL or field involved, never a token."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .models.problems import Problem


class OchamiError(Exception):
    """Base of every error this package raises on purpose."""


class ServiceError(OchamiError):
    """An OpenCHAMI service answered with an error, or could not be reached."""

    def __init__(
        self,
        service: str,
        method: str,
        url: str,
        status: int | None,
        message: str,
        problem: dict[str, Any] | None = None,
    ) -> None:
        self.service = service
        self.method = method
        self.url = url
        self.status = status
        self.message = message
        self.problem = problem or {}
        where = f"{service}: {method} {url}"
        code = f"HTTP {status}" if status is not None else "no response"
        super().__init__(f"{where} failed ({code}): {message}")


class ServiceUnreachable(ServiceError):
    """Connection refused, reset, or timed out: no HTTP status to report."""


class AuthenticationError(ServiceError):
    """HTTP 401/403: the token is missing, expired or lacks the claims the service wants."""


class NotFoundError(ServiceError):
    """HTTP 404 from a service."""


class ConflictError(ServiceError):
    """HTTP 409 from a service (for example a cloud-init group that already exists)."""


class InvalidInputError(OchamiError):
    """Input rejected before any write. `problems` says what; `field`, `value` and `reason`
    describe the first of them."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        self.problems: list[Problem] = [Problem.of(field, reason, value)]
        super().__init__(str(self.problems[0]))

    @classmethod
    def of(cls, problems: Sequence[Problem], value: object = None) -> InvalidInputError:
        """Several problems as one error; `value` is the first one's offending value."""
        first = problems[0]
        error = cls(first.field, value, first.message)
        error.problems = list(problems)
        error.args = ("; ".join(str(p) for p in problems),)
        return error


class SessionConflictError(OchamiError):
    """A second session wants nodes another running session holds."""


class BootScriptRefused(OchamiError):
    """BSS cannot render a node's boot script: the session stops before powering any node."""
