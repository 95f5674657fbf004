terraform {
  required_providers {
    ochami = { source = "openchami/ochami" }
  }
}

# Unset settings come from the environment (OCHAMI_URI, CLUSTER_A_ACCESS_TOKEN, ...) and the
# `ochami` CLI's config file, as the CLI reads them.
provider "ochami" {
  cluster    = "cluster-a"
  uri        = "https://cluster-a.example.org"
  deployment = "tf/cluster-a"
}
