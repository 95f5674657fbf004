"""Serve the simulator on loopback from a background thread, for tests and the demo."""

from __future__ import annotations

import threading
import time
from types import TracebackType

import uvicorn

from .app import build_app
from .fleet import Fleet


class SimServer:
    def __init__(self, fleet: Fleet, host: str = "127.0.0.1", port: int = 0) -> None:
        self.fleet = fleet
        self._config = uvicorn.Config(
            build_app(fleet),
            host=host,
            port=port,
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
        self._server = uvicorn.Server(self._config)
        self._thread = threading.Thread(target=self._server.run, name="ochami-sim", daemon=True)
        self.url = ""

    def start(self, timeout: float = 10.0) -> str:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the OpenCHAMI simulator did not start")
            time.sleep(0.005)
        socket = self._server.servers[0].sockets[0]
        host, port = socket.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        return self.url

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> SimServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
