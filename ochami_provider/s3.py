"""S3 requests through boto3, and what their failures mean: the object is not there, or S3
could not be asked (unreachable, credentials refused). Artifact checks and IMS manifest reads
both go through here.

boto3 is imported on first use: it takes ~0.1 s to import, which every provider start and
`ochami-boot status` would pay otherwise.
"""

from __future__ import annotations

from typing import Any

from .errors import OchamiError

# What S3 (and MinIO, Ceph RGW) answer for a bucket or key that is not there.
_MISSING = ("404", "NoSuchKey", "NotFound", "NoSuchBucket")


class S3Missing(Exception):
    """S3 has no such bucket or key."""


class S3Unavailable(OchamiError):
    """S3 could not be reached, or refused the credentials: nothing wrong with the input."""


def client(endpoint_url: str | None) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint_url)


def call(s3: Any, operation: str, url: str, **kwargs: str) -> dict[str, Any]:
    """`operation` on the boto3 client for the object at `url`: its answer, S3Missing, or
    S3Unavailable saying why S3 could not be asked."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        result: dict[str, Any] = getattr(s3, operation)(**kwargs)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in _MISSING:
            raise S3Missing(url) from None
        raise S3Unavailable(f"S3 refused {operation} on {url}: {code or error}") from None
    except BotoCoreError as error:
        raise S3Unavailable(f"S3 could not be reached for {url}: {error}") from None
    return result
