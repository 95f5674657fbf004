# Boot configuration of the sample cluster "cluster-a" with OpenTofu or Terraform: the same
# templates and session as stacks/Pulumi.cluster-a.yaml, through the `ochami` provider.
terraform {
  required_providers {
    ochami = { source = "openchami/ochami" }
  }
}

variable "uri" {
  description = "The cluster's OpenCHAMI (the demo's simulator by default)"
  type        = string
  default     = "http://127.0.0.1:27780"
}

variable "token" {
  description = "Bearer token (or export CLUSTER_A_ACCESS_TOKEN with cluster = \"cluster-a\")"
  type        = string
  default     = null
  sensitive   = true
}

provider "ochami" {
  uri   = var.uri
  token = var.token
}

resource "ochami_boot_template" "compute" {
  name        = "compute-rocky9"
  description = "Rocky 9 compute image"
  boot_sets = jsonencode({
    compute = {
      kernel            = "${var.uri}/artifacts/boot-images/compute/vmlinuz"
      initrd            = "${var.uri}/artifacts/boot-images/compute/initramfs.img"
      kernel_parameters = "console=ttyS0,115200 ip=dhcp quiet nosplash"
      node_groups       = ["compute"]
    }
    login = {
      kernel            = "${var.uri}/artifacts/boot-images/login/vmlinuz"
      initrd            = "${var.uri}/artifacts/boot-images/login/initramfs.img"
      kernel_parameters = "console=ttyS0,115200 ip=dhcp"
      node_groups       = ["login"]
    }
  })
  cloud_init_meta_data = jsonencode({ cluster = "cluster-a" })
  cloud_init_user_data = <<-EOT
    #cloud-config
    timezone: Europe/Zurich
    runcmd:
      - [systemctl, enable, --now, slurmd]
  EOT
}

resource "ochami_boot_session" "reboot_compute" {
  name                  = "reboot-compute"
  template              = ochami_boot_template.compute.spec
  template_writes       = ochami_boot_template.compute.written
  operation             = "reboot"
  limit                 = ["compute"]
  batch_size            = "50%"
  poll_interval_seconds = 0.2
}

data "ochami_nodes" "compute" {
  group      = "compute"
  depends_on = [ochami_boot_session.reboot_compute]
}

# What another cluster's configuration copies (terraform_remote_state): the boot sets and
# meta-data as written here, and the user-data (sensitive).
output "boot_sets" { value = ochami_boot_template.compute.boot_sets }
output "meta_data" { value = ochami_boot_template.compute.cloud_init_meta_data }
output "user_data" {
  value     = ochami_boot_template.compute.cloud_init_user_data
  sensitive = true
}
output "version" { value = ochami_boot_template.compute.version }
output "nodes" { value = data.ochami_nodes.compute.rows }
output "session" { value = ochami_boot_session.reboot_compute.status }
