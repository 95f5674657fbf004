"""Small measuring helpers shared by the benchmarks."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ochami_provider.sim import Fleet

T = TypeVar("T")


@dataclass
class Run:
    seconds: float
    requests: Counter[str]  # "service METHOD" -> count


def requests_by_service(fleet: Fleet, since: int = 0) -> Counter[str]:
    with fleet.lock:
        return Counter(f"{service} {method}" for service, method, _ in fleet.requests[since:])


def timed(fleet: Fleet, work: Callable[[], T]) -> tuple[T, Run]:
    """Run `work`, returning its result, its wall time and the requests it sent."""
    start_index = len(fleet.requests)
    start = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - start
    return result, Run(seconds, requests_by_service(fleet, start_index))


def per_service(requests: Counter[str]) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for key, count in requests.items():
        totals[key.split()[0]] += count
    return dict(totals)
