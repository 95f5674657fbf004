# Boot the template's nodes that are off, and reboot those running another version, 25% at a
# time; stop starting batches once more than 2 nodes have failed.
resource "ochami_boot_session" "compute" {
  name            = "boot-compute"
  template        = ochami_boot_template.compute.spec
  template_writes = ochami_boot_template.compute.written
  operation       = "boot"
  limit           = ["compute"]
  batch_size      = "25%"
  max_failed      = "2"
  pre_command     = "scontrol update nodename=$OCHAMI_NODES state=drain reason=ochami-boot"
  post_command    = "scontrol update nodename=$OCHAMI_NODES state=resume"
}

output "compute_session" { value = ochami_boot_session.compute.status }
