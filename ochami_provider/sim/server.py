"""Serve the simulator (or any ASGI app) on loopback from a background thread."""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Any, Self

import uvicorn

from .app import build_app
from .fleet import Fleet


class ThreadedServer:
    """An ASGI app served by uvicorn on a loopback port (0: any free one) in a daemon thread."""

    def __init__(self, app: Any, *, name: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self._config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
        self._server = uvicorn.Server(self._config)
        self._thread = threading.Thread(target=self._server.run, name=name, daemon=True)
        self._name = name
        self.url = ""

    def start(self, timeout: float = 10.0) -> str:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self._name} did not start")
            time.sleep(0.005)
        socket = self._server.servers[0].sockets[0]
        host, port = socket.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        return self.url

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class SimServer(ThreadedServer):
    def __init__(self, fleet: Fleet, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(build_app(fleet), name="the OpenCHAMI simulator", host=host, port=port)
        self.fleet = fleet

    def start(self, timeout: float = 10.0) -> str:
        url = super().start(timeout)
        # Its BMCs are served here too: SMD gives this address for each.
        self.fleet.redfish_authority = self.fleet.redfish_authority or url.split("://", 1)[1]
        return url
