# The nodes a session with this limit would act on, of a given list (offline).
output "limited_nodes" {
  value = provider::ochami::limit_nodes(
    ["*", "!x1000c0s[0-1]b0n[0-1]"],
    provider::ochami::hostlist_expand("x1000c0s[0-3]b0n[0-1]"),
  )
}
