# What the compute nodes boot, and their cloud-init data: one reviewed place.
resource "ochami_boot_template" "compute" {
  name = "compute"
  boot_sets = jsonencode({
    compute = {
      kernel            = "https://images.example.org/compute/2026.11/vmlinuz"
      initrd            = "https://images.example.org/compute/2026.11/initrd.img"
      kernel_parameters = "console=ttyS0,115200 ip=dhcp rd.shell"
      node_groups       = ["compute"]
    }
  })
  cloud_init_meta_data = jsonencode({ cluster = "cluster-a" })
  cloud_init_user_data = <<-EOT
    #cloud-config
    runcmd:
      - [systemctl, enable, --now, slurmd]
  EOT
}

output "compute_version" { value = ochami_boot_template.compute.version }
