# Which template, boot set and version each compute node boots, in hostlist rows.
data "ochami_nodes" "compute" {
  group = "compute"
}

output "compute_rows" { value = data.ochami_nodes.compute.rows }
