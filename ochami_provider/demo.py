"""`python -m ochami_provider.demo URI`: print what BSS and the cloud-init server hold now.

scripts/demo.sh runs it after `pulumi up` so the demo shows what actually landed.
"""

from __future__ import annotations

import argparse
import json

from .clients import Services
from .config import ProviderConfig
from .planning import batch_by_content


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("uri", help="base URI of the OpenCHAMI services")
    args = parser.parse_args(argv)
    with Services.from_config(ProviderConfig(uri=args.uri)) as services:
        batches = batch_by_content(services.bss.get_all())
        print(f"BSS: boot parameters for {sum(len(b.hosts) for b in batches)} nodes")
        for batch in batches:
            print(f"  {len(batch.hosts)} nodes ({batch.hosts[0]} ...): kernel={batch.kernel}")
            print(f"      initrd={batch.initrd}\n      params={batch.params}")
        for name, group in services.cloud_init.list_groups().items():
            print(f"cloud-init group {name}: meta-data {json.dumps(group.meta_data)}")
            for line in group.file.text().splitlines():
                print(f"      {line}")


if __name__ == "__main__":
    main()
