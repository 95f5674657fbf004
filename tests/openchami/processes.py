"""Stopping a service started in its own process group (start_new_session=True)."""

from __future__ import annotations

import os
import signal
import subprocess


def stop_process_group(
    process: subprocess.Popen[bytes] | None, first: signal.Signals, *, timeout: float
) -> None:
    """Send `first` to the whole group (a wrapper such as runuser and the service behind it),
    wait up to `timeout` seconds, then SIGKILL what is left."""
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, first)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
