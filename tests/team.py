"""Shared state backends on loopback, as a team runs them: PostgreSQL and versitygw's S3.

One PostgreSQL and one versitygw serve a test module; each test gets a database and a bucket of
its own (`SharedBackend`), so no test sees another's stacks or locks. What a test asks of a
backend is the same for both kinds: where an engine logs in, whether a lock is held, and every
byte it stores, as text, to grep.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ochami_provider.sim import Fleet
from tests.openchami.postgres import Postgres
from tests.openchami.versitygw import REGION, Versitygw

KINDS = ("postgres", "s3")
TEAM = bool(shutil.which("versitygw"))
if not TEAM and os.environ.get("OCHAMI_TEAM") == "required":
    raise RuntimeError("OCHAMI_TEAM=required but versitygw is not on PATH (scripts/versitygw.sh)")
needs_servers = pytest.mark.skipif(not TEAM, reason="versitygw not on PATH (scripts/versitygw.sh)")
_names = itertools.count(1)


@dataclass
class TeamServers:
    postgres: Postgres
    s3: Versitygw


@pytest.fixture(scope="module")
def team_servers() -> Iterator[TeamServers]:
    # Not pytest's tmp_path: its root is private to root, and PostgreSQL runs as `postgres`.
    workdir = Path(tempfile.mkdtemp(prefix="ochami-team-"))
    postgres, s3 = Postgres(workdir), Versitygw(workdir)
    try:
        postgres.start()
        s3.start()
        yield TeamServers(postgres, s3)
    finally:
        s3.stop()
        postgres.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass
class SharedBackend:
    """One database or one bucket on the team's servers."""

    kind: str
    name: str
    servers: TeamServers

    @classmethod
    def create(cls, kind: str, servers: TeamServers) -> SharedBackend:
        name = f"team{next(_names)}"
        if kind == "postgres":
            servers.postgres.query("postgres", f"CREATE DATABASE {name}")
        else:
            servers.s3.create_bucket(name)
        return cls(kind, name, servers)

    @property
    def _pg(self) -> str:
        pg = self.servers.postgres
        return f"postgres://postgres@{pg.host}:{pg.port}/{self.name}?sslmode=disable"

    def env(self) -> dict[str, str]:
        return self.servers.s3.env() if self.kind == "s3" else {}

    # Pulumi: `pulumi login` URLs and the diy backend's lock objects.

    def pulumi_url(self) -> str:
        if self.kind == "postgres":
            return self._pg
        return (
            f"s3://{self.name}?endpoint={self.servers.s3.endpoint}"
            f"&s3ForcePathStyle=true&awssdk=v2&region={REGION}"
        )

    def pulumi_locks(self) -> list[str]:
        if self.kind == "s3":
            return self.servers.s3.keys(self.name, ".pulumi/locks/")
        # Pulumi v3.274.1 prefixes the postgres backend's keys with the database's name.
        rows = self.servers.postgres.query(
            self.name, "SELECT key FROM pulumi_state WHERE key LIKE '%.pulumi/locks/%'"
        )
        return rows.split()

    # OpenTofu: the `backend` block, the same settings for terraform_remote_state, the lock.

    def tofu_settings(self, key: str) -> dict[str, object]:
        if self.kind == "postgres":
            return {"conn_str": self._pg, "schema_name": key.replace("-", "_")}
        return {
            "bucket": self.name,
            "key": f"{key}/terraform.tfstate",
            "region": REGION,
            "endpoints": {"s3": self.servers.s3.endpoint},
            "use_path_style": True,
            "use_lockfile": True,
            "skip_credentials_validation": True,
            "skip_requesting_account_id": True,
            "skip_region_validation": True,
            "skip_metadata_api_check": True,
        }

    @property
    def tofu_kind(self) -> str:
        return "pg" if self.kind == "postgres" else "s3"

    def tofu_locked(self, key: str) -> bool:
        if self.kind == "s3":
            return f"{key}/terraform.tfstate.tflock" in self.servers.s3.keys(self.name, key)
        held = self.servers.postgres.query(
            self.name,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        return int(held) > 0

    def stored(self) -> str:
        """Every object the backend holds, as text."""
        if self.kind == "s3":
            return self.servers.s3.every_object(self.name)
        pg = self.servers.postgres
        tables = pg.query(
            self.name,
            "SELECT table_schema || '.' || table_name FROM information_schema.tables"
            " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
        ).split()
        rows = [
            row
            for table in tables
            for row in pg.query(self.name, f"SELECT data::text FROM {table}").splitlines()
        ]
        return "\n".join(map(_blob_text, rows))


def _blob_text(row: str) -> str:
    """A row's text; Pulumi's postgres backend keeps each object as `{"data": <base64>}`."""
    try:
        blob = json.loads(row)
    except ValueError:
        return row
    if isinstance(blob, dict) and isinstance(blob.get("data"), str) and len(blob) == 1:
        return base64.b64decode(blob["data"]).decode("utf-8", "replace")
    return row


def holding(
    argv: list[str], cwd: Path, env: dict[str, str], locked: Callable[[], bool]
) -> subprocess.Popen[str]:
    """`argv` (an `up` or `apply`) started in a process group of its own, once `locked` says
    it holds its lock in the backend."""
    run = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not locked():
        if run.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"no lock was ever taken: {run.communicate()[0]}")
        time.sleep(0.05)
    return run


def lose_host(run: subprocess.Popen[str], checkout: Path) -> None:
    """What losing the host does to a run: SIGKILL to the engine's process group and to every
    process working in or started from the checkout (the engine starts its language host and
    providers outside its group; left alive, a provider would go on with the session)."""
    os.killpg(run.pid, signal.SIGKILL)
    run.wait(timeout=30)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if str(checkout) in cmdline or cwd.startswith(str(checkout)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(proc.name), signal.SIGKILL)


def reservations_lapse(fleet: Fleet) -> None:
    """Until they lapse, a killed run's SMD reservations refuse its nodes to every other run
    (its provider might still be alive, on a host that is only unreachable). The test shortened
    them (`reservation_minute`); later ones are minutes long again."""
    deadline = time.monotonic() + 30
    while fleet.reservation_holders():
        assert time.monotonic() < deadline, "the reservations never lapsed"
        time.sleep(0.2)
    fleet.reservation_minute = 60.0


def hcl(value: object) -> str:
    """A value as HCL: JSON is HCL's own object syntax, except that keys are bare words."""
    if isinstance(value, dict):
        inner = "\n".join(f"  {k} = {hcl(v)}" for k, v in value.items())
        return "{\n" + inner + "\n}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return f'"{value}"'


def tofu_backend_block(backend: SharedBackend, key: str) -> str:
    settings = "\n".join(f"    {k} = {hcl(v)}" for k, v in backend.tofu_settings(key).items())
    return f'terraform {{\n  backend "{backend.tofu_kind}" {{\n{settings}\n  }}\n}}\n'


def copy_example(name: str, to: Path) -> Path:
    source = Path(__file__).resolve().parent.parent / "examples" / "terraform" / name
    shutil.copytree(source, to)
    return to
