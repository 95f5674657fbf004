"""Listings that the refreshes of one engine run share (issue 25, item 8).

A refresh of N templates asked SMD for each template's groups and every node's MACs, BSS for
its records and the cloud-init server for its groups: four requests per template, each of the
MAC reads a listing of every node. Inside `shared()`, the clients answer those reads from one
listing per service instead, fetched on first need: a constant number of requests per run,
and one consistent picture of the cluster for every template. The listings are forgotten at
the first write the run makes (the lifecycles call `forget` before creating, updating or
deleting anything), so nothing this process wrote is ever answered from before it.

Only refresh reads share: a check, a write and a session's polling ask the services
themselves, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

T = TypeVar("T")


class Listings:
    def __init__(self) -> None:
        # Per thread: an engine asks several things at once (Terraform's parallelism), and a
        # check running beside a refresh asks the services itself.
        self._local = threading.local()
        self._memo: dict[str, Any] = {}
        self._lock = threading.RLock()

    @property
    def active(self) -> bool:
        return bool(getattr(self._local, "depth", 0))

    @contextmanager
    def shared(self) -> Iterator[None]:
        """Reads inside (on this thread) answer from the listings, each fetched on first need."""
        self._local.depth = getattr(self._local, "depth", 0) + 1
        try:
            yield
        finally:
            self._local.depth -= 1

    def get(self, key: str, fetch: Callable[[], T]) -> T:
        """The listing `key`, fetched once until forgotten."""
        with self._lock:
            if key not in self._memo:
                self._memo[key] = fetch()
            return cast(T, self._memo[key])

    def forget(self) -> None:
        """Drop every listing: the run is about to write, or has written."""
        with self._lock:
            self._memo.clear()
