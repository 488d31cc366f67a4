job "web" {
  constraint {
    attribute      = "${attr.kernel.name}"
    distinct_hosts = "sometimes"
  }
}
