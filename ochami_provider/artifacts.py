"""Check that kernel and initrd URLs point at something before nodes try to boot from them.

http(s) artifacts get a HEAD request; s3:// artifacts a head_object through boto3, against the
configured endpoint (MinIO, Ceph RGW or AWS), with credentials from the usual AWS variables.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

import httpx

from . import s3


def artifact_problem(
    url: str,
    *,
    s3_endpoint_url: str | None = None,
    timeout: float = 10.0,
    verify: bool | str = True,
) -> str | None:
    """None when the artifact is there; otherwise why not, in words a user can act on."""
    parts = urlsplit(url)
    if parts.scheme == "s3":
        bucket, key = parts.netloc, parts.path.lstrip("/")
        try:
            s3.call(s3.client(s3_endpoint_url), "head_object", url, Bucket=bucket, Key=key)
        except s3.S3Missing:
            return f"S3 has no object {key!r} in bucket {bucket!r}"
        except s3.S3Unavailable as error:
            return str(error)
        return None
    try:
        response = httpx.head(url, timeout=timeout, follow_redirects=True, verify=verify)
    except httpx.HTTPError as error:
        return f"could not reach {url}: {type(error).__name__}: {error}"
    if response.status_code >= 400:
        return f"HEAD {url} answered HTTP {response.status_code}"
    return None


def artifact_problems(
    urls_by_field: Iterable[tuple[str, str]], *, s3_endpoint_url: str | None = None
) -> list[tuple[str, str]]:
    """(field, message) for every artifact that is missing or unreachable."""
    problems = []
    for field, url in urls_by_field:
        problem = artifact_problem(url, s3_endpoint_url=s3_endpoint_url)
        if problem:
            problems.append((field, f"{problem} (got {url!r})"))
    return problems
