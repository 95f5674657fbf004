"""The OpenTofu / Terraform front end: a plugin-protocol-6 provider `ochami` over the same
lifecycle core as the Pulumi adapter (resources `ochami_boot_template`, `ochami_boot_session`,
data source `ochami_nodes`), served with the `tf` framework from PyPI.

Only this package imports `tf`. Run it as `python -m ochami_provider.terraform_adapter` (what
the launcher `scripts/tofu.sh` installs runs), or `... install` to put that launcher where
`tofu init` and `terraform init` find it.
"""
