output "chassis_nodes" {
  value = provider::ochami::hostlist_expand("x1000c0s[0-7]b0n[0-1]")
}
