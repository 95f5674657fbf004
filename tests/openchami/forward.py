"""TCP <-> Unix-socket forwarding, to join a network namespace that has only loopback to the
loopback of the machine: a Unix socket is a file, which both namespaces see.

    python -m tests.openchami.forward tcp:PORT=unix:PATH ...   (accept on 127.0.0.1:PORT)
    python -m tests.openchami.forward unix:PATH=tcp:PORT ...   (accept on PATH)

Each connection is piped both ways to the other end until either side closes. The real PCS
binds :28007 on every interface (hard-coded), so it runs in a namespace of its own and sees
SMD, the token issuer and PostgreSQL through these pipes (`tests/openchami/real_pcs.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Awaitable, Callable

Opener = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


def _handler(
    open_far: Opener,
) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            far_reader, far_writer = await open_far()
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, far_writer), _pipe(far_reader, writer))

    return handle


def _opener(end: str) -> Opener:
    kind, _, where = end.partition(":")
    if kind == "tcp":
        return lambda: asyncio.open_connection("127.0.0.1", int(where))
    return lambda: asyncio.open_unix_connection(where)


async def _serve(rules: list[str]) -> None:
    servers = []
    for rule in rules:
        near, _, far = rule.partition("=")
        kind, _, where = near.partition(":")
        handle = _handler(_opener(far))
        if kind == "tcp":
            servers.append(await asyncio.start_server(handle, "127.0.0.1", int(where)))
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(where)
            servers.append(await asyncio.start_unix_server(handle, where))
    print("forwarding", " ".join(rules), flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


if __name__ == "__main__":
    asyncio.run(_serve(sys.argv[1:]))
