"""Free loopback ports for services that cannot be told to pick one themselves."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def closed_port() -> int:
    """A loopback port nothing listens on: where a service's optional peers are pointed, so a
    connection it attempts fails fast on this machine instead of leaving it."""
    return free_port()
