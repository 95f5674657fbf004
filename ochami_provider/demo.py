"""`python -m ochami_provider.demo URI`: print what the boot store (BSS, or boot-service with
`--boot-backend boot-service`) and the group data (the cloud-init server, or metadata-service
with `--group-data-backend metadata-service`) hold now.

scripts/demo.sh runs it after `pulumi up` so the demo shows what actually landed.
"""

from __future__ import annotations

import argparse
import json

from .clients import Services
from .config import ProviderConfig
from .errors import NotFoundError
from .models.boot import Boot
from .nodesets import compact


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("uri", help="base URI of the OpenCHAMI services")
    parser.add_argument("--boot-backend", default="bss", choices=("bss", "boot-service"))
    parser.add_argument(
        "--group-data-backend", default="cloud-init", choices=("cloud-init", "metadata-service")
    )
    args = parser.parse_args(argv)
    config = ProviderConfig(
        uri=args.uri, boot_backend=args.boot_backend, group_data_backend=args.group_data_backend
    )
    with Services.from_config(config) as services:
        batches: dict[Boot, list[str]] = {}
        for node, held in sorted(services.boot.read_all().items()):
            batches.setdefault(held.boot, []).append(node)
        store = services.boot.label
        print(f"{store}: boot parameters for {sum(map(len, batches.values()))} nodes")
        for boot, nodes in batches.items():
            print(f"  {len(nodes)} nodes ({compact(nodes)}): kernel={boot.kernel}")
            print(f"      initrd={boot.initrd}\n      params={boot.params}")
        if args.boot_backend == "boot-service":
            for found in services.boot_service.list():
                labels = ", ".join(f"{k}={v}" for k, v in sorted(found.labels.items()) if v)
                print(f"  configuration {found.name} ({found.uid}): {labels}")
        where = services.group_data.label
        try:
            groups = services.group_data.list_groups()
        except NotFoundError:
            print(f"{where}: not here")
            return
        for name, group in groups.items():
            print(f"{where} group {name}: meta-data {json.dumps(group.meta_data)}")
            for line in group.user_data.splitlines():
                print(f"      {line}")


if __name__ == "__main__":
    main()
