# Sample cluster "cluster-b": copies cluster-a's template through terraform_remote_state (what
# a stack reference is to Pulumi) and overrides what differs here: the console, its own group
# names and its cloud-init meta-data. Apply cluster-a first.
terraform {
  required_providers {
    ochami = { source = "openchami/ochami" }
  }
}

variable "uri" {
  type    = string
  default = "http://127.0.0.1:27781"
}

provider "ochami" {
  uri = var.uri
}

# Where cluster-a's state is: its directory beside this one by default; on a team's shared
# backend, that backend's settings for cluster-a (README, "Working as a team"), e.g.
#   { backend = "pg", config = { conn_str = "postgres://...", schema_name = "cluster_a" } }
variable "cluster_a_state" {
  type = object({ backend = string, config = any })
  default = {
    backend = "local"
    config  = { path = "../cluster-a/terraform.tfstate" }
  }
}

data "terraform_remote_state" "cluster_a" {
  backend = var.cluster_a_state.backend
  config  = var.cluster_a_state.config
}

locals {
  a = jsondecode(data.terraform_remote_state.cluster_a.outputs.boot_sets)
  overrides = {
    compute = { kernel_parameters = "console=ttyS1,115200 ip=dhcp", node_groups = ["b-compute"] }
    login   = { node_groups = ["b-login"] }
  }
  boot_sets = { for name, set in local.a : name => merge(set, lookup(local.overrides, name, {})) }
}

resource "ochami_boot_template" "compute" {
  name                 = "compute-rocky9-b"
  description          = "Rocky 9 compute image, as cluster-a's"
  boot_sets            = jsonencode(local.boot_sets)
  cloud_init_meta_data = jsonencode(merge(jsondecode(data.terraform_remote_state.cluster_a.outputs.meta_data), { cluster = "cluster-b" }))
  cloud_init_user_data = data.terraform_remote_state.cluster_a.outputs.user_data
}

output "version" { value = ochami_boot_template.compute.version }
