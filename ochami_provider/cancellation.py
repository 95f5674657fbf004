"""Whether the engine has asked this provider process to stop.

Pulumi asks through its Cancel call and, on a second Ctrl-C, by interrupting the process; the
Terraform protocol through StopProvider, which ends the plugin's server. Either way a session
that is running must start no new PCS transition (a reboot nobody can see the end of), and
should say what it did while it still can. The front ends call `request()` on their engine's
cancel, and `watch_process_end()` makes the end of the process (an interrupt, the server
stopped) a request too: the session's worker thread would otherwise go on until the engine
kills the process.
"""

from __future__ import annotations

import contextlib
import threading

_requested = threading.Event()
_watching = threading.Lock()
_watching_end = False


def request() -> None:
    _requested.set()


def requested() -> bool:
    return _requested.is_set()


def reset() -> None:
    """For tests, and a process that serves the engine again."""
    _requested.clear()


def watch_process_end() -> None:
    """Request cancellation as the process begins to end: the engine's interrupt ends the
    server's main thread, and Python then waits for the worker threads (a session mid-run)
    before it exits. Registered with threading's own exit hooks, which run before that wait
    (`concurrent.futures` joins its workers from the same hooks, registered earlier and so
    run later); this is CPython's `threading._register_atexit` (3.9 and later)."""
    global _watching_end
    with _watching:
        if _watching_end:
            return
        _watching_end = True
    register = getattr(threading, "_register_atexit", None)
    if register is not None:
        with contextlib.suppress(RuntimeError):  # the process is ending already
            register(request)
