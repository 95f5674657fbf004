"""Redfish to each node's BMC: read a system's power, send it a reset. Requests are asyncio
tasks on one event loop of the client's own thread, at most `bmcParallelism` at once: 10,000
BMCs asked from 64 threads spent their time contending for the interpreter, one loop does not.
Addresses as SMD holds them (`https://<FQDN><path>`, as PCS builds them), basic auth per BMC.

httpx rather than sushy (OpenStack's Redfish library): a reset and a power read are two
requests, sushy would bring `requests` beside the httpx every other client uses, and it reads
a system's whole resource tree before it acts, which at 10,000 nodes is the cost to avoid.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

import httpx

from ..bmc_credentials import BmcCredentials
from ..models.records import ComponentEndpoint

# A connection the BMC refused or never completed was never a request: safe to try again.
_ATTEMPTS = 3
# Requests one BMC is sent at once: a BMC is a small computer that serves a few sessions
# at a time, and more only queue there.
_PER_BMC = 4
T = TypeVar("T")


class RedfishError(Exception):
    """A BMC refused or did not answer; the message is what an admin reads in the node's
    result: the request and the BMC's own words."""


class RedfishClient:
    def __init__(
        self,
        credentials: BmcCredentials,
        *,
        scheme: str = "https",
        verify: bool | ssl.SSLContext = True,
        timeout: float = 30.0,
        parallelism: int = 64,
    ) -> None:
        self.credentials = credentials
        self.scheme = scheme
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="redfish", daemon=True)
        self._thread.start()
        self._verify, self._timeout = verify, timeout
        # A connection pool per BMC: httpcore looks at every connection of a pool for each
        # request, so one pool of many connections cost more than the requests themselves.
        self._pools: dict[str, tuple[httpx.AsyncClient, asyncio.Semaphore]] = {}

        async def made() -> asyncio.Semaphore:
            return asyncio.Semaphore(parallelism)

        self._slots = self.submit(made()).result()

    def submit(self, work: Coroutine[Any, Any, T]) -> Future[T]:
        """Run `work` on the client's loop; its future, to wait on or look at."""
        return asyncio.run_coroutine_threadsafe(work, self._loop)

    async def power_state(self, endpoint: ComponentEndpoint) -> str:
        """The system's PowerState (`On`, `Off`, `PoweringOn`, ...)."""
        body = (await self._send(endpoint, "GET", endpoint.system_path)).json()
        return str(body.get("PowerState") or "")

    async def reset(
        self,
        endpoint: ComponentEndpoint,
        reset_type: str,
        on_send: Callable[[], None] = lambda: None,
    ) -> None:
        """Send the reset; `on_send` is told just before it leaves (an abort after that cannot
        take it back)."""
        target = endpoint.reset_target or endpoint.system_path + "/Actions/ComputerSystem.Reset"
        await self._send(endpoint, "POST", target, json={"ResetType": reset_type}, on_send=on_send)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self.submit(self._close_pools()).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _close_pools(self) -> None:
        for pool, _turns in self._pools.values():
            await pool.aclose()
        self._pools.clear()

    def _bmc(self, fqdn: str) -> tuple[httpx.AsyncClient, asyncio.Semaphore]:
        """The BMC's pool, and its turns: a request waits its turn here rather than in the
        pool's queue, which httpcore walks on every change."""
        found = self._pools.get(fqdn)
        if found is None:
            limits = httpx.Limits(max_connections=_PER_BMC, max_keepalive_connections=_PER_BMC)
            pool = httpx.AsyncClient(verify=self._verify, timeout=self._timeout, limits=limits)
            found = self._pools[fqdn] = (pool, asyncio.Semaphore(_PER_BMC))
        return found

    async def _send(
        self,
        endpoint: ComponentEndpoint,
        method: str,
        path: str,
        json: Any = None,
        on_send: Callable[[], None] = lambda: None,
    ) -> httpx.Response:
        url = f"{self.scheme}://{endpoint.fqdn}{path}"
        login = self.credentials.for_bmc(endpoint.bmc)
        auth = (login.username, login.password.get_secret_value()) if login else None
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                pool, turns = self._bmc(endpoint.fqdn)
                async with turns, self._slots:
                    on_send()
                    response = await pool.request(method, url, json=json, auth=auth)
                break
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                if attempt == _ATTEMPTS:
                    raise RedfishError(
                        f"{method} {url} giving up after {attempt} attempt(s): {error}"
                    ) from None
                await asyncio.sleep(0.2 * attempt)
            except httpx.HTTPError as error:
                # Sent, maybe acted on: a reset is never repeated blindly.
                reason = str(error) or type(error).__name__
                raise RedfishError(f"{method} {url}: {reason}") from None
        if response.status_code >= 400:
            raise RedfishError(
                f"{method} {url}: HTTP {response.status_code}: {_said(response)}"
            ) from None
        return response


def _said(response: httpx.Response) -> str:
    """The BMC's own message: Redfish's error object, else the reason phrase."""
    try:
        error = response.json().get("error") or {}
    except ValueError:
        return response.reason_phrase or response.text[:200]
    details = [
        str(info.get("Message"))
        for info in error.get("@Message.ExtendedInfo") or []
        if isinstance(info, dict) and info.get("Message")
    ]
    return "; ".join(details) or str(error.get("message") or response.reason_phrase)
