job "web" {
  datacenters = [frobnicate("dc1")]
}
