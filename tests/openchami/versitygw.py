"""A throwaway S3 service on loopback: versitygw over a directory (scripts/versitygw.sh builds it).

Its buckets are not versioned, though the OpenTofu s3 backend's documentation recommends it for
state: on a versioned bucket, versitygw v1.8.0 refuses every conditional write (`If-None-Match:
*`) of a key once a delete marker is its latest version (measured here: 412 PreconditionFailed on
every try after the first delete). OpenTofu's `use_lockfile` deletes its `.tflock` after each
run, so the second run of a configuration could never lock again.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import boto3
import httpx

from .ports import free_port
from .processes import stop_process_group

ACCESS_KEY = "team-backend-access"
SECRET_KEY = "team-backend-secret-4f1e9a"
REGION = "us-east-1"


class Versitygw:
    def __init__(self, workdir: Path) -> None:
        self.dir = workdir / "versitygw"
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None
        self._log = workdir / "versitygw.log"

    def start(self, timeout: float = 30.0) -> None:
        binary = shutil.which("versitygw")
        if binary is None:
            raise RuntimeError("versitygw is not on PATH; scripts/versitygw.sh builds it")
        (self.dir / "buckets").mkdir(parents=True)
        self._process = subprocess.Popen(
            [binary, "--access", ACCESS_KEY, "--secret", SECRET_KEY, "--region", REGION]
            + ["--port", f"127.0.0.1:{self.port}", "--health", "/health", "--quiet"]
            + ["posix", str(self.dir / "buckets")],
            stdout=self._log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.endpoint}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"versitygw did not start; see {self._log}")
            time.sleep(0.1)

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        listed = self.client().list_objects_v2(Bucket=bucket, Prefix=prefix)
        return sorted(o["Key"] for o in listed.get("Contents") or [])

    def every_object(self, bucket: str) -> str:
        """The text of every object in `bucket`, one after the other."""
        s3 = self.client()
        return "\n".join(
            s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8", "replace")
            for key in self.keys(bucket)
        )

    def env(self) -> dict[str, str]:
        """What an S3 client (the engines, the AWS SDKs) reads its credentials from."""
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def stop(self) -> None:
        stop_process_group(self._process, signal.SIGTERM, timeout=10)
