"""A throwaway PostgreSQL cluster on loopback, from Debian's postgresql package.

initdb and postgres refuse to run as root, so as root they run as the `postgres` system user the
package creates. Authentication is `trust` on 127.0.0.1 only: the cluster lives in a temporary
directory for one test run and listens on nothing but loopback.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from .ports import free_port
from .processes import stop_process_group


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not candidates:
        raise RuntimeError(
            f"PostgreSQL's {name} was not found; install Debian's postgresql package "
            "(scripts/openchami-setup.sh does)"
        )
    return candidates[-1]


class Postgres:
    def __init__(self, workdir: Path) -> None:
        self.dir = workdir / "postgres"
        self.port = free_port()
        self.host = "127.0.0.1"
        self._process: subprocess.Popen[bytes] | None = None
        self._log = workdir / "postgres.log"

    def _as_owner(self, argv: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return argv
        return ["runuser", "-u", "postgres", "--", *argv]

    def start(self, timeout: float = 60.0) -> None:
        self.dir.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            shutil.chown(self.dir.parent, "postgres", "postgres")
        subprocess.run(
            self._as_owner(
                [_pg_bin("initdb"), "-D", str(self.dir / "data"), "-U", "postgres"]
                + ["--auth=trust", "--encoding=UTF8", "--no-sync"]
            ),
            check=True,
            capture_output=True,
        )
        log = self._log.open("ab")
        self._process = subprocess.Popen(
            self._as_owner(
                [_pg_bin("postgres"), "-D", str(self.dir / "data"), "-p", str(self.port)]
                + [
                    "-c",
                    f"listen_addresses={self.host}",
                    "-c",
                    f"unix_socket_directories={self.dir}",
                ]
                + ["-c", "fsync=off", "-c", "full_page_writes=off"]
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group: stop() signals runuser and postgres together.
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while True:
            probe = subprocess.run(
                [_pg_bin("pg_isready"), "-h", self.host, "-p", str(self.port), "-U", "postgres"],
                capture_output=True,
            )
            if probe.returncode == 0:
                return
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start; see {self._log}")
            time.sleep(0.1)

    def create_database(self, name: str, user: str, password: str) -> None:
        statements = [
            f"CREATE ROLE {user} LOGIN PASSWORD '{password}'",
            f"CREATE DATABASE {name} OWNER {user}",
        ]
        for sql in statements:
            subprocess.run(
                [_pg_bin("psql"), "-h", self.host, "-p", str(self.port), "-U", "postgres"]
                + ["-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
                check=True,
                capture_output=True,
            )

    def query(self, database: str, sql: str) -> str:
        """`sql`'s rows as psql prints them unaligned, one per line, as the superuser."""
        done = subprocess.run(
            [_pg_bin("psql"), "-h", self.host, "-p", str(self.port), "-U", "postgres"]
            + ["-d", database, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout

    def stop(self) -> None:
        # SIGINT: PostgreSQL's "fast" shutdown (ends open sessions, then exits cleanly).
        stop_process_group(self._process, signal.SIGINT, timeout=30)
