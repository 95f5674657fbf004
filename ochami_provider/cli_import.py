"""`ochami-boot import-bos`: BOS v2 session templates into a stack's config.

    ochami-boot import-bos FILE|- [--name NAME] [--output STACK_FILE [--replace]]
                          [--offline] [--s3-endpoint-url URL] [--artifact-base-url URL]

Reads one template (`cray bos v2 sessiontemplates describe NAME --format json`) or a list
(`... list --format json`), reads each boot set's IMS manifest from S3, and prints stack config
YAML, or adds the templates to STACK_FILE keeping its comments. What has no equivalent is said
on stderr, a line per field. Exit status 2 for input that cannot be imported, 1 when S3 fails.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ruamel.yaml import YAML

from .bos_import import BosTemplateError, Imported, import_template, read_templates
from .config import CONFIG_KEYS, CONFIG_NAMESPACE
from .ims_manifest import ImageArtifacts, ManifestReader, S3Manifests, assumed
from .stack_file import StackFileError, merge_into, render


class BadInput(Exception):
    """Input that cannot be imported as asked: said on stderr, exit status 2."""


def add_import_bos(commands: Any) -> None:
    command = commands.add_parser(
        "import-bos",
        help="BOS v2 session templates as boot templates (stack config YAML)",
        description="Reads BOS v2 session templates (JSON, one or a list; - for stdin).",
    )
    command.add_argument("file", help="the template's JSON file, or - for standard input")
    command.add_argument("--name", help="the template's name (a single template only)")
    command.add_argument(
        "--output", type=Path, help="add the templates to this stack file (made if missing)"
    )
    command.add_argument(
        "--replace", action="store_true", help="overwrite templates --output already declares"
    )
    command.add_argument(
        "--offline",
        action="store_true",
        help="read no S3: assume IMS's layout (kernel, initrd, rootfs beside manifest.json)",
    )
    command.add_argument(
        "--s3-endpoint-url",
        help="the S3 endpoint (default: --output's ochami:s3EndpointUrl, then boto3's own)",
    )
    command.add_argument(
        "--artifact-base-url",
        help="serve kernels and initrds from this http(s) S3 gateway rather than s3://",
    )


class _Offline:
    def artifacts(self, path: str, etag: str | None, field: str) -> ImageArtifacts:
        return assumed(path)


def _utf8(raw: bytes, source: str) -> str:
    """JSON is UTF-8 (RFC 8259); anything else is refused naming where it stops being text."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadInput(
            f"{source}: not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start});"
            " export the template again with `cray bos v2 sessiontemplates describe NAME"
            " --format json`"
        ) from None


def import_bos(args: argparse.Namespace) -> int:
    source = "<stdin>" if args.file == "-" else args.file
    try:
        raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as error:
        raise BadInput(f"{source}: cannot be read: {error.strerror}") from None
    text = _utf8(raw, source)
    rewrite = _artifact_url(args.artifact_base_url)
    try:
        stem = None if args.file == "-" else Path(args.file).stem
        found = read_templates(text, source, args.name, fallback=stem)
        reader = _reader(args)
        imported = [import_template(name, data, reader, rewrite) for name, data in found]
    except BosTemplateError as error:
        raise BadInput(str(error)) from None
    _said(imported)
    templates = {t.name: t.spec for t in imported}
    if args.output is None:
        sys.stdout.write(render(templates, f"Imported by ochami-boot import-bos from {source}"))
        return 0
    try:
        replaced = merge_into(args.output, templates, replace=args.replace)
    except StackFileError as error:
        raise BadInput(str(error)) from None
    what = f"{len(templates)} template(s)" + (f", {len(replaced)} replaced" if replaced else "")
    print(f"ochami-boot: wrote {what} to {args.output}", file=sys.stderr)
    return 0


# How many template names a notice shared by many templates lists before it counts the rest.
_NAMES_SHOWN = 5


def _said(imported: list[Imported]) -> None:
    """Each notice once, with the templates it applies to: 500 templates without CFS are one
    line, not 500."""
    by_notice: dict[str, list[str]] = {}
    for template in imported:
        for notice in template.notices:
            by_notice.setdefault(str(notice), []).append(template.name)
    for said, names in by_notice.items():
        if len(names) == 1:
            print(f"ochami-boot: {names[0]}: {said}", file=sys.stderr)
            continue
        shown = ", ".join(names[:_NAMES_SHOWN])
        more = f" and {len(names) - _NAMES_SHOWN} more" if len(names) > _NAMES_SHOWN else ""
        print(f"ochami-boot: {len(names)} templates ({shown}{more}): {said}", file=sys.stderr)
    if len(imported) > 1:
        print(
            f"ochami-boot: {len(imported)} templates imported, {len(by_notice)} distinct"
            " notice(s) above",
            file=sys.stderr,
        )


def _reader(args: argparse.Namespace) -> ManifestReader:
    if args.offline:
        return _Offline()
    return S3Manifests(endpoint_url=args.s3_endpoint_url or _stack_endpoint(args.output))


def _stack_endpoint(path: Path | None) -> str | None:
    """The target stack's own `ochami:s3EndpointUrl`: where its templates' artifacts live."""
    if path is None or not path.exists():
        return None
    try:
        document = YAML(typ="safe").load(path.read_text()) or {}
    except Exception:  # merge_into names what is wrong with the file
        return None
    config = document.get("config") if isinstance(document, dict) else None
    value = (config or {}).get(f"{CONFIG_NAMESPACE}:{CONFIG_KEYS['s3_endpoint_url']}")
    return value if isinstance(value, str) else None


def _artifact_url(base: str | None) -> Any:
    if base is None:
        return None
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadInput(f"--artifact-base-url: {base!r} is not an http:// or https:// URL")
    root = base.rstrip("/")

    def rewrite(url: str) -> str:
        # Path-style, as S3 gateways (MinIO, Ceph RGW, versitygw) serve a bucket over HTTP.
        s3 = urlsplit(url)
        return f"{root}/{s3.netloc}{s3.path}" if s3.scheme == "s3" else url

    return rewrite
