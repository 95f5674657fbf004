output "chassis_hostlist" {
  value = provider::ochami::hostlist_compress(["x1000c0s0b0n0", "x1000c0s0b0n1", "x1000c0s1b0n0"])
}
