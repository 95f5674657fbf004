"""One HTTP transport shared by the four service clients: auth, TLS, timeouts, retries, errors.

Idempotent requests (GET, PUT, DELETE, and reads sent as POST) are retried on connection
failures and on 429/502/503/504 with bounded exponential backoff and full jitter, honouring
Retry-After. Other requests are sent once: a POST that starts a power transition must never be
repeated blindly.
"""

from __future__ import annotations

import functools
import random
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from ..config import ProviderConfig
from ..errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    ServiceError,
    ServiceUnreachable,
)
from ..openchami_services import Service

RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_delay: float = 0.2
    max_delay: float = 5.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


class ServiceTransport:
    """Requests to one service's base URI. Reuses one connection pool for its lifetime."""

    def __init__(
        self,
        service: Service,
        base_url: str,
        *,
        token: str | None = None,
        verify: bool | str = True,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        http_transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            verify=tls_context(verify),
            timeout=timeout,
            transport=http_transport,
        )

    @classmethod
    def from_config(cls, service: Service, config: ProviderConfig) -> ServiceTransport:
        verify: bool | str = config.ca_bundle or True
        if config.insecure:
            verify = False
        return cls(
            service,
            config.service_uri(service),
            token=config.token_value(),
            verify=verify,
            timeout=config.timeout_seconds,
        )

    def close(self) -> None:
        self._client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        ok: Iterable[int] = (200,),
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send, retrying where safe; return the response if its status is in `ok`."""
        method = method.upper()
        accepted = frozenset(ok)
        retry_safe = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        url = self.base_url + path
        attempt = 0
        while True:
            try:
                response = self._client.request(method, path, json=json, params=params)
            except httpx.TransportError as exc:
                if retry_safe and attempt + 1 < self.retry.attempts:
                    self._sleep(self.retry.delay(attempt, None))
                    attempt += 1
                    continue
                raise ServiceUnreachable(
                    self.service, method, url, None, f"{type(exc).__name__}: {exc}"
                ) from exc
            if response.status_code in accepted:
                return response
            if (
                retry_safe
                and response.status_code in RETRYABLE_STATUS
                and attempt + 1 < self.retry.attempts
            ):
                self._sleep(self.retry.delay(attempt, _retry_after(response)))
                attempt += 1
                continue
            raise error_from_response(self.service, method, url, response)


@functools.lru_cache(maxsize=8)
def tls_context(verify: bool | str, setting: str = "caBundle") -> bool | ssl.SSLContext:
    """One SSL context per trust setting for the whole process, shared by every client.

    Building one loads the CA bundle (about 25 ms); the provider builds four clients for every
    check, create, update and read, so a 50-template preview spent seconds on it. A CA bundle
    path becomes a context trusting it (httpx no longer takes a path)."""
    if verify is True:
        return httpx.create_ssl_context()
    if isinstance(verify, str):
        try:
            return ssl.create_default_context(cafile=verify)
        except (OSError, ssl.SSLError) as error:
            raise InvalidInputError(setting, verify, f"cannot be read as PEM: {error}") from None
    return verify


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def error_from_response(
    service: str, method: str, url: str, response: httpx.Response
) -> ServiceError:
    """Map a status to a typed error carrying the service's own message (RFC 7807 if sent)."""
    problem: dict[str, Any] = {}
    message = response.text.strip()
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        problem = body
        found = body.get("detail") or body.get("title") or body.get("message")
        # boot-service (fabrica) answers {"error": ..., "code": ...}.
        message = str(found or body.get("error") or message)
    message = message[:500] or response.reason_phrase
    status = response.status_code
    cls: type[ServiceError] = ServiceError
    if status in (401, 403):
        cls = AuthenticationError
        message += (
            " (check the access token: stack config `ochami:token` or <CLUSTER>_ACCESS_TOKEN)"
        )
    elif status == 404:
        cls = NotFoundError
    elif status == 409:
        cls = ConflictError
    return cls(service, method, url, status, message, problem)
