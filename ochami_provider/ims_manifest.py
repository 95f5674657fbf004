"""An IMS image's boot artifacts, read from its `manifest.json` in S3 as BOS reads them.

CSM's Image Management Service stores each image under `s3://boot-images/<image id>/` with a
`manifest.json` listing its artifacts by media type (kernel, initrd, squashfs root file system,
optionally a file of kernel parameters). A BOS boot set names the manifest (`path`) and the
manifest's S3 ETag (`etag`). Reading goes through boto3 (endpoint from `ochami:s3EndpointUrl`
or AWS_ENDPOINT_URL_S3, credentials from the usual AWS variables); `assumed` reads nothing and
takes IMS's own layout instead.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any, Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import s3
from .errors import InvalidInputError

KERNEL = "application/vnd.cray.image.kernel"
INITRD = "application/vnd.cray.image.initrd"
ROOTFS = "application/vnd.cray.image.rootfs.squashfs"
BOOT_PARAMETERS = "application/vnd.cray.image.parameters.boot"
# BOS refuses a larger manifest: it is a short JSON list, never an image.
MAX_MANIFEST_BYTES = 1024 * 1024


class ArtifactLink(BaseModel):
    model_config = ConfigDict(extra="ignore")

    path: str
    etag: str = ""
    type: str = "s3"


class ManifestArtifact(BaseModel):
    model_config = ConfigDict(extra="ignore")

    link: ArtifactLink
    type: str
    md5: str = ""


class ImageManifest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: str = ""
    created: str = ""
    artifacts: list[ManifestArtifact] = Field(default_factory=list)

    def one(self, media_type: str) -> ManifestArtifact | None:
        """The artifact of this type; two of one type is a broken manifest, as for BOS."""
        found = [a for a in self.artifacts if a.type == media_type]
        if len(found) > 1:
            raise ValueError(f"lists {len(found)} artifacts of type {media_type}")
        return found[0] if found else None


class ImageArtifacts(BaseModel):
    """What a boot set boots: BOS's artifact summary."""

    model_config = ConfigDict(frozen=True)

    kernel: str
    initrd: str | None = None
    rootfs: str | None = None
    rootfs_etag: str = ""
    # The image's own kernel parameters (IMS's `boot_parameters` file), first on the line.
    parameters: list[str] = Field(default_factory=list)
    # True when nothing was read: the layout was assumed.
    assumed: bool = False


class ManifestReader(Protocol):
    def artifacts(self, path: str, etag: str | None, field: str) -> ImageArtifacts: ...


def assumed(path: str) -> ImageArtifacts:
    """IMS's layout without reading S3: `kernel`, `initrd` and `rootfs` beside the manifest."""
    base = posixpath.dirname(path)
    return ImageArtifacts(
        kernel=f"{base}/kernel", initrd=f"{base}/initrd", rootfs=f"{base}/rootfs", assumed=True
    )


class S3Manifests:
    """Manifests read through boto3: one head_object (the ETag) and one get_object each, and
    one get_object for an image's kernel-parameter file."""

    def __init__(self, endpoint_url: str | None = None) -> None:
        self._s3 = s3.client(endpoint_url)

    def artifacts(self, path: str, etag: str | None, field: str) -> ImageArtifacts:
        bucket, key = _bucket_key(path, field)
        head = self._call("head_object", path, field, Bucket=bucket, Key=key)
        found = str(head.get("ETag", "")).strip('"')
        if etag and etag != found:
            raise InvalidInputError(
                field.rpartition(".")[0] + ".etag",
                etag,
                f"is not the ETag of {path} in S3 ({found!r}): the image was rebuilt or"
                " replaced since the template was written; check the image, then update etag",
            )
        if int(head.get("ContentLength", 0)) > MAX_MANIFEST_BYTES:
            raise InvalidInputError(field, path, "is too large to be an IMS image manifest")
        body = self._call("get_object", path, field, Bucket=bucket, Key=key)["Body"].read()
        manifest = _manifest(body, path, field)
        try:
            kernel, initrd = manifest.one(KERNEL), manifest.one(INITRD)
            rootfs, parameters = manifest.one(ROOTFS), manifest.one(BOOT_PARAMETERS)
        except ValueError as error:
            raise InvalidInputError(field, path, f"manifest {error}") from None
        if kernel is None:
            raise InvalidInputError(field, path, f"manifest lists no kernel ({KERNEL})")
        words: list[str] = []
        if parameters is not None:
            pbucket, pkey = _bucket_key(parameters.link.path, field)
            read = self._call("get_object", parameters.link.path, field, Bucket=pbucket, Key=pkey)
            words = read["Body"].read().decode("utf-8", "replace").split()
        return ImageArtifacts(
            kernel=kernel.link.path,
            initrd=initrd.link.path if initrd else None,
            rootfs=rootfs.link.path if rootfs else None,
            rootfs_etag=rootfs.link.etag if rootfs else "",
            parameters=words,
        )

    def _call(self, operation: str, path: str, field: str, **kwargs: str) -> dict[str, Any]:
        try:
            return s3.call(self._s3, operation, path, **kwargs)
        except s3.S3Missing:
            raise InvalidInputError(field, path, "S3 has no such object") from None


def _bucket_key(path: str, field: str) -> tuple[str, str]:
    parts = urlsplit(path)
    if parts.scheme != "s3" or not parts.netloc or parts.path in ("", "/"):
        raise InvalidInputError(field, path, "is not an s3://<bucket>/<key> path")
    return parts.netloc, parts.path.lstrip("/")


def _manifest(body: bytes, path: str, field: str) -> ImageManifest:
    try:
        return ImageManifest.model_validate(json.loads(body))
    except (ValueError, ValidationError) as error:
        first = str(error).splitlines()[0]
        raise InvalidInputError(field, path, f"is not an IMS image manifest: {first}") from None
