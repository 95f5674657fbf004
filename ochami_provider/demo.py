"""`python -m ochami_provider.demo URI`: print what BSS and the cloud-init server hold now.

scripts/demo.sh runs it after `pulumi up` so the demo shows what actually landed.
"""

from __future__ import annotations

import argparse
import json

from .clients import Services
from .config import ProviderConfig


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("uri", help="base URI of the OpenCHAMI services")
    args = parser.parse_args(argv)
    with Services.from_config(ProviderConfig(uri=args.uri)) as services:
        records = services.bss.get_all()
        batches: dict[tuple[str, str, str], list[str]] = {}
        for record in records:
            key = (record.kernel, record.initrd, record.params)
            batches.setdefault(key, []).extend(record.hosts)
        print(f"BSS: boot parameters for {sum(len(h) for h in batches.values())} nodes")
        for (kernel, initrd, params), hosts in batches.items():
            print(f"  {len(hosts)} nodes ({hosts[0]} ...): kernel={kernel}")
            print(f"      initrd={initrd}\n      params={params}")
        for name, group in services.cloud_init.list_groups().items():
            print(f"cloud-init group {name}: meta-data {json.dumps(group.meta_data)}")
            for line in group.file.text().splitlines():
                print(f"      {line}")


if __name__ == "__main__":
    main()
