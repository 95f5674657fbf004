"""`python -m ochami_provider.terraform_adapter [install]`: the provider plugin (`plugin.py`), or
one line naming the extra to install when the `tf` framework is missing."""

from __future__ import annotations

import sys

from ..extras import needs

with needs("the OpenTofu/Terraform provider", exit_=True):
    from .plugin import main

if __name__ == "__main__":
    sys.exit(main())
