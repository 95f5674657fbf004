"""Faults the simulator injects, per service, method and path: what a flaky network or an
overloaded OpenCHAMI does to a client, on demand.

    fleet.faults.add("bss", "PUT", kind="status", status=503, times=2)
    fleet.faults.add("cloud-init", "POST", "/admin/groups", kind="status", status=500)
    fleet.faults.add("smd", kind="status", status=429, retry_after=1)
    fleet.faults.add("bss", "GET", kind="reset")        # connection dropped mid-response
    fleet.faults.add("pcs", kind="delay", delay=2.0)    # slow; beyond the client timeout: a timeout

Each rule fires on the next `times` matching requests (every one when `times` is None), the first
matching rule winning. The same rules can be given to `python -m ochami_provider.sim --fault`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

FaultKind = Literal["status", "delay", "reset"]
FAULT_KINDS: tuple[FaultKind, ...] = ("status", "delay", "reset")
SERVICES = ("smd", "bss", "cloud-init", "pcs", "boot-service", "metadata-service")


@dataclass
class Fault:
    service: str
    method: str = "*"
    path: str = ""  # a substring of the path below the service's prefix; "" matches all
    kind: FaultKind = "status"
    status: int = 503
    retry_after: float | None = None
    delay: float = 0.0
    times: int | None = 1
    fired: int = 0

    def matches(self, service: str, method: str, path: str) -> bool:
        return (
            self.service == service
            and self.method in ("*", method)
            and self.path in path
            and (self.times is None or self.fired < self.times)
        )


@dataclass
class FaultPlan:
    rules: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(
        self,
        service: str,
        method: str = "*",
        path: str = "",
        *,
        kind: FaultKind = "status",
        status: int = 503,
        retry_after: float | None = None,
        delay: float = 0.0,
        times: int | None = 1,
    ) -> Fault:
        if service not in SERVICES:
            raise ValueError(f"fault service: {service!r} is not one of {', '.join(SERVICES)}")
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind: {kind!r} is not one of {', '.join(FAULT_KINDS)}")
        if times is not None and times < 1:
            raise ValueError(f"fault times: {times!r} must be at least 1 (or None: always)")
        fault = Fault(service, method.upper(), path, kind, status, retry_after, delay, times)
        with self.lock:
            self.rules.append(fault)
        return fault

    def take(self, service: str, method: str, path: str) -> Fault | None:
        """The rule that fires for this request, counted as fired; None when none does."""
        with self.lock:
            for fault in self.rules:
                if fault.matches(service, method, path):
                    fault.fired += 1
                    return fault
        return None

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()


def parse_fault(text: str) -> dict[str, object]:
    """`service:method:path:kind[:key=value...]`, e.g. `bss:PUT::status:status=503:times=2`
    (`times=always` for a fault that never stops)."""
    parts = text.split(":")
    if len(parts) < 4:
        raise ValueError(f"--fault {text!r}: expected service:method:path:kind[:key=value...]")
    service, method, path, kind, *options = parts
    spec: dict[str, object] = {
        "service": service,
        "method": method or "*",
        "path": path,
        "kind": kind,
    }
    converters: dict[str, Callable[[str], object]] = {
        "status": int,
        "retry_after": float,
        "delay": float,
        "times": lambda v: None if v == "always" else int(v),
    }
    for option in options:
        key, _, value = option.partition("=")
        if key not in converters:
            raise ValueError(
                f"--fault {text!r}: unknown option {key!r}; known: {sorted(converters)}"
            )
        try:
            spec[key] = converters[key](value)
        except ValueError:
            raise ValueError(f"--fault {text!r}: {key}={value!r} is not a number") from None
    return spec
